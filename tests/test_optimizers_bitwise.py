"""The optimizer kernels round every operation as their C source writes it.

The steps run vectorized (an AVX2 clone where the CPU has it), so these tests
compare them with NumPy evaluating the same expressions in the element type,
one rounded operation at a time, over lengths that exercise the vector body
and every tail length. Equality is bitwise: a fused multiply-add, a
reassociated sum or an approximate sqrt / reciprocal would show up here.
"""
import numpy as np
import pytest

from pymodel._native import optimizers as opt

LENGTHS = [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1027]


def _state(n, dtype, seed, slots):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n).astype(dtype)
    g = (rng.normal(size=n) * 10.0 ** rng.integers(-6, 2, n)).astype(dtype)
    return w, g, [np.abs(rng.normal(size=n) * 1e-3).astype(dtype) for _ in range(slots)]


def _c(dtype, value):
    """A hyper-parameter rounded to the element type, as the kernels cast it."""
    return dtype(value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("n", LENGTHS)
def test_adam_step_is_bitwise_the_elementwise_formula(n, amsgrad, dtype):
    w, g, (m, v, vhat) = _state(n, dtype, n, 3)
    lr, b1, b2, eps, t = 1e-3, 0.9, 0.999, 1e-7, 3
    rw, rm, rv, rvh = w.copy(), m.copy(), v.copy(), vhat.copy()
    opt.adam_step(w, g, m, v, vhat if amsgrad else None, lr, b1, b2, eps, t, amsgrad=amsgrad)
    b1p, b2p = _c(dtype, np.power(float(_c(dtype, b1)), t)), _c(dtype, np.power(float(_c(dtype, b2)), t))
    alpha = _c(dtype, lr) * np.sqrt(dtype(1) - b2p) / (dtype(1) - b1p)
    rm = rm + (g - rm) * _c(dtype, 1 - b1)
    rv = rv + (g * g - rv) * _c(dtype, 1 - b2)
    den_v = np.maximum(rvh, rv) if amsgrad else rv
    rw = rw - (rm * alpha) / (np.sqrt(den_v) + _c(dtype, eps))
    for got, want in ((w, rw), (m, rm), (v, rv)) + (((vhat, den_v),) if amsgrad else ()):
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("n", LENGTHS)
def test_sgd_momentum_step_is_bitwise_the_elementwise_formula(n, nesterov):
    dtype = np.float32
    w, g, (m,) = _state(n, dtype, n, 1)
    lr, mu = _c(dtype, 0.05), _c(dtype, 0.9)
    rw, rm = w.copy(), m.copy()
    opt.sgd_step(w, g, m, 0.05, momentum=0.9, nesterov=nesterov)
    rm = -g * lr + rm * mu
    rw = rw + ((-g * lr + rm * mu) if nesterov else rm)
    assert w.tobytes() == rw.tobytes() and m.tobytes() == rm.tobytes()


@pytest.mark.parametrize("n", LENGTHS)
def test_centered_rmsprop_with_momentum_is_bitwise_the_elementwise_formula(n):
    dtype = np.float32
    w, g, (v, mg, mom) = _state(n, dtype, n, 3)
    v += mg * mg  # keeps v - mg^2 + eps positive
    rw, rv, rmg, rmom = w.copy(), v.copy(), mg.copy(), mom.copy()
    opt.rmsprop_step(w, g, v, mg, mom, 0.01, rho=0.8, momentum=0.5, epsilon=1e-7, centered=True)
    rho, one_rho = _c(dtype, 0.8), _c(dtype, 1 - 0.8)
    rv = rho * rv + one_rho * (g * g)
    rmg = rho * rmg + one_rho * g
    den = rv - rmg * rmg
    inc = _c(dtype, 0.01) * g * (dtype(1) / np.sqrt(den + _c(dtype, 1e-7)))
    rmom = _c(dtype, 0.5) * rmom + inc
    rw = rw - rmom
    for got, want in ((w, rw), (v, rv), (mg, rmg), (mom, rmom)):
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("n", LENGTHS)
def test_adagrad_and_adamax_steps_are_bitwise_the_elementwise_formulas(n):
    dtype = np.float32
    w, g, (acc, m, u) = _state(n, dtype, n, 3)
    rw, racc = w.copy(), acc.copy()
    opt.adagrad_step(w, g, acc, 0.1, epsilon=1e-7)
    racc = racc + g * g
    rw = rw - _c(dtype, 0.1) * g / np.sqrt(racc + _c(dtype, 1e-7))
    assert w.tobytes() == rw.tobytes() and acc.tobytes() == racc.tobytes()
    rw, rm, ru = w.copy(), m.copy(), u.copy()
    opt.adamax_step(w, g, m, u, 0.02, 0.9, 0.999, 1e-7, 4)
    rm = rm + (g - rm) * _c(dtype, 1 - 0.9)
    ru = np.maximum(_c(dtype, 0.999) * ru, np.abs(g))
    b1p = _c(dtype, np.power(float(_c(dtype, 0.9)), 4))
    rw = rw - (_c(dtype, 0.02) * rm) / ((dtype(1) - b1p) * (ru + _c(dtype, 1e-7)))
    for got, want in ((w, rw), (m, rm), (u, ru)):
        assert got.tobytes() == want.tobytes()
