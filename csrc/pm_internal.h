/*
 * pm_internal.h -- private helpers shared by the C sources in csrc/.
 *
 * Dtype templates: a kernel body is written once in a pm_<concern>_tmpl.inc
 * file that uses T (the element type) and PM_FN(name) (name_f32 / name_f64),
 * and the .c file instantiates it for float (f32) and double (f64):
 *
 *     #define PM_TEMPLATE "pm_foo_tmpl.inc"
 *     #include "pm_instantiate.h"
 */
#ifndef PM_INTERNAL_H
#define PM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pymodel.h"

#define PM_CAT_(a, b) a##_##b
#define PM_CAT(a, b) PM_CAT_(a, b)
/* PM_FN(pm_relu_fwd) -> pm_relu_fwd_f32 when SUF is f32. */
#define PM_FN(name) PM_CAT(name, SUF)

#if defined(__GNUC__) || defined(__clang__)
#define PM_RESTRICT __restrict__
#define PM_LIKELY(x) __builtin_expect(!!(x), 1)
#define PM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define PM_RESTRICT
#define PM_LIKELY(x) (x)
#define PM_UNLIKELY(x) (x)
#endif

/* Return PM_EINVAL from the enclosing function when cond is false. */
#define PM_CHECK_ARG(cond)                \
    do {                                  \
        if (PM_UNLIKELY(!(cond)))         \
            return PM_EINVAL;             \
    } while (0)

/* Return the status of expr when it is not PM_OK. */
#define PM_TRY(expr)                      \
    do {                                  \
        int pm_try_status_ = (expr);      \
        if (pm_try_status_ != PM_OK)      \
            return pm_try_status_;        \
    } while (0)

#define PM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PM_MAX(a, b) ((a) > (b) ? (a) : (b))

/* a * b without signed overflow: 0 on success and *out set, -1 on overflow
 * or a negative factor. */
static inline int pm_mul_size(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0)
        return -1;
    if (a != 0 && b > INT64_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

/* Threads for a kernel that moves `elems` values split into `parts`
 * independent pieces (images): 1 below PM_PAR_MIN_ELEMS (a parallel region
 * costs more than it saves), never more than parts. */
#define PM_PAR_MIN_ELEMS ((int64_t)1 << 15)
int pm_threads_for(int64_t elems, int64_t parts);

#endif /* PM_INTERNAL_H */
