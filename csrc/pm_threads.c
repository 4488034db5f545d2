/* pm_threads.c -- the thread count used by the parallel kernels (GEMM). */
#include "pm_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Upper bound on a requested count: far above any sane machine, and keeps a
 * typo from asking OpenMP for millions of threads. */
#define PM_THREADS_MAX 1024

/* 0 = default (all available cores). Read once per kernel call. */
static int pm_threads_requested = 0;

int pm_set_num_threads(int n)
{
    if (n <= 0)
        n = 0;
    if (n > PM_THREADS_MAX)
        n = PM_THREADS_MAX;
    __atomic_store_n(&pm_threads_requested, n, __ATOMIC_RELAXED);
    return PM_OK;
}

int pm_get_num_threads(void)
{
#ifdef _OPENMP
    int n = __atomic_load_n(&pm_threads_requested, __ATOMIC_RELAXED);
    return n > 0 ? n : PM_MAX(omp_get_num_procs(), 1);
#else
    return 1; /* built without OpenMP: every kernel runs single-threaded */
#endif
}
