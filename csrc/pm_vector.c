/*
 * pm_vector.c -- small vector helpers the training loop composes: norms for
 * gradient clipping, scaling, value clipping, decoupled weight decay and
 * L1/L2 regularization.
 */
#include <math.h>

#include "pm_internal.h"

#define T float
#define SUF f32
#include "pm_vector_tmpl.inc"
#undef T
#undef SUF

#define T double
#define SUF f64
#include "pm_vector_tmpl.inc"
#undef T
#undef SUF
