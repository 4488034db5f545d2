"""Keras 2 optimizers (tf-keras 2.11+ forms) and ``get``; the 2.10 ones live in ``legacy``."""
from __future__ import annotations

from pymodel.optimizers import legacy
from pymodel.optimizers.base import Optimizer
from pymodel.optimizers.rules import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Ftrl, Lion,
                                     Nadam, RMSprop)

try:  # learning-rate schedules live in pymodel/schedules.py
    from pymodel import schedules
except ImportError:  # pragma: no cover - before that module exists
    schedules = None

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "Adamax", "Nadam", "AdamW",
           "Adadelta", "Ftrl", "Lion", "legacy",
           "schedules", "get", "serialize", "deserialize"]

_CLASSES = {c.__name__.lower(): c for c in (SGD, Adagrad, RMSprop, Adam, Adamax, Nadam, AdamW,
                                             Adadelta, Ftrl, Lion)}


def serialize(optimizer: Optimizer) -> dict:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None, use_legacy_optimizer=False):
    name = config["class_name"]
    if custom_objects and name in custom_objects:
        return custom_objects[name].from_config(config.get("config", {}))
    inner = dict(config.get("config", {}))
    use_legacy = use_legacy_optimizer or inner.get("is_legacy_optimizer", False) or \
        "decay" in inner
    table = {k: getattr(legacy, c.__name__) for k, c in _CLASSES.items()
             if hasattr(legacy, c.__name__)} if use_legacy else _CLASSES
    cls = table.get(name.lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer: '{name}'. Please ensure you are using a "
                         "`keras.utils.custom_object_scope` and that this object is included "
                         "in the scope. "
                         "See https://www.tensorflow.org/guide/keras/save_and_serialize"
                         "#registering_the_custom_object for details.")
    return cls.from_config(inner)


def get(identifier) -> Optimizer:
    """An optimizer from an instance, a name (``"sgd"``, ``"Adam"``) or a config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
