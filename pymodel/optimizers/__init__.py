"""Keras 2 optimizers (tf-keras 2.11+ forms) and ``get``; the 2.10 ones live in ``legacy``.

``SGD(learning_rate=0.01, momentum=0.0, nesterov=False)``, ``RMSprop(0.001, rho=0.9,
momentum=0.0, epsilon=1e-7, centered=False)``, ``Adagrad(0.001, initial_accumulator_value=0.1,
epsilon=1e-7)``, ``Adam(0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)``,
``Adamax`` and ``Nadam``; all also take ``weight_decay``, ``clipnorm``, ``global_clipnorm``,
``clipvalue`` and ``name`` (and ``lr`` as an alias of ``learning_rate``). Each step is one C call
per weight array, with tf-keras's update rule.

``learning_rate`` is a number, held in a float32 variable that can be reassigned at any time
(as ``ReduceLROnPlateau`` does), or a schedule from ``optimizers.schedules`` evaluated at each
step.

Example:
    >>> opt = keras.optimizers.Adam(learning_rate=0.01, clipnorm=1.0)
    >>> opt.learning_rate = 0.005
    >>> round(float(keras.backend.get_value(opt.learning_rate)), 6)
    0.005
    >>> schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    >>> model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=0.9),
    ...               loss="mse")
    >>> type(keras.optimizers.get("adam")).__name__
    'Adam'
"""
from __future__ import annotations

from pymodel.optimizers import legacy
from pymodel.optimizers.base import Optimizer
from pymodel.optimizers.rules import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Ftrl, Lion,
                                     Nadam, RMSprop)
from pymodel.validation import did_you_mean

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
                         "#registering_the_custom_object for details." + did_you_mean(name, [c.__name__ for c in table.values()]))
    return cls.from_config(inner)


def get(identifier) -> Optimizer:
    """An optimizer from an instance, a name (``"sgd"``, ``"Adam"``) or a config dict.

    Raises:
        ValueError: unknown name, or an identifier of another kind.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
