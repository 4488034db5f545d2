/*
 * pm_instantiate.h -- instantiate a dtype template for float and double.
 *
 * Define PM_TEMPLATE as the template's file name, then include this header:
 *
 *     #define PM_TEMPLATE "pm_dense_tmpl.inc"
 *     #include "pm_instantiate.h"
 *
 * The template is included once with T = float, SUF = f32 and once with
 * T = double, SUF = f64 (see PM_FN in pm_internal.h). No include guard: each
 * .c file includes it once per template.
 */
#define T float
#define SUF f32
#include PM_TEMPLATE
#undef T
#undef SUF

#define T double
#define SUF f64
#include PM_TEMPLATE
#undef T
#undef SUF

#undef PM_TEMPLATE
