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

#define T float
#define SUF f32
#define PM_SIMD_NAME pm_gemm_avx512_f32
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
