/*
 * pm_activations.c -- activation forward and backward passes with the
 * semantics of Keras 2 (tf-keras backend.py) and TensorFlow's gradients.
 *
 * The bodies live in pm_activations_tmpl.inc, included once per dtype. Math
 * runs in the element type (expf for float, exp for double) through M(fn);
 * only row reductions (softmax sums) use a double accumulator.
 */
#include <math.h>
#include <string.h>

#include "pm_internal.h"

/* FP exception flags are never read here; without trapping-math GCC turns
 * the selects of relu, sigmoid and friends into vector blends (random signs
 * would otherwise cost a mispredicted branch per element). Values are
 * unchanged: this only drops the promise to raise flags exactly. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* Keras 2 / tf.nn.selu constants (TensorFlow's relu_op_functor.h). */
#define PM_SELU_SCALE 1.0507009873554804934193349852946
#define PM_SELU_SCALE_ALPHA 1.7580993408473768599402175208123
/* sqrt(2/pi), 1/sqrt(2), 1/sqrt(2 pi) for gelu. */
#define PM_SQRT_2_OVER_PI 0.7978845608028654
#define PM_SQRT1_2 0.7071067811865476
#define PM_INV_SQRT_2PI 0.3989422804014327
#define PM_GELU_COEFF 0.044715

/* Kinds whose backward pass reads the forward output y (the others read x). */
static int pm_act_reads_y(int kind)
{
    return kind == PM_ACT_SIGMOID || kind == PM_ACT_TANH ||
           kind == PM_ACT_EXPONENTIAL || kind == PM_ACT_SOFTMAX ||
           kind == PM_ACT_LOG_SOFTMAX;
}

#define T float
#define SUF f32
#define M(fn) fn##f
#include "pm_activations_tmpl.inc"
#undef T
#undef SUF
#undef M

#define T double
#define SUF f64
#define M(fn) fn
#include "pm_activations_tmpl.inc"
#undef T
#undef SUF
#undef M
