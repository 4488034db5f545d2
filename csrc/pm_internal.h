/*
 * pm_internal.h -- private helpers shared by the C sources in csrc/.
 *
 * Dtype templates: a kernel body is written once in a pm_<concern>_tmpl.inc
 * file that uses T (the element type) and PM_FN(name) (name_f32 / name_f64),
 * and the .c file instantiates it for float (f32) and double (f64):
 *
 *     #define PM_TEMPLATE "pm_foo_tmpl.inc"
 *     #include "pm_instantiate.h"
 */
#ifndef PM_INTERNAL_H
#define PM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pymodel.h"

#define PM_CAT_(a, b) a##_##b
#define PM_CAT(a, b) PM_CAT_(a, b)
/* PM_FN(pm_relu_fwd) -> pm_relu_fwd_f32 when SUF is f32. */
#define PM_FN(name) PM_CAT(name, SUF)

#if defined(__GNUC__) || defined(__clang__)
#define PM_RESTRICT __restrict__
#define PM_LIKELY(x) __builtin_expect(!!(x), 1)
#define PM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define PM_RESTRICT
#define PM_LIKELY(x) (x)
#define PM_UNLIKELY(x) (x)
#endif

/* Return PM_EINVAL from the enclosing function when cond is false. */
#define PM_CHECK_ARG(cond)                \
    do {                                  \
        if (PM_UNLIKELY(!(cond)))         \
            return PM_EINVAL;             \
    } while (0)

/* Return the status of expr when it is not PM_OK. */
#define PM_TRY(expr)                      \
    do {                                  \
        int pm_try_status_ = (expr);      \
        if (pm_try_status_ != PM_OK)      \
            return pm_try_status_;        \
    } while (0)

/* An OpenMP directive, or nothing in a build without OpenMP. */
#ifdef _OPENMP
#define PM_OMP(directive) _Pragma(#directive)
#else
#define PM_OMP(directive)
#endif

#define PM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PM_MAX(a, b) ((a) > (b) ? (a) : (b))

/* a * b without signed overflow: 0 on success and *out set, -1 on overflow
 * or a negative factor. */
static inline int pm_mul_size(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0)
        return -1;
    if (a != 0 && b > INT64_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

/* Threads for a kernel that moves `elems` values split into `parts`
 * independent pieces (images): 1 below PM_PAR_MIN_ELEMS (a parallel region
 * costs more than it saves), never more than parts. */
#define PM_PAR_MIN_ELEMS ((int64_t)1 << 15)
int pm_threads_for(int64_t elems, int64_t parts);

/* Work a caller runs inside a product's thread team, each thread with its
 * id (0 <= id < nt): before(ctx, id, nt) ahead of the product (the team
 * then waits at a barrier; it may write C and op(B), not op(A)), after(ctx,
 * id, nt) once C is complete. Either may be NULL. Products that run
 * without a team call them once each with id 0, nt 1. Both may use
 * orphaned OpenMP barriers, which every thread of the team reaches. */
typedef struct pm_gemm_hooks {
    void (*before)(void *ctx, int id, int nt);
    void (*after)(void *ctx, int id, int nt);
    void *ctx;
} pm_gemm_hooks;

/* pm_gemm_f32/f64 with hooks (NULL: none). */
int pm_gemm_hooked_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       float alpha, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float beta, float *c, int64_t ldc, void *work,
                       int64_t work_bytes, const pm_gemm_hooks *hooks);
int pm_gemm_hooked_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       double alpha, const double *a, int64_t lda, const double *b,
                       int64_t ldb, double beta, double *c, int64_t ldc, void *work,
                       int64_t work_bytes, const pm_gemm_hooks *hooks);

/* [*lo, *hi): thread id's share of rows of cols elements, its first
 * element a multiple of 16 from the start (so elementwise kernels see the
 * same vector groups as over the whole array). */
static inline void pm_rows_share(int64_t rows, int64_t cols, int id, int nt,
                                 int64_t *lo, int64_t *hi)
{
    int64_t q = 1;  /* rows per step: q * cols is a multiple of 16 */
    while (q < 16 && (q * cols) % 16 != 0)
        q *= 2;
    const int64_t steps = (rows + q - 1) / q;
    *lo = PM_MIN(rows, steps * id / nt * q);
    *hi = PM_MIN(rows, steps * (id + 1) / nt * q);
}

#endif /* PM_INTERNAL_H */
