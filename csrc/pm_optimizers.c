/*
 * pm_optimizers.c -- in-place optimizer steps with the tf-keras 2.11+
 * formulas (and the 2.10 "legacy" Adagrad / RMSprop ones).
 *
 * The arithmetic is done in the element type T, in the order tf-keras
 * writes it, with the hyper-parameters rounded to T the way Keras casts
 * them: a Python-float expression such as (1 - beta_1) is evaluated in
 * double and then rounded, a tensor one such as Nadam's 1 - beta_1 is
 * evaluated in T. float32 trajectories then follow TensorFlow's to within
 * rounding of the transcendental functions.
 */
#include <math.h>

#include "pm_internal.h"

/* x86-64 Linux with GCC: every step is also built for AVX2 and the loader
 * picks the clone the CPU runs (ifunc): 8 lanes of the exactly rounded sqrt
 * and division instead of SSE2's 4, twice as fast. (An AVX-512 clone ran
 * slower on Zen 4, whose 512-bit sqrt and division take two passes.) No FMA
 * contraction, so every clone rounds each product and sum as the source
 * writes it: bitwise the same results. Each loop reads every array once and
 * reuses the values it stores from registers (a reload of a just-stored
 * vector stalls on store forwarding). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#pragma GCC optimize("fp-contract=off")
#define PM_OPT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PM_OPT_CLONES
#endif

#define PM_TEMPLATE "pm_optimizers_tmpl.inc"
#include "pm_instantiate.h"
