/*
 * pm_gemm.c -- GEMM: variant choice, and the dtype-generic driver
 * (pm_gemm_tmpl.inc) instantiated for float and double.
 *
 * Structure (BLIS): the driver blocks the product over NC, KC and MC, packs
 * op(B) panels into the caller's workspace (zero-padding edge micro-panels)
 * and calls one MR x NR micro-kernel per tile of C. The micro-kernels
 * (portable C in the template, AVX2+FMA and AVX-512F in their own files,
 * chosen at run time) share one contract, described in pm_gemm.h. Threads
 * (OpenMP, when built with it) split the tiles; pm_threads.c holds the
 * count.
 */
#include <string.h>

#include "pm_gemm.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Run hook fn (may be NULL) of hooks (may be NULL) for thread id of nt. */
static void pm_gemm_hook(const pm_gemm_hooks *hooks, int after, int id, int nt)
{
    void (*fn)(void *, int, int) = hooks == NULL ? NULL : after ? hooks->after : hooks->before;
    if (fn != NULL)
        fn(hooks->ctx, id, nt);
}

/* PM_GEMM_AUTO, or the variant forced by pm_gemm_set_variant. */
static int pm_gemm_forced = PM_GEMM_AUTO;

static int pm_gemm_cpu_has(int variant)
{
    switch (variant) {
    case PM_GEMM_PORTABLE:
        return 1;
#ifdef PM_GEMM_X86
    case PM_GEMM_AVX2:
        __builtin_cpu_init();
        return pm_gemm_avx2_f32.ukr && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
    case PM_GEMM_AVX512:
        __builtin_cpu_init();
        return pm_gemm_avx512_f32.ukr && __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

int pm_gemm_variant_resolved(void)
{
    int v = __atomic_load_n(&pm_gemm_forced, __ATOMIC_RELAXED);
    if (v != PM_GEMM_AUTO)
        return v;
    if (pm_gemm_cpu_has(PM_GEMM_AVX512))
        return PM_GEMM_AVX512;
    if (pm_gemm_cpu_has(PM_GEMM_AVX2))
        return PM_GEMM_AVX2;
    return PM_GEMM_PORTABLE;
}

int pm_gemm_set_variant(int variant)
{
    if (variant < PM_GEMM_AUTO || variant > PM_GEMM_AVX512)
        return PM_EINVAL;
    if (variant != PM_GEMM_AUTO && !pm_gemm_cpu_has(variant))
        return PM_EUNSUPPORTED;
    __atomic_store_n(&pm_gemm_forced, variant, __ATOMIC_RELAXED);
    return PM_OK;
}

int pm_gemm_get_variant(void)
{
    return pm_gemm_variant_resolved();
}

/* ------------------------------------------- dtype-independent helpers */

/* Problems with m*n*k at most this go through a direct loop: packing and
 * tile bookkeeping would cost more than the arithmetic (measured: the
 * SIMD path wins from about 10 x 10 x 10). */
#define PM_GEMM_SMALL 512
/* Below this many multiply-adds (128^3) products run on one thread. On an
 * idle machine threads pay off from about 64^3, but when the cores are
 * shared a team waits at each barrier for a descheduled member, which can
 * cost milliseconds; products this big amortise such a stall. */
#define PM_GEMM_PAR_MIN (128.0 * 128.0 * 128.0)

/* The rows path (pm_gemm_rows) threads products from PM_GEMM_PAR_MIN
 * multiply-adds, in ranges of columns that are multiples of this (a
 * multiple of every rows kernel's widest block). On an idle machine two
 * threads (two L2 caches streaming B) pay off from about 1 x 512 x 256
 * (1.3x faster; 1 x 784 x 512 1.8x), but with the cores shared the wakeup
 * alone cost more than the product (1 x 512 x 256 measured 7x slower). */
#define PM_GEMM_ROWS_SPLIT 128

static int pm_gemm_is_small(int64_t m, int64_t n, int64_t k)
{
    return m <= PM_GEMM_SMALL && n <= PM_GEMM_SMALL && k <= PM_GEMM_SMALL &&
           m * n * k <= PM_GEMM_SMALL;
}

/* True when byte ranges [lo1, hi1) and [lo2, hi2) share a byte. */
static int pm_gemm_meet(uintptr_t lo1, uintptr_t hi1, uintptr_t lo2,
                        uintptr_t hi2)
{
    return lo1 < hi2 && lo2 < hi1;
}

static void *pm_gemm_align(void *p)
{
    const uintptr_t mask = PM_GEMM_ALIGN - 1;
    return (void *)(((uintptr_t)p + mask) & ~mask);
}

/* Threads worth using: none extra for small products, never more than
 * there are tiles. */
static int pm_gemm_threads_for(int64_t m, int64_t n, int64_t k, int mr, int nr)
{
    const double tiles = (double)((m + mr - 1) / mr) * (double)((n + nr - 1) / nr);
    int nt = pm_get_num_threads();
    if ((double)m * (double)n * (double)k < PM_GEMM_PAR_MIN)
        return 1;
    return tiles < nt ? (int)tiles : nt;
}

#define PM_TEMPLATE "pm_gemm_tmpl.inc"
#include "pm_instantiate.h"
