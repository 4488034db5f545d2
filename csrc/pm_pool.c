/* pm_pool.c -- max / average pooling over a window and global pooling
 * (NHWC). The dtype-generic kernels are in pm_pool_tmpl.inc. */
#include <string.h>

#include "pm_internal.h"

/* Channels handled together: a window is scanned once per block, reading
 * runs of contiguous channels. */
#define PM_POOL_CB 64

/* The real (unpadded) input rows [y0, y1) and columns [x0, x1) read by an
 * output cell; never empty for a consistent geometry with dilation 1. */
typedef struct pm_span {
    int64_t y0, y1, x0, x1;
} pm_span;

static pm_span pm_pool_span(const pm_window2d *g, int64_t oy, int64_t ox)
{
    pm_span s;
    int64_t ty = oy * g->sh - g->pad_top, tx = ox * g->sw - g->pad_left;
    s.y0 = PM_MAX(ty, 0);
    s.y1 = PM_MIN(ty + g->kh, g->h);
    s.x0 = PM_MAX(tx, 0);
    s.x1 = PM_MIN(tx + g->kw, g->w);
    return s;
}

/* Output cell r of the flattened n x oh x ow grid: its span, the offset of
 * its image in the input and of its channels in the output. */
typedef struct pm_cell {
    pm_span sp;
    int64_t xo, yo;
} pm_cell;

static pm_cell pm_pool_cell(const pm_window2d *g, int64_t r)
{
    pm_cell cl;
    int64_t ox = r % g->ow, oy = (r / g->ow) % g->oh, b = r / g->ow / g->oh;
    cl.sp = pm_pool_span(g, oy, ox);
    cl.xo = b * g->h * g->w * g->c;
    cl.yo = r * g->c;
    return cl;
}

/* Work on images [b0, b1) of a window pooling: inputs a, b, output out. */
typedef void (*pm_pool_part)(const pm_window2d *g, const void *a,
                             const void *b, void *out, int64_t b0, int64_t b1);

/* Run part over all images, split over the threads by images above a work
 * threshold. Each output value (and each image's dx) is written by one
 * thread with the same arithmetic, so results are the same for any count. */
static void pm_pool_run(pm_pool_part part, const pm_window2d *g,
                        const void *a, const void *b, void *out)
{
    const int nt = pm_threads_for(g->n * (g->h * g->w + g->oh * g->ow) * g->c,
                                  g->n);
    if (nt == 1) {
        part(g, a, b, out, 0, g->n);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; t++)
        part(g, a, b, out, g->n * t / nt, g->n * (t + 1) / nt);
}

static int pm_pool_check(pm_window2d g, const void *in, const void *out)
{
    PM_TRY(pm_window2d_check(g));
    PM_CHECK_ARG(g.dh == 1 && g.dw == 1);
    PM_CHECK_ARG((in != NULL && out != NULL) || g.n == 0 || g.c == 0);
    return PM_OK;
}

static int pm_global_check(int64_t n, int64_t s, int64_t c, const void *in,
                           const void *out)
{
    int64_t t;
    PM_CHECK_ARG(n >= 0 && s >= 1 && c >= 0);
    PM_CHECK_ARG(!pm_mul_size(n, s, &t) && !pm_mul_size(t, c, &t));
    PM_CHECK_ARG((in != NULL && out != NULL) || t == 0);
    return PM_OK;
}

#define PM_TEMPLATE "pm_pool_tmpl.inc"
#include "pm_instantiate.h"
