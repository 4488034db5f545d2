/*
 * pm_vector.c -- small vector helpers the training loop composes: norms for
 * gradient clipping, scaling, value clipping, decoupled weight decay and
 * L1/L2 regularization.
 */
#include <math.h>

#include "pm_internal.h"

/* x86-64 Linux with GCC: the reductions are also built for AVX2 (the loader
 * picks the clone the CPU runs), without FMA contraction, so every clone
 * rounds as the source writes it: the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#pragma GCC optimize("fp-contract=off")
#define PM_VEC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PM_VEC_CLONES
#endif

#define PM_TEMPLATE "pm_vector_tmpl.inc"
#include "pm_instantiate.h"
