/*
 * pm_optimizers.c -- in-place optimizer steps with the tf-keras 2.11+
 * formulas (and the 2.10 "legacy" Adagrad / RMSprop ones).
 *
 * The arithmetic is done in the element type T, in the order tf-keras
 * writes it, with the hyper-parameters rounded to T the way Keras casts
 * them: a Python-float expression such as (1 - beta_1) is evaluated in
 * double and then rounded, a tensor one such as Nadam's 1 - beta_1 is
 * evaluated in T. float32 trajectories then follow TensorFlow's to within
 * rounding of the transcendental functions.
 */
#include <math.h>

#include "pm_internal.h"

#define PM_TEMPLATE "pm_optimizers_tmpl.inc"
#include "pm_instantiate.h"
