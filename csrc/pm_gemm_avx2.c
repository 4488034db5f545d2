/* pm_gemm_avx2.c -- AVX2+FMA GEMM micro-kernels (6 x 2 vectors of 256 bits),
 * compiled with a target attribute and chosen at run time. */
#include "pm_gemm.h"

#ifdef PM_GEMM_X86
#include <immintrin.h>

#define PM_SIMD_TARGET "avx2,fma"

#define T float
#define SUF f32
#define PM_SIMD_NAME pm_gemm_avx2_f32
#define PM_SIMD_MR 6
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
#include "pm_gemm_simd_tmpl.inc"
#undef T
#undef SUF

#define T double
#define SUF f64
#define PM_SIMD_NAME pm_gemm_avx2_f64
#define PM_SIMD_MR 6
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
#include "pm_gemm_simd_tmpl.inc"
#undef T
#undef SUF

#else /* no x86 target attributes: the variant is unavailable */
const pm_gemm_arch_f32 pm_gemm_avx2_f32 = {0, 0, 0, 0, 0, 0, 0, 0};
const pm_gemm_arch_f64 pm_gemm_avx2_f64 = {0, 0, 0, 0, 0, 0, 0, 0};
#endif
