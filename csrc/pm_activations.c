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

/* ------------------------------------------------- float transcendentals
 * The float kernels take e^x, e^x - 1 and tanh from the double functions
 * below instead of libm: plain arithmetic that vectorises (a libm call per
 * element would not), and accurate to ~1e-16 before the final rounding to
 * float, so results are float's correctly rounded value almost always. The
 * double kernels keep libm. */

/* e^x for x in float's range (clamped to +-160, beyond which float gives
 * inf or 0 anyway): x = n ln2 + r, |r| <= ln2/2, e^r by its Taylor series to
 * r^12 (error < 2e-16), 2^n put into the exponent bits. NaN stays NaN. */
static inline double pm_exp_d(double x)
{
    const double shift = 0x1.8p52; /* x log2(e) + shift: round(x / ln2) in the low bits */
    x = x < -160 ? -160 : x;
    x = x > 160 ? 160 : x;
    const double t = x * 1.4426950408889634 + shift;
    const double n = t - shift;
    /* ln2 split (fdlibm): n * hi is exact for |n| < 2^21. */
    const double r = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
    double p = 1.0 / 479001600;
    p = p * r + 1.0 / 39916800;
    p = p * r + 1.0 / 3628800;
    p = p * r + 1.0 / 362880;
    p = p * r + 1.0 / 40320;
    p = p * r + 1.0 / 5040;
    p = p * r + 1.0 / 720;
    p = p * r + 1.0 / 120;
    p = p * r + 1.0 / 24;
    p = p * r + 1.0 / 6;
    p = p * r + 0.5;
    p = p * r + 1;
    p = p * r + 1;
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + 1023) << 52; /* the low bits of t hold n */
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* e^x - 1: the series start where the subtraction would cancel. */
static inline double pm_expm1_d(double x)
{
    const double e = pm_exp_d(x) - 1;
    return fabs(x) < 1e-5 ? x + 0.5 * x * x : e;
}

/* tanh x = sign(x) (1 - e) / (1 + e), e = e^-2|x|; x - x^3/3 near 0. */
static inline double pm_tanh_d(double x)
{
    const double a = fabs(x);
    const double e = pm_exp_d(-2 * a);
    const double t = a < 1e-3 ? a - a * a * a / 3 : (1 - e) / (1 + e);
    return copysign(t, x);
}

/* log1p(e) for e in [0, 1] (softplus): the series below 1e-4, where
 * 1 + e would round away e's low bits. */
static inline double pm_log1p_d(double e)
{
    return e < 1e-4 ? e * (1 - e * (0.5 - e / 3)) : log(1 + e);
}

/* x86-64 Linux with GCC: the float kernels are also built for AVX2 and the
 * loader picks the clone the CPU runs (ifunc), never -march=native. Without
 * FMA in either clone, both give bitwise the same results. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define PM_ACT_CLONES_f32 __attribute__((target_clones("avx2", "default")))
#else
#define PM_ACT_CLONES_f32
#endif
#define PM_ACT_CLONES_f64

#define T float
#define SUF f32
#define M(fn) fn##f
#define PM_EXP(v) ((float)pm_exp_d(v))
#define PM_EXPM1(v) ((float)pm_expm1_d(v))
#define PM_TANH(v) ((float)pm_tanh_d(v))
#define PM_EXP_W(v) pm_exp_d(v)
#define PM_LOG1P_W(v) pm_log1p_d(v)
#include "pm_activations_tmpl.inc"
#undef T
#undef SUF
#undef M
#undef PM_EXP
#undef PM_EXPM1
#undef PM_TANH
#undef PM_EXP_W
#undef PM_LOG1P_W

#define T double
#define SUF f64
#define M(fn) fn
#define PM_EXP(v) exp(v)
#define PM_EXPM1(v) expm1(v)
#define PM_TANH(v) tanh(v)
#define PM_EXP_W(v) exp(v)
#define PM_LOG1P_W(v) log1p(v)
#include "pm_activations_tmpl.inc"
#undef T
#undef SUF
#undef M
#undef PM_EXP
#undef PM_EXPM1
#undef PM_TANH
#undef PM_EXP_W
#undef PM_LOG1P_W
