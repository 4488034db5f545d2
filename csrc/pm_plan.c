/*
 * pm_plan.c -- a whole training step (or a run of them) behind one call:
 * gather, forward, loss, backward and optimizer update, interpreting a
 * pm_plan that Python built once over its own buffers; and the forward
 * pass alone (pm_plan_predict), every batch of a predict in one call.
 *
 * Why: for small models the per-kernel cost of the Python loop (argument
 * checks, pointer conversions, one call per layer and per variable) is many
 * times the arithmetic. The plan calls the very kernels the Python loop
 * calls, in the same order with the same arguments, so the two paths give
 * bitwise-identical weights and losses; tests/test_plan.py checks that.
 */
#include <math.h>
#include <string.h>

#include "pm_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Variables of at least this many elements in all get the optimizer step
 * spread over the threads (below, a parallel region costs more than it
 * saves). */
#define PM_PLAN_PARALLEL_MIN 65536

#define PM_TEMPLATE "pm_plan_tmpl.inc"
#include "pm_instantiate.h"
