"""Bindings for the activation kernels (pm_act_fwd / pm_act_bwd).

An activation is a ``pm_act`` descriptor (kind + alpha, max_value, threshold)
built once by :func:`descriptor` and passed to every call. Keras's string
aliases (relu6, leaky_relu, silu) are resolved by the Python activations
module; here only the canonical kernel names exist.
"""
from __future__ import annotations

import math

import numpy as np

from pymodel._native import check, check_no_overlap, ffi, kernel, lib, out_ptr, ptr, require

__all__ = ["KINDS", "descriptor", "forward", "backward", "struct", "same_buffer", "rows_cols"]

#: Canonical kernel names -> PM_ACT_* codes.
KINDS: dict[str, int] = {
    "linear": lib.PM_ACT_LINEAR,
    "sigmoid": lib.PM_ACT_SIGMOID,
    "hard_sigmoid": lib.PM_ACT_HARD_SIGMOID,
    "tanh": lib.PM_ACT_TANH,
    "relu": lib.PM_ACT_RELU,
    "elu": lib.PM_ACT_ELU,
    "selu": lib.PM_ACT_SELU,
    "softplus": lib.PM_ACT_SOFTPLUS,
    "softsign": lib.PM_ACT_SOFTSIGN,
    "swish": lib.PM_ACT_SWISH,
    "gelu": lib.PM_ACT_GELU,
    "gelu_tanh": lib.PM_ACT_GELU_TANH,
    "exponential": lib.PM_ACT_EXPONENTIAL,
    "mish": lib.PM_ACT_MISH,
    "softmax": lib.PM_ACT_SOFTMAX,
    "log_softmax": lib.PM_ACT_LOG_SOFTMAX,
}


def descriptor(kind: str, alpha: float = 0.0, max_value: float | None = None,
               threshold: float = 0.0):
    """Build the ``pm_act`` descriptor for ``kind``.

    Args:
        kind: a name of :data:`KINDS`.
        alpha: relu's negative slope (0.2 gives leaky_relu), elu's alpha.
        max_value: relu's saturation value (6 gives relu6); None for none.
        threshold: relu's threshold.

    Returns:
        A cffi ``pm_act *`` owning its memory; pass it to the kernels here.

    Raises:
        ValueError: unknown kind or a non-finite parameter.
    """
    if kind not in KINDS:
        raise ValueError(
            f"Unknown activation kind {kind!r}; valid kinds are: {', '.join(KINDS)}. "
            f"Received: kind={kind!r}"
        )
    for name, value in (("alpha", alpha), ("threshold", threshold)):
        if not math.isfinite(value):
            raise ValueError(f"Activation `{name}` must be a finite number. Received: {name}={value}")
    if max_value is not None and math.isnan(max_value):
        raise ValueError(f"Activation `max_value` must be a number or None. Received: max_value={max_value}")
    return ffi.new("pm_act *", {
        "kind": KINDS[kind],
        "alpha": float(alpha),
        "max_value": math.inf if max_value is None else float(max_value),
        "threshold": float(threshold),
    })


def struct(desc):
    """The ``pm_act`` value of a descriptor, as the kernels take it (TypeError for anything else)."""
    if not (isinstance(desc, ffi.CData) and ffi.typeof(desc) is ffi.typeof("pm_act *")):
        raise TypeError(f"desc must come from activations.descriptor(). Received: {desc!r}")
    return desc[0]


def same_buffer(a, b) -> bool:
    """True when ``a`` and ``b`` are the very same C-contiguous buffer (documented in-place use)."""
    return (a is not None and b is not None and a.shape == b.shape and a.dtype == b.dtype
            and a.ctypes.data == b.ctypes.data)


def rows_cols(shape: tuple) -> tuple[int, int]:
    """(rows, cols) of an array seen as a matrix whose rows are its last axis."""
    if len(shape) == 0:
        return 1, 1
    return math.prod(shape[:-1]), shape[-1]


def _output(out, name: str, like: np.ndarray, inplace_of=None, *inputs) -> np.ndarray:
    """Check or allocate an output shaped like ``like``; it may be ``inplace_of`` exactly."""
    if out is None:
        return np.empty_like(like)
    require(out, name, dtype=like.dtype, shape=like.shape, writable=True)
    others = [(a, n) for a, n in inputs if not (inplace_of is a and same_buffer(out, a))]
    check_no_overlap(out, name, *others)
    return out


def forward(desc, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """y = act(x) elementwise (softmax/log_softmax: over the last axis). ``out`` may be ``x``."""
    act = struct(desc)
    require(x, "x")
    out = _output(out, "out", x, x, (x, "x"))
    rows, cols = rows_cols(x.shape)
    check(kernel("act_fwd", x.dtype)(act, rows, cols, ptr(x), out_ptr(out)), "activation forward")
    return out


def backward(desc, x: np.ndarray, y: np.ndarray, dy: np.ndarray,
             out: np.ndarray | None = None) -> np.ndarray:
    """dx = dy * act'(x), with x the forward input and y its output. ``out`` may be ``dy``."""
    act = struct(desc)
    require(dy, "dy")
    require(x, "x", dtype=dy.dtype, shape=dy.shape)
    require(y, "y", dtype=dy.dtype, shape=dy.shape)
    out = _output(out, "out", dy, dy, (x, "x"), (y, "y"), (dy, "dy"))
    rows, cols = rows_cols(dy.shape)
    status = kernel("act_bwd", dy.dtype)(act, rows, cols, ptr(x), ptr(y), ptr(dy), out_ptr(out))
    check(status, "activation backward")
    return out
