"""GEMM binding: c = alpha * op(a) @ op(b) + beta * c, plus thread count and kernel variant.

The thread count starts from the environment, read once at import:
PYMODEL_NUM_THREADS, else OMP_NUM_THREADS, else all available cores.
"""
from __future__ import annotations

import functools
import operator
import os
import warnings

import numpy as np

from pymodel._native import (
    check,
    check_no_overlap,
    ffi,
    kernel,
    lib,
    require,
)

__all__ = ["gemm", "get_num_threads", "get_variant", "set_num_threads", "set_variant", "workspace", "workspace_bytes"]

#: dtype -> (C function, cffi pointer type), looked up once per call.
_GEMM = {np.dtype(np.float32): (lib.pm_gemm_f32, ffi.typeof("float *")),
         np.dtype(np.float64): (lib.pm_gemm_f64, ffi.typeof("double *"))}

VARIANTS = {
    "auto": lib.PM_GEMM_AUTO,
    "portable": lib.PM_GEMM_PORTABLE,
    "avx2": lib.PM_GEMM_AVX2,
    "avx512": lib.PM_GEMM_AVX512,
}
_OK = lib.PM_OK
_U8 = np.dtype(np.uint8)
_VARIANT_NAMES = {v: k for k, v in VARIANTS.items()}


@functools.lru_cache(maxsize=1024)
def _workspace_bytes(m: int, n: int, k: int, dtype: np.dtype) -> int:
    return int(kernel("gemm_workspace_size", dtype)(m, n, k))


def workspace_bytes(m: int, n: int, k: int, dtype) -> int:
    """Bytes of scratch space pm_gemm needs for an (m, k) @ (k, n) product."""
    m, n, k = operator.index(m), operator.index(n), operator.index(k)  # TypeError for floats
    if not all(0 <= v < 2**63 for v in (m, n, k)):
        raise ValueError(f"gemm sizes must be in [0, 2**63). Received: m={m}, n={n}, k={k}")
    return _workspace_bytes(m, n, k, np.dtype(dtype))


def workspace(m: int, n: int, k: int, dtype) -> np.ndarray:
    """A uint8 buffer big enough for gemm on (m, k) @ (k, n) in ``dtype``; reuse it across calls."""
    return np.empty(workspace_bytes(m, n, k, dtype), dtype=np.uint8)


def gemm(a: np.ndarray, b: np.ndarray, *, trans_a: bool = False, trans_b: bool = False,
         alpha: float = 1.0, beta: float = 0.0, c: np.ndarray | None = None,
         work: np.ndarray | None = None) -> np.ndarray:
    """Return c = alpha * op(a) @ op(b) + beta * c, op(x) = x.T when trans_x.

    ``c`` (written in place when given) must not overlap ``a`` or ``b``; with
    beta == 0 its old contents are never read. ``work`` is a buffer from
    :func:`workspace` (allocated per call when omitted).
    """
    # Small products cost about as much to check as to compute, so the common
    # case (plain C-contiguous float arrays) is recognised with one combined
    # test; anything else takes the full checks, which raise the errors.
    fn = _GEMM.get(a.dtype) if type(a) is np.ndarray else None
    if not (fn is not None and type(b) is np.ndarray and b.dtype == a.dtype
            and a.ndim == 2 and b.ndim == 2 and a.flags.c_contiguous and b.flags.c_contiguous):
        require(a, "a")
        require(b, "b", dtype=a.dtype)
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(f"gemm takes 2-D arrays. Received: a.shape={a.shape}, b.shape={b.shape}")
        fn = _GEMM[a.dtype]
    fn, ctype = fn
    m, k = a.shape[::-1] if trans_a else a.shape
    kb, n = b.shape[::-1] if trans_b else b.shape
    if k != kb:
        raise ValueError(
            f"gemm: op(a) is {m}x{k} but op(b) is {kb}x{n}; inner dimensions must match. "
            f"Received: a.shape={a.shape}, b.shape={b.shape}, trans_a={trans_a}, trans_b={trans_b}")
    pa, pb = ffi.from_buffer(ctype, a), ffi.from_buffer(ctype, b)
    # Overlap: C-contiguous arrays fill [p, p + size), so disjoint spans prove
    # that no memory is shared; np.shares_memory decides the rest.
    a_end, b_end = pa + a.size, pb + b.size
    if c is None:
        if beta != 0:
            raise ValueError(f"gemm: beta != 0 needs an input c. Received: beta={beta}, c=None")
        c = np.empty((m, n), dtype=a.dtype)
        pc = ffi.from_buffer(ctype, c)
    else:
        if not (type(c) is np.ndarray and c.dtype == a.dtype and c.shape == (m, n)
                and c.flags.c_contiguous and c.flags.writeable):
            require(c, "c", dtype=a.dtype, shape=(m, n), writable=True)
        pc = ffi.from_buffer(ctype, c, require_writable=True)
        c_end = pc + c.size
        if (pc < a_end and pa < c_end) or (pc < b_end and pb < c_end):
            check_no_overlap(c, "c", (a, "a"), (b, "b"))
    need = _workspace_bytes(m, n, k, a.dtype)
    if work is None:
        work = np.empty(need, dtype=np.uint8) if need else None
        pw, nw = (ffi.NULL, 0) if work is None else (ffi.from_buffer(work), need)
    else:
        if not (type(work) is np.ndarray and work.dtype == _U8 and work.nbytes >= need
                and work.flags.c_contiguous and work.flags.writeable):
            _require_work(work, need)
        pw = ffi.from_buffer(work)  # writable: checked above
        nw = work.nbytes
        w_end = pw + nw
        if ((pw < a_end and pa < w_end) or (pw < b_end and pb < w_end)
                or (pw < pc + c.size and pc < w_end)):
            check_no_overlap(work, "work", (a, "a"), (b, "b"), (c, "c"))
    status = fn(1 if trans_a else 0, 1 if trans_b else 0, m, n, k,
                alpha, pa, a.shape[1] or 1, pb, b.shape[1] or 1,
                beta, pc, n or 1, pw, nw)
    if status != _OK:
        check(status, "gemm")
    return c


def _require_work(work, need: int) -> None:
    """Check that ``work`` is a writable, C-contiguous uint8 buffer of at least ``need`` bytes."""
    if not isinstance(work, np.ndarray) or work.dtype != np.uint8:
        raise TypeError(f"work must be a uint8 numpy.ndarray from workspace(). Received: {type(work).__name__}"
                        + (f" of dtype {work.dtype}" if isinstance(work, np.ndarray) else ""))
    if not work.flags.c_contiguous or not work.flags.writeable:
        raise ValueError("work must be C-contiguous and writable")
    if work.nbytes < need:
        raise ValueError(f"work is too small: this product needs {need} bytes. Received: work.nbytes={work.nbytes}")


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the parallel kernels (n <= 0: all available cores). Results do not depend on it."""
    n = operator.index(n)
    if not -2**31 <= n < 2**31:
        raise ValueError(f"set_num_threads takes a 32-bit thread count. Received: n={n}")
    check(lib.pm_set_num_threads(n), "set_num_threads")


def get_num_threads() -> int:
    """Threads the parallel kernels use.

    1 when built without OpenMP, and in a forked child process (GNU OpenMP's
    thread pool does not survive fork; a child that used it would hang).
    """
    return int(lib.pm_get_num_threads())


def set_variant(name: str) -> None:
    """Force a GEMM micro-kernel: 'auto' (best for this CPU), 'portable', 'avx2' or 'avx512'."""
    if name not in VARIANTS:
        raise ValueError(f"GEMM variant must be one of {sorted(VARIANTS)}. Received: name={name!r}")
    status = lib.pm_gemm_set_variant(VARIANTS[name])
    if status == lib.PM_EUNSUPPORTED:
        raise ValueError(f"GEMM variant {name!r} is not supported by this CPU or build. Received: name={name!r}")
    check(status, "set_variant")


def get_variant() -> str:
    """The GEMM micro-kernel in use ('portable', 'avx2' or 'avx512')."""
    return _VARIANT_NAMES[lib.pm_gemm_get_variant()]


def _threads_from_env() -> None:
    for var in ("PYMODEL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0].strip()
        if not value:
            continue
        try:
            set_num_threads(int(value))
        except ValueError:
            warnings.warn(f"ignoring {var}={os.environ[var]!r}: not an integer", RuntimeWarning, stacklevel=2)
        return


_threads_from_env()
