/*
 * pm_dense.c -- the fully connected layer, y = act(x @ w + b), and its
 * backward pass, on pm_gemm and the activation kernels.
 *
 * Passes over memory are fused where the pieces allow: the bias is GEMM's
 * initial C (beta = 1), the activation runs in place on z when y == z, and
 * db is summed from dz while dz is still in cache. The bias, activation, dz
 * and db passes run as hooks of the layer's GEMM (pm_gemm_hooks), split
 * over its thread team.
 */
#include <string.h>

#include "pm_internal.h"

static int pm_act_kind_ok(int kind)
{
    return kind >= PM_ACT_LINEAR && kind <= PM_ACT_LOG_SOFTMAX;
}

#define PM_TEMPLATE "pm_dense_tmpl.inc"
#include "pm_instantiate.h"
