"""Loss kernels against NumPy float64 restatements of the tf-keras 2.x formulas."""
import numpy as np
import pytest

from pymodel._native import KernelError
from pymodel._native import losses as L

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
SHAPES = [(1, 1), (3, 5), (7, 2), (4, 1), (2, 9)]


# ------------------------------------------------------------ references
def _bounds(dtype):
    """Keras's clip range [eps, 1 - eps], built in the element type."""
    eps = dtype(1e-7)
    return float(eps), float(dtype(1) - eps)


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def ref_loss(kind, y, p, dtype, from_logits=False, delta=1.0, label_smoothing=0.0):
    """Per-sample loss, float64, written from the Keras formulas."""
    y, p = np.asarray(y, np.float64), np.asarray(p, np.float64)
    eps, hi = _bounds(dtype)
    s = label_smoothing
    if kind == "mse":
        return np.mean((p - y) ** 2, -1)
    if kind == "mae":
        return np.mean(np.abs(p - y), -1)
    if kind == "mape":
        return 100 * np.mean(np.abs((y - p) / np.maximum(np.abs(y), eps)), -1)
    if kind == "msle":
        return np.mean((np.log(np.maximum(p, eps) + 1) - np.log(np.maximum(y, eps) + 1)) ** 2, -1)
    if kind == "huber":
        e = np.abs(p - y)
        return np.mean(np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2), -1)
    if kind == "log_cosh":
        x = p - y
        return np.mean(np.logaddexp(x, -x) - np.log(2), -1)
    if kind == "bce":
        y = y * (1 - s) + 0.5 * s
        if from_logits:  # -(y log sigmoid z + (1 - y) log(1 - sigmoid z))
            return np.mean(y * np.logaddexp(0, -p) + (1 - y) * np.logaddexp(0, p), -1)
        p = np.clip(p, eps, hi)
        return -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps), -1)
    if kind == "cce":
        y = y * (1 - s) + s / y.shape[-1]
        if from_logits:
            return -np.sum(y * _log_softmax(p), -1)
        q = np.clip(p / p.sum(-1, keepdims=True), eps, hi)
        return -np.sum(y * np.log(q), -1)
    if kind == "scce":
        k = y.reshape(-1).astype(int)
        rows = np.arange(len(k))
        if from_logits:
            return -_log_softmax(p)[rows, k]
        c = np.clip(p, eps, hi)
        return -np.log(c[rows, k] / c.sum(-1))
    if kind in ("hinge", "squared_hinge"):
        if np.all((y == 0) | (y == 1)):
            y = 2 * y - 1
        h = np.maximum(1 - y * p, 0)
        return np.mean(h if kind == "hinge" else h ** 2, -1)
    if kind == "kld":
        yc, pc = np.clip(y, eps, 1), np.clip(p, eps, 1)
        return np.sum(yc * np.log(yc / pc), -1)
    if kind == "poisson":
        return np.mean(p - y * np.log(p + eps), -1)
    if kind == "categorical_hinge":
        return np.maximum(np.max((1 - y) * p, -1) - np.sum(y * p, -1) + 1, 0)
    raise AssertionError(kind)


def fd_grad(kind, y, p, weight, alpha, h=1e-6, **opts):
    """Central differences of alpha * sum_i weight_i * loss_i in float64."""
    p = np.asarray(p, np.float64)
    grad = np.empty_like(p)
    for idx in np.ndindex(p.shape):
        plus, minus = p.copy(), p.copy()
        plus[idx] += h
        minus[idx] -= h
        i = idx[0]
        diff = (ref_loss(kind, y, plus, np.float64, **opts)[i]
                - ref_loss(kind, y, minus, np.float64, **opts)[i])
        grad[idx] = alpha * weight[i] * diff / (2 * h)
    return grad


# ------------------------------------------------- data away from kinks
def _away(x, points, gap, rng):
    """Push entries of x at least gap away from each of points."""
    for c in points:
        near = np.abs(x - c) < gap
        x = np.where(near, c + np.sign(x - c + 1e-300) * (gap + rng.uniform(0, gap, x.shape)), x)
    return x


def _onehot(rng, rows, cols):
    return np.eye(cols)[rng.integers(0, cols, rows)]


def _dist(rng, rows, cols):
    return rng.dirichlet(np.ones(cols), rows)


def _gen_diff(points):
    def gen(rng, rows, cols):
        y = rng.normal(size=(rows, cols))
        e = rng.normal(scale=1.5, size=(rows, cols))
        return y, y + _away(e, points, 0.05, rng)
    return gen


def _gen_hinge(labels):
    def gen(rng, rows, cols):
        y = rng.choice(labels, size=(rows, cols)).astype(float)
        s = np.where(np.all(np.isin(y, [0, 1])), 2 * y - 1, y)
        margin = _away(rng.normal(scale=1.5, size=(rows, cols)), [0], 0.05, rng)
        return y, np.where(s == 0, margin, (1 - margin) / np.where(s == 0, 1, s))
    return gen


def _gen_cat_hinge(rng, rows, cols):
    y = _onehot(rng, rows, cols)
    p = rng.normal(scale=2, size=(rows, cols))
    neg = ((1 - y) * p).max(-1)
    pos = (y * p).sum(-1)
    # keep max((1-y)p) - sum(y p) + 1 away from 0 by moving the true-class score
    active = neg - pos + 1
    shift = np.where(np.abs(active) < 0.1, 0.3, 0.0)
    return y, p - y * shift[:, None]


CASES = {
    "mse": ("mse", {}, _gen_diff([])),
    "mae": ("mae", {}, _gen_diff([0])),
    "mape": ("mape", {}, lambda rng, r, c: (
        _away(rng.normal(size=(r, c)), [0], 0.5, rng), None)),
    "msle": ("msle", {}, lambda rng, r, c: (rng.uniform(0, 3, (r, c)), rng.uniform(0.1, 3, (r, c)))),
    "huber": ("huber", {}, _gen_diff([0, -1, 1])),
    "huber_delta": ("huber", {"delta": 0.4}, _gen_diff([0, -0.4, 0.4])),
    "log_cosh": ("log_cosh", {}, _gen_diff([])),
    "bce": ("bce", {}, lambda rng, r, c: (rng.integers(0, 2, (r, c)).astype(float),
                                          rng.uniform(0.02, 0.98, (r, c)))),
    "bce_soft_labels": ("bce", {}, lambda rng, r, c: (rng.uniform(0, 1, (r, c)),
                                                      rng.uniform(0.02, 0.98, (r, c)))),
    "bce_smoothing": ("bce", {"label_smoothing": 0.2}, lambda rng, r, c: (
        rng.integers(0, 2, (r, c)).astype(float), rng.uniform(0.02, 0.98, (r, c)))),
    "bce_logits": ("bce", {"from_logits": True}, lambda rng, r, c: (
        rng.integers(0, 2, (r, c)).astype(float), rng.normal(scale=3, size=(r, c)))),
    "bce_logits_smoothing": ("bce", {"from_logits": True, "label_smoothing": 0.1}, lambda rng, r, c: (
        rng.integers(0, 2, (r, c)).astype(float), rng.normal(scale=3, size=(r, c)))),
    "cce": ("cce", {}, lambda rng, r, c: (_onehot(rng, r, c), rng.uniform(0.1, 1, (r, c)))),
    "cce_soft_labels": ("cce", {}, lambda rng, r, c: (_dist(rng, r, c), rng.uniform(0.1, 1, (r, c)))),
    "cce_smoothing": ("cce", {"label_smoothing": 0.3}, lambda rng, r, c: (
        _onehot(rng, r, c), rng.uniform(0.1, 1, (r, c)))),
    "cce_logits": ("cce", {"from_logits": True}, lambda rng, r, c: (
        _dist(rng, r, c), rng.normal(scale=3, size=(r, c)))),
    "cce_logits_smoothing": ("cce", {"from_logits": True, "label_smoothing": 0.1}, lambda rng, r, c: (
        _onehot(rng, r, c), rng.normal(scale=3, size=(r, c)))),
    "scce": ("scce", {}, lambda rng, r, c: (rng.integers(0, c, r).astype(float),
                                            rng.uniform(0.05, 1, (r, c)))),
    "scce_logits": ("scce", {"from_logits": True}, lambda rng, r, c: (
        rng.integers(0, c, r).astype(float), rng.normal(scale=3, size=(r, c)))),
    "hinge": ("hinge", {}, _gen_hinge([0, 1])),
    "hinge_pm1": ("hinge", {}, _gen_hinge([-1, 1])),
    "squared_hinge": ("squared_hinge", {}, _gen_hinge([0, 1])),
    "squared_hinge_pm1": ("squared_hinge", {}, _gen_hinge([-1, 1])),
    "kld": ("kld", {}, lambda rng, r, c: (rng.uniform(0.01, 1, (r, c)), rng.uniform(0.05, 0.95, (r, c)))),
    "poisson": ("poisson", {}, lambda rng, r, c: (rng.uniform(0, 3, (r, c)), rng.uniform(0.1, 3, (r, c)))),
    "categorical_hinge": ("categorical_hinge", {}, _gen_cat_hinge),
}


def make(case, rows, cols, seed=0):
    kind, opts, gen = CASES[case]
    rng = np.random.default_rng(seed)
    y, p = gen(rng, rows, cols)
    if p is None:  # mape: prediction a clear step away from the label
        p = y + _away(rng.normal(size=y.shape), [0], 0.1, rng)
    return kind, opts, y, p


def run(kind, y, p, dtype, weight=None, alpha=1.0, **opts):
    """Forward and backward with NaN-poisoned outputs; inputs must come back unchanged."""
    y, p = np.array(y, dtype), np.array(p, dtype)
    w = None if weight is None else np.array(weight, dtype)
    saved = [a.copy() for a in (y, p) + ((w,) if w is not None else ())]
    desc = L.descriptor(kind, **opts)
    value = np.full(p.shape[0], np.nan, dtype)
    grad = np.full(p.shape, np.nan, dtype)
    assert L.forward(desc, y, p, out=value) is value
    assert L.backward(desc, y, p, weight=w, alpha=alpha, out=grad) is grad
    assert not np.isnan(value).any() and not np.isnan(grad).any()
    for a, b in zip((y, p) + ((w,) if w is not None else ()), saved):
        np.testing.assert_array_equal(a, b)
    return value, grad


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_values_match_numpy_reference(case, shape, dtype):
    kind, opts, y, p = make(case, *shape)
    value, _ = run(kind, y, p, dtype, **opts)
    y32, p32 = np.array(y, dtype), np.array(p, dtype)  # the reference sees the same inputs
    np.testing.assert_allclose(value, ref_loss(kind, y32, p32, dtype, **opts), **TOL[dtype])


@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_gradients_match_finite_differences(case):
    kind, opts, y, p = make(case, 4, 5, seed=1)
    weight = np.array([1.0, 0.5, 0.0, 2.0])
    _, grad = run(kind, y, p, np.float64, weight=weight, alpha=0.25, **opts)
    np.testing.assert_allclose(grad, fd_grad(kind, y, p, weight, 0.25, **opts), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_loss_gradients_match_float64_finite_differences(case):
    kind, opts, y, p = make(case, 3, 4, seed=2)
    y, p = np.float32(y).astype(np.float64), np.float32(p).astype(np.float64)
    _, grad = run(kind, y, p, np.float32, alpha=1.5, **opts)
    np.testing.assert_allclose(grad, fd_grad(kind, y, p, np.ones(3), 1.5, **opts), rtol=2e-5, atol=1e-6)


def test_keras_golden_values():
    f = np.float32
    golden = [
        ("bce", [[1], [0]], [[0], [1]], 15.379093),
        ("cce", [[0, 1]], [[1, 0]], 16.118095),
        ("huber", [[0, 1, 2], [1, 1, 1]], [[.5, 3, 2], [0, 0, 0]], 0.52083337),
        ("mse", [[0, 1, 2], [1, 1, 1]], [[.5, 3, 2], [0, 0, 0]], 1.2083333),
        ("mae", [[0, 1, 2], [1, 1, 1]], [[.5, 3, 2], [0, 0, 0]], 0.9166666),
    ]
    for kind, y, p, expected in golden:
        value, _ = run(kind, y, p, f)
        np.testing.assert_allclose(value.mean(), expected, rtol=1e-6, err_msg=kind)


def test_sum_over_batch_size_with_weights_matches_keras_mse():
    # Keras: MSE with sample_weight [1, 0] = 0.7083333 (sum of w l / batch size)
    value, _ = run("mse", [[0, 1, 2], [1, 1, 1]], [[.5, 3, 2], [0, 0, 0]], np.float32)
    np.testing.assert_allclose((value * [1, 0]).sum() / 2, 0.7083333, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_crossentropy_gradient_is_zero_where_the_clip_is_active(dtype):
    _, g = run("bce", [[1, 0, 1]], [[0, 1, 0.5]], dtype)
    assert g[0, 0] == 0 and g[0, 1] == 0 and g[0, 2] < 0
    _, g = run("scce", [1, 0], [[0.5, 0.0], [0.3, 0.7]], dtype)
    eps, hi = _bounds(dtype)
    np.testing.assert_allclose(g[0], [1 / (0.5 + eps), 0.0], rtol=1e-6)
    # cce: the clipped class gets no direct term, only the renormalisation one
    _, g = run("cce", [[1, 0]], [[1.0, 0.0]], dtype)
    assert np.isfinite(g).all() and g[0, 0] == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["bce", "cce", "scce"])
def test_large_logits_give_finite_exact_values_and_gradients(kind, dtype):
    z = np.array([[1e4, -1e4, 30.0], [-80.0, 80.0, 0.0]])
    y = np.array([0.0, 1.0]) if kind == "scce" else np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    value, grad = run(kind, y, z, dtype, from_logits=True)
    np.testing.assert_allclose(value, ref_loss(kind, y, z, dtype, from_logits=True), rtol=1e-6)
    if kind == "bce":
        expected = (0.5 * (1 + np.tanh(z / 2)) - y) / 3  # sigmoid without overflow
    else:
        onehot = y if kind == "cce" else np.eye(3)[y.astype(int)]
        e = np.exp(z - z.max(-1, keepdims=True))
        expected = e / e.sum(-1, keepdims=True) - onehot
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_probabilities_match_reference(dtype):
    y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    p = np.array([[0.0, 1.0, 0.0], [1e-12, 1.0 - 1e-9, 0.0]])
    for kind in ("bce", "cce", "kld", "poisson", "msle"):
        value, _ = run(kind, y, p, dtype)
        np.testing.assert_allclose(value, ref_loss(kind, y, np.array(p, dtype), dtype), rtol=1e-5,
                                   err_msg=kind)


def test_scce_accepts_a_label_column_and_matches_one_hot_cce():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.1, 1, (5, 4))
    p /= p.sum(-1, keepdims=True)
    labels = rng.integers(0, 4, 5).astype(float)
    v1, g1 = run("scce", labels[:, None], p, np.float64)
    v2, _ = run("cce", np.eye(4)[labels.astype(int)], p, np.float64)
    v3, g3 = run("scce", labels, p, np.float64)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    np.testing.assert_array_equal(v1, v3)
    np.testing.assert_array_equal(g1, g3)


@pytest.mark.parametrize("label", [-1.0, 4.0, 1.5, np.nan])
def test_scce_rejects_out_of_range_or_fractional_labels(label):
    desc = L.descriptor("scce")
    y = np.array([0.0, label])
    p = np.full((2, 4), 0.25)
    with pytest.raises(KernelError, match="labels must be integers in"):
        L.forward(desc, y, p)
    with pytest.raises(ValueError):
        L.backward(desc, y, p)


def test_hinge_maps_labels_to_plus_minus_one_only_when_all_are_binary():
    p = np.array([[0.3, -0.8]])
    v01, _ = run("hinge", [[0, 1]], p, np.float64)
    vpm, _ = run("hinge", [[-1, 1]], p, np.float64)
    vraw, _ = run("hinge", [[0, 0.5]], p, np.float64)
    np.testing.assert_allclose(v01, vpm)
    np.testing.assert_allclose(vraw, [(1 + (1 + 0.4)) / 2])


def test_categorical_hinge_splits_the_gradient_between_tied_maxima():
    _, g = run("categorical_hinge", [[0, 0, 1]], [[2.0, 2.0, 0.5]], np.float64)
    np.testing.assert_allclose(g, [[0.5, 0.5, -1.0]])
    _, g = run("categorical_hinge", [[0, 1]], [[-3.0, 5.0]], np.float64)  # inactive hinge
    np.testing.assert_array_equal(g, [[0.0, 0.0]])


def test_alpha_and_weights_scale_the_gradient_per_row():
    kind, opts, y, p = make("cce_logits", 3, 4, seed=4)
    _, g1 = run(kind, y, p, np.float64, **opts)
    _, g2 = run(kind, y, p, np.float64, weight=[2.0, 0.0, -1.0], alpha=0.5, **opts)
    np.testing.assert_allclose(g2, g1 * np.array([1.0, 0.0, -0.5])[:, None], rtol=1e-15)


def test_outputs_are_allocated_when_not_given():
    desc = L.descriptor("mse")
    y, p = np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)
    v, g = L.forward(desc, y, p), L.backward(desc, y, p)
    assert v.dtype == np.float32 and v.shape == (2,) and g.shape == (2, 3)
    np.testing.assert_allclose(v, [1, 1])
    np.testing.assert_allclose(g, np.full((2, 3), 2 / 3))


def test_empty_batch_gives_empty_outputs():
    desc = L.descriptor("cce")
    assert L.forward(desc, np.zeros((0, 3)), np.zeros((0, 3))).shape == (0,)
    assert L.backward(desc, np.zeros((0, 3)), np.zeros((0, 3))).shape == (0, 3)


def test_unknown_loss_kind_lists_the_known_names():
    with pytest.raises(ValueError, match="categorical_hinge.*Received: kind='mean_squared'"):
        L.descriptor("mean_squared")


@pytest.mark.parametrize("kwargs", [
    {"kind": "mse", "from_logits": True},
    {"kind": "scce", "label_smoothing": 0.1},
    {"kind": "bce", "label_smoothing": 1.5},
    {"kind": "huber", "delta": 0.0},
    {"kind": "bce", "epsilon": -1.0},
])
def test_descriptor_rejects_options_keras_does_not_have(kwargs):
    with pytest.raises(ValueError, match="Received"):
        L.descriptor(**kwargs)


def test_bad_arrays_are_refused():
    d = L.descriptor("mse")
    y = np.zeros((3, 4))
    p = np.ones((3, 4))
    with pytest.raises(TypeError, match="dtype"):
        L.forward(d, y.astype(np.float32), p)
    with pytest.raises(TypeError):
        L.forward(d, y.astype(np.int64), p.astype(np.int64))
    with pytest.raises(ValueError, match="shape"):
        L.forward(d, np.zeros((3, 5)), p)
    with pytest.raises(ValueError, match="shape"):
        L.forward(d, y[0], p[0])
    with pytest.raises(ValueError, match="C-contiguous"):
        L.forward(d, np.zeros((4, 3)).T, p)
    with pytest.raises(ValueError, match="shape"):
        L.forward(d, y, p, out=np.empty(4))
    with pytest.raises(TypeError, match="dtype"):
        L.backward(d, y, p, out=np.empty((3, 4), np.float32))
    ro = np.empty((3, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        L.backward(d, y, p, out=ro)
    with pytest.raises(ValueError, match="overlap"):
        L.backward(d, y, p, out=p)
    with pytest.raises(ValueError, match="shape"):
        L.backward(d, y, p, weight=np.ones(4))
    with pytest.raises(ValueError, match="one label per row"):
        L.forward(L.descriptor("scce"), np.zeros((3, 4)), p)
    with pytest.raises(TypeError, match="descriptor"):
        L.forward("mse", y, p)
    np.testing.assert_array_equal(p, 1.0)
