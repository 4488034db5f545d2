"""Optimizer steps and training-loop vector helpers; every step updates its arrays in place.

The steps follow tf-keras 2.11+ (``legacy=True``: the 2.10 Adagrad/RMSprop).
An optimizer class composes one training step the way tf-keras's
``apply_gradients`` does, for learning rate ``lr`` of this step:

1. clip, one branch only: ``clipnorm`` per tensor
   ``scale(g, clipnorm / max(sqrt(sumsq(g)), clipnorm))``; else ``global_clipnorm``
   over all tensors ``scale(g, gc / max(sqrt(sum of sumsq), gc))``; else
   ``clipvalue`` ``clip(g, -c, c)``;
2. decoupled weight decay ``weight_decay(w, wd, lr)`` (before the update);
3. the ``*_step`` of each variable, with ``t = iterations + 1`` for Adam/Adamax
   and, for Nadam, the schedule scalars of the step (``optimizers.Nadam`` computes
   them as tf-keras does, inside ``fit`` too);
4. ``iterations += 1``.
"""
from __future__ import annotations

import numbers

import numpy as np

from pymodel._native import check, ffi, kernel, lib, nullable_ptr, out_ptr, ptr, require

__all__ = [
    "sgd_step", "adagrad_step", "rmsprop_step", "adam_step", "adamax_step", "adadelta_step",
    "lion_step", "nadam_step",
    "sumsq", "scale", "clip", "weight_decay", "l1l2", "finite",
]


def _operands(w, g, **slots):
    """Check w (writable), g and the slots (writable, or None) against each other."""
    require(w, "w", writable=True)
    require(g, "g", dtype=w.dtype, shape=w.shape)
    named = [(w, "w"), (g, "g")]
    for name, arr in slots.items():
        if arr is not None:
            require(arr, name, dtype=w.dtype, shape=w.shape, writable=True)
            named.append((arr, name))
    for i, (a, a_name) in enumerate(named):
        for b, b_name in named[i + 1:]:
            if np.shares_memory(a, b):
                raise ValueError(f"{a_name} must not overlap {b_name}")


def _step(t) -> int:
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 1 <= t < 2**62 or int(t) != t:
        raise ValueError(f"The step number t (iterations + 1) must be an integer >= 1. Received: t={t!r}")
    return int(t)


def sgd_step(w, g, m, lr, momentum=0.0, nesterov=False) -> None:
    """SGD: ``m = momentum m - lr g; w += nesterov ? momentum m - lr g : m``.

    ``m`` may be None when momentum is 0 (``w -= lr g``).
    """
    if m is None and momentum != 0:
        raise ValueError(f"sgd_step needs the momentum slot m when momentum != 0. Received: momentum={momentum!r}")
    _operands(w, g, m=m)
    check(kernel("sgd_step", w.dtype)(w.size, out_ptr(w), ptr(g), nullable_ptr(m, writable=True),
                                      float(lr), float(momentum), int(bool(nesterov))), "pm_sgd_step")


def adagrad_step(w, g, acc, lr, epsilon=1e-7, legacy=False) -> None:
    """Adagrad: ``acc += g^2; w -= lr g / sqrt(acc + eps)`` (legacy: ``/ (sqrt(acc) + eps)``)."""
    _operands(w, g, acc=acc)
    check(kernel("adagrad_step", w.dtype)(w.size, out_ptr(w), ptr(g), out_ptr(acc), float(lr),
                                          float(epsilon), int(bool(legacy))), "pm_adagrad_step")


def rmsprop_step(w, g, v, mg, mom, lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 legacy=False) -> None:
    """RMSprop (see pymodel.h); ``mg`` is needed when centered, ``mom`` when momentum > 0."""
    if centered and mg is None:
        raise ValueError("rmsprop_step needs the mean-gradient slot mg when centered=True")
    if momentum > 0 and mom is None:
        raise ValueError(f"rmsprop_step needs the momentum slot mom when momentum > 0. Received: momentum={momentum!r}")
    _operands(w, g, v=v, mg=mg if centered else None, mom=mom if momentum > 0 else None)
    check(kernel("rmsprop_step", w.dtype)(
        w.size, out_ptr(w), ptr(g), out_ptr(v), nullable_ptr(mg if centered else None, writable=True),
        nullable_ptr(mom if momentum > 0 else None, writable=True), float(lr), float(rho),
        float(momentum), float(epsilon), int(bool(centered)), int(bool(legacy))), "pm_rmsprop_step")


def adam_step(w, g, m, v, vhat, lr, beta_1, beta_2, epsilon, t, amsgrad=False) -> None:
    """Adam at step ``t`` (iterations + 1), epsilon outside the sqrt; ``vhat`` only with amsgrad."""
    if amsgrad and vhat is None:
        raise ValueError("adam_step needs the vhat slot when amsgrad=True")
    vhat = vhat if amsgrad else None
    _operands(w, g, m=m, v=v, vhat=vhat)
    check(kernel("adam_step", w.dtype)(
        w.size, out_ptr(w), ptr(g), out_ptr(m), out_ptr(v), nullable_ptr(vhat, writable=True),
        float(lr), float(beta_1), float(beta_2), float(epsilon), _step(t), int(bool(amsgrad))),
        "pm_adam_step")


def adamax_step(w, g, m, u, lr, beta_1, beta_2, epsilon, t) -> None:
    """Adamax at step ``t``: ``u = max(b2 u, |g|); w -= lr m / ((1 - b1^t)(u + eps))``."""
    _operands(w, g, m=m, u=u)
    check(kernel("adamax_step", w.dtype)(
        w.size, out_ptr(w), ptr(g), out_ptr(m), out_ptr(u), float(lr), float(beta_1),
        float(beta_2), float(epsilon), _step(t)), "pm_adamax_step")


def adadelta_step(w, g, acc, acc_delta, lr, rho=0.95, epsilon=1e-7) -> None:
    """Adadelta: ``acc = rho acc + (1-rho) g^2; d = -sqrt(acc_delta + eps) g / sqrt(acc + eps);
    acc_delta = rho acc_delta + (1-rho) d^2; w += lr d``."""
    _operands(w, g, acc=acc, acc_delta=acc_delta)
    check(kernel("adadelta_step", w.dtype)(
        w.size, out_ptr(w), ptr(g), out_ptr(acc), out_ptr(acc_delta), float(lr), float(rho),
        float(epsilon)), "pm_adadelta_step")


def lion_step(w, g, m, lr, beta_1=0.9, beta_2=0.99) -> None:
    """Lion: ``w -= lr sign(b1 m + (1-b1) g); m = b2 m + (1-b2) g`` (np.sign's sign)."""
    _operands(w, g, m=m)
    check(kernel("lion_step", w.dtype)(w.size, out_ptr(w), ptr(g), out_ptr(m), float(lr),
                                       float(beta_1), float(beta_2)), "pm_lion_step")


def nadam_step(w, g, m, v, lr, beta_1, beta_2, epsilon, u_t, u_t1, u_prod, u_prod_t1,
               beta2_pow) -> None:
    """Nadam with the step's schedule scalars (u_t, u_t1, u_prod, u_prod_t1, beta2_pow)."""
    _operands(w, g, m=m, v=v)
    check(kernel("nadam_step", w.dtype)(
        w.size, out_ptr(w), ptr(g), out_ptr(m), out_ptr(v), float(lr), float(beta_1),
        float(beta_2), float(epsilon), float(u_t), float(u_t1), float(u_prod), float(u_prod_t1),
        float(beta2_pow)), "pm_nadam_step")


def sumsq(x) -> float:
    """Sum of squares of ``x`` (double accumulator), for clipnorm/global_clipnorm."""
    require(x, "x")
    out = ffi.new("double *")
    check(kernel("sumsq", x.dtype)(x.size, ptr(x), out), "pm_sumsq")
    return float(out[0])


def scale(x, alpha) -> None:
    """``x *= alpha`` in place."""
    require(x, "x", writable=True)
    check(kernel("scale", x.dtype)(x.size, out_ptr(x), float(alpha)), "pm_scale")


def clip(x, lo, hi) -> None:
    """``x = min(max(x, lo), hi)`` in place."""
    if not lo <= hi:
        raise ValueError(f"clip needs lo <= hi. Received: lo={lo!r}, hi={hi!r}")
    require(x, "x", writable=True)
    check(kernel("clip", x.dtype)(x.size, out_ptr(x), float(lo), float(hi)), "pm_clip")


def weight_decay(w, wd, lr) -> None:
    """Decoupled weight decay in tf-keras's rounding order: ``w -= w * wd * lr``."""
    require(w, "w", writable=True)
    check(kernel("weight_decay", w.dtype)(w.size, out_ptr(w), float(wd), float(lr)), "pm_weight_decay")


def l1l2(w, l1, l2, g) -> float:
    """Add the L1/L2 regularization gradient to ``g`` and return the penalty.

    ``g += l1 sign(w) + 2 l2 w``; returns ``l1 sum|w| + l2 sum w^2``.
    """
    require(w, "w")
    require(g, "g", dtype=w.dtype, shape=w.shape, writable=True)
    if np.shares_memory(w, g):
        raise ValueError("g must not overlap w")
    out = ffi.new("double *")
    check(kernel("l1l2", w.dtype)(w.size, ptr(w), float(l1), float(l2), out_ptr(g), out), "pm_l1l2")
    return float(out[0])


def finite(x: np.ndarray) -> bool:
    """True when every element of ``x`` is finite: one vectorized pass (a min and a max take two)."""
    require(x, "x")
    status = kernel("finite", x.dtype)(x.size, ptr(x))
    if status == lib.PM_ENONFINITE:
        return False
    check(status, "pm_finite")
    return True
