/*
 * pm_losses.c -- per-sample loss values and their gradients, tf-keras 2.x.
 *
 * Every loss reduces the last axis of a rows x cols batch to one value per
 * row, with the formulas of tf_keras/losses.py and backend.py (see the
 * pm_loss enum in pymodel.h). Arithmetic is done in double; only the clip
 * bounds eps and 1 - eps are rounded to the element type first, because
 * Keras builds them in that type (float32: 1 - eps = 0.99999988, which is
 * what makes BCE(y=1, p=0) come out as 15.379 and not 15.425).
 *
 * Gradients are those TensorFlow's autodiff produces for the same graph:
 * clip passes the gradient on [lo, hi] (bounds included) and blocks it
 * outside, max(a, 0) passes it where a >= 0, |x| has derivative sign(x)
 * with sign(0) = 0, and reduce_max splits it evenly between ties.
 */
#include <math.h>

#include "pm_internal.h"

/* What every element-wise formula needs besides y and p. */
typedef struct loss_ctx {
    int kind;
    int from_logits;
    int binary;       /* hinge: every label is 0 or 1, so map to -1 / 1 */
    double delta;     /* huber */
    double smooth;    /* bce label smoothing */
    double eps;       /* epsilon rounded to the element type */
    double hi;        /* 1 - eps in the element type */
} loss_ctx;

static double sign_of(double x)
{
    return (double)(x > 0) - (double)(x < 0);
}

static double clip_to(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* log(1 + e^x) without overflow. */
static double softplus(double x)
{
    return fmax(x, 0.0) + log1p(exp(-fabs(x)));
}

static double sigmoid(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    const double e = exp(x);
    return e / (1.0 + e);
}

/* CCE label after smoothing over cols classes. */
static double cce_label(const loss_ctx *c, int64_t cols, double y)
{
    return y * (1.0 - c->smooth) + c->smooth / (double)cols;
}

/* Kinds whose per-sample value is the mean (or for KLD the sum) of one
 * element-wise term; the others (CCE, SCCE, categorical hinge) couple the
 * row and live in the template. */
static int is_elementwise(int kind)
{
    return kind != PM_LOSS_CCE && kind != PM_LOSS_SCCE &&
           kind != PM_LOSS_CATEGORICAL_HINGE;
}

/* The element-wise term of the loss at label y, prediction p. */
static double elem_value(const loss_ctx *c, double y, double p)
{
    switch (c->kind) {
    case PM_LOSS_MSE:
        return (p - y) * (p - y);
    case PM_LOSS_MAE:
        return fabs(p - y);
    case PM_LOSS_MAPE:
        return 100.0 * fabs((y - p) / fmax(fabs(y), c->eps));
    case PM_LOSS_MSLE: {
        const double d = log1p(fmax(p, c->eps)) - log1p(fmax(y, c->eps));
        return d * d;
    }
    case PM_LOSS_HUBER: {
        const double e = fabs(p - y);
        return e <= c->delta ? 0.5 * e * e : c->delta * e - 0.5 * c->delta * c->delta;
    }
    case PM_LOSS_LOG_COSH: {
        const double x = p - y;
        return x + softplus(-2.0 * x) - 0.69314718055994530942; /* log 2 */
    }
    case PM_LOSS_BCE: {
        y = y * (1.0 - c->smooth) + 0.5 * c->smooth;
        if (c->from_logits) /* sigmoid_cross_entropy_with_logits */
            return fmax(p, 0.0) - p * y + log1p(exp(-fabs(p)));
        p = clip_to(p, c->eps, c->hi); /* NOTE: Keras adds eps again inside the logs */
        return -(y * log(p + c->eps) + (1.0 - y) * log(1.0 - p + c->eps));
    }
    case PM_LOSS_HINGE:
    case PM_LOSS_SQUARED_HINGE: {
        const double h = fmax(1.0 - (c->binary ? 2.0 * y - 1.0 : y) * p, 0.0);
        return c->kind == PM_LOSS_HINGE ? h : h * h;
    }
    case PM_LOSS_KLD:
        y = clip_to(y, c->eps, 1.0);
        return y * log(y / clip_to(p, c->eps, 1.0));
    case PM_LOSS_POISSON:
        return p - y * log(p + c->eps);
    default:
        return NAN;
    }
}

/* d elem_value / d p. */
static double elem_grad(const loss_ctx *c, double y, double p)
{
    switch (c->kind) {
    case PM_LOSS_MSE:
        return 2.0 * (p - y);
    case PM_LOSS_MAE:
        return sign_of(p - y);
    case PM_LOSS_MAPE:
        return 100.0 * sign_of(p - y) / fmax(fabs(y), c->eps);
    case PM_LOSS_MSLE: {
        if (p < c->eps)
            return 0.0;
        const double d = log1p(p) - log1p(fmax(y, c->eps));
        return 2.0 * d / (1.0 + p);
    }
    case PM_LOSS_HUBER: {
        const double e = p - y;
        return fabs(e) <= c->delta ? e : c->delta * sign_of(e);
    }
    case PM_LOSS_LOG_COSH:
        return tanh(p - y);
    case PM_LOSS_BCE: {
        y = y * (1.0 - c->smooth) + 0.5 * c->smooth;
        if (c->from_logits)
            return sigmoid(p) - y;
        if (p < c->eps || p > c->hi)
            return 0.0;
        return -y / (p + c->eps) + (1.0 - y) / (1.0 - p + c->eps);
    }
    case PM_LOSS_HINGE:
    case PM_LOSS_SQUARED_HINGE: {
        const double s = c->binary ? 2.0 * y - 1.0 : y;
        const double h = 1.0 - s * p;
        if (h < 0)
            return 0.0;
        return c->kind == PM_LOSS_HINGE ? -s : -2.0 * h * s;
    }
    case PM_LOSS_KLD:
        if (p < c->eps || p > 1.0)
            return 0.0;
        return -clip_to(y, c->eps, 1.0) / p;
    case PM_LOSS_POISSON:
        return 1.0 - y / (p + c->eps);
    default:
        return NAN;
    }
}

#define PM_TEMPLATE "pm_losses_tmpl.inc"
#include "pm_instantiate.h"
