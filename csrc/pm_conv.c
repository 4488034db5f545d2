/* pm_conv.c -- window geometry and 2-D convolution (NHWC) through im2col
 * and the GEMM. The dtype-generic kernels are in pm_conv_tmpl.inc. */
#include <string.h>

#include "pm_internal.h"

/* Elements of one im2col column block: the n*oh*ow output cells are
 * processed in chunks of rows so the workspace stays bounded (4 MB for
 * float32) whatever the batch and image size. */
#define PM_CONV_COL_ELEMS ((int64_t)1 << 20)
/* Below this many filters the forward GEMM is formed transposed (half the
 * 32-wide AVX-512 float tile; measured on LeNet's 6-filter first layer). */
#define PM_CONV_Y_T 16
/* Alignment of the column block and GEMM workspace inside work. */
#define PM_CONV_ALIGN 64

/* One axis of a window: see the consistency rule in pymodel.h. */
static int pm_axis_ok(int64_t in, int64_t k, int64_t s, int64_t d,
                      int64_t pad, int64_t out)
{
    if (in < 1 || k < 1 || s < 1 || d < 1 || out < 1 || pad < 0)
        return 0;
    if (k - 1 > (INT64_MAX - 1) / d)
        return 0;
    int64_t span = (k - 1) * d + 1;
    if (pad >= span || out - 1 > (INT64_MAX - span) / s)
        return 0;
    int64_t after = (out - 1) * s + span - in - pad;
    return after > -s && after < span;
}

int pm_window2d_check(pm_window2d g)
{
    int64_t t;
    PM_CHECK_ARG(g.n >= 0 && g.c >= 0);
    PM_CHECK_ARG(pm_axis_ok(g.h, g.kh, g.sh, g.dh, g.pad_top, g.oh));
    PM_CHECK_ARG(pm_axis_ok(g.w, g.kw, g.sw, g.dw, g.pad_left, g.ow));
    PM_CHECK_ARG(!pm_mul_size(g.n, g.h, &t) && !pm_mul_size(t, g.w, &t) &&
                 !pm_mul_size(t, g.c, &t));
    PM_CHECK_ARG(!pm_mul_size(g.n, g.oh, &t) && !pm_mul_size(t, g.ow, &t) &&
                 !pm_mul_size(t, g.c, &t));
    return PM_OK;
}

/* Sizes derived from a geometry, shared by the workspace query and the
 * kernels so both always agree. */
typedef struct pm_conv_plan {
    int64_t rows;       /* n * oh * ow output cells */
    int64_t kdim;       /* kh * kw * c: one im2col row */
    int64_t chunk;      /* rows per column block */
    int direct;         /* 1x1, stride 1, no padding: x is its own im2col */
    int dk_t;           /* form dk^T = dy^T col (then transpose): few filters */
    int y_t;            /* form y^T = k^T col^T (then transpose): very few */
    int64_t col_bytes;  /* column block, rounded up to PM_CONV_ALIGN */
    int64_t t_bytes;    /* dk^T / y^T scratch, rounded up likewise */
    int64_t bytes;      /* total workspace */
} pm_conv_plan;

/* The fields that do not depend on the dtype; 0 on success. */
static int pm_conv_plan_init(pm_window2d g, int64_t cout, pm_conv_plan *p)
{
    int64_t t;
    if (pm_window2d_check(g) != PM_OK || cout < 0)
        return -1;
    if (pm_mul_size(g.n, g.oh, &t) || pm_mul_size(t, g.ow, &p->rows))
        return -1;
    if (pm_mul_size(g.kh, g.kw, &t) || pm_mul_size(t, g.c, &p->kdim))
        return -1;
    if (pm_mul_size(p->rows, cout, &t) || pm_mul_size(p->kdim, cout, &t))
        return -1;
    p->direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 &&
                g.pad_top == 0 && g.pad_left == 0;
    /* With fewer filters than kernel taps, dk = col^T dy is a GEMM with a
     * narrow output (cout columns fill little of a register tile); its
     * transpose dy^T col has the long kdim side across the tile instead. */
    p->dk_t = cout < p->kdim;
    /* Likewise y = col k with fewer than PM_CONV_Y_T filters: y^T = k^T col^T
     * puts the many output cells across the tile. */
    p->y_t = cout < PM_CONV_Y_T;
    p->chunk = p->rows;
    if (p->kdim > 0 && p->rows > PM_CONV_COL_ELEMS / p->kdim)
        p->chunk = PM_MAX(1, PM_CONV_COL_ELEMS / p->kdim);
    return 0;
}

/* First PM_CONV_ALIGN-aligned address in work. */
static char *pm_conv_align(void *work)
{
    uintptr_t a = (uintptr_t)work;
    return (char *)((a + PM_CONV_ALIGN - 1) & ~(uintptr_t)(PM_CONV_ALIGN - 1));
}

/* Output cell r of the flattened n x oh x ow grid -> image, row, column. */
#define PM_CONV_CELL(g, r, b, oy, ox)      \
    int64_t ox = (r) % (g)->ow;            \
    int64_t oy = ((r) / (g)->ow) % (g)->oh; \
    int64_t b = (r) / (g)->ow / (g)->oh

#define PM_TEMPLATE "pm_conv_tmpl.inc"
#include "pm_instantiate.h"
