"""Pooling kernels (channels_last): MaxPooling/AveragePooling 1-D and 2-D, global max/average pooling.

Geometry and padding are TensorFlow's (see ``conv.padding_amounts``); average pooling
counts only real, unpadded cells; max pooling's gradient goes to the first maximum of
each window (row-major), as TensorFlow's MaxPoolGrad does. 1-D pooling is the 2-D kernel
with ``H = 1`` on a view of the input.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from pymodel._native import check, check_no_overlap, kernel, out_ptr, ptr, require
from pymodel._native.conv import IntPair, one_int, window

__all__ = [
    "pool_output_shape",
    "max_pool2d_forward", "max_pool2d_backward", "average_pool2d_forward", "average_pool2d_backward",
    "max_pool1d_forward", "max_pool1d_backward", "average_pool1d_forward", "average_pool1d_backward",
    "global_max_pool_forward", "global_max_pool_backward",
    "global_average_pool_forward", "global_average_pool_backward",
]


def _geometry(shape: Sequence[int], pool_size, strides, padding: str, what: str):
    """pm_window2d for a rank-4 ``(N, H, W, C)`` or rank-3 ``(N, L, C)`` input (strides None = pool_size)."""
    if len(shape) == 3:
        size = one_int(pool_size, "pool_size")
        stride = size if strides is None else one_int(strides, "strides")
        n, length, c = shape
        return window((n, 1, length, c), (1, size), (1, stride), padding, 1, what=f"{what}: pool",
                      shown=(tuple(shape), (size,)), size_name="pool_size")
    return window(shape, pool_size, pool_size if strides is None else strides, padding, 1,
                  what=f"{what}: pool", size_name="pool_size")


def pool_output_shape(input_shape: Sequence[int], pool_size: IntPair = 2, strides: Optional[IntPair] = None,
                      padding: str = "valid") -> tuple:
    """Output shape of a pooling layer: ``(N, OH, OW, C)`` for rank 4, ``(N, OL, C)`` for rank 3."""
    return _output_shape(_geometry(tuple(input_shape), pool_size, strides, padding, "pool_output_shape"),
                         len(input_shape))


def _output_shape(g, rank: int) -> tuple:
    return (g.n, g.ow, g.c) if rank == 3 else (g.n, g.oh, g.ow, g.c)


def _checked(x: np.ndarray, rank: int, pool_size, strides, padding: str, what: str):
    """Checks ``x`` (rank, non-empty spatial axes); returns its window geometry and the output shape."""
    require(x, "x", shape=(None,) * rank)
    if min(x.shape[1:-1]) < 1:
        raise ValueError(f"{what}: input spatial sizes must be >= 1. Received: x.shape={x.shape}")
    g = _geometry(x.shape, pool_size, strides, padding, what)
    return g, _output_shape(g, rank)


def _output(arr, name: str, shape: tuple, dtype, *inputs) -> np.ndarray:
    """An output buffer: allocated, or the caller's one checked (dtype, shape, writable, no overlap)."""
    if arr is None:
        return np.empty(shape, dtype=dtype)
    require(arr, name, dtype=dtype, shape=shape, writable=True)
    check_no_overlap(arr, name, *inputs)
    return arr


def _as4(arr: np.ndarray) -> np.ndarray:
    """A rank-3 array as its rank-4 view with a unit axis 1 (rank 4 unchanged)."""
    return arr[:, None] if arr.ndim == 3 else arr


def _forward(op: str, x, pool_size, strides, padding, out, rank: int, what: str) -> np.ndarray:
    g, shape = _checked(x, rank, pool_size, strides, padding, what)
    out = _output(out, "out", shape, x.dtype, (x, "x"))
    check(kernel(op, x.dtype)(g[0], ptr(_as4(x)), out_ptr(_as4(out))), what)
    return out


def _backward(op: str, x, dy, pool_size, strides, padding, dx, rank: int, what: str) -> np.ndarray:
    g, shape = _checked(x, rank, pool_size, strides, padding, what)
    require(dy, "dy", dtype=x.dtype, shape=shape)
    dx = _output(dx, "dx", x.shape, x.dtype, (x, "x"), (dy, "dy"))
    args = (ptr(_as4(x)),) if op.startswith("max") else ()
    check(kernel(op, x.dtype)(g[0], *args, ptr(_as4(dy)), out_ptr(_as4(dx))), what)
    return dx


def max_pool2d_forward(x: np.ndarray, pool_size: IntPair = 2, strides: Optional[IntPair] = None,
                       padding: str = "valid", out: Optional[np.ndarray] = None) -> np.ndarray:
    """Keras MaxPooling2D: the maximum of each window of ``x`` ``(N, H, W, C)``."""
    return _forward("max_pool2d_fwd", x, pool_size, strides, padding, out, 4, "max_pool2d_forward")


def max_pool2d_backward(x: np.ndarray, dy: np.ndarray, pool_size: IntPair = 2, strides: Optional[IntPair] = None,
                        padding: str = "valid", dx: Optional[np.ndarray] = None) -> np.ndarray:
    """Gradient of max_pool2d_forward: each ``dy`` goes to its window's first maximum in ``x``."""
    return _backward("max_pool2d_bwd", x, dy, pool_size, strides, padding, dx, 4, "max_pool2d_backward")


def average_pool2d_forward(x: np.ndarray, pool_size: IntPair = 2, strides: Optional[IntPair] = None,
                           padding: str = "valid", out: Optional[np.ndarray] = None) -> np.ndarray:
    """Keras AveragePooling2D: the mean of the real (unpadded) cells of each window."""
    return _forward("avg_pool2d_fwd", x, pool_size, strides, padding, out, 4, "average_pool2d_forward")


def average_pool2d_backward(x: np.ndarray, dy: np.ndarray, pool_size: IntPair = 2,
                            strides: Optional[IntPair] = None, padding: str = "valid",
                            dx: Optional[np.ndarray] = None) -> np.ndarray:
    """Gradient of average_pool2d_forward (``x`` gives the input shape and dtype; its values are unused)."""
    return _backward("avg_pool2d_bwd", x, dy, pool_size, strides, padding, dx, 4, "average_pool2d_backward")


def max_pool1d_forward(x: np.ndarray, pool_size: IntPair = 2, strides: Optional[IntPair] = None,
                       padding: str = "valid", out: Optional[np.ndarray] = None) -> np.ndarray:
    """Keras MaxPooling1D on ``x`` ``(N, L, C)``."""
    return _forward("max_pool2d_fwd", x, pool_size, strides, padding, out, 3, "max_pool1d_forward")


def max_pool1d_backward(x: np.ndarray, dy: np.ndarray, pool_size: IntPair = 2, strides: Optional[IntPair] = None,
                        padding: str = "valid", dx: Optional[np.ndarray] = None) -> np.ndarray:
    """Gradient of max_pool1d_forward."""
    return _backward("max_pool2d_bwd", x, dy, pool_size, strides, padding, dx, 3, "max_pool1d_backward")


def average_pool1d_forward(x: np.ndarray, pool_size: IntPair = 2, strides: Optional[IntPair] = None,
                           padding: str = "valid", out: Optional[np.ndarray] = None) -> np.ndarray:
    """Keras AveragePooling1D on ``x`` ``(N, L, C)``."""
    return _forward("avg_pool2d_fwd", x, pool_size, strides, padding, out, 3, "average_pool1d_forward")


def average_pool1d_backward(x: np.ndarray, dy: np.ndarray, pool_size: IntPair = 2,
                            strides: Optional[IntPair] = None, padding: str = "valid",
                            dx: Optional[np.ndarray] = None) -> np.ndarray:
    """Gradient of average_pool1d_forward."""
    return _backward("avg_pool2d_bwd", x, dy, pool_size, strides, padding, dx, 3, "average_pool1d_backward")


def _global_sizes(x: np.ndarray, what: str) -> tuple:
    """(n, s, c) for ``x`` ``(N, *spatial, C)`` with at least one spatial axis, all non-empty."""
    require(x, "x")
    if x.ndim < 3 or min(x.shape[1:-1]) < 1:
        raise ValueError(f"{what}: x must have shape (batch, *spatial, channels) with non-empty spatial axes. "
                         f"Received: x.shape={x.shape}")
    return x.shape[0], int(np.prod(x.shape[1:-1])), x.shape[-1]


def _global_forward(op: str, x, out, what: str) -> np.ndarray:
    n, s, c = _global_sizes(x, what)
    out = _output(out, "out", (n, c), x.dtype, (x, "x"))
    check(kernel(op, x.dtype)(n, s, c, ptr(x), out_ptr(out)), what)
    return out


def _global_backward(op: str, x, dy, dx, what: str) -> np.ndarray:
    n, s, c = _global_sizes(x, what)
    require(dy, "dy", dtype=x.dtype, shape=(n, c))
    dx = _output(dx, "dx", x.shape, x.dtype, (x, "x"), (dy, "dy"))
    args = (ptr(x),) if op.startswith("global_max") else ()
    check(kernel(op, x.dtype)(n, s, c, *args, ptr(dy), out_ptr(dx)), what)
    return dx


def global_max_pool_forward(x: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Keras GlobalMaxPooling1D/2D/3D: ``(N, C)`` maxima over every spatial axis of ``x``."""
    return _global_forward("global_max_pool_fwd", x, out, "global_max_pool_forward")


def global_max_pool_backward(x: np.ndarray, dy: np.ndarray, dx: Optional[np.ndarray] = None) -> np.ndarray:
    """Gradient of global_max_pool_forward, split evenly between tied maxima as tf.reduce_max's."""
    return _global_backward("global_max_pool_bwd", x, dy, dx, "global_max_pool_backward")


def global_average_pool_forward(x: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Keras GlobalAveragePooling1D/2D/3D: ``(N, C)`` means over every spatial axis of ``x``."""
    return _global_forward("global_avg_pool_fwd", x, out, "global_average_pool_forward")


def global_average_pool_backward(x: np.ndarray, dy: np.ndarray, dx: Optional[np.ndarray] = None) -> np.ndarray:
    """Gradient of global_average_pool_forward (``x`` gives the shape and dtype only)."""
    return _global_backward("global_avg_pool_bwd", x, dy, dx, "global_average_pool_backward")
