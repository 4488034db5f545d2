/* pm_dropout.c -- inverted dropout with a caller-owned RNG. */
#include <math.h>

#include "pm_rng.h"

#define T float
#define SUF f32
#include "pm_dropout_tmpl.inc"
#undef T
#undef SUF

#define T double
#define SUF f64
#include "pm_dropout_tmpl.inc"
#undef T
#undef SUF
