"""Keras 2 ``backend`` helpers: floatx, epsilon, automatic names, scalar variables.

The name counters mirror tf-keras's per-graph ``PER_GRAPH_OBJECT_NAME_UIDS``:
one process-wide dict, reset by :func:`clear_session`.
"""
from __future__ import annotations

import collections
import re
import threading

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_NAME_UIDS: collections.defaultdict = collections.defaultdict(int)
_NAME_LOCK = threading.Lock()  # models may be built in several threads at once


def floatx() -> str:
    """The default float type, ``'float32'`` unless changed by :func:`set_floatx`."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float type: ``'float32'`` or ``'float64'`` (the C kernels' dtypes)."""
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ValueError(f"Unknown floatx type: {value!r}; pymodel supports 'float32' and "
                         f"'float64'. Received: value={value!r}")
    _FLOATX = str(value)


def epsilon() -> float:
    """The fuzz factor of losses and metrics (1e-7)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor used by losses created afterwards."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """``'channels_last'``, Keras's default layout (the only one pymodel's layers use)."""
    return "channels_last"


def cast_to_floatx(x) -> np.ndarray:
    """``x`` as a NumPy array of the floatx dtype."""
    return np.asarray(x, dtype=_FLOATX)


def get_uid(prefix: str = "") -> int:
    """One-based counter per prefix (``input_1``, ``input_2`` ...), as tf-keras's ``get_uid``."""
    with _NAME_LOCK:
        _NAME_UIDS["uid:" + prefix] += 1
        return _NAME_UIDS["uid:" + prefix]


def unique_object_name(prefix: str) -> str:
    """Zero-based automatic name: ``dense``, ``dense_1``, ``dense_2`` ..."""
    with _NAME_LOCK:
        n = _NAME_UIDS[prefix]
        _NAME_UIDS[prefix] += 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_uids() -> None:
    """Forget every automatic-name counter."""
    _NAME_UIDS.clear()


def clear_session() -> None:
    """Reset automatic names, so the next model is ``sequential`` with ``dense`` again."""
    reset_uids()


def to_snake_case(name: str) -> str:
    """``Dense`` -> ``dense``, ``InputLayer`` -> ``input_layer`` (tf-keras's rule)."""
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return "private" + s if s[0] == "_" else s


class Tensor(np.ndarray):
    """A NumPy array that also answers ``.numpy()``, as the tensors Keras code receives do."""

    def numpy(self) -> np.ndarray:
        return np.array(self)


def as_tensor(array) -> Tensor:
    """View ``array`` as a :class:`Tensor` (no copy)."""
    return np.asarray(array).view(Tensor)


class Variable:
    """A tiny scalar variable (Keras users write ``K.set_value(opt.learning_rate, v)``)."""

    def __init__(self, value, name: str = "variable", dtype: str = "float32"):
        self.name = name
        self.dtype = np.dtype(dtype)
        self._value = self._cast(value)

    def _cast(self, value):
        value = get_value(value)
        return int(value) if self.dtype.kind == "i" else float(value)

    def assign(self, value) -> "Variable":
        self._value = self._cast(value)
        return self

    def assign_add(self, value) -> "Variable":
        return self.assign(self._value + self._cast(value))

    def numpy(self):
        return self.dtype.type(self._value)

    def __float__(self) -> float:
        return float(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __index__(self) -> int:
        if self.dtype.kind != "i":
            raise TypeError("only integer variables can be used as an index")
        return int(self._value)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.numpy() if dtype is None else np.dtype(dtype).type(self._value))

    def __repr__(self) -> str:
        return f"<pymodel.Variable '{self.name}' dtype={self.dtype.name}, numpy={self.numpy()}>"

    def __add__(self, other): return self._value + float(other)
    def __radd__(self, other): return float(other) + self._value
    def __sub__(self, other): return self._value - float(other)
    def __rsub__(self, other): return float(other) - self._value
    def __mul__(self, other): return self._value * float(other)
    def __rmul__(self, other): return float(other) * self._value
    def __truediv__(self, other): return self._value / float(other)
    def __rtruediv__(self, other): return float(other) / self._value
    def __eq__(self, other): return self._value == float(other)
    def __lt__(self, other): return self._value < float(other)
    def __gt__(self, other): return self._value > float(other)

    def __hash__(self) -> int:
        return id(self)


def get_value(x):
    """The value of a variable, scalar or array, as NumPy (Keras's ``backend.get_value``)."""
    if hasattr(x, "numpy"):
        return x.numpy()
    return np.asarray(x) if isinstance(x, (list, tuple, np.ndarray)) else x


def set_value(x, value) -> None:
    """Assign ``value`` to a variable (``backend.set_value(model.optimizer.learning_rate, 0.1)``)."""
    if isinstance(x, np.ndarray):
        x[...] = value
        return
    if not hasattr(x, "assign"):
        raise TypeError(f"set_value needs a variable or an array. Received: x={x!r}")
    x.assign(value)


# ---------------------------------------------------------------- NumPy-backed math
# Keras 2 code writes custom losses with backend ops (``K.mean(K.square(p - y), axis=-1)``);
# these run them on NumPy arrays, so such losses train through central differences.
def variable(value, dtype=None, name=None) -> Tensor:
    """An array of ``floatx`` (or ``dtype``) holding ``value``."""
    return as_tensor(np.array(value, dtype=dtype or floatx()))


constant = variable


def eval(x) -> np.ndarray:  # noqa: A001 - Keras's name
    """The value of ``x`` as a NumPy array."""
    return np.asarray(get_value(x))


def cast(x, dtype) -> Tensor:
    return as_tensor(np.asarray(x).astype(dtype))


def mean(x, axis=None, keepdims=False) -> Tensor:
    return as_tensor(np.mean(x, axis=axis, keepdims=keepdims))


def sum(x, axis=None, keepdims=False) -> Tensor:  # noqa: A001 - Keras's name
    return as_tensor(np.sum(x, axis=axis, keepdims=keepdims))


def max(x, axis=None, keepdims=False) -> Tensor:  # noqa: A001 - Keras's name
    return as_tensor(np.max(x, axis=axis, keepdims=keepdims))


def min(x, axis=None, keepdims=False) -> Tensor:  # noqa: A001 - Keras's name
    return as_tensor(np.min(x, axis=axis, keepdims=keepdims))


def square(x) -> Tensor:
    return as_tensor(np.square(x))


def abs(x) -> Tensor:  # noqa: A001 - Keras's name
    return as_tensor(np.abs(x))


def sqrt(x) -> Tensor:
    return as_tensor(np.sqrt(np.maximum(x, 0.0)))


def exp(x) -> Tensor:
    return as_tensor(np.exp(x))


def log(x) -> Tensor:
    return as_tensor(np.log(x))


def pow(x, a) -> Tensor:  # noqa: A001 - Keras's name
    return as_tensor(np.power(x, a))


def clip(x, min_value, max_value) -> Tensor:
    return as_tensor(np.clip(x, min_value, max_value))


def maximum(x, y) -> Tensor:
    return as_tensor(np.maximum(x, y))


def minimum(x, y) -> Tensor:
    return as_tensor(np.minimum(x, y))
