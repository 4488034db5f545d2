"""Bindings for the dense layer kernels: y = act(x @ w + b) and its backward pass.

Callers with rank > 2 inputs reshape them to (rows, features) views first.
Pass preallocated ``z``/``y``/gradient buffers and a :func:`workspace` to
run a training step without allocating.
"""
from __future__ import annotations

import numpy as np

from pymodel._native import check, check_no_overlap, ffi, kernel, lib, nullable_ptr, out_ptr, ptr, require
from pymodel._native.activations import same_buffer, struct
from pymodel._native.gemm import _require_work, workspace_bytes as gemm_workspace_bytes

__all__ = ["forward", "backward", "workspace", "workspace_bytes"]


def workspace_bytes(m: int, k: int, n: int, dtype) -> int:
    """Bytes of scratch space for forward and backward of an (m, k) @ (k, n) layer."""
    return max(gemm_workspace_bytes(m, n, k, dtype),   # z = x w
               gemm_workspace_bytes(k, n, m, dtype),   # dw = x^T dz
               gemm_workspace_bytes(m, k, n, dtype))   # dx = dz w^T


def workspace(m: int, k: int, n: int, dtype) -> np.ndarray:
    """A uint8 buffer big enough for :func:`forward` and :func:`backward` at these sizes."""
    return np.empty(workspace_bytes(m, k, n, dtype), dtype=np.uint8)


def _work(work, need: int, arrays) -> np.ndarray:
    if work is None:
        return np.empty(need, dtype=np.uint8)
    _require_work(work, need)
    check_no_overlap(work, "work", *arrays)
    return work


def _output(arr, name: str, dtype, shape, inputs, alias=None) -> np.ndarray:
    """Check (or allocate) an output; it may be exactly ``alias`` (an (array, name) pair) and nothing else."""
    if arr is None:
        return np.empty(shape, dtype=dtype)
    require(arr, name, dtype=dtype, shape=shape, writable=True)
    others = [(a, n) for a, n in inputs if not (alias is not None and a is alias[0] and same_buffer(arr, a))]
    check_no_overlap(arr, name, *others)
    return arr


def _shapes(x, w):
    require(x, "x", shape=(None, None))
    require(w, "w", dtype=x.dtype, shape=(x.shape[1], None))
    return x.shape[0], x.shape[1], w.shape[1]


def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, desc,
            z: np.ndarray | None = None, y: np.ndarray | None = None,
            work: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """z = x @ w + b and y = act(z) for x (m, k), w (k, n), b (n,) or None.

    ``y`` may be ``z`` itself (in-place activation, for inference).

    Returns:
        ``(z, y)``.
    """
    act = struct(desc)
    m, k, n = _shapes(x, w)
    if b is not None:
        require(b, "b", dtype=x.dtype, shape=(n,))
    inputs = [(x, "x"), (w, "w"), (b, "b")]
    z = _output(z, "z", x.dtype, (m, n), inputs)
    y = _output(y, "y", x.dtype, (m, n), inputs + [(z, "z")], alias=(z, "z"))
    work = _work(work, gemm_workspace_bytes(m, n, k, x.dtype), inputs + [(z, "z"), (y, "y")])
    status = kernel("dense_fwd", x.dtype)(
        m, k, n, ptr(x), ptr(w), nullable_ptr(b), act, out_ptr(z), out_ptr(y),
        ffi.from_buffer(work, require_writable=True), work.nbytes)
    check(status, "dense forward")
    return z, y


def backward(x: np.ndarray, w: np.ndarray, desc, z: np.ndarray, y: np.ndarray, dy: np.ndarray,
             dz: np.ndarray | None = None, dx: np.ndarray | None = None,
             dw: np.ndarray | None = None, db: np.ndarray | None = None, *,
             need_dx: bool = True, need_db: bool = True,
             work: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of a dense layer from dy = dL/dy.

    dz = dy * act'(z) (``dz`` may be ``dy``; with a linear activation and no
    ``dz`` given, dy itself is used), dw = x^T dz, db = column sums of dz,
    dx = dz w^T. ``need_dx=False`` skips dx (a first layer), ``need_db=False``
    skips db (no bias).

    Returns:
        ``(dx or None, dw, db or None)``.
    """
    act = struct(desc)
    m, k, n = _shapes(x, w)
    for arr, name in ((z, "z"), (y, "y"), (dy, "dy")):
        require(arr, name, dtype=x.dtype, shape=(m, n))
    for arr, flag, name in ((dx, need_dx, "dx"), (db, need_db, "db")):
        if arr is not None and not flag:
            raise ValueError(f"{name} was given but need_{name}=False. Received: need_{name}={flag}")
    inputs = [(x, "x"), (w, "w"), (z, "z"), (y, "y"), (dy, "dy")]
    if dz is None and act.kind == lib.PM_ACT_LINEAR and dy.flags.writeable:
        dz = dy   # the kernel then computes nothing: dz is dy
    dz = _output(dz, "dz", x.dtype, (m, n), inputs, alias=(dy, "dy"))
    written = [(dz, "dz")] if dz is not dy else []
    dw = _output(dw, "dw", x.dtype, (k, n), inputs + written)
    written.append((dw, "dw"))
    if need_dx:
        dx = _output(dx, "dx", x.dtype, (m, k), inputs + written)
        written.append((dx, "dx"))
    if need_db:
        db = _output(db, "db", x.dtype, (n,), inputs + written)
        written.append((db, "db"))
    need = max(gemm_workspace_bytes(k, n, m, x.dtype),
               gemm_workspace_bytes(m, k, n, x.dtype) if need_dx else 0)
    work = _work(work, need, inputs + written)
    status = kernel("dense_bwd", x.dtype)(
        m, k, n, ptr(x), ptr(w), act, ptr(z), ptr(y), ptr(dy), out_ptr(dz),
        nullable_ptr(dx, writable=True), out_ptr(dw), nullable_ptr(db, writable=True),
        ffi.from_buffer(work, require_writable=True), work.nbytes)
    check(status, "dense backward")
    return dx, dw, db
