"""Activation kernels against NumPy float64 references, finite differences and Keras 2 values."""
import math

import numpy as np
import pytest

from pymodel._native import KernelError, activations as act

F32, F64 = np.float32, np.float64
TOL = {F32: dict(rtol=1e-5, atol=1e-6), F64: dict(rtol=1e-12, atol=1e-13)}
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
K_GELU = math.sqrt(2 / math.pi)
_erfc = np.vectorize(math.erfc, otypes=[F64])


def sig(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def keras_relu(alpha=0.0, max_value=None, threshold=0.0):
    """tf-keras backend.relu transcribed op by op, and its gradient away from the kinks."""
    def f(x):
        pos = x * (x > threshold) if threshold != 0 else np.maximum(x, 0)
        if max_value is not None:
            pos = np.clip(pos, 0, max_value)
        return pos - alpha * np.maximum(threshold - x, 0)

    def df(x):
        inside = (x >= 0) & (x <= max_value) if max_value is not None else True
        return np.where(x < threshold, alpha, np.where((x > threshold) & inside, 1.0, 0.0))
    return f, df


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(K_GELU * (x + 0.044715 * x ** 3)))


def gelu_tanh_grad(x):
    t = np.tanh(K_GELU * (x + 0.044715 * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K_GELU * (1 + 3 * 0.044715 * x * x)


def mish_grad(x):
    t = np.tanh(softplus(x))
    return t + x * (1 - t * t) * sig(x)


# id -> (kind, descriptor kwargs, f, f', kinks): the elementwise kinds.
ELEMENTWISE = {
    "linear": ("linear", {}, lambda x: x, np.ones_like, []),
    "sigmoid": ("sigmoid", {}, sig, lambda x: sig(x) * (1 - sig(x)), []),
    "hard_sigmoid": ("hard_sigmoid", {}, lambda x: np.clip(0.2 * x + 0.5, 0, 1),
                     lambda x: np.where(np.abs(x) <= 2.5, 0.2, 0.0), [-2.5, 2.5]),
    "tanh": ("tanh", {}, np.tanh, lambda x: 1 - np.tanh(x) ** 2, []),
    "relu": ("relu", {}, *keras_relu(), [0.0]),
    "relu6": ("relu", {"max_value": 6.0}, *keras_relu(max_value=6.0), [0.0, 6.0]),
    "leaky_relu": ("relu", {"alpha": 0.2}, *keras_relu(alpha=0.2), [0.0]),
    "relu_keras_sample": ("relu", {"alpha": 0.1, "max_value": 5.0, "threshold": 0.5},
                          *keras_relu(0.1, 5.0, 0.5), [0.5, 5.0]),
    "relu_negative_threshold": ("relu", {"alpha": 0.3, "max_value": 4.0, "threshold": -1.0},
                                *keras_relu(0.3, 4.0, -1.0), [-1.0, 0.0, 4.0]),
    "relu_threshold_only": ("relu", {"threshold": 1.5}, *keras_relu(threshold=1.5), [1.5]),
    "elu": ("elu", {"alpha": 1.0}, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
            lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))), [0.0]),
    "elu_alpha": ("elu", {"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0))),
                  lambda x: np.where(x > 0, 1.0, 0.5 * np.exp(np.minimum(x, 0))), [0.0]),
    "selu": ("selu", {}, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
             lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0))), [0.0]),
    "softplus": ("softplus", {}, softplus, sig, []),
    "softsign": ("softsign", {}, lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2, []),
    "swish": ("swish", {}, lambda x: x * sig(x), lambda x: sig(x) * (1 + x * (1 - sig(x))), []),
    "gelu": ("gelu", {}, lambda x: 0.5 * x * _erfc(-x / math.sqrt(2)),
             lambda x: 0.5 * _erfc(-x / math.sqrt(2)) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi), []),
    "gelu_tanh": ("gelu_tanh", {}, gelu_tanh, gelu_tanh_grad, []),
    "exponential": ("exponential", {}, np.exp, np.exp, []),
    "mish": ("mish", {}, lambda x: x * np.tanh(softplus(x)), mish_grad, []),
}


def softmax_ref(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax_ref(x):
    s = x - x.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


ROWWISE = {
    "softmax": (softmax_ref, lambda y, dy: y * (dy - (dy * y).sum(-1, keepdims=True))),
    "log_softmax": (log_softmax_ref, lambda y, dy: dy - np.exp(y) * dy.sum(-1, keepdims=True)),
}
SHAPES = [(1, 1), (1,), (17,), (3, 7), (2, 3, 5), (64, 129)]


def away_from_kinks(x, kinks, gap=1e-2):
    for k in kinks:
        x = np.where(np.abs(x - k) < gap, k + gap * np.where(x >= k, 2.0, -2.0), x)
    return x


def sample(shape, dtype, seed=0, kinks=()):
    x = away_from_kinks(np.random.default_rng(seed).normal(0, 3, shape), kinks)
    return x.astype(dtype)


def fwd(desc, x, **kw):
    return act.forward(desc, x, **kw)


def bwd(desc, x, y, dy, **kw):
    return act.backward(desc, x, y, dy, **kw)


def poisoned(like):
    return np.full_like(like, np.nan)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", sorted(ELEMENTWISE))
def test_elementwise_forward_and_backward_match_numpy(case, shape, dtype):
    kind, params, f, df, kinks = ELEMENTWISE[case]
    desc = act.descriptor(kind, **params)
    x = sample(shape, dtype, kinks=kinks)
    dy = sample(shape, dtype, seed=1)
    x0, dy0 = x.copy(), dy.copy()
    y = fwd(desc, x, out=poisoned(x))
    x64 = x.astype(F64)
    np.testing.assert_allclose(y, f(x64), **TOL[dtype])
    dx = bwd(desc, x, y, dy, out=poisoned(x))
    np.testing.assert_allclose(dx, dy.astype(F64) * df(x64), **TOL[dtype])
    assert y.dtype == dx.dtype == dtype and y.shape == dx.shape == shape
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dy, dy0)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (5,), (4, 9), (2, 3, 6), (32, 257)])
@pytest.mark.parametrize("kind", sorted(ROWWISE))
def test_rowwise_forward_and_backward_match_numpy(kind, shape, dtype):
    f, grad = ROWWISE[kind]
    desc = act.descriptor(kind)
    x, dy = sample(shape, dtype), sample(shape, dtype, seed=1)
    y = fwd(desc, x, out=poisoned(x))
    y_ref = f(x.astype(F64))
    np.testing.assert_allclose(y, y_ref, **TOL[dtype])
    dx = bwd(desc, x, y, dy, out=poisoned(x))
    np.testing.assert_allclose(dx, grad(y_ref, dy.astype(F64)), **TOL[dtype])


@pytest.mark.parametrize("case", sorted(ELEMENTWISE))
def test_elementwise_backward_matches_finite_differences(case):
    kind, params, _, _, kinks = ELEMENTWISE[case]
    desc = act.descriptor(kind, **params)
    x, dy = sample((6, 11), F64, seed=3, kinks=kinks), sample((6, 11), F64, seed=4)
    h = 1e-6
    fd = dy * (fwd(desc, x + h) - fwd(desc, x - h)) / (2 * h)
    np.testing.assert_allclose(bwd(desc, x, fwd(desc, x), dy), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", sorted(ROWWISE))
def test_rowwise_backward_matches_finite_differences_with_random_upstream(kind):
    desc = act.descriptor(kind)
    x, dy = sample((5, 7), F64, seed=5), sample((5, 7), F64, seed=6)
    h = 1e-6
    fd = np.empty_like(x)
    for j in range(x.shape[1]):   # rows are independent: perturb one column of every row at once
        e = np.zeros_like(x)
        e[:, j] = h
        fd[:, j] = ((fwd(desc, x + e) - fwd(desc, x - e)) * dy).sum(axis=1) / (2 * h)
    np.testing.assert_allclose(bwd(desc, x, fwd(desc, x), dy), fd, rtol=1e-6, atol=1e-8)


X_KERAS = np.array([-3, -1, 0, 0.5, 1, 3, 7], F32)
KERAS_SAMPLES = [   # KERAS2.md section 7, float32, tf-keras 2.15
    ("sigmoid", {}, [.0474259, .2689414, .5, .6224594, .7310586, .9525741, .9990889]),
    ("hard_sigmoid", {}, [0, .3, .5, .6, .7, 1, 1]),
    ("relu", {"alpha": .1, "max_value": 5, "threshold": .5}, [-.35, -.15, -.05, 0, 1, 3, 5]),
    ("relu", {"alpha": .2}, [-.6, -.2, 0, .5, 1, 3, 7]),
    ("elu", {"alpha": 1.0}, [-.950213, -.6321206]),
    ("selu", {}, [-1.6705687, -1.1113307, 0, .5253505]),
    ("softplus", {}, [.0485874]),
    ("softsign", {}, [-.75, -.5, 0, .3333334]),
    ("swish", {}, [-.1422776, -.2689414, 0, .3112297]),
    ("gelu", {}, [-.0040497, -.1586552, 0, .3457312]),
    ("gelu_tanh", {}, [-.0036375]),
]


@pytest.mark.parametrize("kind, params, expected", KERAS_SAMPLES)
def test_keras_sample_values_are_reproduced(kind, params, expected):
    y = fwd(act.descriptor(kind, **params), X_KERAS)
    # atol: TF's float32 gelu_tanh cancels in 1 + tanh(a) (-.0036375 vs the true -.00363739).
    np.testing.assert_allclose(y[:len(expected)], expected, rtol=2e-6, atol=2e-7)


def test_keras_softmax_sample_is_reproduced():
    y = fwd(act.descriptor("softmax"), np.array([[1, 2, 3]], F32))
    np.testing.assert_allclose(y, [[.09003057, .24472848, .6652409]], rtol=1e-6)


# Derivatives at the kinks, as TensorFlow's gradients define them.
KINK_GRADS = [
    ("relu", {}, [0.0], [0.0]),                                     # tf.nn.relu: 0 at 0
    ("relu", {"alpha": 0.2}, [0.0], [0.2]),                         # tf.nn.leaky_relu: alpha at 0
    ("relu", {"max_value": 6.0}, [0.0, 6.0], [0.0, 0.0]),           # tf.nn.relu6: open (0, 6)
    ("relu", {"max_value": 5.0}, [5.0], [1.0]),                     # clip_by_value passes its bound
    ("relu", {"alpha": 0.1, "threshold": 0.5}, [0.5], [0.0]),       # both masks closed at threshold
    ("hard_sigmoid", {}, [-2.5, 2.5, -2.6, 2.6], [0.2, 0.2, 0.0, 0.0]),
    ("elu", {"alpha": 0.5}, [0.0], [0.5]),                          # EluGrad at y = 0
    ("selu", {}, [0.0], [SELU_SCALE]),                              # SeluGrad tests y < 0
]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("kind, params, xs, grads", KINK_GRADS)
def test_derivatives_at_kinks_follow_tensorflow(kind, params, xs, grads, dtype):
    desc = act.descriptor(kind, **params)
    x = np.array(xs, dtype)
    dx = bwd(desc, x, fwd(desc, x), np.ones_like(x))
    np.testing.assert_allclose(dx, grads, rtol=1e-6)


def test_relu_is_zero_at_a_positive_threshold_as_in_keras():
    y = fwd(act.descriptor("relu", threshold=1.5), np.array([1.5, 1.6], F32))
    np.testing.assert_array_equal(y, np.array([0, 1.6], F32))


EXTREME = np.array([-1e4, -1000, -100, -50, -20, 0, 20, 50, 100, 1000, 1e4])


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(ELEMENTWISE))
def test_extreme_inputs_give_no_nan_and_overflow_only_where_the_true_value_does(case, dtype):
    kind, params, *_ = ELEMENTWISE[case]
    desc = act.descriptor(kind, **params)
    x = EXTREME.astype(dtype)
    y = fwd(desc, x)
    dx = bwd(desc, x, y, np.ones_like(x))
    assert not np.isnan(y).any() and not np.isnan(dx).any()
    if kind == "exponential":
        with np.errstate(over="ignore"):
            true = np.exp(EXTREME).astype(dtype)
        np.testing.assert_array_equal(np.isinf(y), np.isinf(true))
        np.testing.assert_array_equal(np.isinf(dx), np.isinf(true))
    else:
        assert np.isfinite(y).all() and np.isfinite(dx).all()


@pytest.mark.parametrize("dtype", [F32, F64])
def test_extreme_values_have_their_limits(dtype):
    x = np.array([-1000, 1000], dtype)
    np.testing.assert_array_equal(fwd(act.descriptor("sigmoid"), x), [0, 1])
    np.testing.assert_array_equal(fwd(act.descriptor("softplus"), x), [0, 1000])
    np.testing.assert_array_equal(fwd(act.descriptor("swish"), x), [0, 1000])
    np.testing.assert_array_equal(fwd(act.descriptor("mish"), x), [0, 1000])
    np.testing.assert_array_equal(fwd(act.descriptor("gelu"), x), [0, 1000])


@pytest.mark.parametrize("dtype", [F32, F64])
def test_softmax_of_huge_logits_is_stable(dtype):
    big = np.finfo(dtype).max / 2
    x = np.array([[big, -big, 0], [1000, 1000, -1000]], dtype)
    y = fwd(act.descriptor("softmax"), x)
    np.testing.assert_array_equal(y, np.array([[1, 0, 0], [.5, .5, 0]], dtype))
    ly = fwd(act.descriptor("log_softmax"), np.array([[1000, 0]], dtype))
    np.testing.assert_allclose(ly, [[0, -1000]], rtol=1e-6)
    dx = bwd(act.descriptor("softmax"), x, y, np.ones_like(x))
    assert np.isfinite(dx).all()


@pytest.mark.parametrize("dtype", [F32, F64])
def test_forward_and_backward_may_run_in_place(dtype):
    desc = act.descriptor("gelu")
    x, dy = sample((4, 5), dtype), sample((4, 5), dtype, seed=1)
    y, dx = fwd(desc, x), bwd(desc, x, fwd(desc, x), dy)
    xi, dyi = x.copy(), dy.copy()
    assert fwd(desc, xi, out=xi) is xi
    np.testing.assert_array_equal(xi, y)
    assert bwd(desc, x, y, dyi, out=dyi) is dyi
    np.testing.assert_array_equal(dyi, dx)


def test_softmax_backward_may_overwrite_dy():
    desc = act.descriptor("softmax")
    x, dy = sample((3, 4), F64), sample((3, 4), F64, seed=1)
    y = fwd(desc, x)
    expected = bwd(desc, x, y, dy)
    np.testing.assert_array_equal(bwd(desc, x, y, dy, out=dy), expected)


def test_empty_arrays_are_fine():
    for kind in ("relu", "softmax"):
        x = np.empty((0, 3), F32)
        assert fwd(act.descriptor(kind), x).shape == (0, 3)
        assert bwd(act.descriptor(kind), x, x, x).shape == (0, 3)


def test_unknown_kind_lists_the_valid_names():
    with pytest.raises(ValueError, match="valid kinds are: linear, sigmoid.*log_softmax"):
        act.descriptor("relu7")


def test_mixed_dtypes_are_refused():
    desc = act.descriptor("tanh")
    x = np.zeros(3, F32)
    with pytest.raises(TypeError, match="y must have dtype float32"):
        bwd(desc, x, x.astype(F64), x)
    with pytest.raises(TypeError, match="out must have dtype float32"):
        fwd(desc, x, out=np.zeros(3))
    with pytest.raises(TypeError, match="float32 or float64"):
        fwd(desc, np.zeros(3, np.int32))


def test_bad_shapes_name_the_argument():
    desc = act.descriptor("tanh")
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"out must have shape \(2, 3\). Received: shape=\(3, 2\)"):
        fwd(desc, x, out=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"x must have shape \(2, 3\)"):
        bwd(desc, np.zeros(6), x, x)


def test_non_contiguous_read_only_or_overlapping_outputs_are_refused():
    desc = act.descriptor("tanh")
    x = np.zeros((4, 4))
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        fwd(desc, x[:, ::2])
    ro = np.zeros((4, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writable"):
        fwd(desc, x, out=ro)
    buf = np.zeros(20)
    with pytest.raises(ValueError, match="out must not overlap x"):
        fwd(desc, buf[:16].reshape(4, 4), out=buf[4:].reshape(4, 4))
    with pytest.raises(ValueError, match="out must not overlap y"):
        bwd(desc, x, buf[:16].reshape(4, 4), x.copy(), out=buf[:16].reshape(4, 4))


def test_descriptor_is_checked():
    with pytest.raises(TypeError, match="descriptor"):
        fwd({"kind": 0}, np.zeros(2))
    with pytest.raises(ValueError, match="alpha"):
        act.descriptor("elu", alpha=math.nan)


def test_kernel_refuses_an_unknown_kind_code():
    desc = act.descriptor("relu")
    desc.kind = 99
    with pytest.raises(KernelError, match="unsupported"):
        fwd(desc, np.zeros(2))
