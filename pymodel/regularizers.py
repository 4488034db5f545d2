"""Keras 2 weight regularizers: ``penalty = l1*sum|w| + l2*sum w^2``.

The penalty and its gradient (``l1*sign(w) + 2*l2*w``, added to the weight's
gradient) come from one C call, ``pymodel._native.optimizers.l1l2``.
"""
from __future__ import annotations

import numpy as np


class Regularizer:
    """Base class; ``reg(w) -> float`` gives the penalty."""

    l1 = 0.0
    l2 = 0.0

    def __call__(self, x) -> float:
        from pymodel._native import optimizers as kernels
        x = np.ascontiguousarray(x)
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)
        return kernels.l1l2(x, self.l1, self.l2, np.zeros_like(x))

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)


def _floatx(value) -> float:
    """``value`` rounded to floatx, as tf-keras stores factors (``cast_to_floatx``)."""
    from pymodel import backend
    return float(np.dtype(backend.floatx()).type(value))


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _floatx(l1), _floatx(l2)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    def __init__(self, l1=0.01, **kwargs):
        self.l1 = _floatx(kwargs.pop("l", l1))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    def __init__(self, l2=0.01, **kwargs):
        self.l2 = _floatx(kwargs.pop("l", l2))

    def get_config(self):
        return {"l2": self.l2}


def l1_l2(l1=0.01, l2=0.01) -> L1L2:
    """Keras's ``l1_l2`` helper (both default 0.01)."""
    return L1L2(l1=l1, l2=l2)


l1, l2 = L1, L2
_CLASSES = {"L1L2": L1L2, "L1": L1, "L2": L2, "l1_l2": L1L2, "l1": L1, "l2": L2}


def serialize(regularizer: Regularizer | None):
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Regularizer:
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Unknown regularizer: '{name}'.")
    return cls.from_config(config.get("config", {}))


def get(identifier) -> Regularizer | None:
    """Resolve None, ``'l1'``/``'l2'``/``'l1_l2'``, a config dict or an instance."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if identifier == "l1_l2":  # the helper, so both factors default to 0.01
        return l1_l2()
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier]()
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
