"""Conv1D/Conv2D kernels (channels_last) against NumPy float64 references and finite differences."""
import numpy as np
import pytest
from window_ref import numeric_grad, tf_axis

from pymodel._native import conv, ffi, gemm, lib

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-5, np.float64: 1e-12}


# ----------------------------------------------------------------- references
def taps(x, kh, kw, s, d, pads, outs):
    """Every tap (ky, kx) of the zero-padded input as a strided view: (ky, kx, slice tuple), xp."""
    (sh, sw), (dh, dw), (pt, pl), (oh, ow) = s, d, pads, outs
    n, h, w, c = x.shape
    xp = np.zeros((n, pt + h + (kh - 1) * dh + sh * oh, pl + w + (kw - 1) * dw + sw * ow, c))
    xp[:, pt:pt + h, pl:pl + w] = x
    return xp, [(ky, kx, (slice(None), slice(ky * dh, ky * dh + (oh - 1) * sh + 1, sh),
                          slice(kx * dw, kx * dw + (ow - 1) * sw + 1, sw)))
                for ky in range(kh) for kx in range(kw)]


def geometry(x_shape, k_shape, s, d, padding):
    (oh, pt), (ow, pl) = (tf_axis(x_shape[1], k_shape[0], s[0], padding, d[0]),
                          tf_axis(x_shape[2], k_shape[1], s[1], padding, d[1]))
    return (pt, pl), (oh, ow)


def conv2d_ref(x, k, b, s, d, padding):
    """Forward and the three gradients for upstream dy, in float64, tap by tap."""
    x, k = x.astype(np.float64), k.astype(np.float64)
    pads, outs = geometry(x.shape, k.shape, s, d, padding)
    xp, tap_list = taps(x, k.shape[0], k.shape[1], s, d, pads, outs)
    y = np.zeros((x.shape[0], *outs, k.shape[3])) + (0 if b is None else b.astype(np.float64))
    for ky, kx, sl in tap_list:
        y += np.einsum("nhwc,co->nhwo", xp[sl], k[ky, kx])

    def backward(dy):
        dy = dy.astype(np.float64)
        dxp, dk = np.zeros_like(xp), np.zeros_like(k)
        for ky, kx, sl in tap_list:
            dk[ky, kx] = np.einsum("nhwc,nhwo->co", xp[sl], dy)
            dxp[sl] += np.einsum("nhwo,co->nhwc", dy, k[ky, kx])
        pt, pl = pads
        return dxp[:, pt:pt + x.shape[1], pl:pl + x.shape[2]], dk, dy.sum(axis=(0, 1, 2))

    return y, backward


# 2-D cases: (n, h, w, cin, cout, kh, kw, strides, dilation, padding); strides 1-3,
# dilations 1-2, both paddings, odd sizes, 1x1 kernels, non-square everything.
CASES_2D = [
    (2, 7, 6, 3, 4, 3, 2, (1, 1), (1, 1), "valid"),
    (2, 7, 6, 3, 4, 3, 2, (1, 1), (1, 1), "same"),
    (1, 9, 8, 2, 5, 3, 3, (2, 2), (1, 1), "same"),
    (3, 9, 7, 2, 3, 3, 3, (2, 3), (1, 1), "valid"),
    (2, 8, 9, 3, 2, 2, 3, (3, 2), (1, 1), "same"),
    (2, 9, 9, 2, 3, 3, 3, (1, 1), (2, 2), "valid"),
    (2, 9, 8, 2, 3, 3, 2, (1, 1), (2, 1), "same"),
    (1, 11, 10, 3, 2, 3, 3, (2, 2), (2, 2), "same"),
    (2, 10, 11, 1, 4, 2, 2, (3, 3), (2, 2), "valid"),
    (2, 5, 4, 6, 7, 1, 1, (1, 1), (1, 1), "valid"),
    (2, 5, 4, 6, 7, 1, 1, (1, 1), (1, 1), "same"),
    (2, 7, 5, 3, 2, 1, 1, (2, 3), (1, 1), "same"),
    (1, 4, 4, 2, 3, 4, 4, (1, 1), (1, 1), "valid"),
    (1, 3, 5, 2, 3, 5, 5, (1, 2), (1, 1), "same"),
    (3, 1, 1, 4, 2, 3, 3, (1, 1), (1, 1), "same"),
    (1, 13, 3, 1, 1, 3, 1, (3, 1), (2, 1), "same"),
    (2, 1, 5, 2, 3, 2, 2, (1, 1), (3, 1), "same"),  # dilated taps of row 0 both land in the padding
]


def case_arrays(case, dtype, seed=0):
    n, h, w, cin, cout, kh, kw, s, d, padding = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, cin)).astype(dtype)
    k = rng.standard_normal((kh, kw, cin, cout)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    return x, k, b, s, d, padding


def assert_close(got, want, dtype, scale=None):
    """float32 within 1e-5 of the float64 reference relative to its magnitude; float64 within 1e-12."""
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max(initial=0))) if scale is None else scale
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype] * scale * 10)


# ---------------------------------------------------------------------- tests
@pytest.mark.parametrize("size,k,stride,dilation,padding,expected", [
    (5, 3, 2, 1, "same", (3, 1, 1)),
    (4, 3, 2, 1, "same", (2, 0, 1)),
    (6, 3, 1, 2, "same", (6, 2, 2)),
    (7, 2, 3, 1, "same", (3, 0, 1)),
    (5, 1, 3, 1, "same", (2, 0, 0)),
    (7, 3, 2, 1, "valid", (3, 0, 0)),
    (6, 3, 3, 2, "valid", (1, 0, 0)),
    (5, 5, 1, 1, "valid", (1, 0, 0)),
    (5, 3, 2, 2, "causal", (3, 4, 0)),
])
def test_padding_amounts_match_tensorflow(size, k, stride, dilation, padding, expected):
    assert tuple(conv.padding_amounts(size, k, stride, padding, dilation)) == expected
    assert tf_axis(size, k, stride, padding, dilation) == expected[:2]


def test_conv_output_shape_for_2d_and_1d_inputs():
    assert conv.conv_output_shape((4, 9, 8, 3), (3, 2, 3, 16), (2, 3), "same") == (4, 5, 3, 16)
    assert conv.conv_output_shape((4, 9, 8, 3), (3, 2, 3, 16), 1, "valid", (2, 2)) == (4, 5, 6, 16)
    assert conv.conv_output_shape((4, 9, 3), (3, 3, 16), 2, "causal", 1) == (4, 5, 16)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES_2D, ids=str)
def test_conv2d_forward_and_backward_match_reference(case, dtype):
    x, k, b, s, d, padding = case_arrays(case, dtype)
    x0, k0 = x.copy(), k.copy()
    y_ref, backward = conv2d_ref(x, k, b, s, d, padding)
    y = conv.conv2d_forward(x, k, b, s, padding, d)
    assert y.dtype == dtype
    assert_close(y, y_ref, dtype)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    dx, dk, db = conv.conv2d_backward(x, k, dy, s, padding, d)
    for got, want in zip((dx, dk, db), backward(dy)):
        assert got.dtype == dtype
        assert_close(got, want, dtype)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(k, k0)


@pytest.mark.parametrize("case", [CASES_2D[i] for i in (1, 4, 7, 8, 10, 11, 14)], ids=str)
def test_conv2d_backward_matches_finite_differences(case):
    x, k, b, s, d, padding = case_arrays(case, np.float64, seed=2)
    x, k = x[:1].copy(), k.copy()
    y = conv.conv2d_forward(x, k, b, s, padding, d)
    dy = np.random.default_rng(3).standard_normal(y.shape)

    def loss():
        return float(np.sum(conv.conv2d_forward(x, k, b, s, padding, d) * dy))

    dx, dk, db = conv.conv2d_backward(x, k, dy, s, padding, d)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dk, numeric_grad(loss, k), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(db, numeric_grad(loss, b), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2)])
def test_conv1d_matches_reference(padding, stride, dilation, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 11, 2)).astype(dtype)
    k = rng.standard_normal((3, 2, 4)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    y_ref, backward = conv2d_ref(x[:, None], k[None], b, (1, stride), (1, dilation), padding)
    y = conv.conv1d_forward(x, k, b, stride, padding, dilation)
    assert_close(y, y_ref[:, 0], dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx, dk, db = conv.conv1d_backward(x, k, dy, stride, padding, dilation)
    dx_ref, dk_ref, db_ref = backward(dy[:, None])
    assert_close(dx, dx_ref[:, 0], dtype)
    assert_close(dk, dk_ref[0], dtype)
    assert_close(db, db_ref, dtype)


def test_conv1d_causal_output_depends_only_on_the_past():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 9, 2))
    k = rng.standard_normal((3, 2, 2))
    y = conv.conv1d_forward(x, k, None, 1, "causal", 2)
    x[:, 6:] = 100.0
    np.testing.assert_array_equal(conv.conv1d_forward(x, k, None, 1, "causal", 2)[:, :6], y[:, :6])


def test_conv1d_backward_matches_finite_differences():
    rng = np.random.default_rng(6)
    x, k, b = rng.standard_normal((2, 8, 3)), rng.standard_normal((3, 3, 2)), rng.standard_normal(2)
    dy = rng.standard_normal(conv.conv1d_forward(x, k, b, 2, "causal", 2).shape)

    def loss():
        return float(np.sum(conv.conv1d_forward(x, k, b, 2, "causal", 2) * dy))

    dx, dk, db = conv.conv1d_backward(x, k, dy, 2, "causal", 2)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dk, numeric_grad(loss, k), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(db, numeric_grad(loss, b), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_many_output_cells_are_processed_in_column_chunks_and_still_match(dtype):
    # 3*3*64 = 576 columns per cell: 2*32*32 = 2048 cells exceed one 2**20-element column block.
    x, k, b, s, d, padding = case_arrays((2, 32, 32, 64, 5, 3, 3, (1, 1), (1, 1), "same"), dtype)
    y_ref, backward = conv2d_ref(x, k, b, s, d, padding)
    assert_close(conv.conv2d_forward(x, k, b, s, padding, d), y_ref, dtype)
    dy = np.random.default_rng(7).standard_normal(y_ref.shape).astype(dtype)
    for got, want in zip(conv.conv2d_backward(x, k, dy, s, padding, d), backward(dy)):
        assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [CASES_2D[2], CASES_2D[10]], ids=str)
def test_nan_poisoned_outputs_are_fully_written_and_workspace_is_reused(case, dtype):
    x, k, b, s, d, padding = case_arrays(case, dtype)
    work = conv.workspace(x.shape, k.shape, s, padding, d, dtype)
    work[:] = 0xFF  # NaN bit patterns everywhere
    y_ref, backward = conv2d_ref(x, k, b, s, d, padding)
    out = np.full(y_ref.shape, np.nan, dtype)
    assert conv.conv2d_forward(x, k, b, s, padding, d, out=out, work=work) is out
    assert_close(out, y_ref, dtype)
    dy = np.random.default_rng(8).standard_normal(out.shape).astype(dtype)
    grads = [np.full(a.shape, np.nan, dtype) for a in (x, k, b)]
    result = conv.conv2d_backward(x, k, dy, s, padding, d, *grads, work=work)
    for got, buf, want in zip(result, grads, backward(dy)):
        assert got is buf
        assert_close(got, want, dtype)


def test_without_bias_the_forward_is_the_plain_convolution():
    x, k, _, s, d, padding = case_arrays(CASES_2D[3], np.float64)
    y_ref, _ = conv2d_ref(x, k, None, s, d, padding)
    assert_close(conv.conv2d_forward(x, k, None, s, padding, d), y_ref, np.float64)


def test_need_dx_and_need_dbias_false_skip_those_gradients():
    x, k, b, s, d, padding = case_arrays(CASES_2D[5], np.float64)
    y_ref, backward = conv2d_ref(x, k, b, s, d, padding)
    dy = np.ones_like(y_ref)
    dx, dk, db = conv.conv2d_backward(x, k, dy, s, padding, d, need_dx=False, need_dbias=False)
    assert dx is None and db is None
    assert_close(dk, backward(dy)[1], np.float64)


def test_an_empty_batch_gives_empty_outputs_and_zero_kernel_gradients():
    x = np.zeros((0, 5, 5, 2))
    k = np.ones((3, 3, 2, 4))
    assert conv.conv2d_forward(x, k, np.ones(4), 1, "same").shape == (0, 5, 5, 4)
    dx, dk, db = conv.conv2d_backward(x, k, np.zeros((0, 5, 5, 4)), 1, "same")
    assert dx.shape == (0, 5, 5, 2)
    np.testing.assert_array_equal(dk, 0.0)
    np.testing.assert_array_equal(db, 0.0)


def test_bad_arguments_raise_clear_errors():
    x = np.zeros((2, 5, 5, 3), np.float32)
    k = np.zeros((3, 3, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"kernel of size \(6, 6\).*input of shape \(2, 5, 5, 3\).*'valid'"):
        conv.conv2d_forward(x, np.zeros((6, 6, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"kernel of size \(3, 3\) with dilation \(3, 3\)"):
        conv.conv2d_forward(x, k, dilation=3)
    with pytest.raises(ValueError, match=r"kernel of size \(9,\).*\(2, 5, 3\)"):
        conv.conv1d_forward(np.zeros((2, 5, 3)), np.zeros((9, 3, 1)))
    with pytest.raises(ValueError, match="expects 2 input channels"):
        conv.conv2d_forward(x, np.zeros((3, 3, 2, 4), np.float32))
    with pytest.raises(TypeError, match="kernel must have dtype float32"):
        conv.conv2d_forward(x, k.astype(np.float64))
    with pytest.raises(TypeError, match="float32 or float64"):
        conv.conv2d_forward(x.astype(np.int32), k)
    with pytest.raises(ValueError, match="x must have shape"):
        conv.conv2d_forward(x[0], k)
    with pytest.raises(ValueError, match="padding"):
        conv.conv2d_forward(x, k, padding="causal")
    with pytest.raises(ValueError, match="strides"):
        conv.conv2d_forward(x, k, strides=0)
    with pytest.raises(ValueError, match="bias must have shape"):
        conv.conv2d_forward(x, k, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        conv.conv2d_forward(np.asfortranarray(x), k)
    with pytest.raises(ValueError, match="out must have shape"):
        conv.conv2d_forward(x, k, out=np.zeros((2, 5, 5, 4), np.float32))
    out = np.zeros((2, 3, 3, 4), np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writable"):
        conv.conv2d_forward(x, k, out=out)
    shared = np.zeros(2 * 5 * 5 * 3, np.float32)
    with pytest.raises(ValueError, match="out must not overlap x"):
        conv.conv2d_forward(shared.reshape(x.shape), k, out=shared[:72].reshape(2, 3, 3, 4))
    with pytest.raises(ValueError, match="work holds"):
        conv.conv2d_forward(x, k, work=np.zeros(8, np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        conv.conv2d_forward(x, k, work=np.zeros(10**6, np.float32))
    with pytest.raises(ValueError, match="dy must have shape"):
        conv.conv2d_backward(x, k, np.zeros((2, 5, 5, 4), np.float32))


def test_the_c_kernels_recheck_geometry_and_workspace():
    def window(**kw):
        g = dict(n=1, h=5, w=5, c=2, kh=3, kw=3, sh=1, sw=1, dh=1, dw=1, pad_top=1, pad_left=1, oh=5, ow=5)
        g.update(kw)
        return ffi.new("pm_window2d *", g)[0]

    assert lib.pm_window2d_check(window()) == lib.PM_OK
    for bad in (dict(oh=7), dict(oh=3), dict(pad_top=3), dict(sh=0), dict(dw=0), dict(n=-1), dict(h=0),
                dict(kh=0), dict(pad_left=-1), dict(c=2**62)):
        assert lib.pm_window2d_check(window(**bad)) == lib.PM_EINVAL, bad
        assert lib.pm_conv2d_workspace_size_f32(window(**bad), 4) == -1, bad
    assert lib.pm_conv2d_workspace_size_f64(window(), -1) == -1
    x, k, y = np.zeros(50), np.zeros(3 * 3 * 2 * 4), np.zeros(100)
    need = lib.pm_conv2d_workspace_size_f64(window(), 4)
    work = np.zeros(need, np.uint8)
    p = lambda a: ffi.from_buffer("double *", a)
    args = (window(), 4, p(x), p(k), ffi.NULL, p(y), ffi.from_buffer(work))
    assert lib.pm_conv2d_fwd_f64(*args, need - 1) == lib.PM_ENOMEM
    assert lib.pm_conv2d_fwd_f64(*args, need) == lib.PM_OK
    assert lib.pm_conv2d_fwd_f64(window(), 4, ffi.NULL, p(k), ffi.NULL, p(y), ffi.from_buffer(work), need) \
        == lib.PM_EINVAL


def test_conv1d_writes_into_the_given_buffers():
    rng = np.random.default_rng(9)
    x, k, b = rng.standard_normal((2, 7, 3)), rng.standard_normal((2, 3, 4)), rng.standard_normal(4)
    out = np.full((2, 4, 4), np.nan)
    assert conv.conv1d_forward(x, k, b, 2, "same", out=out) is out
    y_ref, backward = conv2d_ref(x[:, None], k[None], b, (1, 2), (1, 1), "same")
    assert_close(out, y_ref[:, 0], np.float64)
    dy = rng.standard_normal(out.shape)
    bufs = (np.full(x.shape, np.nan), np.full(k.shape, np.nan), np.full(b.shape, np.nan))
    got = conv.conv1d_backward(x, k, dy, 2, "same", 1, *bufs)
    for g, buf, want in zip(got, bufs, backward(dy[:, None])):
        assert g is buf
        assert_close(g, want.reshape(g.shape), np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec", [
    ((64, 28, 28, 1), (5, 5, 1, 6), (1, 1), "valid"),     # LeNet's first layer: few filters, transposed GEMMs
    ((64, 12, 12, 6), (5, 5, 6, 16), (1, 1), "valid"),    # LeNet's second layer
    ((12, 40, 40, 8), (3, 3, 8, 20), (1, 1), "same"),     # column chunks that split images, padding
    ((9, 21, 21, 3), (4, 4, 3, 7), (2, 2), "same"),       # stride, odd image count
])
def test_conv2d_results_are_bitwise_equal_for_one_two_and_three_threads(spec, dtype):
    x_shape, k_shape, strides, padding = spec
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape).astype(dtype)
    k = rng.standard_normal(k_shape).astype(dtype)
    b = rng.standard_normal(k_shape[-1]).astype(dtype)
    runs = []
    before = gemm.get_num_threads()
    try:
        for threads in (1, 2, 3):
            gemm.set_num_threads(threads)
            y = conv.conv2d_forward(x, k, b, strides, padding)
            dy = np.cos(y)
            runs.append((y, *conv.conv2d_backward(x, k, dy, strides, padding)))
    finally:
        gemm.set_num_threads(before)
    for other in runs[1:]:
        for want, got in zip(runs[0], other):
            np.testing.assert_array_equal(got, want)
