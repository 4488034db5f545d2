"""Convolution kernels (channels_last): window geometry as TensorFlow computes it, Conv1D/Conv2D.

Shapes follow Keras: inputs ``(N, H, W, C)`` (2-D) or ``(N, L, C)`` (1-D), kernels
``(KH, KW, C, F)`` / ``(K, C, F)``, bias ``(F,)``. A 1-D convolution is the 2-D
kernel with ``H = KH = 1`` (a view, no copy). The GEMM workspace is
caller-owned: ``workspace(...)`` sizes it once, ``work=`` reuses it per batch.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Union

import numpy as np

from pymodel._native import check, check_no_overlap, ffi, nullable_ptr, out_ptr, ptr, require
from pymodel._native import kernel as c_kernel

__all__ = [
    "Axis", "IntPair", "one_int", "padding_amounts", "window", "conv_output_shape", "workspace",
    "conv2d_forward", "conv2d_backward", "conv1d_forward", "conv1d_backward",
]

IntPair = Union[int, Sequence[int]]


class Axis(NamedTuple):
    """One spatial axis of a sliding window: output length and padding before/after."""
    out: int
    pad_before: int
    pad_after: int


def _pair(value: IntPair, name: str) -> tuple:
    """``value`` as a pair of ints in [1, 2**62) (an int is repeated), Keras's normalize_tuple.

    The upper bound keeps every size the C side computes from them inside int64.
    """""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and 1 <= v < 2**62 for v in pair):
        raise ValueError(f"`{name}` must be an int or a pair of ints >= 1. Received: {name}={value!r}")
    return tuple(int(v) for v in pair)


def _normalize_padding(padding: str, allowed: Sequence[str]) -> str:
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in allowed:
        raise ValueError(f"`padding` must be one of {', '.join(map(repr, allowed))}. Received: padding={padding!r}")
    return mode


def padding_amounts(size: int, kernel_size: int, stride: int = 1, padding: str = "valid",
                    dilation: int = 1) -> Axis:
    """Output length and padding of one axis, exactly as TensorFlow computes them.

    'valid': out = (size - span) // stride + 1, no padding (span = (k - 1) * dilation + 1);
    'same': out = ceil(size / stride), total = max((out - 1) * stride + span - size, 0),
    total // 2 before and the odd extra after; 'causal' (Conv1D): out = ceil(size / stride),
    span - 1 before. Raises ValueError when the window does not fit under 'valid'.
    """
    mode = _normalize_padding(padding, ("valid", "same", "causal"))
    span = (kernel_size - 1) * dilation + 1
    if size < 1 or kernel_size < 1 or stride < 1 or dilation < 1:
        raise ValueError("padding_amounts needs size, kernel_size, stride and dilation >= 1. "
                         f"Received: size={size}, kernel_size={kernel_size}, stride={stride}, dilation={dilation}")
    if mode == "valid":
        if size < span:
            raise ValueError(f"the window spans {span} cells, more than the input's {size} under padding='valid'. "
                             f"Received: size={size}, kernel_size={kernel_size}, dilation={dilation}")
        return Axis((size - span) // stride + 1, 0, 0)
    out = -(-size // stride)
    if mode == "causal":
        return Axis(out, span - 1, 0)
    total = max((out - 1) * stride + span - size, 0)
    return Axis(out, total // 2, total - total // 2)


def window(input_shape: Sequence[int], window_size: IntPair, strides: IntPair = 1, padding: str = "valid",
           dilation: IntPair = 1, *, what: str = "window", causal: bool = False, shown=None,
           size_name: str = "kernel_size"):
    """The ``pm_window2d`` geometry for an ``(N, H, W, C)`` input (a ``pm_window2d *``; pass ``g[0]``).

    Raises ValueError naming ``what``, the window and the input shape when the window
    does not fit under 'valid'; ``shown`` = (input shape, window size) to print instead
    (1-D callers show their own shapes).
    """
    n, h, w, c = (int(d) for d in input_shape)
    (kh, kw), (sh, sw), (dh, dw) = (_pair(window_size, size_name), _pair(strides, "strides"),
                                    _pair(dilation, "dilation_rate"))
    mode = _normalize_padding(padding, ("valid", "same", "causal") if causal else ("valid", "same"))
    try:
        rows = padding_amounts(h, kh, sh, mode, dh)
        cols = padding_amounts(w, kw, sw, mode, dw)
    except ValueError:
        shape, size = shown or (tuple(input_shape), (kh, kw))
        raise ValueError(
            f"{what} of size {size} with dilation {(dh, dw)[-len(size):]} does not fit in the input of shape "
            f"{shape} under padding={padding!r}. Received: input_shape={shape}, kernel_size={size}") from None
    return ffi.new("pm_window2d *", {
        "n": n, "h": h, "w": w, "c": c, "kh": kh, "kw": kw, "sh": sh, "sw": sw, "dh": dh, "dw": dw,
        "pad_top": rows.pad_before, "pad_left": cols.pad_before, "oh": rows.out, "ow": cols.out})


def _check_input(x: np.ndarray, kernel_: np.ndarray, rank: int, what: str) -> None:
    require(x, "x", shape=(None,) * rank)
    require(kernel_, "kernel", dtype=x.dtype, shape=(None,) * rank)
    if kernel_.shape[-2] != x.shape[-1]:
        raise ValueError(f"{what}: kernel of shape {kernel_.shape} expects {kernel_.shape[-2]} input channels, "
                         f"the input of shape {x.shape} has {x.shape[-1]}. Received: x.shape={x.shape}, "
                         f"kernel.shape={kernel_.shape}")
    if x.shape[1:-1] and min(x.shape[1:-1]) < 1:
        raise ValueError(f"{what}: input spatial sizes must be >= 1. Received: x.shape={x.shape}")


def conv_output_shape(input_shape: Sequence[int], kernel_shape: Sequence[int], strides: IntPair = 1,
                      padding: str = "valid", dilation: IntPair = 1) -> tuple:
    """Output shape of a convolution: ``(N, OH, OW, F)`` for a 2-D input, ``(N, OL, F)`` for 1-D."""
    if len(input_shape) == 3:
        g = _window1d(input_shape, kernel_shape, strides, padding, dilation, "conv_output_shape: kernel")
        return (g.n, g.ow, int(kernel_shape[-1]))
    g = window(input_shape, kernel_shape[:2], strides, padding, dilation, what="conv kernel")
    return (g.n, g.oh, g.ow, int(kernel_shape[-1]))


def _window1d(input_shape, kernel_shape, strides, padding, dilation, what):
    n, length, c = input_shape
    k = one_int(kernel_shape[0], "kernel_size")
    return window((n, 1, length, c), (1, k), (1, one_int(strides, "strides")), padding,
                  (1, one_int(dilation, "dilation_rate")), what=what, causal=True,
                  shown=(tuple(input_shape), (k,)))


def one_int(value, name: str) -> int:
    """A 1-D size given as an int or a 1-tuple (Keras accepts both)."""
    if not isinstance(value, (int, np.integer)):
        seq = tuple(value)
        if len(seq) != 1:
            raise ValueError(f"`{name}` must be an int or a 1-tuple. Received: {name}={value!r}")
        value = seq[0]
    return value


def _size(g, cout: int, dtype) -> int:
    nbytes = c_kernel("conv2d_workspace_size", dtype)(g[0], cout)
    if nbytes < 0:
        raise ValueError(f"convolution sizes out of range. Received: input=({g.n}, {g.h}, {g.w}, {g.c}), "
                         f"output=({g.oh}, {g.ow}, {cout})")
    return nbytes


def workspace(input_shape: Sequence[int], kernel_shape: Sequence[int], strides: IntPair = 1,
              padding: str = "valid", dilation: IntPair = 1, dtype=np.float32) -> np.ndarray:
    """A uint8 buffer big enough for the forward and backward pass of this convolution (1-D or 2-D)."""
    if len(input_shape) == 3:
        g = _window1d(input_shape, kernel_shape, strides, padding, dilation, "workspace: kernel")
    else:
        g = window(input_shape, kernel_shape[:2], strides, padding, dilation, what="conv kernel")
    return np.empty(_size(g, int(kernel_shape[-1]), dtype), dtype=np.uint8)


def _work(work: Optional[np.ndarray], nbytes: int, *others) -> np.ndarray:
    """The caller's workspace checked (uint8, contiguous, writable, big enough, private), or a new one."""
    if work is None:
        return np.empty(nbytes, dtype=np.uint8)
    if not isinstance(work, np.ndarray) or work.dtype != np.uint8:
        raise TypeError(f"work must be a uint8 numpy.ndarray from workspace(). Received: {type(work).__name__} "
                        f"of dtype {getattr(work, 'dtype', None)}")
    if not work.flags.c_contiguous or not work.flags.writeable:
        raise ValueError("work must be C-contiguous and writable")
    if work.nbytes < nbytes:
        raise ValueError(f"work holds {work.nbytes} bytes, this convolution needs {nbytes}. "
                         f"Received: work.nbytes={work.nbytes}")
    check_no_overlap(work, "work", *others)
    return work


def _out(arr: Optional[np.ndarray], name: str, shape: tuple, dtype, *inputs) -> np.ndarray:
    """An output buffer: allocated, or the caller's one checked (dtype, shape, writable, no overlap)."""
    if arr is None:
        return np.empty(shape, dtype=dtype)
    require(arr, name, dtype=dtype, shape=shape, writable=True)
    check_no_overlap(arr, name, *inputs)
    return arr


def _forward(g, x4, k4, bias, out4, work, name):
    cout = k4.shape[-1]
    if bias is not None:
        require(bias, "bias", dtype=x4.dtype, shape=(cout,))
    inputs = ((x4, "x"), (k4, "kernel"), (bias, "bias"))
    out4 = _out(out4, "out", (g.n, g.oh, g.ow, cout), x4.dtype, *inputs)
    work = _work(work, _size(g, cout, x4.dtype), *inputs, (out4, "out"))
    check(c_kernel("conv2d_fwd", x4.dtype)(g[0], cout, ptr(x4), ptr(k4), nullable_ptr(bias), out_ptr(out4),
                                         ffi.from_buffer(work), work.nbytes), name)
    return out4


def _backward(g, x4, k4, dy4, dx4, dk4, db, need_dx, need_dbias, work, name):
    cout = k4.shape[-1]
    require(dy4, "dy", dtype=x4.dtype, shape=(g.n, g.oh, g.ow, cout))
    inputs = [(x4, "x"), (k4, "kernel"), (dy4, "dy")]
    dk4 = _out(dk4, "dkernel", k4.shape, x4.dtype, *inputs)
    inputs.append((dk4, "dkernel"))
    if need_dbias:
        db = _out(db, "dbias", (cout,), x4.dtype, *inputs)
        inputs.append((db, "dbias"))
    else:
        db = None
    if need_dx:
        dx4 = _out(dx4, "dx", x4.shape, x4.dtype, *inputs)
        inputs.append((dx4, "dx"))
    else:
        dx4 = None
    work = _work(work, _size(g, cout, x4.dtype), *inputs)
    check(c_kernel("conv2d_bwd", x4.dtype)(g[0], cout, ptr(x4), ptr(k4), ptr(dy4), nullable_ptr(dx4, True),
                                         out_ptr(dk4), nullable_ptr(db, True), ffi.from_buffer(work),
                                         work.nbytes), name)
    return dx4, dk4, db


def conv2d_forward(x: np.ndarray, kernel: np.ndarray, bias: Optional[np.ndarray] = None, strides: IntPair = 1,
                   padding: str = "valid", dilation: IntPair = 1, out: Optional[np.ndarray] = None,
                   work: Optional[np.ndarray] = None) -> np.ndarray:
    """Keras Conv2D forward: ``out = conv(x, kernel) + bias``, x ``(N, H, W, C)``, kernel ``(KH, KW, C, F)``."""
    _check_input(x, kernel, 4, "conv2d_forward")
    g = window(x.shape, kernel.shape[:2], strides, padding, dilation, what="conv2d_forward: kernel")
    return _forward(g, x, kernel, bias, out, work, "conv2d_forward")


def conv2d_backward(x: np.ndarray, kernel: np.ndarray, dy: np.ndarray, strides: IntPair = 1,
                    padding: str = "valid", dilation: IntPair = 1, dx: Optional[np.ndarray] = None,
                    dkernel: Optional[np.ndarray] = None, dbias: Optional[np.ndarray] = None, *,
                    need_dx: bool = True, need_dbias: bool = True,
                    work: Optional[np.ndarray] = None) -> tuple:
    """Gradients of conv2d_forward for upstream ``dy``: ``(dx | None, dkernel, dbias | None)``, all written."""
    _check_input(x, kernel, 4, "conv2d_backward")
    g = window(x.shape, kernel.shape[:2], strides, padding, dilation, what="conv2d_backward: kernel")
    return _backward(g, x, kernel, dy, dx, dkernel, dbias, need_dx, need_dbias, work, "conv2d_backward")


def conv1d_forward(x: np.ndarray, kernel: np.ndarray, bias: Optional[np.ndarray] = None, strides: IntPair = 1,
                   padding: str = "valid", dilation: IntPair = 1, out: Optional[np.ndarray] = None,
                   work: Optional[np.ndarray] = None) -> np.ndarray:
    """Keras Conv1D forward (padding 'valid', 'same' or 'causal'): x ``(N, L, C)``, kernel ``(K, C, F)``."""
    _check_input(x, kernel, 3, "conv1d_forward")
    g = _window1d(x.shape, kernel.shape, strides, padding, dilation, "conv1d_forward: kernel")
    out = _out(out, "out", (g.n, g.ow, kernel.shape[-1]), x.dtype, (x, "x"), (kernel, "kernel"), (bias, "bias"))
    _forward(g, x[:, None], kernel[None], bias, out[:, None], work, "conv1d_forward")
    return out


def conv1d_backward(x: np.ndarray, kernel: np.ndarray, dy: np.ndarray, strides: IntPair = 1,
                    padding: str = "valid", dilation: IntPair = 1, dx: Optional[np.ndarray] = None,
                    dkernel: Optional[np.ndarray] = None, dbias: Optional[np.ndarray] = None, *,
                    need_dx: bool = True, need_dbias: bool = True,
                    work: Optional[np.ndarray] = None) -> tuple:
    """Gradients of conv1d_forward: ``(dx | None, dkernel, dbias | None)``, all written."""
    _check_input(x, kernel, 3, "conv1d_backward")
    g = _window1d(x.shape, kernel.shape, strides, padding, dilation, "conv1d_backward: kernel")
    require(dy, "dy", dtype=x.dtype, shape=(g.n, g.ow, kernel.shape[-1]))
    dkernel = _out(dkernel, "dkernel", kernel.shape, x.dtype, (x, "x"), (kernel, "kernel"), (dy, "dy"))
    dx = _out(dx, "dx", x.shape, x.dtype, (x, "x"), (kernel, "kernel"), (dy, "dy")) if need_dx else None
    _, _, dbias = _backward(g, x[:, None], kernel[None], dy[:, None], None if dx is None else dx[:, None],
                            dkernel[None], dbias, need_dx, need_dbias, work, "conv1d_backward")
    return dx, dkernel, dbias
