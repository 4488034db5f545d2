"""Checks of user-supplied arrays and arguments, shared by fit/evaluate/predict and the batch methods.

Everything a user passes is checked here, in Python, before any of it reaches
the C kernels: the kernels then only ever see C-contiguous, finite arrays of
the model dtype (writable copies, or a memory-mapped input read in place or
through its file, see ``pymodel.streaming``). Messages name the argument and end Keras-style
(``... Received: batch_size=0``); where tf-keras has its own message, that one
is used (KERAS2.md sections 2 and 4).
"""
from __future__ import annotations

import difflib
import math
import numbers
import os
import resource
from typing import Iterable

import numpy as np

from pymodel.errors import ResourceLimitError


def did_you_mean(word, choices: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest of ``choices`` (case-insensitive), else ``""``."""
    match = closest(word, choices)
    return f" Did you mean '{match}'?" if match else ""


def closest(word, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice ``word`` most likely misspells (case-insensitive), or None if none is close.

    difflib finds the candidates; among them the fewest edits wins (difflib's
    shared-block ranking would take 'adma' for 'Adamax' rather than 'Adam'),
    difflib's order breaking ties.
    """
    if not isinstance(word, str):
        return None
    lowered: dict[str, str] = {}
    for choice in choices:
        if isinstance(choice, str):
            lowered.setdefault(choice.lower(), choice)
    word = word.lower()
    close = difflib.get_close_matches(word, list(lowered), n=5, cutoff=cutoff)
    return lowered[min(close, key=lambda choice: _edits(word, choice))] if close else None


def _edits(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours turning ``a`` into ``b``."""
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


# ---------------------------------------------------------------- arrays
def numeric_array(name: str, value) -> np.ndarray:
    """``value`` as an array of real numbers (no copy of an array): ragged lists, objects,
    strings, complex numbers and the like are refused with the argument's name."""
    if value is None:
        raise ValueError(f"Unexpected value for `{name}`: None. Expected a NumPy array.")
    try:
        array = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"`{name}` is not a rectangular array of numbers ({exc}). "
                         f"Received: {name}={value!r:.80}") from None
    kind = array.dtype.kind
    if kind not in "biuf":
        what = {"c": "complex numbers", "U": "strings", "S": "bytes", "O": "Python objects",
                "M": "dates", "m": "time deltas", "V": "records"}.get(kind, "non-numbers")
        raise TypeError(f"`{name}` holds {what}: pymodel trains on real numbers only (float, int "
                        f"or bool). Received: {name}.dtype={array.dtype}")
    return array


def as_array(name: str, value, dtype, finite: bool = True) -> np.ndarray:
    """``value`` (array, list/tuple of numbers, scalar) as a C-contiguous copy-if-needed of ``dtype``.

    Non-contiguous, Fortran-order, read-only, integer and boolean inputs are
    copied or cast (as Keras does); object, string and complex arrays and
    ragged lists are refused, as are NaN and infinity unless ``finite=False``.
    """
    array = numeric_array(name, value)
    source = array.dtype
    with np.errstate(over="ignore"):
        array = np.ascontiguousarray(array, dtype=dtype)
    if finite:
        check_finite(name, array, source)
    return array if array.flags.writeable else array.copy()


def check_finite(name: str, array: np.ndarray, source=None, first: int = 0) -> None:
    """Raise if ``array`` holds NaN or infinity, naming the first bad index (no copy when clean).

    ``first``: the index of ``array[0]`` in the argument (when checking a chunk of it).
    """
    if array.size == 0 or array.dtype.kind != "f":
        return
    if array.dtype in (np.float32, np.float64) and array.flags.c_contiguous:
        from pymodel._native.optimizers import finite
        clean = finite(array)  # one pass over memory, where a min and a max take two
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            clean = np.isfinite(array.min()) and np.isfinite(array.max())
    if clean:
        return
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    value = array[index]
    where = ", ".join(map(str, (index[0] + first,) + index[1:]))
    hint = ""
    if source is not None and np.dtype(source).itemsize > array.dtype.itemsize:
        hint = f" or within the range of {array.dtype.name} (it was given as {np.dtype(source).name})"
    raise ValueError(f"`{name}` contains {value} at index [{where}]: inputs must be finite "
                     f"(no NaN or infinity){hint}. Received: {name}[{where}]={value}")


def check_finite_rows(name: str, rows) -> None:
    """:func:`check_finite` over a :class:`pymodel.streaming.Rows`, one chunk in memory at a time."""
    for start, block in rows.chunks():
        check_finite(name, block.reshape(-1) if rows.flat else block, rows.source_dtype, first=start)


def check_not_empty(name: str, array: np.ndarray) -> None:
    """Refuse arrays without samples or with a zero-length feature axis."""
    if array.ndim == 0 or array.size == 0:
        raise ValueError(f"`{name}` is empty: it needs at least one sample with at least one "
                         f"value. Received: {name}.shape={array.shape}")


def check_samples(arrays: dict) -> None:
    """All named arrays have the same number of samples (tf-keras's message)."""
    sizes = {name: a.shape[0] for name, a in arrays.items() if a is not None}
    if len(set(sizes.values())) > 1:
        lines = "".join(f"  {name} sizes: {n}\n" for name, n in sizes.items())
        raise ValueError(f"Data cardinality is ambiguous:\n{lines}"
                         "Make sure all arrays contain the same number of samples.")


def check_targets(y: np.ndarray, out_shape: tuple, loss) -> None:
    """``y`` fits the model output ``(None, ...)`` for ``loss`` (labels in range, widths equal).

    Only built-in losses are checked: a user's loss function gets ``y`` as given
    and may broadcast it however it likes, as in Keras.
    """
    if not getattr(loss, "kind", ""):
        return
    classes = out_shape[-1]
    if getattr(loss, "sparse_targets", False):
        expected = out_shape[:-1]
        if y.shape[1:] not in (tuple(expected[1:]), tuple(expected[1:]) + (1,)):
            raise ValueError(f"Sparse labels `y` must have shape {_shape(expected)} or "
                             f"{_shape(tuple(expected) + (1,))} for the model output "
                             f"{_shape(out_shape)}. Received: y.shape={y.shape}")
        bad = (y < 0) | (y >= classes) | (y != np.floor(y))
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"Labels in `y` for {_loss_name(loss)} must be integers in "
                             f"[0, {classes}) (the model has {classes} outputs). Received: "
                             f"y[{', '.join(map(str, index))}]={y[index]:g}")
        return
    target, got = tuple(out_shape[1:]), tuple(y.shape[1:])
    if _strip_ones(got) == _strip_ones(target):
        return
    hint = ""
    if len(got) == len(target) and got[:-1] == target[:-1] and target:
        hint = (f" (`y` has {got[-1]} columns but the model has {target[-1]} outputs; one-hot "
                f"labels need one column per output)")
    raise ValueError(f"Target `y` does not match the model output{hint}: expected shape="
                     f"{_shape((None,) + target)}, found shape={_shape((None,) + got)}")


def _strip_ones(shape: tuple) -> tuple:
    while shape and shape[-1] == 1:
        shape = shape[:-1]
    return shape


def _loss_name(loss) -> str:
    return getattr(loss, "name", None) or type(loss).__name__


def _shape(shape) -> str:
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"


# ---------------------------------------------------------------- arguments
def positive_int(name: str, value, default: int | None = None) -> int:
    """``value`` as an int >= 1 (``None`` -> ``default``)."""
    if value is None and default is not None:
        return default
    number = _integer(name, value)
    if number < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")
    return number


def non_negative_int(name: str, value) -> int:
    number = _integer(name, value)
    if number < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={value}")
    return number


def _integer(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            return int(value)
        raise TypeError(f"`{name}` must be an integer. Received: {name}={value!r}")
    return int(value)


def validation_freq(value):
    """A positive int, or a collection of positive epoch numbers (Keras's two forms)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return positive_int("validation_freq", value)
    if isinstance(value, (list, tuple, set, range)) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        return value
    raise ValueError("`validation_freq` must be a positive integer or a list of epoch numbers. "
                     f"Received: validation_freq={value!r}")


def validation_split(value) -> float:
    """A float in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError("`validation_split` must be a float in [0, 1). "
                         f"Received: validation_split={value!r}")
    return float(value)


# ---------------------------------------------------------------- memory
def memory_limit() -> int:
    """Bytes this process may use: physical memory, or a lower address-space limit if set."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):  # pragma: no cover - non-POSIX
        total = 2 ** 63
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return min(total, soft) if soft not in (resource.RLIM_INFINITY, -1) else total


def check_memory(nbytes: int, what: str) -> None:
    """Refuse, before allocating, anything needing more than this machine's memory."""
    limit = memory_limit()
    if nbytes > limit:
        raise ResourceLimitError(f"{what} would need {nbytes:,} bytes ({_readable(nbytes)}), more "
                                 f"than this machine's memory ({_readable(limit)}).")


def check_batch_memory(layers: list, input_shape: tuple, capacity: int, dtype,
                       fixed_bytes: int = 0) -> None:
    """The per-batch buffers of ``layers`` for ``capacity`` samples, plus ``fixed_bytes``, fit in memory."""
    shape, values = (None,) + tuple(input_shape), math.prod(input_shape)
    for layer in layers:
        shape = layer.compute_output_shape(shape)
        values += 4 * math.prod(shape[1:])  # output, pre-activation and two gradients
    what = f"A batch of {capacity:,} samples ({values:,} values each)"
    if fixed_bytes:
        what += f" with the weights, gradients and optimizer slots ({fixed_bytes:,} bytes)"
    check_memory(capacity * values * np.dtype(dtype).itemsize + fixed_bytes, what)


def _readable(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return ""  # pragma: no cover
