"""Dense layer kernels against NumPy float64 references and finite differences."""
import numpy as np
import pytest

from pymodel._native import activations as act, dense

F32, F64 = np.float32, np.float64


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# kind -> (y = f(z), dz = g(z, y, dy)) in float64.
REF = {
    "linear": (lambda z: z, lambda z, y, dy: dy),
    "relu": (lambda z: np.maximum(z, 0), lambda z, y, dy: dy * (z > 0)),
    "sigmoid": (sigmoid, lambda z, y, dy: dy * y * (1 - y)),
    "tanh": (np.tanh, lambda z, y, dy: dy * (1 - y * y)),
    "softmax": (softmax, lambda z, y, dy: y * (dy - (dy * y).sum(axis=1, keepdims=True))),
}
# (m, k, n): 1x1, odd, a column block wider than 512, big enough for the blocked GEMM, and
# big enough for the elementwise passes to be split over the GEMM's threads.
SHAPES = [(1, 1, 1), (1, 3, 1), (5, 1, 7), (7, 13, 5), (33, 65, 17), (3, 4, 600), (96, 80, 70),
          (300, 64, 130)]


def data(m, k, n, dtype, seed=0):
    g = np.random.default_rng(seed)
    x = g.normal(size=(m, k))
    w = g.normal(size=(k, n)) / np.sqrt(max(k, 1))
    b = g.normal(size=n) * 0.1
    dy = g.normal(size=(m, n))
    return [a.astype(dtype) for a in (x, w, b, dy)]


def close(actual, ref, dtype):
    scale = max(1.0, float(np.abs(ref).max(initial=0)))
    tol = dict(rtol=1e-5, atol=1e-5 * scale) if dtype == F32 else dict(rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(actual, ref, **tol)


def nan(shape, dtype):
    return np.full(shape, np.nan, dtype)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", sorted(REF))
def test_dense_forward_and_backward_match_numpy(kind, shape, dtype):
    m, k, n = shape
    x, w, b, dy = data(m, k, n, dtype)
    saved = [a.copy() for a in (x, w, b, dy)]
    desc = act.descriptor(kind)
    work = dense.workspace(m, k, n, dtype)
    z, y = dense.forward(x, w, b, desc, z=nan((m, n), dtype), y=nan((m, n), dtype), work=work)
    f, g = REF[kind]
    x64, w64, dy64 = x.astype(F64), w.astype(F64), dy.astype(F64)
    z_ref = x64 @ w64 + b.astype(F64)
    close(z, z_ref, dtype)
    close(y, f(z_ref), dtype)
    dz_ref = g(z.astype(F64), y.astype(F64), dy64)
    dx, dw, db = dense.backward(x, w, desc, z, y, dy, dz=nan((m, n), dtype), dx=nan((m, k), dtype),
                                dw=nan((k, n), dtype), db=nan(n, dtype), work=work)
    close(dw, x64.T @ dz_ref, dtype)
    close(db, dz_ref.sum(axis=0), dtype)
    close(dx, dz_ref @ w64.T, dtype)
    for a, a0 in zip((x, w, b, dy), saved):
        np.testing.assert_array_equal(a, a0)


@pytest.mark.parametrize("kind", ["relu", "sigmoid", "tanh", "gelu", "elu", "softmax"])
def test_the_passes_split_over_threads_give_the_same_bits_as_one_thread(kind):
    """Bias, activation, dz and db run in the GEMM's team, each thread on its share of rows
    (columns for db): 300 x 130 outputs (rows of 130, not a multiple of the vector width)."""
    from pymodel._native import gemm
    m, k, n = 300, 64, 130
    x, w, b, dy = data(m, k, n, F32, seed=3)
    desc = act.descriptor(kind)
    before = gemm.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            gemm.set_num_threads(threads)
            work = dense.workspace(m, k, n, F32)
            z, y = dense.forward(x, w, b, desc, work=work)
            dx, dw, db = dense.backward(x, w, desc, z, y, dy, work=work)
            results.append((z, y, dx, dw, db))
    finally:
        gemm.set_num_threads(before)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("kind", ["linear", "relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "log_softmax"])
def test_dense_backward_matches_finite_differences(kind):
    m, k, n = 4, 3, 5
    x, w, b, dy = data(m, k, n, F64, seed=1)
    desc = act.descriptor(kind)

    def loss(x, w, b):
        return float((dense.forward(x, w, b, desc)[1] * dy).sum())

    def numeric(arr):
        grad = np.empty_like(arr)
        for i in np.ndindex(arr.shape):
            keep = arr[i]
            arr[i] = keep + 1e-6
            up = loss(x, w, b)
            arr[i] = keep - 1e-6
            down = loss(x, w, b)
            arr[i] = keep
            grad[i] = (up - down) / 2e-6
        return grad

    z, y = dense.forward(x, w, b, desc)
    dx, dw, db = dense.backward(x, w, desc, z, y, dy)
    for analytic, arr in ((dx, x), (dw, w), (db, b)):
        np.testing.assert_allclose(analytic, numeric(arr), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_skipping_dx_and_db_leaves_dw_unchanged(dtype):
    x, w, b, dy = data(6, 4, 3, dtype)
    desc = act.descriptor("tanh")
    z, y = dense.forward(x, w, b, desc)
    dx, dw, db = dense.backward(x, w, desc, z, y, dy)
    sdx, sdw, sdb = dense.backward(x, w, desc, z, y, dy, need_dx=False, need_db=False)
    assert sdx is None and sdb is None
    np.testing.assert_array_equal(sdw, dw)
    only_db = dense.backward(x, w, desc, z, y, dy, need_dx=False)
    assert only_db[0] is None
    np.testing.assert_array_equal(only_db[2], db)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_forward_without_bias_and_with_in_place_activation(dtype):
    x, w, _, _ = data(9, 6, 4, dtype)
    desc = act.descriptor("relu")
    z, y = dense.forward(x, w, None, desc)
    close(z, x.astype(F64) @ w.astype(F64), dtype)
    buf = nan((9, 4), dtype)
    z2, y2 = dense.forward(x, w, None, desc, z=buf, y=buf)
    assert z2 is buf and y2 is buf
    np.testing.assert_array_equal(buf, y)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_backward_may_overwrite_dy_with_dz(dtype):
    x, w, b, dy = data(5, 4, 3, dtype)
    for kind in ("sigmoid", "linear", "softmax"):
        desc = act.descriptor(kind)
        z, y = dense.forward(x, w, b, desc)
        expected = dense.backward(x, w, desc, z, y, dy)
        dyc = dy.copy()
        got = dense.backward(x, w, desc, z, y, dyc, dz=dyc)
        for e, g in zip(expected, got):
            np.testing.assert_array_equal(g, e)


def test_linear_backward_does_not_touch_dy():
    x, w, b, dy = data(5, 4, 3, F64)
    desc = act.descriptor("linear")
    z, y = dense.forward(x, w, b, desc)
    dy0 = dy.copy()
    dx, dw, db = dense.backward(x, w, desc, z, y, dy)
    np.testing.assert_array_equal(dy, dy0)
    np.testing.assert_allclose(db, dy0.sum(axis=0), rtol=1e-12)


def test_empty_batch_and_zero_inputs_are_handled():
    desc = act.descriptor("sigmoid")
    x, w, b = np.empty((0, 3)), np.ones((3, 2)), np.array([1.0, -1.0])
    z, y = dense.forward(x, w, b, desc)
    dx, dw, db = dense.backward(x, w, desc, z, y, np.empty((0, 2)), dw=nan((3, 2), F64), db=nan(2, F64))
    assert dx.shape == (0, 3)
    np.testing.assert_array_equal(dw, np.zeros((3, 2)))
    np.testing.assert_array_equal(db, np.zeros(2))
    z, y = dense.forward(np.empty((2, 0)), np.empty((0, 2)), b, desc, z=nan((2, 2), F64))
    np.testing.assert_array_equal(z, [[1, -1], [1, -1]])


def test_arguments_are_validated():
    desc = act.descriptor("relu")
    x, w, b, dy = data(4, 3, 2, F64)
    with pytest.raises(ValueError, match=r"w must have shape \(3, \?\). Received: shape=\(2, 3\)"):
        dense.forward(x, w.T.copy(), b, desc)
    with pytest.raises(ValueError, match=r"b must have shape \(2,\). Received: shape=\(3,\)"):
        dense.forward(x, w, np.zeros(3), desc)
    with pytest.raises(ValueError, match=r"x must have shape"):
        dense.forward(x.ravel(), w, b, desc)
    with pytest.raises(TypeError, match="w must have dtype float64"):
        dense.forward(x, w.astype(F32), b, desc)
    with pytest.raises(ValueError, match="z must not overlap x"):
        sq = np.ones((3, 3))
        dense.forward(sq, np.ones((3, 3)), None, desc, z=sq)
    with pytest.raises(ValueError, match="y must not overlap z"):
        buf = np.zeros(10)
        dense.forward(x, w, b, desc, z=buf[:8].reshape(4, 2), y=buf[2:].reshape(4, 2))
    with pytest.raises(TypeError, match="descriptor"):
        dense.forward(x, w, b, "relu")
    z, y = dense.forward(x, w, b, desc)
    with pytest.raises(ValueError, match="dx was given but need_dx=False"):
        dense.backward(x, w, desc, z, y, dy, dx=np.zeros((4, 3)), need_dx=False)
    with pytest.raises(ValueError, match=r"dy must have shape \(4, 2\)"):
        dense.backward(x, w, desc, z, y, dy.T.copy())
    with pytest.raises(ValueError, match="dw must not overlap x"):
        dense.backward(x, w, desc, z, y, dy, dw=x.ravel()[:6].reshape(3, 2))
    with pytest.raises(ValueError, match="db must not overlap dw"):
        dw = np.zeros((3, 2))
        dense.backward(x, w, desc, z, y, dy, dw=dw, db=dw.ravel()[:2])
    with pytest.raises(ValueError, match="dz must not overlap z"):
        dense.backward(x, w, desc, z, y, dy, dz=z)


def test_too_small_workspace_is_refused():
    x, w, b, _ = data(64, 300, 64, F32)
    need = dense.workspace_bytes(64, 300, 64, F32)
    assert need > 0
    with pytest.raises(ValueError, match="work is too small"):
        dense.forward(x, w, b, act.descriptor("relu"), work=np.empty(need // 4, np.uint8))
