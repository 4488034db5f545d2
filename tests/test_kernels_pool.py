"""Pooling kernels (channels_last) against NumPy float64 references and finite differences."""
import numpy as np
import pytest
from window_ref import numeric_grad, tf_axis

from pymodel._native import ffi, gemm, lib, pool

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-6, np.float64: 1e-13}


# ----------------------------------------------------------------- references
class PoolRef:
    """Every window of x stacked on axis 0 (taps in row-major order), padding as NaN, in float64."""

    def __init__(self, x, pool_size, strides, padding):
        (kh, kw), (sh, sw) = pool_size, strides
        n, h, w, c = x.shape
        (oh, pt), (ow, pl) = tf_axis(h, kh, sh, padding), tf_axis(w, kw, sw, padding)
        self.xp = np.full((n, pt + h + kh + sh * oh, pl + w + kw + sw * ow, c), np.nan)
        self.xp[:, pt:pt + h, pl:pl + w] = x
        self.crop = (slice(None), slice(pt, pt + h), slice(pl, pl + w))
        self.slices = [(slice(None), slice(ky, ky + (oh - 1) * sh + 1, sh), slice(kx, kx + (ow - 1) * sw + 1, sw))
                       for ky in range(kh) for kx in range(kw)]
        self.taps = np.stack([self.xp[sl] for sl in self.slices])
        self.real = ~np.isnan(self.taps)

    def max(self):
        return np.where(self.real, self.taps, -np.inf).max(axis=0)

    def avg(self):
        return np.nansum(self.taps, axis=0) / self.real.sum(axis=0)

    def scatter(self, weights):
        """dx where tap t of each window receives weights[t]."""
        dxp = np.zeros_like(self.xp)
        for sl, wt in zip(self.slices, weights):
            dxp[sl] += wt
        return dxp[self.crop]

    def max_backward(self, dy):
        first = np.where(self.real, self.taps, -np.inf).argmax(axis=0)  # argmax: first maximum
        return self.scatter([dy * (first == t) for t in range(len(self.slices))])

    def avg_backward(self, dy):
        return self.scatter([dy * r / self.real.sum(axis=0) for r in self.real])


# (n, h, w, c, pool_size, strides or None, padding): pool sizes 1-3, strides 1-3 and
# the Keras default (= pool_size), both paddings, odd and non-square sizes.
CASES = [
    (2, 6, 6, 3, (2, 2), None, "valid"),
    (2, 7, 5, 3, (2, 2), None, "same"),
    (1, 7, 7, 2, (3, 3), (2, 2), "valid"),
    (1, 7, 8, 2, (3, 3), (2, 2), "same"),
    (2, 9, 7, 1, (3, 2), (1, 3), "same"),
    (2, 9, 7, 4, (2, 3), (3, 1), "valid"),
    (1, 5, 5, 70, (3, 3), (1, 1), "same"),
    (3, 4, 5, 2, (1, 1), (2, 2), "valid"),
    (1, 1, 1, 3, (2, 2), None, "same"),
    (2, 3, 3, 2, (3, 3), None, "valid"),
]

FORWARD = {"max": (pool.max_pool2d_forward, PoolRef.max), "avg": (pool.average_pool2d_forward, PoolRef.avg)}
BACKWARD = {"max": (pool.max_pool2d_backward, PoolRef.max_backward),
            "avg": (pool.average_pool2d_backward, PoolRef.avg_backward)}


def assert_close(got, want, dtype):
    assert got.shape == want.shape and got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype] * 10)


# ---------------------------------------------------------------------- tests
def test_pool_output_shape_matches_tensorflow():
    assert pool.pool_output_shape((4, 7, 5, 3), 2, None, "valid") == (4, 3, 2, 3)
    assert pool.pool_output_shape((4, 7, 5, 3), 2, None, "same") == (4, 4, 3, 3)
    assert pool.pool_output_shape((4, 7, 5, 3), (3, 2), (2, 1), "same") == (4, 4, 5, 3)
    assert pool.pool_output_shape((4, 9, 3), 4, None, "valid") == (4, 2, 3)
    assert pool.pool_output_shape((4, 9, 3), 4, 3, "same") == (4, 3, 3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_pool2d_forward_and_backward_match_reference(case, kind, dtype):
    n, h, w, c, size, strides, padding = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    x0 = x.copy()
    ref = PoolRef(x, size, strides or size, padding)
    fwd, fwd_ref = FORWARD[kind]
    y = fwd(x, size, strides, padding)
    assert_close(y, fwd_ref(ref), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    bwd, bwd_ref = BACKWARD[kind]
    assert_close(bwd(x, dy, size, strides, padding), bwd_ref(ref, dy.astype(np.float64)), dtype)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("case", [CASES[i] for i in (1, 3, 4, 6)], ids=str)
def test_max_pool_gradient_goes_to_the_first_of_tied_maxima(case):
    n, h, w, c, size, strides, padding = case
    x = np.random.default_rng(1).integers(0, 3, (n, h, w, c)).astype(np.float64)  # many ties
    dy = np.random.default_rng(2).standard_normal(pool.pool_output_shape(x.shape, size, strides, padding))
    ref = PoolRef(x, size, strides or size, padding)
    # Equal up to the order in which overlapping windows add into one cell.
    np.testing.assert_allclose(pool.max_pool2d_backward(x, dy, size, strides, padding), ref.max_backward(dy),
                               rtol=1e-13, atol=1e-15)


def test_max_pool_window_of_ties_routes_everything_to_its_top_left_cell():
    x = np.ones((1, 2, 2, 1))
    dx = pool.max_pool2d_backward(x, np.full((1, 1, 1, 1), 5.0), 2)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[5.0, 0.0], [0.0, 0.0]])


def test_same_padding_never_wins_the_max_and_is_not_counted_in_the_average():
    x = -np.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # all negative: a zero pad would win
    np.testing.assert_array_equal(pool.max_pool2d_forward(x, 2, None, "same")[0, :, :, 0], [[-1, -3], [-7, -9]])
    np.testing.assert_array_equal(pool.average_pool2d_forward(x, 2, None, "same")[0, :, :, 0],
                                  [[-3.0, -4.5], [-7.5, -9.0]])


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", [CASES[i] for i in (1, 3, 4, 5)], ids=str)
def test_pool2d_backward_matches_finite_differences(case, kind):
    n, h, w, c, size, strides, padding = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, h, w, c))
    fwd, bwd = FORWARD[kind][0], BACKWARD[kind][0]
    dy = rng.standard_normal(fwd(x, size, strides, padding).shape)
    numeric = numeric_grad(lambda: float(np.sum(fwd(x, size, strides, padding) * dy)), x)
    np.testing.assert_allclose(bwd(x, dy, size, strides, padding), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size,strides,padding", [(2, None, "valid"), (3, 2, "same"), (3, 1, "same"), (2, 3, "valid")])
def test_pool1d_matches_reference(size, strides, padding, kind, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 11, 3)).astype(dtype)
    ref = PoolRef(x[:, None], (1, size), (1, strides or size), padding)
    fwd = {"max": pool.max_pool1d_forward, "avg": pool.average_pool1d_forward}[kind]
    bwd = {"max": pool.max_pool1d_backward, "avg": pool.average_pool1d_backward}[kind]
    y = fwd(x, size, strides, padding)
    assert_close(y, FORWARD[kind][1](ref)[:, 0], dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    assert_close(bwd(x, dy, size, strides, padding), BACKWARD[kind][1](ref, dy[:, None].astype(np.float64))[:, 0],
                 dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 5, 3), (3, 4, 5, 70), (2, 2, 3, 2, 4), (1, 1, 1, 2)])
def test_global_pooling_matches_reference(shape, dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(dtype)
    x0 = x.copy()
    axes = tuple(range(1, len(shape) - 1))
    x64 = x.astype(np.float64)
    assert_close(pool.global_max_pool_forward(x), x64.max(axis=axes), dtype)
    assert_close(pool.global_average_pool_forward(x), x64.mean(axis=axes), dtype)
    dy = rng.standard_normal((shape[0], shape[-1])).astype(dtype)
    expand = dy.astype(np.float64).reshape(shape[0], *([1] * len(axes)), shape[-1])
    is_max = x64 == x64.max(axis=axes, keepdims=True)
    assert_close(pool.global_max_pool_backward(x, dy), is_max * expand, dtype)
    assert_close(pool.global_average_pool_backward(x, dy), np.broadcast_to(expand, shape) / np.prod(shape[1:-1]),
                 dtype)
    np.testing.assert_array_equal(x, x0)


def test_global_max_pool_gradient_is_split_between_ties_as_reduce_max():
    x = np.array([[[1.0], [3.0], [3.0], [2.0], [3.0]]])
    np.testing.assert_array_equal(pool.global_max_pool_backward(x, np.array([[6.0]]))[0, :, 0], [0, 2, 2, 0, 2])


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_global_pool_backward_matches_finite_differences(kind):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4, 3))
    dy = rng.standard_normal((2, 3))
    fwd = {"max": pool.global_max_pool_forward, "avg": pool.global_average_pool_forward}[kind]
    bwd = {"max": pool.global_max_pool_backward, "avg": pool.global_average_pool_backward}[kind]
    numeric = numeric_grad(lambda: float(np.sum(fwd(x) * dy)), x)
    np.testing.assert_allclose(bwd(x, dy), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_poisoned_outputs_are_fully_written(dtype):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 7, 5, 3)).astype(dtype)
    for fwd, bwd in (FORWARD["max"][0], BACKWARD["max"][0]), (FORWARD["avg"][0], BACKWARD["avg"][0]):
        y_ref = fwd(x, 3, 2, "same")
        out = np.full(y_ref.shape, np.nan, dtype)
        assert fwd(x, 3, 2, "same", out=out) is out
        np.testing.assert_array_equal(out, y_ref)
        dy = rng.standard_normal(out.shape).astype(dtype)
        dx = np.full(x.shape, np.nan, dtype)
        assert bwd(x, dy, 3, 2, "same", dx=dx) is dx
        np.testing.assert_array_equal(dx, bwd(x, dy, 3, 2, "same"))
    for fwd, bwd in ((pool.global_max_pool_forward, pool.global_max_pool_backward),
                     (pool.global_average_pool_forward, pool.global_average_pool_backward)):
        out = np.full((2, 3), np.nan, dtype)
        assert fwd(x, out=out) is out and not np.isnan(out).any()
        dx = np.full(x.shape, np.nan, dtype)
        assert bwd(x, out, dx=dx) is dx and not np.isnan(dx).any()


def test_bad_arguments_raise_clear_errors():
    x = np.zeros((2, 5, 5, 3), np.float32)
    with pytest.raises(ValueError, match=r"pool of size \(6, 6\).*input of shape \(2, 5, 5, 3\).*'valid'"):
        pool.max_pool2d_forward(x, 6)
    with pytest.raises(ValueError, match=r"pool of size \(7,\).*\(2, 5, 3\)"):
        pool.average_pool1d_forward(np.zeros((2, 5, 3)), 7)
    with pytest.raises(ValueError, match="pool_size"):
        pool.max_pool2d_forward(x, 0)
    with pytest.raises(ValueError, match="padding"):
        pool.max_pool2d_forward(x, 2, padding="full")
    with pytest.raises(ValueError, match="x must have shape"):
        pool.max_pool2d_forward(x[0], 2)
    with pytest.raises(TypeError, match="float32 or float64"):
        pool.average_pool2d_forward(x.astype(np.int64), 2)
    with pytest.raises(ValueError, match="dy must have shape"):
        pool.max_pool2d_backward(x, np.zeros((2, 3, 3, 3), np.float32), 2)
    with pytest.raises(TypeError, match="dy must have dtype float32"):
        pool.max_pool2d_backward(x, np.zeros((2, 2, 2, 3)), 2)
    with pytest.raises(ValueError, match="out must have shape"):
        pool.max_pool2d_forward(x, 2, out=np.zeros((2, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="out must not overlap x"):
        pool.average_pool2d_forward(x, 2, out=x.reshape(-1)[:24].reshape(2, 2, 2, 3))
    with pytest.raises(ValueError, match="C-contiguous"):
        pool.max_pool2d_forward(x[:, ::2], 2)
    with pytest.raises(ValueError, match="non-empty spatial"):
        pool.global_max_pool_forward(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="dx must be writable"):
        dx = np.zeros_like(x)
        dx.flags.writeable = False
        pool.global_average_pool_backward(x, np.zeros((2, 3), np.float32), dx=dx)


def test_the_c_kernels_recheck_their_arguments():
    g = dict(n=1, h=4, w=4, c=1, kh=2, kw=2, sh=2, sw=2, dh=1, dw=1, pad_top=0, pad_left=0, oh=2, ow=2)
    x, y = np.zeros(16), np.zeros(4)
    p = lambda a: ffi.from_buffer("double *", a)
    assert lib.pm_max_pool2d_fwd_f64(ffi.new("pm_window2d *", g)[0], p(x), p(y)) == lib.PM_OK
    for bad in (dict(dh=2), dict(oh=3), dict(pad_left=2), dict(c=-1)):
        assert lib.pm_avg_pool2d_fwd_f64(ffi.new("pm_window2d *", {**g, **bad})[0], p(x), p(y)) == lib.PM_EINVAL
    assert lib.pm_max_pool2d_fwd_f64(ffi.new("pm_window2d *", g)[0], ffi.NULL, p(y)) == lib.PM_EINVAL
    assert lib.pm_global_max_pool_fwd_f64(1, 0, 1, p(x), p(y)) == lib.PM_EINVAL
    assert lib.pm_global_avg_pool_fwd_f64(1, 2**62, 4, p(x), p(y)) == lib.PM_EINVAL


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", [
    ((64, 24, 24, 6), 2, None, "valid"),   # LeNet's first pooling
    ((33, 17, 17, 16), 3, 2, "same"),      # overlapping windows, padding, odd image count
])
def test_pool2d_results_are_bitwise_equal_for_one_two_and_three_threads(spec, dtype):
    shape, pool_size, strides, padding = spec
    x = np.round(np.random.default_rng(5).standard_normal(shape) * 2).astype(dtype)  # many tied maxima
    runs = []
    before = gemm.get_num_threads()
    try:
        for threads in (1, 2, 3):
            gemm.set_num_threads(threads)
            y_max = pool.max_pool2d_forward(x, pool_size, strides, padding)
            y_avg = pool.average_pool2d_forward(x, pool_size, strides, padding)
            runs.append((y_max, y_avg,
                         pool.max_pool2d_backward(x, np.cos(y_max), pool_size, strides, padding),
                         pool.average_pool2d_backward(x, np.cos(y_avg), pool_size, strides, padding)))
    finally:
        gemm.set_num_threads(before)
    for other in runs[1:]:
        for want, got in zip(runs[0], other):
            np.testing.assert_array_equal(got, want)
