/* pm_threads.c -- the thread count used by the parallel kernels (GEMM). */
#include "pm_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(_OPENMP) && defined(__unix__)
#include <pthread.h>
#define PM_THREADS_ATFORK 1
#endif

/* Upper bound on a requested count: far above any sane machine, and keeps a
 * typo from asking OpenMP for millions of threads. */
#define PM_THREADS_MAX 1024

/* 0 = default (all available cores). Read once per kernel call. */
static int pm_threads_requested = 0;

#ifdef PM_THREADS_ATFORK
/* NOTE: GNU OpenMP's thread pool does not survive fork(): a child that
 * enters a parallel region after its parent used one hangs for ever
 * (multiprocessing's default start method on Linux does exactly this). So
 * a forked child runs every kernel on its own thread, where no OpenMP
 * runtime call is made. */
static int pm_threads_forked = 0;

static void pm_threads_after_fork_in_child(void)
{
    pm_threads_forked = 1;
}

__attribute__((constructor)) static void pm_threads_register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, pm_threads_after_fork_in_child);
}
#endif

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
#ifdef PM_THREADS_ATFORK
    if (pm_threads_forked)
        return 1;
#endif
    return n > 0 ? n : PM_MAX(omp_get_num_procs(), 1);
#else
    return 1; /* built without OpenMP: every kernel runs single-threaded */
#endif
}

int pm_threads_for(int64_t elems, int64_t parts)
{
    if (elems < PM_PAR_MIN_ELEMS || parts < 2)
        return 1;
    int nt = pm_get_num_threads();
    return parts < nt ? (int)parts : nt;
}
