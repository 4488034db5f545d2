"""The one door to the C core: every use of cffi's ``ffi``/``lib`` goes through this package.

Each submodule binds one concern (gemm, activations, dense, dropout, losses,
optimizers) in four steps, as pynacl does: validate in Python, allocate the
output, call, check the status. Nothing that reaches C here can make it read
or write outside its buffers: dtypes, shapes, contiguity, writability and
aliasing are checked first.
"""
from __future__ import annotations

import numpy as np

from pymodel._C import ffi, lib

__all__ = [
    "ffi", "lib", "KernelError", "NonFiniteError", "SUFFIX", "CTYPE", "suffix", "check",
    "kernel", "require", "ptr", "out_ptr", "nullable_ptr", "check_no_overlap",
]

#: NumPy dtype -> kernel-name suffix and cffi pointer type.
SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
CTYPE = {np.dtype(np.float32): "float *", np.dtype(np.float64): "double *"}


class KernelError(ValueError):
    """A C kernel refused its arguments (the status text says why)."""


class NonFiniteError(KernelError):
    """A C kernel found NaN or infinity in an input that must be finite."""


def suffix(dtype) -> str:
    """Kernel-name suffix for ``dtype``; TypeError for anything but float32/float64."""
    try:
        return SUFFIX[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"pymodel kernels take float32 or float64 arrays. Received: dtype={dtype}"
        ) from None


def kernel(name: str, dtype):
    """The C function ``pm_<name>_<f32|f64>`` for ``dtype``."""
    return getattr(lib, f"pm_{name}_{suffix(dtype)}")


def check(status: int, what: str) -> None:
    """Raise for a non-zero pm_status, naming the kernel."""
    if status == lib.PM_OK:
        return
    text = ffi.string(lib.pm_strerror(status)).decode()
    if status == lib.PM_ENOMEM:
        raise MemoryError(f"{what}: {text}")
    if status == lib.PM_ENONFINITE:
        raise NonFiniteError(f"{what}: {text}")
    raise KernelError(f"{what}: {text} (status {status})")


def require(arr, name: str, dtype=None, shape=None, writable: bool = False) -> np.ndarray:
    """Check that ``arr`` is a C-contiguous ndarray of ``dtype`` and ``shape``.

    ``shape`` entries of None match any size. Returns ``arr`` unchanged: the
    kernels never receive hidden copies, so outputs are really written.
    """
    # Every binding calls this for every operand, so the passing case is
    # decided by identity and tuple equality first (about 4x cheaper).
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray. Received: {type(arr).__name__}")
    have = arr.dtype
    if dtype is not None and have is not dtype and have != np.dtype(dtype):
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}. Received: dtype={have}")
    if have not in SUFFIX:
        suffix(have)
    if shape is not None and arr.shape != shape and not _shape_matches(arr.shape, shape):
        want = ", ".join("?" if s is None else str(s) for s in shape)
        want = f"({want},)" if len(shape) == 1 else f"({want})"
        raise ValueError(f"{name} must have shape {want}. Received: shape={arr.shape}")
    flags = arr.flags
    if not flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if writable and not flags.writeable:
        raise ValueError(f"{name} must be writable")
    return arr


def _shape_matches(have: tuple, want) -> bool:
    """True when ``have`` has ``want``'s length and sizes, None in ``want`` matching any size."""
    return len(have) == len(want) and all(s is None or s == d for s, d in zip(want, have))


def ptr(arr: np.ndarray):
    """Read-only cffi pointer to ``arr``'s data (dtype already checked)."""
    return ffi.from_buffer(CTYPE[arr.dtype], arr)


def out_ptr(arr: np.ndarray):
    """Writable cffi pointer to ``arr``'s data."""
    return ffi.from_buffer(CTYPE[arr.dtype], arr, require_writable=True)


def nullable_ptr(arr, writable: bool = False):
    """Pointer to ``arr``, or NULL for None."""
    if arr is None:
        return ffi.NULL
    return out_ptr(arr) if writable else ptr(arr)


def check_no_overlap(out: np.ndarray, out_name: str, *inputs) -> None:
    """Refuse an output that shares memory with any input (``(array, name)`` pairs)."""
    for arr, name in inputs:
        if arr is not None and np.shares_memory(out, arr):
            raise ValueError(f"{out_name} must not overlap {name}")
