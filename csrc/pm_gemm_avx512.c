/* pm_gemm_avx512.c -- AVX-512F GEMM micro-kernels (8 x 2 vectors of 512
 * bits), compiled with a target attribute and chosen at run time. */
#include "pm_gemm.h"

#ifdef PM_GEMM_X86
#include <immintrin.h>

#define PM_SIMD_TARGET "avx512f"

#define T float
#define SUF f32
#define PM_SIMD_NAME pm_gemm_avx512_f32
#define PM_SIMD_MR 8
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
#include "pm_gemm_simd_tmpl.inc"
#undef T
#undef SUF

#define T double
#define SUF f64
#define PM_SIMD_NAME pm_gemm_avx512_f64
#define PM_SIMD_MR 8
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
#include "pm_gemm_simd_tmpl.inc"
#undef T
#undef SUF

#else /* no x86 target attributes: the variant is unavailable */
const pm_gemm_arch_f32 pm_gemm_avx512_f32 = {0, 0, 0, 0, 0, 0};
const pm_gemm_arch_f64 pm_gemm_avx512_f64 = {0, 0, 0, 0, 0, 0};
#endif
