"""Bindings for inverted dropout (pm_dropout_fwd / pm_dropout_bwd) and its random state.

The random state is a caller-owned ``pm_rng`` (xoshiro256** seeded by
splitmix64) held by :class:`Rng`; the C side keeps none of its own. Dropout
being the identity at inference is the layer's business, not this module's.
"""
from __future__ import annotations

import math

import numpy as np

from pymodel._native import check, check_no_overlap, ffi, kernel, lib, out_ptr, ptr, require
from pymodel._native.activations import same_buffer

__all__ = ["Rng", "forward", "backward"]

_U64 = 1 << 64


class Rng:
    """A seeded xoshiro256** state for dropout masks; each draw advances it.

    One Rng per layer: the kernels update it without a lock (the GIL is
    released during the call), so it must not be shared between threads.
    """

    def __init__(self, seed: int) -> None:
        self._state = ffi.new("pm_rng *")
        self.seed(seed)

    def seed(self, seed: int) -> None:
        """Reset the state from ``seed``, an integer in [0, 2**64)."""
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) \
                or not 0 <= int(seed) < _U64:
            raise ValueError(f"Rng seed must be an integer in [0, 2**64). Received: seed={seed!r}")
        check(lib.pm_rng_seed(self._state, int(seed)), "pm_rng_seed")

    @property
    def state(self) -> tuple[int, int, int, int]:
        """The four 64-bit words of the state (for checkpoints and tests)."""
        return tuple(self._state.s)

    @state.setter
    def state(self, words) -> None:
        words = [int(w) for w in words]
        if len(words) != 4 or not all(0 <= w < _U64 for w in words) or not any(words):
            raise ValueError(f"Rng state must be four 64-bit words, not all zero. Received: state={words}")
        self._state.s = words


def _check_rate(rate) -> float:
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, float, np.integer, np.floating)) \
            or not (0 <= rate < 1) or math.isnan(rate):
        raise ValueError(f"Dropout `rate` must be a number in [0, 1). Received: rate={rate!r}")
    return float(rate)


def forward(x: np.ndarray, rate: float, rng: Rng, mask: np.ndarray | None = None,
            y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Training-time dropout: mask in {0, 1/(1-rate)}, y = x * mask. ``y`` may be ``x``.

    Returns:
        ``(y, mask)``.
    """
    rate = _check_rate(rate)
    if not isinstance(rng, Rng):
        raise TypeError(f"rng must be a dropout.Rng. Received: {type(rng).__name__}")
    require(x, "x")
    if mask is None:
        mask = np.empty_like(x)
    require(mask, "mask", dtype=x.dtype, shape=x.shape, writable=True)
    check_no_overlap(mask, "mask", (x, "x"), (y, "y"))
    if y is None:
        y = np.empty_like(x)
    require(y, "y", dtype=x.dtype, shape=x.shape, writable=True)
    if not same_buffer(y, x):
        check_no_overlap(y, "y", (x, "x"))
    status = kernel("dropout_fwd", x.dtype)(x.size, rate, rng._state, ptr(x), out_ptr(mask), out_ptr(y))
    check(status, "dropout forward")
    return y, mask


def backward(mask: np.ndarray, dy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """dx = dy * mask. ``out`` may be ``dy``."""
    require(dy, "dy")
    require(mask, "mask", dtype=dy.dtype, shape=dy.shape)
    if out is None:
        out = np.empty_like(dy)
    require(out, "out", dtype=dy.dtype, shape=dy.shape, writable=True)
    check_no_overlap(out, "out", (mask, "mask"), *(() if same_buffer(out, dy) else ((dy, "dy"),)))
    check(kernel("dropout_bwd", dy.dtype)(dy.size, ptr(mask), ptr(dy), out_ptr(out)), "dropout backward")
    return out
