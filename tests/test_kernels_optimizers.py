"""Optimizer steps and vector helpers against NumPy float64 restatements of tf-keras 2.11+."""
from typing import NamedTuple

import numpy as np
import pytest

from pymodel._native import optimizers as O

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}

# slot name -> initial value (Adagrad's initial_accumulator_value is 0.1)
SLOTS = {
    "sgd": {"m": 0.0}, "adagrad": {"acc": 0.1}, "rmsprop": {"v": 0.0, "mg": 0.0, "mom": 0.0},
    "adam": {"m": 0.0, "v": 0.0, "vhat": 0.0}, "adamax": {"m": 0.0, "u": 0.0},
    "nadam": {"m": 0.0, "v": 0.0},
}


# ------------------------------------------------------------ references
def ref_step(name, w, g, s, t, hp):
    """One float64 update of w (returned) and the slots s (in place), tf-keras pseudocode."""
    lr = hp["lr"]
    if name == "sgd":
        mu = hp.get("momentum", 0.0)
        s["m"] = mu * s["m"] - lr * g
        return w + (mu * s["m"] - lr * g if hp.get("nesterov") else s["m"])
    if name == "adagrad":
        s["acc"] = s["acc"] + g * g
        eps = hp.get("epsilon", 1e-7)
        den = np.sqrt(s["acc"]) + eps if hp.get("legacy") else np.sqrt(s["acc"] + eps)
        return w - lr * g / den
    if name == "rmsprop":
        rho, mu, eps = hp.get("rho", 0.9), hp.get("momentum", 0.0), hp.get("epsilon", 1e-7)
        s["v"] = rho * s["v"] + (1 - rho) * g * g
        den = s["v"]
        if hp.get("centered"):
            s["mg"] = rho * s["mg"] + (1 - rho) * g
            den = den - s["mg"] ** 2
        if hp.get("legacy") and mu == 0:
            return w - lr * g / (np.sqrt(den) + eps)
        inc = lr * g / np.sqrt(den + eps)
        if mu > 0:
            s["mom"] = mu * s["mom"] + inc
            return w - s["mom"]
        return w - inc
    b1, b2, eps = hp["beta_1"], hp["beta_2"], hp["epsilon"]
    s["m"] = b1 * s["m"] + (1 - b1) * g
    if name == "adamax":
        s["u"] = np.maximum(b2 * s["u"], np.abs(g))
        return w - lr * s["m"] / ((1 - b1 ** t) * (s["u"] + eps))
    s["v"] = b2 * s["v"] + (1 - b2) * g * g
    if name == "adam":
        v = s["v"]
        if hp.get("amsgrad"):
            s["vhat"] = v = np.maximum(s["vhat"], v)
        return w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * s["m"] / (np.sqrt(v) + eps)
    if name == "nadam":
        u = [b1 * (1 - 0.5 * 0.96 ** i) for i in range(1, t + 2)]
        u_prod = np.prod(u[:t])
        m_hat = u[t] * s["m"] / (1 - u_prod * u[t]) + (1 - u[t - 1]) * g / (1 - u_prod)
        return w - lr * m_hat / (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)
    raise AssertionError(name)


def ref_train(name, ws, grads, hp, clipnorm=None, global_clipnorm=None, clipvalue=None,
              weight_decay=None):
    """float64 apply_gradients over a list of tensors: clip, decay, update."""
    ws = [np.array(w, np.float64) for w in ws]
    slots = [{k: np.full(w.shape, v) for k, v in SLOTS[name].items()} for w in ws]
    for t, gs in enumerate(grads, 1):
        gs = [np.array(g, np.float64) for g in gs]
        if clipnorm:
            gs = [g * clipnorm / max(np.linalg.norm(g), clipnorm) for g in gs]
        elif global_clipnorm:
            norm = np.sqrt(sum((g ** 2).sum() for g in gs))
            gs = [g * global_clipnorm / max(norm, global_clipnorm) for g in gs]
        elif clipvalue:
            gs = [np.clip(g, -clipvalue, clipvalue) for g in gs]
        if weight_decay:
            ws = [w - w * weight_decay * hp["lr"] for w in ws]
        ws = [ref_step(name, w, g, s, t, hp) for w, g, s in zip(ws, gs, slots)]
    return ws


# ------------------------------------------------- the kernels, composed
def kernel_step(name, w, g, s, t, hp, sched):
    hp = dict(hp)
    if name == "sgd":
        O.sgd_step(w, g, s["m"], **hp)
    elif name == "adagrad":
        O.adagrad_step(w, g, s["acc"], **hp)
    elif name == "rmsprop":
        O.rmsprop_step(w, g, s["v"], s["mg"], s["mom"], **hp)
    elif name == "adam":
        O.adam_step(w, g, s["m"], s["v"], s["vhat"], t=t, **hp)
    elif name == "adamax":
        O.adamax_step(w, g, s["m"], s["u"], t=t, **hp)
    elif name == "nadam":
        O.nadam_step(w, g, s["m"], s["v"], **hp, **sched._asdict())


def train(name, ws, grads, hp, dtype, clipnorm=None, global_clipnorm=None, clipvalue=None,
          weight_decay=None):
    """apply_gradients composed from the kernels, as an optimizer class does it."""
    ws = [np.array(w, dtype) for w in ws]
    slots = [{k: np.full(w.shape, v, dtype) for k, v in SLOTS[name].items()} for w in ws]
    u_product = 1.0
    for t, gs in enumerate(grads, 1):
        gs = [np.array(g, dtype) for g in gs]
        if clipnorm:
            for g in gs:
                O.scale(g, clipnorm / max(np.sqrt(O.sumsq(g)), clipnorm))
        elif global_clipnorm:
            norm = np.sqrt(sum(O.sumsq(g) for g in gs))
            for g in gs:
                O.scale(g, global_clipnorm / max(norm, global_clipnorm))
        elif clipvalue:
            for g in gs:
                O.clip(g, -clipvalue, clipvalue)
        if weight_decay:
            for w in ws:
                O.weight_decay(w, weight_decay, hp["lr"])
        sched = None
        if name == "nadam":  # once per step, shared by every variable
            sched = nadam_schedule(t, hp["beta_1"], hp["beta_2"], u_product, dtype)
            u_product = sched.u_prod
        for w, g, s in zip(ws, gs, slots):
            g_before = g.copy()
            kernel_step(name, w, g, s, t, hp, sched)
            np.testing.assert_array_equal(g, g_before)  # the gradient is input only
    return ws


class NadamScalars(NamedTuple):
    """Per-step Nadam schedule values, as tf-keras computes them in the variable dtype."""

    u_t: float
    u_t1: float
    u_prod: float
    u_prod_t1: float
    beta2_pow: float


def nadam_schedule(t: int, beta_1: float, beta_2: float, u_product: float,
                   dtype=np.float32) -> NadamScalars:
    """The scalars ``nadam_step`` needs at step ``t`` (iterations + 1).

    tf-keras 2.11+ (``optimizers/nadam.py``), in the variable dtype:
    ``u_t = b1 (1 - 0.5 * 0.96^t)``, ``u_t1 = b1 (1 - 0.5 * 0.96^(t+1))``,
    ``u_prod = u_product * u_t`` and ``u_prod_t1 = u_prod * u_t1``,
    ``beta2_pow = b2^t``. ``u_product`` is the optimizer's running product,
    1.0 before the first step; tf-keras advances it once per step (the first
    variable updates it, the others reuse it), so call this once per step,
    pass the result to every variable's ``nadam_step`` and keep ``u_prod`` as
    the next step's ``u_product``.

    That is tf-keras's eager behaviour, enough to drive the kernel here;
    ``pymodel.optimizers.Nadam`` also reproduces what fit's traced function does.
    """
    f = np.dtype(dtype).type
    b1, decay = f(beta_1), f(0.96)
    u_t = b1 * (f(1) - f(0.5) * decay ** f(t))
    u_t1 = b1 * (f(1) - f(0.5) * decay ** f(t + 1))
    u_prod = f(u_product) * u_t
    return NadamScalars(float(u_t), float(u_t1), float(u_prod), float(u_prod * u_t1),
                        float(f(beta_2) ** f(t)))


ADAM_HP = {"lr": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
CONFIGS = {
    "sgd": ("sgd", {"lr": 0.05}),
    "sgd_momentum": ("sgd", {"lr": 0.05, "momentum": 0.9}),
    "sgd_nesterov": ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "adagrad": ("adagrad", {"lr": 0.1}),
    "adagrad_legacy": ("adagrad", {"lr": 0.1, "legacy": True}),
    "rmsprop": ("rmsprop", {"lr": 0.01}),
    "rmsprop_centered": ("rmsprop", {"lr": 0.01, "centered": True}),
    "rmsprop_momentum": ("rmsprop", {"lr": 0.01, "momentum": 0.5}),
    "rmsprop_centered_momentum": ("rmsprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "rho": 0.8}),
    "rmsprop_legacy": ("rmsprop", {"lr": 0.01, "legacy": True}),
    "rmsprop_legacy_centered": ("rmsprop", {"lr": 0.01, "legacy": True, "centered": True}),
    "rmsprop_legacy_momentum": ("rmsprop", {"lr": 0.01, "legacy": True, "momentum": 0.5}),
    "adam": ("adam", ADAM_HP),
    "adam_amsgrad": ("adam", {**ADAM_HP, "amsgrad": True}),
    "adamax": ("adamax", {**ADAM_HP, "lr": 0.02}),
    "nadam": ("nadam", ADAM_HP),
}
COMPOSITIONS = {
    "plain": {},
    "clipnorm": {"clipnorm": 0.8},
    "global_clipnorm": {"global_clipnorm": 1.5},
    "clipvalue": {"clipvalue": 0.4},
    "weight_decay": {"weight_decay": 0.05},
}


def problem(seed=0, steps=10):
    """Two tensors (a vector and a matrix) and `steps` gradients for each."""
    rng = np.random.default_rng(seed)
    ws = [rng.normal(size=7), rng.normal(size=(3, 5))]
    # shrinking gradients, so that AMSGrad's running max of v matters
    grads = [[rng.normal(scale=0.7 * 0.8 ** k, size=w.shape) for w in ws] for k in range(steps)]
    return ws, grads


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_ten_steps_match_numpy_reference(config, dtype):
    name, hp = CONFIGS[config]
    ws, grads = problem()
    got = train(name, ws, grads, hp, dtype)
    for g, r in zip(got, ref_train(name, ws, grads, hp)):
        np.testing.assert_allclose(g, r, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("composition", sorted(COMPOSITIONS))
@pytest.mark.parametrize("config", ["sgd_momentum", "rmsprop_centered_momentum", "adam_amsgrad", "nadam"])
def test_clipping_and_weight_decay_compose_like_apply_gradients(config, composition, dtype):
    name, hp = CONFIGS[config]
    ws, grads = problem(seed=1)
    opts = COMPOSITIONS[composition]
    got = train(name, ws, grads, hp, dtype, **opts)
    for g, r in zip(got, ref_train(name, ws, grads, hp, **opts)):
        np.testing.assert_allclose(g, r, **TOL[dtype])


W0 = [1.0, 2.0, -3.0]
GRADS3 = [[[.5, -1, 2]], [[-.3, .2, 1]], [[1, 1, -1]]]
GOLDEN = [  # KERAS2.md section 6, measured with tf-keras 2.15 in float32
    ("sgd", {"lr": 0.01}, {}, [0.98800004, 1.9979999, -3.02]),
    ("sgd", {"lr": 0.1, "momentum": .9}, {}, [0.8215, 2.133, -3.632]),
    ("sgd", {"lr": 0.1, "momentum": .9, "nesterov": True}, {}, [0.71935, 2.0997, -3.7688]),
    ("adagrad", {"lr": 0.1}, {}, [0.877378, 2.0082557, -3.102565]),
    ("rmsprop", {"lr": 0.01}, {}, [0.95736766, 2.0018246, -3.032419]),
    ("rmsprop", {"lr": 0.01, "momentum": .5, "centered": True}, {}, [0.9376839, 2.0249214, -3.068343]),
    ("adam", ADAM_HP, {}, [0.9818203, 2.0134547, -3.0232887]),
    ("adam", ADAM_HP, {"weight_decay": .1}, [0.9788452, 2.0074356, -3.0142684]),
    ("adam", ADAM_HP, {"clipnorm": 1.0}, [0.9870824, 2.0098455, -3.0244472]),
    ("adam", ADAM_HP, {"clipvalue": .6}, [0.98247087, 2.0118468, -3.0226197]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,hp,opts,expected", GOLDEN)
def test_keras_golden_three_step_vectors(name, hp, opts, expected, dtype):
    (w,) = train(name, [W0], GRADS3, hp, dtype, **opts)
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-6)


def test_float32_adam_matches_keras_to_the_last_bits():
    (w,) = train("adam", [W0], GRADS3, ADAM_HP, np.float32)
    np.testing.assert_allclose(w, np.float32([0.9818203, 2.0134547, -3.0232887]), rtol=0, atol=3e-7)


def test_nadam_schedule_chains_the_momentum_product():
    b1, b2 = 0.9, 0.999
    u_product = 1.0
    for t in range(1, 6):
        s = nadam_schedule(t, b1, b2, u_product, np.float64)
        u = [b1 * (1 - 0.5 * 0.96 ** i) for i in range(1, t + 2)]
        np.testing.assert_allclose(s, [u[t - 1], u[t], np.prod(u[:t]), np.prod(u), b2 ** t], rtol=1e-14)
        s32 = nadam_schedule(t, b1, b2, u_product, np.float32)
        np.testing.assert_allclose(s32, s, rtol=1e-6)
        u_product = s.u_prod


def test_sgd_without_momentum_needs_no_slot():
    w, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    O.sgd_step(w, g, None, lr=0.1)
    np.testing.assert_array_equal(w, [0.95, -2.025])


@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_helpers_match_numpy(dtype):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 33)).astype(dtype)
    x0 = x.copy()
    assert O.sumsq(x) == pytest.approx((x0.astype(np.float64) ** 2).sum(), rel=1e-14)
    np.testing.assert_array_equal(x, x0)
    O.scale(x, 0.5)
    np.testing.assert_array_equal(x, x0 * dtype(0.5))
    O.clip(x, -0.3, 0.2)
    np.testing.assert_array_equal(x, np.clip(x0 * dtype(0.5), dtype(-0.3), dtype(0.2)))
    w = x0.copy()
    O.weight_decay(w, 0.1, 0.01)
    np.testing.assert_array_equal(w, x0 - x0 * dtype(0.1) * dtype(0.01))


def test_sumsq_accumulates_in_double_for_float32():
    x = np.full(1 << 20, 1e-3 + 1e-7, np.float32)
    exact = (x.astype(np.float64) ** 2).sum()
    running_f32 = np.cumsum(x * x, dtype=np.float32)[-1]
    assert abs(running_f32 - exact) > 1e-4 * exact  # what a float accumulator would give
    assert O.sumsq(x) == pytest.approx(exact, rel=1e-9)
    assert O.sumsq(np.zeros(0, np.float32)) == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_l1l2_accumulates_the_regularization_gradient_and_returns_the_penalty(dtype):
    w = np.array([[0.5, -2.0, 0.0], [1.5, -0.25, 3.0]], dtype)
    g = np.full(w.shape, 0.1, dtype)
    penalty = O.l1l2(w, 0.01, 0.02, g)
    w64 = w.astype(np.float64)
    assert penalty == pytest.approx(0.01 * np.abs(w64).sum() + 0.02 * (w64 ** 2).sum(), rel=1e-12)
    np.testing.assert_allclose(g, 0.1 + 0.01 * np.sign(w64) + 2 * 0.02 * w64, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 7, 8, 9, 16, 1000, 4099])
def test_l1l2_and_sumsq_match_float64_sums_for_every_length(dtype, n):
    """The sums run in eight lanes plus a tail: every split of n gives numpy's float64 sums."""
    rng = np.random.default_rng(n)
    w = rng.normal(size=n).astype(dtype)
    w[::5] = 0.0  # sign(0) = 0
    g = rng.normal(size=n).astype(dtype)
    want_g = g + (0.01 * np.sign(w.astype(np.float64)) + 2 * 0.02 * w.astype(np.float64)).astype(dtype)
    w64 = w.astype(np.float64)
    penalty = O.l1l2(w, 0.01, 0.02, g)
    assert penalty == pytest.approx(0.01 * np.abs(w64).sum() + 0.02 * (w64 ** 2).sum(), rel=1e-12)
    np.testing.assert_array_equal(g, want_g)  # the increment rounded to dtype, then added
    assert O.sumsq(w) == pytest.approx((w64 ** 2).sum(), rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adadelta_step_is_its_numpy_formula_in_the_variable_dtype(dtype):
    """Bitwise the NumPy statement of tf-keras's update (Python floats as weak scalars)."""
    rng = np.random.default_rng(4)
    w = rng.normal(size=37).astype(dtype)
    acc, acc_delta = np.zeros_like(w), np.zeros_like(w)
    want_w, want_acc, want_delta = w.copy(), acc.copy(), acc_delta.copy()
    lr, rho, eps = 1.0, 0.95, 1e-7
    for _ in range(5):
        g = rng.normal(size=w.shape).astype(dtype)
        O.adadelta_step(w, g, acc, acc_delta, lr, rho, eps)
        want_acc = rho * want_acc + (1 - rho) * g * g
        delta = -np.sqrt(want_delta + eps) * g / np.sqrt(want_acc + eps)
        want_delta = rho * want_delta + (1 - rho) * delta * delta
        want_w = want_w + w.dtype.type(lr) * delta
    for got, want in ((w, want_w), (acc, want_acc), (acc_delta, want_delta)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lion_step_is_its_numpy_formula_with_numpys_sign(dtype):
    """Bitwise the NumPy statement, np.sign included: a zero update moves nothing, NaN spreads."""
    rng = np.random.default_rng(5)
    w = rng.normal(size=41).astype(dtype)
    m = rng.normal(size=41).astype(dtype)
    want_w, want_m = w.copy(), m.copy()
    lr, b1, b2 = 0.01, 0.9, 0.99
    for step in range(4):
        g = rng.normal(size=w.shape).astype(dtype)
        if step == 1:
            g[:3], m[:3], want_m[:3] = 0, 0, 0  # u = 0: sign 0
            g[3] = np.nan
        O.lion_step(w, g, m, lr, b1, b2)
        want_w = want_w - w.dtype.type(lr) * np.sign(want_m * b1 + g * (1.0 - b1))
        want_m = want_m * b2 + g * (1.0 - b2)
    np.testing.assert_array_equal(w, want_w)
    np.testing.assert_array_equal(m, want_m)
    assert np.isnan(w[3]) and np.isfinite(w[:3]).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 7, 16, 1001])
def test_finite_finds_one_nan_or_infinity_anywhere(dtype, n):
    x = (np.random.default_rng(n).uniform(-1, 1, n) * np.finfo(dtype).max).astype(dtype)
    assert O.finite(x) and O.finite(x[:0])
    for where in sorted({0, n // 2, n - 1}):
        for bad in (np.nan, np.inf, -np.inf):
            y = x.copy()
            y[where] = bad
            assert not O.finite(y)


def test_bad_arguments_are_refused():
    w, g, m = np.zeros(4), np.ones(4), np.zeros(4)
    with pytest.raises(ValueError, match="shape"):
        O.sgd_step(w, np.ones(5), m, lr=0.1, momentum=0.9)
    with pytest.raises(TypeError, match="dtype"):
        O.sgd_step(w, g.astype(np.float32), m, lr=0.1)
    with pytest.raises(TypeError, match="dtype"):
        O.adagrad_step(w, g, np.zeros(4, np.float32), lr=0.1)
    with pytest.raises(ValueError, match="overlap"):
        O.adam_step(w, g, w, np.zeros(4), None, 0.1, 0.9, 0.999, 1e-7, 1)
    with pytest.raises(ValueError, match="overlap"):
        O.adagrad_step(w, g, g, lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        O.sgd_step(w, g, None, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="mg"):
        O.rmsprop_step(w, g, np.zeros(4), None, None, lr=0.1, centered=True)
    with pytest.raises(ValueError, match="mom"):
        O.rmsprop_step(w, g, np.zeros(4), None, None, lr=0.1, momentum=0.5)
    with pytest.raises(ValueError, match="vhat"):
        O.adam_step(w, g, np.zeros(4), np.zeros(4), None, 0.1, 0.9, 0.999, 1e-7, 1, amsgrad=True)
    with pytest.raises(ValueError, match="Received: t=0"):
        O.adamax_step(w, g, np.zeros(4), np.zeros(4), 0.1, 0.9, 0.999, 1e-7, 0)
    with pytest.raises(ValueError, match="C-contiguous"):
        O.scale(np.zeros((4, 4)).T, 2.0)
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        O.sgd_step(ro, g, m, lr=0.1)
    with pytest.raises(ValueError, match="lo <= hi"):
        O.clip(w, 1.0, -1.0)
    with pytest.raises(ValueError, match="overlap"):
        O.l1l2(w, 0.1, 0.1, w)
    with pytest.raises(TypeError):
        O.sumsq(np.zeros(3, np.int32))
    np.testing.assert_array_equal(w, 0.0)
    np.testing.assert_array_equal(g, 1.0)
