/* pm_gemm_avx2.c -- AVX2+FMA GEMM micro-kernels (6 x 2 vectors of 256 bits),
 * compiled with a target attribute and chosen at run time. The masked
 * loads and stores (vmaskmov) serve the rows kernel only: the masked and
 * narrow tile kernels are left to AVX-512 (the narrow one's 2 x 12
 * accumulators would not fit in 16 registers). */
#include "pm_gemm.h"

#ifdef PM_GEMM_X86
#include <immintrin.h>

#define PM_SIMD_TARGET "avx2,fma"

/* Transposing B packer for float (NR = 16): 8 x 8 blocks transposed in
 * registers (unpack, shuffle, then swap 128-bit halves). */
__attribute__((target("avx2")))
static void pm_gemm_avx2_f32_pack_bt(const float *b, int64_t ldb, int64_t kc,
                                     float *bp)
{
    enum { NR = 16 };
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        for (int jh = 0; jh < NR; jh += 8) {
            __m256 r[8], t[8];
            for (int i = 0; i < 8; i++)
                r[i] = _mm256_loadu_ps(b + (jh + i) * ldb + p);
            for (int i = 0; i < 8; i += 2) {
                t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int h = 0; h < 8; h += 4) {
                r[h] = _mm256_shuffle_ps(t[h], t[h + 2], 0x44);
                r[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], 0xee);
                r[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0x44);
                r[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0xee);
            }
            for (int i = 0; i < 4; i++) {
                t[i] = _mm256_permute2f128_ps(r[i], r[4 + i], 0x20);
                t[4 + i] = _mm256_permute2f128_ps(r[i], r[4 + i], 0x31);
            }
            for (int q = 0; q < 8; q++)
                _mm256_storeu_ps(bp + (p + q) * NR + jh, t[q]);
        }
    }
    for (; p < kc; p++)
        for (int j = 0; j < NR; j++)
            bp[p * NR + j] = b[j * ldb + p];
}

/* The sum of a vector's lanes, halves first. */
__attribute__((target("avx2")))
static inline float pm_gemm_avx2_hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

__attribute__((target("avx2")))
static inline double pm_gemm_avx2_hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

#define T float
#define SUF f32
#define PM_SIMD_NAME pm_gemm_avx2_f32
#define PM_SIMD_PACK_BT pm_gemm_avx2_f32_pack_bt
#define PM_SIMD_MR 6
#define PM_SIMD_NREGS 16
#define PM_SIMD_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define PM_SIMD_MC 144
#define PM_SIMD_KC 512
#define PM_SIMD_NC 4096
#define V __m256
#define VL 8
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VSET1(x) _mm256_set1_ps(x)
#define VBCAST(p) _mm256_broadcast_ss(p)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VHSUM(v) pm_gemm_avx2_hsum_ps(v)
#define VMASK_T __m256i
#define VMASK(n)                                                              \
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n),                                  \
                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define VMLOAD(m, p) _mm256_maskload_ps(p, m)
#define VMSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define PM_SIMD_NO_MASK_KERNELS
#include "pm_gemm_simd_tmpl.inc"
#undef T
#undef SUF

#define T double
#define SUF f64
#define PM_SIMD_NAME pm_gemm_avx2_f64
#define PM_SIMD_MR 6
#define PM_SIMD_NREGS 16
#define PM_SIMD_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define PM_SIMD_MC 144
#define PM_SIMD_KC 512
#define PM_SIMD_NC 2048
#define V __m256d
#define VL 4
#define VZERO() _mm256_setzero_pd()
#define VLOAD(p) _mm256_loadu_pd(p)
#define VSTORE(p, v) _mm256_storeu_pd(p, v)
#define VSET1(x) _mm256_set1_pd(x)
#define VBCAST(p) _mm256_broadcast_sd(p)
#define VFMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define VMUL(a, b) _mm256_mul_pd(a, b)
#define VHSUM(v) pm_gemm_avx2_hsum_pd(v)
#define VMASK_T __m256i
#define VMASK(n)                                                              \
    _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3))
#define VMLOAD(m, p) _mm256_maskload_pd(p, m)
#define VMSTORE(p, m, v) _mm256_maskstore_pd(p, m, v)
#define PM_SIMD_NO_MASK_KERNELS
#include "pm_gemm_simd_tmpl.inc"
#undef T
#undef SUF

#else /* no x86 target attributes: the variant is unavailable */
const pm_gemm_arch_f32 pm_gemm_avx2_f32 = {0};
const pm_gemm_arch_f64 pm_gemm_avx2_f64 = {0};
#endif
