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
    PM_EUNSUPPORTED = 3,  /* the kind / option is not implemented */
    PM_ENONFINITE = 4     /* an input holds NaN or infinity (where refused) */
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
/* pm_gemm_*, and PM_EINVAL when C's span (first to last element) meets A's
 * or B's, or the work bytes meet any of the three: the checks of the Python
 * binding, done here because they cost less in C. */
int pm_gemm_disjoint_f32(int trans_a, int trans_b, int64_t m, int64_t n,
                         int64_t k, float alpha, const float *a, int64_t lda,
                         const float *b, int64_t ldb, float beta, float *c,
                         int64_t ldc, void *work, int64_t work_bytes);
int pm_gemm_disjoint_f64(int trans_a, int trans_b, int64_t m, int64_t n,
                         int64_t k, double alpha, const double *a, int64_t lda,
                         const double *b, int64_t ldb, double beta, double *c,
                         int64_t ldc, void *work, int64_t work_bytes);

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

/* Adadelta: acc = rho acc + (1 - rho) g^2;
 * d = -sqrt(acc_delta + eps) g / sqrt(acc + eps);
 * acc_delta = rho acc_delta + (1 - rho) d^2; w += lr d. */
int pm_adadelta_step_f32(int64_t n, float *w, const float *g, float *acc,
                         float *acc_delta, double lr, double rho, double epsilon);
int pm_adadelta_step_f64(int64_t n, double *w, const double *g, double *acc,
                         double *acc_delta, double lr, double rho,
                         double epsilon);

/* Lion: w -= lr sign(b1 m + (1 - b1) g); m = b2 m + (1 - b2) g. */
int pm_lion_step_f32(int64_t n, float *w, const float *g, float *m, double lr,
                     double beta_1, double beta_2);
int pm_lion_step_f64(int64_t n, double *w, const double *g, double *m, double lr,
                     double beta_1, double beta_2);

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
/* PM_OK when every x[i] is finite, PM_ENONFINITE when one is NaN or
 * infinite (one vectorized pass, no early exit). */
int pm_finite_f32(int64_t n, const float *x);
int pm_finite_f64(int64_t n, const double *x);

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

/* ------------------------------------------------ convolution and pooling */
/* Geometry of a 2-D sliding window over an n x h x w x c input (NHWC,
 * channels_last). Output cell (oy, ox), 0 <= oy < oh, 0 <= ox < ow, reads
 * the taps iy = oy sh - pad_top + ky dh (0 <= ky < kh) and
 * ix = ox sw - pad_left + kx dw (0 <= kx < kw); taps outside the input are
 * padding (zeros for convolution, skipped by pooling). 1-D layers use
 * h = kh = 1. Consistent geometry (PM_EINVAL otherwise): n, c >= 0;
 * h, w, kh, kw, sh, sw, dh, dw, oh, ow >= 1; with span = (kh - 1) dh + 1,
 * 0 <= pad_top < span and the implied bottom padding
 * (oh - 1) sh + span - h - pad_top lies in (-sh, span), likewise for the
 * columns; every element count fits in int64. TensorFlow's 'valid', 'same'
 * and Keras's 'causal' padding all give consistent geometries. */
typedef struct pm_window2d {
    int64_t n, h, w, c;         /* input */
    int64_t kh, kw;             /* window (kernel or pool) size */
    int64_t sh, sw;             /* strides */
    int64_t dh, dw;             /* dilations (1 for pooling) */
    int64_t pad_top, pad_left;  /* padding before; the rest is implied */
    int64_t oh, ow;             /* output size */
} pm_window2d;

/* PM_OK if g is consistent (above), PM_EINVAL otherwise. */
int pm_window2d_check(pm_window2d g);

/* Workspace bytes pm_conv2d_fwd_* / _bwd_* need for geometry g and cout
 * output channels (an im2col column block plus GEMM packing); -1 if g is
 * inconsistent, cout < 0 or a size overflows. */
int64_t pm_conv2d_workspace_size_f32(pm_window2d g, int64_t cout);
int64_t pm_conv2d_workspace_size_f64(pm_window2d g, int64_t cout);

/* y[b,oy,ox,o] = bias[o] + sum_{ky,kx,i} x[b,iy,ix,i] k[ky,kx,i,o] with zero
 * padding (im2col + GEMM): x is n x h x w x c, k is kh x kw x c x cout
 * (Keras's kernel layout), bias has cout entries or is NULL, y is
 * n x oh x ow x cout, written. PM_ENOMEM if work_bytes is below
 * pm_conv2d_workspace_size_*. */
int pm_conv2d_fwd_f32(pm_window2d g, int64_t cout, const float *x,
                      const float *k, const float *bias, float *y,
                      void *work, int64_t work_bytes);
int pm_conv2d_fwd_f64(pm_window2d g, int64_t cout, const double *x,
                      const double *k, const double *bias, double *y,
                      void *work, int64_t work_bytes);

/* Backward of pm_conv2d_fwd for dy (n x oh x ow x cout):
 * dk[ky,kx,i,o] = sum_{b,oy,ox} x[b,iy,ix,i] dy[b,oy,ox,o], written;
 * db[o] = sum_{b,oy,ox} dy[b,oy,ox,o], written (NULL skips);
 * dx[b,iy,ix,i] = sum of k[ky,kx,i,o] dy[b,oy,ox,o] over the cells and taps
 * that read it (col2im), written (NULL skips, for a first layer). */
int pm_conv2d_bwd_f32(pm_window2d g, int64_t cout, const float *x,
                      const float *k, const float *dy, float *dx, float *dk,
                      float *db, void *work, int64_t work_bytes);
int pm_conv2d_bwd_f64(pm_window2d g, int64_t cout, const double *x,
                      const double *k, const double *dy, double *dx,
                      double *dk, double *db, void *work, int64_t work_bytes);

/* Pooling over the window g (dh = dw = 1, else PM_EINVAL); x and dx are
 * n x h x w x c, y and dy n x oh x ow x c; outputs written.
 * Max: y = max of the real taps (padding never wins). */
int pm_max_pool2d_fwd_f32(pm_window2d g, const float *x, float *y);
int pm_max_pool2d_fwd_f64(pm_window2d g, const double *x, double *y);
/* dx = sum of dy over the cells whose first maximum (taps scanned row by
 * row; ties go to the first, as TensorFlow's MaxPoolGrad) is that element. */
int pm_max_pool2d_bwd_f32(pm_window2d g, const float *x, const float *dy,
                          float *dx);
int pm_max_pool2d_bwd_f64(pm_window2d g, const double *x, const double *dy,
                          double *dx);
/* Average: y = mean of the real taps (padding not counted, as TensorFlow). */
int pm_avg_pool2d_fwd_f32(pm_window2d g, const float *x, float *y);
int pm_avg_pool2d_fwd_f64(pm_window2d g, const double *x, double *y);
/* dx = sum over the cells reading an element of dy / (real taps of that cell). */
int pm_avg_pool2d_bwd_f32(pm_window2d g, const float *dy, float *dx);
int pm_avg_pool2d_bwd_f64(pm_window2d g, const double *dy, double *dx);

/* Global pooling over the s >= 1 spatial cells of an n x s x c input
 * (s = h w for 2-D); y and dy are n x c; outputs written.
 * y[b,i] = max_j x[b,j,i]. */
int pm_global_max_pool_fwd_f32(int64_t n, int64_t s, int64_t c,
                               const float *x, float *y);
int pm_global_max_pool_fwd_f64(int64_t n, int64_t s, int64_t c,
                               const double *x, double *y);
/* dx[b,j,i] = dy[b,i] / t if x[b,j,i] equals the max, else 0, with t the
 * number of tied maxima (TensorFlow's reduce_max gradient). */
int pm_global_max_pool_bwd_f32(int64_t n, int64_t s, int64_t c,
                               const float *x, const float *dy, float *dx);
int pm_global_max_pool_bwd_f64(int64_t n, int64_t s, int64_t c,
                               const double *x, const double *dy, double *dx);
/* y[b,i] = mean_j x[b,j,i]; backward dx[b,j,i] = dy[b,i] / s. */
int pm_global_avg_pool_fwd_f32(int64_t n, int64_t s, int64_t c,
                               const float *x, float *y);
int pm_global_avg_pool_fwd_f64(int64_t n, int64_t s, int64_t c,
                               const double *x, double *y);
int pm_global_avg_pool_bwd_f32(int64_t n, int64_t s, int64_t c,
                               const float *dy, float *dx);
int pm_global_avg_pool_bwd_f64(int64_t n, int64_t s, int64_t c,
                               const double *dy, double *dx);

/* -------------------------------------------------------- training plans */
/* A compiled training step: a model's layers, loss and optimizer laid out
 * once by Python (pymodel/_native/plan.py) over buffers the caller owns.
 * pm_plan_train_* makes exactly the kernel calls of the Python batch loop
 * (pymodel/training.py), in the same order with the same arguments, so its
 * results are bitwise identical to that loop's. C writes the buffers, the
 * parameters, the optimizer slots, the dropout states and p->iterations;
 * it keeps no pointer after it returns. */
enum { PM_PLAN_DENSE = 0, PM_PLAN_DROPOUT = 1, PM_PLAN_ACTIVATION = 2 };
enum { PM_PLAN_SGD = 0, PM_PLAN_ADAGRAD = 1, PM_PLAN_RMSPROP = 2,
       PM_PLAN_ADAM = 3, PM_PLAN_ADAMAX = 4, PM_PLAN_ADADELTA = 5, PM_PLAN_LION = 6 };

/* One layer. Dense: x (m x k) -> z, y (m x n) with m = rows x
 * rows_per_sample; backward writes dz (unless fused), dx (if need_dx), dw,
 * db (if b). Dropout (0 < rate < 1): y = x * mask over m x n elements,
 * backward dx = dy * mask. Activation: y = act(x) on m x n, backward
 * dx = dy * act'(x) (if need_dx); fused as the last layer, dy (d loss / d x)
 * passes through and z points at x, the logits the loss reads. Buffers
 * hold `capacity` samples. */
typedef struct pm_plan_layer {
    int kind;                 /* PM_PLAN_DENSE, _DROPOUT or _ACTIVATION */
    int fused;                /* last layer: dy is d loss / d z (dense), / d x (activation) */
    int need_dx;              /* write dx (0 for a first layer) */
    int64_t rows_per_sample;  /* flat rows per sample (rank > 2 inputs) */
    int64_t k, n;             /* dense: input, output columns; dropout: n */
    pm_act act;               /* dense or activation layer's activation */
    void *w, *b, *dw, *db;    /* dense parameters and gradients (b, db NULL: no bias) */
    void *z, *y, *dz, *dx;    /* dense: all four; dropout, activation: y and dx */
    void *mask;               /* dropout mask */
    double rate;              /* dropout rate */
    pm_rng *rng;              /* dropout random state (advanced) */
    void *work;               /* dense GEMM workspace */
    int64_t work_bytes;
} pm_plan_layer;

/* One trainable variable: n elements, its gradient and up to three
 * optimizer slots (SGD: momentum; Adagrad: accumulator; RMSprop: velocity,
 * average gradient, momentum; Adam: m, v, vhat; Adamax: m, u; NULL where
 * the kernel takes NULL); regularized: each step adds the L1/L2 gradient
 * to g and the penalty to the loss (pm_l1l2), before clipping. */
typedef struct pm_plan_param {
    int64_t n;
    void *w, *g, *s0, *s1, *s2;
    int regularized;
    double l1, l2;
} pm_plan_param;

typedef struct pm_plan {
    int64_t n_layers;
    pm_plan_layer *layers;
    int64_t capacity;         /* samples per full batch (the batch size) */
    int64_t x_size, y_size;   /* elements per sample of x and y */
    int64_t out_rows;         /* loss (predict: output) rows per sample */
    int64_t out_cols;         /* loss (predict: output) columns */
    void *xb, *yb, *wb;       /* gather buffers for shuffled batches */
    void *per_sample, *grad;  /* loss values and d loss / d output */
    pm_loss loss;             /* from_logits set for the shortcut */
    int shortcut;             /* the loss reads the last dense layer's z */
    double loss_weight;
    int optimizer;            /* PM_PLAN_SGD ... PM_PLAN_ADAMAX */
    int64_t n_params;
    pm_plan_param *params;
    double beta_1, beta_2, epsilon, momentum, rho;
    int nesterov, amsgrad, centered, legacy;
    double clipnorm, global_clipnorm, clipvalue;   /* 0: off */
    int decay;                /* apply weight_decay (decoupled) */
    double weight_decay;
    int64_t iterations;       /* optimizer steps done; +1 after each step */
} pm_plan;

/* Train on batches b0 .. b0 + nb - 1 of an epoch of n samples (batch b is
 * samples b*capacity .. min(n, (b+1)*capacity) - 1, taken through order[]
 * when order is not NULL): per batch, forward, loss, backward and one
 * optimizer step at learning rate lr; losses[j] = the loss of batch b0 + j
 * (sum_i w_i l_i / rows * loss_weight, sum in double). w may be NULL (all
 * ones). Each step either completes or leaves no trace of itself in the
 * weights, so stopping between calls is always clean. With 65,536 or more
 * parameters the (elementwise) optimizer step, and with it the gather of
 * the next batch, is split over the threads; results are the same for
 * every thread count. The whole order of the call's batches is checked
 * before the first step (PM_EINVAL: no step taken). */
int pm_plan_train_f32(pm_plan *p, int64_t n, const float *x, const float *y,
                      const float *w, const int64_t *order, int64_t b0,
                      int64_t nb, double lr, double *losses);
int pm_plan_train_f64(pm_plan *p, int64_t n, const double *x, const double *y,
                      const double *w, const int64_t *order, int64_t b0,
                      int64_t nb, double lr, double *losses);

/* pm_plan_train_* over all the batches of `epochs` epochs in a row: epoch e
 * takes its samples through orders + e * n (orders NULL: in stored order)
 * and writes its batches' losses to losses + e * ceil(n / capacity). Every
 * order is checked before the first step (PM_EINVAL: no step taken). For
 * fits of few samples, where a call per epoch would cost more than the
 * epoch. */
int pm_plan_train_epochs_f32(pm_plan *p, int64_t n, const float *x,
                             const float *y, const float *w,
                             const int64_t *orders, int64_t epochs, double lr,
                             double *losses);
int pm_plan_train_epochs_f64(pm_plan *p, int64_t n, const double *x,
                             const double *y, const double *w,
                             const int64_t *orders, int64_t epochs, double lr,
                             double *losses);

/* The forward pass alone over n samples, in chunks of p->capacity rows:
 * y (n x out_rows*out_cols, written) = the model's output for x (n x
 * x_size), as the Python forward computes it chunk by chunk (same kernels,
 * same arguments, so bitwise equal). Dropout layers run (and advance their
 * random state) only when training is non-zero. Only layers, n_layers,
 * capacity, x_size, out_rows and out_cols of p are read; the layer buffers
 * are written. */
int pm_plan_predict_f32(const pm_plan *p, int64_t n, const float *x,
                        int training, float *y);
int pm_plan_predict_f64(const pm_plan *p, int64_t n, const double *x,
                        int training, double *y);

/* pm_plan_predict_*, but PM_ENONFINITE, with nothing written, when x holds
 * NaN or infinity: the input check of a predict, in the pass that runs it. */
int pm_plan_predict_finite_f32(const pm_plan *p, int64_t n, const float *x,
                               int training, float *y);
int pm_plan_predict_finite_f64(const pm_plan *p, int64_t n, const double *x,
                               int training, double *y);

/* *out = sum_i v[i] w[i] in double, left to right (w NULL: all ones): the
 * batch loss total, shared by the plan and the Python loop. */
int pm_loss_sum_f32(int64_t n, const float *v, const float *w, double *out);
int pm_loss_sum_f64(int64_t n, const double *v, const double *w, double *out);

/* ---------------------------------------------------------- Python */
/* Install as module.name (a module already imported, with a _gemm_checked
 * function) a builtin gemm that takes the common call straight to
 * pm_gemm_disjoint and passes every other one to _gemm_checked. PM_OK, or
 * PM_EUNSUPPORTED where the build has no such entry (Python < 3.11). */
int pm_py_bind_gemm(const char *module, const char *name);

/* PM_CDEF_END */

#ifdef __cplusplus
}
#endif

#endif /* PYMODEL_H */
