/*
 * pm_vector.c -- small vector helpers the training loop composes: norms for
 * gradient clipping, scaling, value clipping, decoupled weight decay and
 * L1/L2 regularization.
 */
#include <math.h>

#include "pm_internal.h"

#define PM_TEMPLATE "pm_vector_tmpl.inc"
#include "pm_instantiate.h"
