/*
 * pm_gemm.h -- private GEMM pieces shared by the driver (pm_gemm.c) and the
 * micro-kernel files (pm_gemm_avx2.c, pm_gemm_avx512.c).
 *
 * The one micro-kernel contract (BLIS): for a full MR x NR tile,
 *
 *     C[i*ldc + j] = alpha * sum_p A[i*rsa + p*csa] * B[p*rsb + j]
 *                    + beta * C[i*ldc + j]
 *
 * for 0 <= i < MR, 0 <= j < NR, 0 <= p < k (k >= 1). A is a packed
 * micro-panel (rsa == 1, csa == MR) or MR rows of the caller's op(A) read in
 * place (strides 1 and lda, either way round); B is a packed micro-panel
 * (rsb == NR) or NR columns of the caller's B (rsb == ldb). beta == 0: C is
 * only written, never read. The driver handles edges (zero-padded packing
 * and a temporary tile), so kernels only ever see full tiles.
 */
#ifndef PM_GEMM_H
#define PM_GEMM_H

#include "pm_internal.h"

/* One micro-kernel, the blocking that suits it, and optionally: ukr_half,
 * the same contract for MR x NR/2 tiles (used for panels at most NR/2
 * wide); ukr_mask, the contract for MR x cols tiles, 1 <= cols <= NR/2,
 * that touches only those cols columns of B and C (masked loads and
 * stores), so narrow panels of B are read in place and C written directly;
 * ukr_narrow, for products with few columns (see pm_gemm_narrow);
 * ukr_rows and ukr_rows_t, for products with few rows, B as stored or
 * transposed (see pm_gemm_rows); and pack_bt,
 * a SIMD packer for a full NR-wide panel of a transposed B
 * (bp[p*NR + j] = b[j*ldb + p]); narrow_direct, a whole product with
 * 8 <= n <= PM_GEMM_DIRECT_MAX columns and A as stored (rows along k), for
 * a variant that computes it without transposing A (see
 * pm_gemm_avx512.c). NULL: the full kernel / the half kernel /
 * the blocked driver / the portable packer is used. Blocking: mc is a multiple of mr,
 * nc a multiple of nr; mr, nr, kc and nc are within the PM_GEMM_*_MAX limits
 * below, which size the workspace (so it does not depend on the variant in
 * use). */
#define PM_GEMM_DECLARE_ARCH(T, SUF)                                          \
    typedef void PM_CAT(pm_gemm_ukr, SUF)(int64_t k, const T *a, int64_t rsa, \
                                          int64_t csa, const T *b,            \
                                          int64_t rsb, T *c, int64_t ldc,     \
                                          T alpha, T beta);                   \
    typedef void PM_CAT(pm_gemm_ukr_mask, SUF)(                               \
        int64_t k, const T *a, int64_t rsa, int64_t csa, const T *b,          \
        int64_t rsb, T *c, int64_t ldc, T alpha, T beta, int cols);           \
    typedef void PM_CAT(pm_gemm_ukr_narrow, SUF)(                             \
        int64_t k, const T *a, int64_t lda, int rows, const T *b,             \
        int64_t ldb, T *c, int64_t ldc, T alpha, T beta, int cols);           \
    typedef void PM_CAT(pm_gemm_ukr_rows, SUF)(                               \
        int64_t k, const T *a, int64_t rsa, int64_t csa, int rows,            \
        const T *b, int64_t ldb, T *c, int64_t ldc, T alpha, T beta,          \
        int64_t n);                                                           \
    typedef void PM_CAT(pm_gemm_pack_bt, SUF)(const T *b, int64_t ldb,        \
                                              int64_t kc, T *bp);             \
    typedef void PM_CAT(pm_gemm_narrow_direct, SUF)(                          \
        int64_t m, int64_t n, int64_t k, T alpha, const T *a, int64_t lda,    \
        const T *b, int64_t ldb, T beta, T *c, int64_t ldc, T *buf);          \
    typedef struct PM_CAT(pm_gemm_arch, SUF) {                                \
        int mr, nr, mc, kc, nc;                                               \
        PM_CAT(pm_gemm_ukr, SUF) *ukr;                                        \
        PM_CAT(pm_gemm_ukr, SUF) *ukr_half;                                   \
        PM_CAT(pm_gemm_ukr_mask, SUF) *ukr_mask;                              \
        PM_CAT(pm_gemm_ukr_narrow, SUF) *ukr_narrow;                          \
        PM_CAT(pm_gemm_ukr_rows, SUF) *ukr_rows;                              \
        PM_CAT(pm_gemm_ukr_rows, SUF) *ukr_rows_t;                            \
        PM_CAT(pm_gemm_pack_bt, SUF) *pack_bt;                                \
        PM_CAT(pm_gemm_narrow_direct, SUF) *narrow_direct;                    \
    } PM_CAT(pm_gemm_arch, SUF);

PM_GEMM_DECLARE_ARCH(float, f32)
PM_GEMM_DECLARE_ARCH(double, f64)

/* Workspace limits, per dtype, over every variant. */
#define PM_GEMM_MR_MAX 8
#define PM_GEMM_NR_MAX 32
#define PM_GEMM_KC_MAX 512
#define PM_GEMM_NC_MAX 4096
/* Products with at most this many rows read full B panels in place (no
 * packing) when B is not transposed: each panel serves only a few tiles,
 * so packing it would cost more than it saves. */
#define PM_GEMM_DIRECT_B_M 256
/* Products with B transposed, at most PM_GEMM_SWAP_M rows (and fewer rows
 * than columns) and more than PM_GEMM_SWAP_K terms per sum are computed as
 * C^T = op(B)^T op(A)^T, see pm_gemm. With short sums, writing C through
 * transposed temporary tiles costs more than packing B (measured: m = 32,
 * n = 256 is 2x faster unswapped for k = 10, 1.1x for k = 128, 1.06x
 * slower for k = 256). */
#define PM_GEMM_SWAP_M 64
#define PM_GEMM_SWAP_K 128
/* Products A^T B with at most this many columns and too few multiply-adds
 * to be threaded use the narrow kernel when the variant has one: vectors
 * along the rows of C, so every lane works for n = 10. */
#define PM_GEMM_NARROW_MAX 12
/* The most columns narrow_direct takes (8 in vectors, the rest as dot
 * products); it needs at least 8. */
#define PM_GEMM_DIRECT_MAX 10
/* Products with at most this many rows stream B straight from the
 * caller's memory into vector FMAs (see pm_gemm_rows): packing B would
 * copy all of it for a few rows of C. */
#define PM_GEMM_ROWS_MAX 8
/* Split total into ceil(total / max) near-equal blocks, rounded up to a
 * multiple of unit (max is a multiple of unit, so the result is <= max).
 * Depends on the sizes only, so the blocking is the same for any thread
 * count. */
static inline int64_t pm_gemm_block(int64_t total, int64_t max, int64_t unit)
{
    const int64_t parts = (total + max - 1) / max;
    const int64_t size = (total + parts - 1) / parts;
    return (size + unit - 1) / unit * unit;
}

/* Alignment of the packed buffers inside the caller's workspace. */
#define PM_GEMM_ALIGN 64

/* Variants. Each SIMD file defines its table entries, or leaves them with
 * ukr == NULL when the compiler cannot target that instruction set. */
extern const pm_gemm_arch_f32 pm_gemm_avx2_f32, pm_gemm_avx512_f32;
extern const pm_gemm_arch_f64 pm_gemm_avx2_f64, pm_gemm_avx512_f64;

/* The variant in use (PM_GEMM_PORTABLE, PM_GEMM_AVX2 or PM_GEMM_AVX512). */
int pm_gemm_variant_resolved(void);

/* x86 with GCC/Clang: SIMD kernels via target attributes, chosen at run
 * time with __builtin_cpu_supports (never -march=native). */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define PM_GEMM_X86 1
#endif

#endif /* PM_GEMM_H */
