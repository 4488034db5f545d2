"""GEMM binding: c = alpha * op(a) @ op(b) + beta * c, plus thread count and kernel variant.

Both start from the environment, read once at import: the thread count from
PYMODEL_NUM_THREADS, else OMP_NUM_THREADS, else all available cores; the
micro-kernel from PYMODEL_GEMM_VARIANT ('auto', 'portable', 'avx2' or 'avx512'),
else the best this CPU runs.
"""
from __future__ import annotations

import functools
import operator
import os
import threading
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

#: dtype -> (C function, cffi pointer type), looked up once per call. The
#: _disjoint entries also refuse overlapping operands (cheaper in C).
_GEMM = {np.dtype(np.float32): (lib.pm_gemm_disjoint_f32, ffi.typeof("float *")),
         np.dtype(np.float64): (lib.pm_gemm_disjoint_f64, ffi.typeof("double *"))}

VARIANTS = {
    "auto": lib.PM_GEMM_AUTO,
    "portable": lib.PM_GEMM_PORTABLE,
    "avx2": lib.PM_GEMM_AVX2,
    "avx512": lib.PM_GEMM_AVX512,
}
_OK = lib.PM_OK
_ENOMEM = lib.PM_ENOMEM
_EINVAL = lib.PM_EINVAL
_ND = np.ndarray
_U8 = np.dtype(np.uint8)


class _PerThread(threading.local):
    """Per Python thread: (buffer, pointer, bytes) of the workspace gemm reuses when given none,
    and (array, pointer) of the last workspace a caller passed; class defaults until set."""

    work = (None, ffi.NULL, 0)
    user_work = (None, ffi.NULL)


_local = _PerThread()
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
    :func:`workspace`; without it each thread reuses a private one.

    Replaced at import by the C core's builtin of the same signature (see the
    end of this module), which runs the common call and hands every other
    one, and every call C refuses, to this function's checks.
    """
    # Small products cost about as much to check as to compute, so the common
    # case (2-D C-contiguous arrays of one float dtype) is recognised with a
    # few identity tests, and what C or cffi re-checks anyway (workspace size,
    # overlap; C-contiguity, which from_buffer demands) is left to them;
    # anything else takes the full checks, which raise the errors.
    entry = _GEMM.get(a.dtype) if type(a) is _ND and type(b) is _ND and b.dtype is a.dtype else None
    if entry is None or a.ndim != 2 or b.ndim != 2:
        entry = _checked_entry(a, b)
    fn, ctype = entry
    try:
        pa = ffi.from_buffer(ctype, a)
        pb = ffi.from_buffer(ctype, b)
    except ValueError:  # not C-contiguous
        _checked_entry(a, b)
        raise
    ra, ca = a.shape
    rb, cb = b.shape
    m, k = (ca, ra) if trans_a else (ra, ca)
    kb, n = (cb, rb) if trans_b else (rb, cb)
    if k != kb:
        raise ValueError(
            f"gemm: op(a) is {m}x{k} but op(b) is {kb}x{n}; inner dimensions must match. "
            f"Received: a.shape={a.shape}, b.shape={b.shape}, trans_a={trans_a}, trans_b={trans_b}")
    if c is None:
        if beta != 0:
            raise ValueError(f"gemm: beta != 0 needs an input c. Received: beta={beta}, c=None")
        c = np.empty((m, n), dtype=a.dtype)
    elif not (type(c) is _ND and c.dtype is a.dtype and c.shape == (m, n) and c.flags.writeable):
        require(c, "c", dtype=a.dtype, shape=(m, n), writable=True)
    if work is None:
        # This thread's buffer (the call releases the GIL, so threads must
        # not share one); grown below when a product needs more.
        _buf, pw, nw = _local.work
    else:
        # The caller's workspace, meant to be reused: its pointer is kept
        # with a reference to it (which also stops an in-place resize).
        if not (type(work) is _ND and work.dtype is _U8 and _writable_c_contiguous(work)):
            _require_work(work, 0)
        last, pw = _local.user_work
        if work is not last:
            pw = ffi.from_buffer(work)  # writable: checked above
            _local.user_work = (work, pw)
        nw = work.nbytes
    try:
        pc = ffi.from_buffer(ctype, c)
    except ValueError:  # not C-contiguous
        require(c, "c", dtype=a.dtype, shape=(m, n), writable=True)
        raise
    ta, tb = (1 if trans_a else 0), (1 if trans_b else 0)
    status = fn(ta, tb, m, n, k, alpha, pa, ca or 1, pb, cb or 1, beta, pc, n or 1, pw, nw)
    if status != _OK:
        _on_error(status, fn, (ta, tb, m, n, k, alpha, pa, ca or 1, pb, cb or 1, beta, pc, n or 1), a, b, c, work)
    return c


def _checked_entry(a, b) -> tuple:
    """The (function, pointer type) for a and b after the full checks, which raise the errors."""
    require(a, "a")
    require(b, "b", dtype=a.dtype)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"gemm takes 2-D arrays. Received: a.shape={a.shape}, b.shape={b.shape}")
    return _GEMM[a.dtype]


def _on_error(status: int, fn, args: tuple, a, b, c, work) -> None:
    """Handle a failed call: grow this thread's workspace and call again, or raise.

    Everything else having been checked, PM_ENOMEM means a small workspace
    and PM_EINVAL shared memory (C-contiguous spans meet), where
    np.shares_memory tells which arrays overlap.
    """
    m, n, k = args[2:5]
    need = _workspace_bytes(m, n, k, a.dtype)
    if status == _ENOMEM and work is None:
        buf = np.empty(need, dtype=np.uint8)
        _local.work = (buf, ffi.from_buffer(buf), need)
        status = fn(*args, _local.work[1], need)
    elif status == _ENOMEM:
        _require_work(work, need)
    elif status == _EINVAL:
        check_no_overlap(c, "c", (a, "a"), (b, "b"))
        if work is not None:
            check_no_overlap(work, "work", (a, "a"), (b, "b"), (c, "c"))
    check(status, "gemm")


def _writable_c_contiguous(arr: np.ndarray) -> bool:
    flags = arr.flags
    return flags.c_contiguous and flags.writeable


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
        except ValueError as err:
            why = err if value.lstrip("+-").isdigit() else "not an integer"
            warnings.warn(f"ignoring {var}={os.environ[var]!r}: {why}", RuntimeWarning, stacklevel=2)
        return


def _variant_from_env() -> None:
    name = os.environ.get("PYMODEL_GEMM_VARIANT", "").strip().lower()
    if name:
        try:
            set_variant(name)
        except ValueError as err:
            warnings.warn(f"ignoring PYMODEL_GEMM_VARIANT={os.environ['PYMODEL_GEMM_VARIANT']!r}: {err}",
                          RuntimeWarning, stacklevel=2)


_threads_from_env()
_variant_from_env()

# The C core's builtin takes gemm's place where the build has it (see gemm's docstring).
_gemm_checked = gemm
if lib.pm_py_bind_gemm(__name__.encode(), b"gemm") not in (_OK, lib.PM_EUNSUPPORTED):
    raise ImportError("pymodel: could not bind the C gemm entry")
