"""Keras 2 activations: functions on NumPy arrays, and the ``get``/``serialize``/``deserialize`` triad.

Every function runs the C kernel (``pymodel._native.activations``). Each carries
the kernel descriptor arguments it stands for, so layers can hand the same
activation to the fused dense kernel.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from pymodel import backend
from pymodel.validation import did_you_mean


def _kernels():
    from pymodel._native import activations as kernels
    return kernels


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(backend.floatx())
    return np.ascontiguousarray(x)


def _run(kind: str, x, **params) -> np.ndarray:
    k = _kernels()
    return backend.as_tensor(k.forward(k.descriptor(kind, **params), _as_float(x)))


def _activation(name: str, kind: str, **fixed):
    """Make the public function ``name`` for the kernel ``kind`` with fixed parameters."""
    def fn(x):
        return _run(kind, x, **fixed)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Keras ``{name}`` activation (C kernel ``{kind}``) on a NumPy array."
    fn.kernel = (kind, fixed)
    return fn


linear = _activation("linear", "linear")
sigmoid = _activation("sigmoid", "sigmoid")
hard_sigmoid = _activation("hard_sigmoid", "hard_sigmoid")
tanh = _activation("tanh", "tanh")
selu = _activation("selu", "selu")
softplus = _activation("softplus", "softplus")
softsign = _activation("softsign", "softsign")
swish = _activation("swish", "swish")
exponential = _activation("exponential", "exponential")
mish = _activation("mish", "mish")
relu6 = _activation("relu6", "relu", max_value=6.0)
leaky_relu = _activation("leaky_relu", "relu", alpha=0.2)
log_softmax = _activation("log_softmax", "log_softmax")
silu = swish


def relu(x, alpha: float = 0.0, max_value=None, threshold: float = 0.0) -> np.ndarray:
    """``x if x >= threshold else alpha*(x - threshold)``, then clipped to ``max_value``."""
    return _run("relu", x, alpha=alpha, max_value=max_value, threshold=threshold)


def elu(x, alpha: float = 1.0) -> np.ndarray:
    """``x if x > 0 else alpha*(exp(x) - 1)``."""
    return _run("elu", x, alpha=alpha)


def gelu(x, approximate: bool = False) -> np.ndarray:
    """Gaussian error linear unit (exact erf form unless ``approximate``)."""
    return _run("gelu_tanh" if approximate else "gelu", x)


def softmax(x, axis: int = -1) -> np.ndarray:
    """Softmax over the last axis (Keras 2 refuses 1-D input)."""
    x = _as_float(x)
    if x.ndim == 1:
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D. Received input: {x}")
    if axis not in (-1, x.ndim - 1):
        return np.moveaxis(softmax(np.moveaxis(x, axis, -1)), -1, axis)
    return _run("softmax", x)


relu.kernel = ("relu", {})
elu.kernel = ("elu", {"alpha": 1.0})
gelu.kernel = ("gelu", {})
softmax.kernel = ("softmax", {})

_BY_NAME: dict[str, Callable] = {
    f.__name__: f for f in (linear, sigmoid, hard_sigmoid, tanh, relu, elu, selu, softplus,
                            softsign, swish, gelu, exponential, mish, softmax, log_softmax,
                            relu6, leaky_relu)
}
_BY_NAME["silu"] = swish


def serialize(activation) -> str:
    """The name Keras writes in a layer config (``'relu'``, ``'linear'``)."""
    if activation is None:
        return "linear"
    name = getattr(activation, "__name__", None)
    if name in _BY_NAME and _BY_NAME[name] is activation:
        return name
    if name is not None:
        return name
    raise ValueError(f"Cannot serialize activation {activation!r}")


def deserialize(name, custom_objects: dict | None = None) -> Callable:
    """The activation function called ``name``."""
    if isinstance(name, dict):
        name = name.get("config", name.get("class_name"))
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown activation function '{name}' cannot be deserialized."
                         + did_you_mean(name, _BY_NAME)) from None


def get(identifier) -> Callable:
    """Resolve ``None`` (linear), a name or a callable to an activation function."""
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation function identifier: {identifier!r}")


def kernel_spec(activation) -> tuple[str, dict]:
    """(kernel kind, parameters) for an activation; ValueError for a Python callable."""
    spec = getattr(activation, "kernel", None)
    if spec is None:
        raise ValueError(
            f"pymodel runs activations in C and supports the Keras built-ins only. "
            f"Received: activation={activation!r}")
    return spec


def descriptor(activation):
    """The C kernel descriptor for a built-in activation."""
    kind, params = kernel_spec(activation)
    return _kernels().descriptor(kind, **params)
