/* pm_gemm_avx512.c -- AVX-512F GEMM micro-kernels (8 x 2 vectors of 512
 * bits), compiled with a target attribute and chosen at run time. */
#include "pm_gemm.h"

#ifdef PM_GEMM_X86
#include <immintrin.h>

#define PM_SIMD_TARGET "avx512f"

/* Transposing B packer for float (NR = 32): 16 x 16 blocks transposed in
 * registers (unpack, then two rounds of 128-bit lane shuffles), instead of
 * one strided scalar store per element. */
__attribute__((target("avx512f")))
static void pm_gemm_avx512_f32_pack_bt(const float *b, int64_t ldb, int64_t kc,
                                       float *bp)
{
    enum { NR = 32 };
    int64_t p = 0;
    for (; p + 16 <= kc; p += 16) {
        for (int jh = 0; jh < NR; jh += 16) {
            __m512 r[16], t[16];
            for (int i = 0; i < 16; i++)
                r[i] = _mm512_loadu_ps(b + (jh + i) * ldb + p);
            for (int i = 0; i < 16; i += 2) {
                t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int g = 0; g < 16; g += 4) {
                const __m512d t0 = _mm512_castps_pd(t[g]);
                const __m512d t1 = _mm512_castps_pd(t[g + 1]);
                const __m512d t2 = _mm512_castps_pd(t[g + 2]);
                const __m512d t3 = _mm512_castps_pd(t[g + 3]);
                r[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
                r[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
                r[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
                r[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
            }
            for (int h = 0; h < 16; h += 8)
                for (int i = 0; i < 4; i++) {
                    const __m512 lo = r[h + i], hi = r[h + 4 + i];
                    t[h + i] = _mm512_shuffle_f32x4(lo, hi, 0x88);
                    t[h + 4 + i] = _mm512_shuffle_f32x4(lo, hi, 0xdd);
                }
            for (int i = 0; i < 8; i++) {
                r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
                r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
            }
            for (int q = 0; q < 16; q++)
                _mm512_storeu_ps(bp + (p + q) * NR + jh, r[q]);
        }
    }
    for (; p < kc; p++)
        for (int j = 0; j < NR; j++)
            bp[p * NR + j] = b[j * ldb + p];
}

/* The same for double (NR = 16): 8 x 8 blocks, unpack then two rounds of
 * 128-bit lane shuffles. */
__attribute__((target("avx512f")))
static void pm_gemm_avx512_f64_pack_bt(const double *b, int64_t ldb,
                                       int64_t kc, double *bp)
{
    enum { NR = 16 };
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        for (int jh = 0; jh < NR; jh += 8) {
            __m512d r[8], t[8];
            for (int i = 0; i < 8; i++)
                r[i] = _mm512_loadu_pd(b + (jh + i) * ldb + p);
            for (int i = 0; i < 8; i += 2) {
                t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
                t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
            }
            for (int h = 0; h < 8; h += 4) {
                r[h] = _mm512_shuffle_f64x2(t[h], t[h + 2], 0x88);
                r[h + 1] = _mm512_shuffle_f64x2(t[h + 1], t[h + 3], 0x88);
                r[h + 2] = _mm512_shuffle_f64x2(t[h], t[h + 2], 0xdd);
                r[h + 3] = _mm512_shuffle_f64x2(t[h + 1], t[h + 3], 0xdd);
            }
            for (int i = 0; i < 4; i++) {
                t[i] = _mm512_shuffle_f64x2(r[i], r[4 + i], 0x88);
                t[4 + i] = _mm512_shuffle_f64x2(r[i], r[4 + i], 0xdd);
            }
            for (int q = 0; q < 8; q++)
                _mm512_storeu_pd(bp + (p + q) * NR + jh, t[q]);
        }
    }
    for (; p < kc; p++)
        for (int j = 0; j < NR; j++)
            bp[p * NR + j] = b[j * ldb + p];
}

/* Few-column products, C = alpha A B + beta C for 8 <= n <=
 * PM_GEMM_DIRECT_MAX with A as stored (rows along k): the narrow kernel
 * first transposes A, which for
 * 256 x 256 @ 256 x 10 took as long as the sums, and masked 16-lane vectors
 * along the columns would leave 6 of 16 lanes idle. Here columns 0-7 are
 * one 256-bit vector a row: a broadcast of A(i, p) times row p of B, even
 * and odd p into two sums (two FMA chains a row keep both pipes busy); the
 * other n - 8 columns are dot products along k, 16 terms at a time, of A's
 * rows with those columns of B copied into a k-major panel. Every lane
 * works and A is read where it lies. Six rows at a time, then one; a row's
 * sums do not depend on the block it falls in. k runs in blocks of at most
 * PM_GEMM_KC_MAX (C accumulates over them, as in the blocked driver), so the
 * panel fits the workspace. Measured from C, 256 x 256 @ 256 x 10: 16.3
 * against the narrow kernel's 18.9 us; with 11 or 12 columns (three or four
 * dot products) it was slower, so those keep the narrow kernel. */
#define PM_DIRECT_ROWS 6
#define PM_DIRECT_REST_MAX (PM_GEMM_DIRECT_MAX - 8)

__attribute__((target("avx512f,fma"), always_inline))
static inline void pm_gemm_avx512_f32_direct_rows(int64_t kc, const float *PM_RESTRICT a, int64_t lda,
                                                  const float *PM_RESTRICT b, int64_t ldb,
                                                  const float *PM_RESTRICT bt, float *PM_RESTRICT c,
                                                  int64_t ldc, float alpha, float beta,
                                                  const int rows, const int rest)
{
    __m256 even[PM_DIRECT_ROWS], odd[PM_DIRECT_ROWS];
    __m512 dot[PM_DIRECT_ROWS][PM_DIRECT_REST_MAX];
#pragma GCC unroll 6
    for (int r = 0; r < rows; r++) {
        even[r] = odd[r] = _mm256_setzero_ps();
#pragma GCC unroll 2
        for (int q = 0; q < rest; q++)
            dot[r][q] = _mm512_setzero_ps();
    }
    const float *ar[PM_DIRECT_ROWS];
#pragma GCC unroll 6
    for (int r = 0; r < rows; r++)
        ar[r] = a + r * lda;
    const float *bp = b; /* row p of B; bumped, as its stride is known only now */
    int64_t p = 0;
    for (; p + 16 <= kc; p += 16) {
        __m512 bq[PM_DIRECT_REST_MAX];
#pragma GCC unroll 2
        for (int q = 0; q < rest; q++)
            bq[q] = _mm512_loadu_ps(bt + q * kc + p);
#pragma GCC unroll 6
        for (int r = 0; r < rows; r++) {
            const __m512 av = _mm512_loadu_ps(ar[r] + p);
#pragma GCC unroll 2
            for (int q = 0; q < rest; q++)
                dot[r][q] = _mm512_fmadd_ps(av, bq[q], dot[r][q]);
        }
#pragma GCC unroll 8
        for (int s = 0; s < 16; s += 2) {
            const __m256 b0 = _mm256_loadu_ps(bp);
            const __m256 b1 = _mm256_loadu_ps(bp + ldb);
            bp += 2 * ldb;
#pragma GCC unroll 6
            for (int r = 0; r < rows; r++) {
                even[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(ar[r] + p + s), b0, even[r]);
                odd[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(ar[r] + p + s + 1), b1, odd[r]);
            }
        }
    }
    if (p < kc) {
        const __mmask16 tail = (__mmask16)((1u << (kc - p)) - 1);
#pragma GCC unroll 6
        for (int r = 0; r < rows; r++) {
            const __m512 av = _mm512_maskz_loadu_ps(tail, ar[r] + p);
#pragma GCC unroll 2
            for (int q = 0; q < rest; q++)
                dot[r][q] = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(tail, bt + q * kc + p), dot[r][q]);
        }
        for (int s = 0; p + s < kc; s++, bp += ldb) {
            const __m256 bs = _mm256_loadu_ps(bp);
#pragma GCC unroll 6
            for (int r = 0; r < rows; r++) {
                const __m256 av = _mm256_broadcast_ss(ar[r] + p + s);
                if (s & 1)
                    odd[r] = _mm256_fmadd_ps(av, bs, odd[r]);
                else
                    even[r] = _mm256_fmadd_ps(av, bs, even[r]);
            }
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int r = 0; r < rows; r++) {
        float *cr = c + r * ldc;
        const __m256 sum = _mm256_mul_ps(va, _mm256_add_ps(even[r], odd[r]));
        float tail[PM_DIRECT_REST_MAX];
#pragma GCC unroll 2
        for (int q = 0; q < rest; q++)
            tail[q] = alpha * _mm512_reduce_add_ps(dot[r][q]);
        if (beta == 0) {
            _mm256_storeu_ps(cr, sum);
            for (int q = 0; q < rest; q++)
                cr[8 + q] = tail[q];
        } else {
            _mm256_storeu_ps(cr, _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), sum));
            for (int q = 0; q < rest; q++)
                cr[8 + q] = tail[q] + beta * cr[8 + q];
        }
    }
}

#define PM_DIRECT_CASE(rows, rest)                                                          \
    case rest:                                                                              \
        pm_gemm_avx512_f32_direct_rows(kc, a, lda, b, ldb, bt, c, ldc, alpha, beta, rows, rest); \
        return;

/* rows (PM_DIRECT_ROWS or 1) rows of C; the switch gives each column count
 * its own registers. */
__attribute__((target("avx512f,fma")))
static void pm_gemm_avx512_f32_direct_block(int rows, int rest, int64_t kc, const float *a, int64_t lda,
                                            const float *b, int64_t ldb, const float *bt, float *c,
                                            int64_t ldc, float alpha, float beta)
{
    if (rows == 1) {
        switch (rest) {
            PM_DIRECT_CASE(1, 0) PM_DIRECT_CASE(1, 1) PM_DIRECT_CASE(1, 2)
        }
    } else {
        switch (rest) {
            PM_DIRECT_CASE(PM_DIRECT_ROWS, 0) PM_DIRECT_CASE(PM_DIRECT_ROWS, 1)
            PM_DIRECT_CASE(PM_DIRECT_ROWS, 2)
        }
    }
}
#undef PM_DIRECT_CASE

static void pm_gemm_avx512_f32_narrow_direct(int64_t m, int64_t n, int64_t k, float alpha,
                                             const float *a, int64_t lda, const float *b,
                                             int64_t ldb, float beta, float *c, int64_t ldc,
                                             float *buf)
{
    const int rest = (int)n - 8;
    const int64_t kc = pm_gemm_block(k, PM_GEMM_KC_MAX, 1);
    for (int64_t pc = 0; pc < k; pc += kc) {
        const int64_t kcur = PM_MIN(kc, k - pc);
        const float beta_blk = pc == 0 ? beta : 1.0f;
        for (int q = 0; q < rest; q++)
            for (int64_t p = 0; p < kcur; p++)
                buf[q * kcur + p] = b[(pc + p) * ldb + 8 + q];
        int64_t i = 0;
        for (; i + PM_DIRECT_ROWS <= m; i += PM_DIRECT_ROWS)
            pm_gemm_avx512_f32_direct_block(PM_DIRECT_ROWS, rest, kcur, a + i * lda + pc, lda, b + pc * ldb, ldb,
                                            buf, c + i * ldc, ldc, alpha, beta_blk);
        for (; i < m; i++)
            pm_gemm_avx512_f32_direct_block(1, rest, kcur, a + i * lda + pc, lda, b + pc * ldb, ldb,
                                            buf, c + i * ldc, ldc, alpha, beta_blk);
    }
}

#define T float
#define SUF f32
#define PM_SIMD_NAME pm_gemm_avx512_f32
#define PM_SIMD_NARROW_DIRECT pm_gemm_avx512_f32_narrow_direct
#define PM_SIMD_PACK_BT pm_gemm_avx512_f32_pack_bt
#define PM_SIMD_MR 8
#define PM_SIMD_NREGS 32
#define PM_SIMD_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define PM_SIMD_MC 192
#define PM_SIMD_KC 512
#define PM_SIMD_NC 4096
#define V __m512
#define VL 16
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VSET1(x) _mm512_set1_ps(x)
#define VBCAST(p) _mm512_set1_ps(*(p))
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VHSUM(v) _mm512_reduce_add_ps(v)
#define VMASK_T __mmask16
#define VMASK(n) ((__mmask16)((1u << (n)) - 1))
#define VMLOAD(m, p) _mm512_maskz_loadu_ps(m, p)
#define VMSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#include "pm_gemm_simd_tmpl.inc"
#undef T
#undef SUF

#define T double
#define SUF f64
#define PM_SIMD_NAME pm_gemm_avx512_f64
#define PM_SIMD_PACK_BT pm_gemm_avx512_f64_pack_bt
#define PM_SIMD_MR 8
#define PM_SIMD_NREGS 32
#define PM_SIMD_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define PM_SIMD_MC 192
#define PM_SIMD_KC 512
#define PM_SIMD_NC 2048
#define V __m512d
#define VL 8
#define VZERO() _mm512_setzero_pd()
#define VLOAD(p) _mm512_loadu_pd(p)
#define VSTORE(p, v) _mm512_storeu_pd(p, v)
#define VSET1(x) _mm512_set1_pd(x)
#define VBCAST(p) _mm512_set1_pd(*(p))
#define VFMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define VMUL(a, b) _mm512_mul_pd(a, b)
#define VHSUM(v) _mm512_reduce_add_pd(v)
#define VMASK_T __mmask8
#define VMASK(n) ((__mmask8)((1u << (n)) - 1))
#define VMLOAD(m, p) _mm512_maskz_loadu_pd(m, p)
#define VMSTORE(p, m, v) _mm512_mask_storeu_pd(p, m, v)
#include "pm_gemm_simd_tmpl.inc"
#undef T
#undef SUF

#else /* no x86 target attributes: the variant is unavailable */
const pm_gemm_arch_f32 pm_gemm_avx512_f32 = {0};
const pm_gemm_arch_f64 pm_gemm_avx512_f64 = {0};
#endif
