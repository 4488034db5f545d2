/* pm_dropout.c -- inverted dropout with a caller-owned RNG. */
#include <math.h>

#include "pm_rng.h"

#define PM_TEMPLATE "pm_dropout_tmpl.inc"
#include "pm_instantiate.h"
