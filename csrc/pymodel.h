/*
 * pymodel.h -- the whole public C API of pymodel's numeric core.
 *
 * Conventions (see DESIGN.md):
 *   - every symbol is pm_<op>[_<phase>]_<dtype>, dtype f32 (float) or f64 (double);
 *   - arrays are row-major and owned by the caller; C allocates nothing on the
 *     hot path and keeps no pointer after it returns;
 *   - every function returns a pm_status; PM_OK is 0;
 *   - reductions accumulate in double for both dtypes;
 *   - "written" outputs are fully overwritten, "accumulated" ones get +=.
 *
 * The text between the CDEF markers is handed verbatim to cffi's cdef(), so it
 * holds no preprocessor conditionals and no includes.
 */
#ifndef PYMODEL_H
#define PYMODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PM_CDEF_BEGIN */

/* ---------------------------------------------------------------- status */
typedef enum pm_status {
    PM_OK = 0,            /* success */
    PM_EINVAL = 1,        /* an argument is out of range (size, stride, label) */
    PM_ENOMEM = 2,        /* a caller-provided workspace is too small */
    PM_EUNSUPPORTED = 3   /* the kind / option is not implemented */
} pm_status;

/* Static, never-NULL text for a status code. */
const char *pm_strerror(int status);

/* ------------------------------------------------------------- threading */
/* The one piece of global state: threads used by the parallel kernels.
 * n <= 0 restores the default (all available cores). Results are bitwise
 * identical for every thread count. */
int pm_set_num_threads(int n);
int pm_get_num_threads(void);

/* ------------------------------------------------------------------ GEMM */
/* GEMM micro-kernel variants; PM_GEMM_AUTO picks the best the CPU supports. */
enum {
    PM_GEMM_AUTO = 0,
    PM_GEMM_PORTABLE = 1,
    PM_GEMM_AVX2 = 2,
    PM_GEMM_AVX512 = 3
};
/* Force a micro-kernel variant (tests); PM_EUNSUPPORTED if the CPU lacks it. */
int pm_gemm_set_variant(int variant);
/* The variant in use (never PM_GEMM_AUTO). */
int pm_gemm_get_variant(void);

/* Workspace bytes pm_gemm_* needs for these sizes (packing buffers for all
 * threads). Always >= 0. */
int64_t pm_gemm_workspace_size_f32(int64_t m, int64_t n, int64_t k);
int64_t pm_gemm_workspace_size_f64(int64_t m, int64_t n, int64_t k);

/* C[m,n] = alpha * op(A) @ op(B) + beta * C, op(X) = X or X^T.
 * op(A) is m x k, op(B) is k x n; lda/ldb/ldc are row strides in elements of
 * the stored (untransposed) arrays. beta == 0: C is write-only (never read,
 * NaN in C does not leak). work must hold pm_gemm_workspace_size_*(m, n, k)
 * bytes; PM_ENOMEM otherwise. */
int pm_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                float alpha, const float *a, int64_t lda,
                const float *b, int64_t ldb,
                float beta, float *c, int64_t ldc,
                void *work, int64_t work_bytes);
int pm_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                double alpha, const double *a, int64_t lda,
                const double *b, int64_t ldb,
                double beta, double *c, int64_t ldc,
                void *work, int64_t work_bytes);

/* ----------------------------------------------------------- activations */
enum {
    PM_ACT_LINEAR = 0,       /* y = x */
    PM_ACT_SIGMOID = 1,      /* y = 1 / (1 + e^-x) */
    PM_ACT_HARD_SIGMOID = 2, /* y = clip(0.2 x + 0.5, 0, 1)   (Keras 2) */
    PM_ACT_TANH = 3,         /* y = tanh x */
    PM_ACT_RELU = 4,         /* y = x > threshold ? min(x, max_value) : alpha (x - threshold), as tf-keras
                                backend.relu computes it (a finite max_value also clips that branch at 0)
                                (relu6: max_value 6; leaky_relu: alpha 0.2; max_value = +inf for none) */
    PM_ACT_ELU = 5,          /* y = x > 0 ? x : alpha (e^x - 1) */
    PM_ACT_SELU = 6,         /* y = 1.05070098 * elu(x, 1.67326324) */
    PM_ACT_SOFTPLUS = 7,     /* y = log(1 + e^x) */
    PM_ACT_SOFTSIGN = 8,     /* y = x / (1 + |x|) */
    PM_ACT_SWISH = 9,        /* y = x sigmoid(x)   (silu) */
    PM_ACT_GELU = 10,        /* y = 0.5 x (1 + erf(x / sqrt 2)) */
    PM_ACT_GELU_TANH = 11,   /* y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    PM_ACT_EXPONENTIAL = 12, /* y = e^x */
    PM_ACT_MISH = 13,        /* y = x tanh(softplus x) */
    PM_ACT_SOFTMAX = 14,     /* y = e^(x - max) / sum, over each row */
    PM_ACT_LOG_SOFTMAX = 15  /* y = x - max - log sum e^(x - max), over each row */
};

/* An activation and its parameters (alpha, max_value, threshold are read only
 * by the kinds that use them). */
typedef struct pm_act {
    int kind;
    double alpha;
    double max_value;
    double threshold;
} pm_act;

/* y = act(x) on a rows x cols matrix (the row matters for softmax and
 * log_softmax only). y may alias x. */
int pm_act_fwd_f32(pm_act act, int64_t rows, int64_t cols, const float *x, float *y);
int pm_act_fwd_f64(pm_act act, int64_t rows, int64_t cols, const double *x, double *y);

/* dx = dy * act'(x), written; x is the forward input, y the forward output
 * (each kind reads what it needs; softmax: dx = y (dy - sum(dy y))).
 * dx may alias dy. */
int pm_act_bwd_f32(pm_act act, int64_t rows, int64_t cols, const float *x,
                   const float *y, const float *dy, float *dx);
int pm_act_bwd_f64(pm_act act, int64_t rows, int64_t cols, const double *x,
                   const double *y, const double *dy, double *dx);

/* ----------------------------------------------------------------- dense */
/* z = x @ w + b (b may be NULL), y = act(z): x is m x k, w is k x n, z and y
 * are m x n and written. z may equal y (in-place activation, inference). */
int pm_dense_fwd_f32(int64_t m, int64_t k, int64_t n, const float *x,
                     const float *w, const float *b, pm_act act,
                     float *z, float *y, void *work, int64_t work_bytes);
int pm_dense_fwd_f64(int64_t m, int64_t k, int64_t n, const double *x,
                     const double *w, const double *b, pm_act act,
                     double *z, double *y, void *work, int64_t work_bytes);

/* Backward of pm_dense_fwd: dz = dy * act'(z) (written; may alias dy; with
 * act LINEAR, dz may be dy itself and nothing is computed), then
 * dw = x^T dz (k x n, written), db = column sums of dz (n, written; NULL
 * skips), dx = dz w^T (m x k, written; NULL skips, for a first layer). */
int pm_dense_bwd_f32(int64_t m, int64_t k, int64_t n, const float *x,
                     const float *w, pm_act act, const float *z,
                     const float *y, const float *dy, float *dz,
                     float *dx, float *dw, float *db,
                     void *work, int64_t work_bytes);
int pm_dense_bwd_f64(int64_t m, int64_t k, int64_t n, const double *x,
                     const double *w, pm_act act, const double *z,
                     const double *y, const double *dy, double *dz,
                     double *dx, double *dw, double *db,
                     void *work, int64_t work_bytes);

/* ------------------------------------------------------------------- rng */
/* Caller-owned random state (xoshiro256**); C never holds RNG state. */
typedef struct pm_rng {
    uint64_t s[4];
} pm_rng;

/* Seed the state from one 64-bit value (splitmix64 expansion). */
int pm_rng_seed(pm_rng *rng, uint64_t seed);

/* --------------------------------------------------------------- dropout */
/* mask[i] = (u_i >= rate) / (1 - rate) with u_i uniform in [0, 1) drawn from
 * rng; y[i] = x[i] * mask[i]. 0 <= rate < 1. mask and y written; y may
 * alias x. */
int pm_dropout_fwd_f32(int64_t n, double rate, pm_rng *rng, const float *x,
                       float *mask, float *y);
int pm_dropout_fwd_f64(int64_t n, double rate, pm_rng *rng, const double *x,
                       double *mask, double *y);

/* dx[i] = dy[i] * mask[i], written; dx may alias dy. */
int pm_dropout_bwd_f32(int64_t n, const float *mask, const float *dy, float *dx);
int pm_dropout_bwd_f64(int64_t n, const double *mask, const double *dy, double *dx);

/* ---------------------------------------------------------------- losses */
enum {
    PM_LOSS_MSE = 0,            /* mean((p - y)^2) */
    PM_LOSS_MAE = 1,            /* mean(|p - y|) */
    PM_LOSS_MAPE = 2,           /* 100 mean(|(y - p) / max(|y|, eps)|) */
    PM_LOSS_MSLE = 3,           /* mean((log(max(p,eps)+1) - log(max(y,eps)+1))^2) */
    PM_LOSS_HUBER = 4,          /* mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2) */
    PM_LOSS_LOG_COSH = 5,       /* mean(x + softplus(-2x) - log 2), x = p - y */
    PM_LOSS_BCE = 6,            /* binary crossentropy (Keras clipping; or from logits) */
    PM_LOSS_CCE = 7,            /* categorical crossentropy (renormalised, clipped; or from logits) */
    PM_LOSS_SCCE = 8,           /* sparse categorical crossentropy; y_true holds one label per row */
    PM_LOSS_HINGE = 9,          /* mean(max(1 - y p, 0)), labels {0,1} -> {-1,1} */
    PM_LOSS_SQUARED_HINGE = 10, /* mean(max(1 - y p, 0)^2), labels {0,1} -> {-1,1} */
    PM_LOSS_KLD = 11,           /* sum(y log(y / p)), y and p clipped to [eps, 1] */
    PM_LOSS_POISSON = 12,       /* mean(p - y log(p + eps)) */
    PM_LOSS_CATEGORICAL_HINGE = 13 /* max(0, max((1 - y) p) - sum(y p) + 1) */
};

/* A loss and its options. epsilon is Keras's backend.epsilon() (1e-7).
 * from_logits applies to BCE, CCE, SCCE: y_pred is then the pre-activation
 * (sigmoid for BCE, softmax for CCE/SCCE), and the gradient is the stable
 * fused one, e.g. softmax(z) - y. */
typedef struct pm_loss {
    int kind;
    int from_logits;
    double delta;            /* huber */
    double label_smoothing;  /* bce, cce */
    double epsilon;
} pm_loss;

/* per_sample[i] = loss of row i (rows x cols predictions; y_true is rows x
 * cols, or rows labels for SCCE). PM_EINVAL on a label that is not an
 * integer in [0, cols). */
int pm_loss_fwd_f32(pm_loss loss, int64_t rows, int64_t cols,
                    const float *y_true, const float *y_pred, float *per_sample);
int pm_loss_fwd_f64(pm_loss loss, int64_t rows, int64_t cols,
                    const double *y_true, const double *y_pred, double *per_sample);

/* grad[i,j] = alpha * weight[i] * d loss_i / d y_pred[i,j], written
 * (weight NULL means all ones). */
int pm_loss_bwd_f32(pm_loss loss, int64_t rows, int64_t cols,
                    const float *y_true, const float *y_pred,
                    const float *weight, double alpha, float *grad);
int pm_loss_bwd_f64(pm_loss loss, int64_t rows, int64_t cols,
                    const double *y_true, const double *y_pred,
                    const double *weight, double alpha, double *grad);

/* ------------------------------------------------------------ optimizers */
/* Each step updates w and its slots in place from gradient g (n elements),
 * with the tf-keras 2.11+ formulas (legacy != 0: the Keras 2.10 ones). */

/* m = momentum m - lr g; w += nesterov ? momentum m - lr g : m.
 * m may be NULL when momentum == 0 (w -= lr g). */
int pm_sgd_step_f32(int64_t n, float *w, const float *g, float *m,
                    double lr, double momentum, int nesterov);
int pm_sgd_step_f64(int64_t n, double *w, const double *g, double *m,
                    double lr, double momentum, int nesterov);

/* acc += g^2; w -= lr g / sqrt(acc + eps)  (legacy: / (sqrt(acc) + eps)). */
int pm_adagrad_step_f32(int64_t n, float *w, const float *g, float *acc,
                        double lr, double epsilon, int legacy);
int pm_adagrad_step_f64(int64_t n, double *w, const double *g, double *acc,
                        double lr, double epsilon, int legacy);

/* v = rho v + (1 - rho) g^2; centered: mg = rho mg + (1 - rho) g,
 * den = v - mg^2 + eps, else den = v + eps; inc = lr g / sqrt(den);
 * momentum > 0: mom = momentum mom + inc, w -= mom; else w -= inc.
 * legacy without momentum: inc = lr g / (sqrt(v [- mg^2]) + eps).
 * mg may be NULL unless centered, mom NULL unless momentum > 0. */
int pm_rmsprop_step_f32(int64_t n, float *w, const float *g, float *v,
                        float *mg, float *mom, double lr, double rho,
                        double momentum, double epsilon, int centered, int legacy);
int pm_rmsprop_step_f64(int64_t n, double *w, const double *g, double *v,
                        double *mg, double *mom, double lr, double rho,
                        double momentum, double epsilon, int centered, int legacy);

/* t = step number (iterations + 1); alpha = lr sqrt(1 - b2^t) / (1 - b1^t);
 * m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
 * amsgrad: vhat = max(vhat, v), v used = vhat (vhat NULL otherwise);
 * w -= alpha m / (sqrt(v) + eps). */
int pm_adam_step_f32(int64_t n, float *w, const float *g, float *m, float *v,
                     float *vhat, double lr, double beta_1, double beta_2,
                     double epsilon, int64_t t, int amsgrad);
int pm_adam_step_f64(int64_t n, double *w, const double *g, double *m, double *v,
                     double *vhat, double lr, double beta_1, double beta_2,
                     double epsilon, int64_t t, int amsgrad);

/* m += (g - m)(1 - b1); u = max(b2 u, |g|); w -= lr m / ((1 - b1^t)(u + eps)). */
int pm_adamax_step_f32(int64_t n, float *w, const float *g, float *m, float *u,
                       double lr, double beta_1, double beta_2, double epsilon,
                       int64_t t);
int pm_adamax_step_f64(int64_t n, double *w, const double *g, double *m, double *u,
                       double lr, double beta_1, double beta_2, double epsilon,
                       int64_t t);

/* tf-keras Nadam with its momentum schedule; the caller passes the
 * per-step scalars (u_t, u_t1 = u_{t+1}, u_prod = prod of u up to t,
 * u_prod_t1 = u_prod * u_t1, beta2_pow = b2^t):
 * m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
 * mhat = u_t1 m / (1 - u_prod_t1) + (1 - u_t) g / (1 - u_prod);
 * vhat = v / (1 - beta2_pow); w -= lr mhat / (sqrt(vhat) + eps). */
int pm_nadam_step_f32(int64_t n, float *w, const float *g, float *m, float *v,
                      double lr, double beta_1, double beta_2, double epsilon,
                      double u_t, double u_t1, double u_prod, double u_prod_t1,
                      double beta2_pow);
int pm_nadam_step_f64(int64_t n, double *w, const double *g, double *m, double *v,
                      double lr, double beta_1, double beta_2, double epsilon,
                      double u_t, double u_t1, double u_prod, double u_prod_t1,
                      double beta2_pow);

/* ----------------------------------------------- vector helpers (training) */
/* *out = sum of x[i]^2 (double accumulator), for clipnorm / global_clipnorm. */
int pm_sumsq_f32(int64_t n, const float *x, double *out);
int pm_sumsq_f64(int64_t n, const double *x, double *out);

/* x[i] *= alpha. */
int pm_scale_f32(int64_t n, float *x, double alpha);
int pm_scale_f64(int64_t n, double *x, double alpha);

/* x[i] = min(max(x[i], lo), hi). */
int pm_clip_f32(int64_t n, float *x, double lo, double hi);
int pm_clip_f64(int64_t n, double *x, double lo, double hi);

/* Decoupled weight decay, tf-keras order: w[i] -= w[i] * wd * lr. */
int pm_weight_decay_f32(int64_t n, float *w, double wd, double lr);
int pm_weight_decay_f64(int64_t n, double *w, double wd, double lr);

/* Regularization: g[i] += l1 sign(w[i]) + 2 l2 w[i] (accumulated);
 * *penalty = l1 sum |w| + l2 sum w^2 (written). */
int pm_l1l2_f32(int64_t n, const float *w, double l1, double l2, float *g,
                double *penalty);
int pm_l1l2_f64(int64_t n, const double *w, double l1, double l2, double *g,
                double *penalty);

/* PM_CDEF_END */

#ifdef __cplusplus
}
#endif

#endif /* PYMODEL_H */
