"""Keras 2.10's optimizers (``tf.keras.optimizers.legacy``).

Same update rules as the 2.11+ ones except where epsilon sits: Adagrad
``w -= lr*g/(sqrt(a) + eps)`` and RMSprop without momentum
``w -= lr*g/(sqrt(v) + eps)``. They also accept ``decay``
(``lr_t = lr / (1 + decay*iterations)``) and write the 2.10 config.
"""
from __future__ import annotations

import numpy as np

from pymodel import backend
from pymodel.optimizers import rules
from pymodel.optimizers.base import Optimizer


class _Legacy:
    """Mixin: ``decay``, the legacy kernels and the legacy config."""

    legacy = True

    def _process_kwargs(self, kwargs, learning_rate):
        self.decay = float(kwargs.pop("decay", 0.0))
        return Optimizer._process_kwargs(self, kwargs, learning_rate)

    def current_learning_rate(self) -> float:
        lr = Optimizer.current_learning_rate(self)
        if self.decay > 0:
            lr = lr / (1.0 + self.decay * int(self.iterations))
        return lr

    def constant_learning_rate(self) -> bool:
        return self.decay == 0 and Optimizer.constant_learning_rate(self)

    # Keras 2.10 keeps these as Python numbers until the first step turns them into
    # floatx variables; get_config then reads the variables back (0.9 -> 0.8999999761...).
    _hypers = ("learning_rate", "momentum", "rho", "beta_1", "beta_2")

    def get_config(self) -> dict:
        lr = self._learning_rate
        lr = lr._value if isinstance(lr, backend.Variable) else self._serialized_lr()
        config = {"name": self.name, "learning_rate": lr, "decay": self.decay}
        new = type(self).__mro__[2].get_config(self)
        for key in Optimizer.get_config(self):
            new.pop(key, None)
        config.update(new)
        if self.built:
            as_floatx = np.dtype(backend.floatx()).type
            for key in self._hypers:
                if isinstance(config.get(key), (int, float)) and not isinstance(config[key], bool):
                    config[key] = float(as_floatx(config[key]))
        for key in ("clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        return config


def _legacy(cls):
    class Legacy(_Legacy, cls):
        pass

    Legacy.__name__ = Legacy.__qualname__ = cls.__name__
    Legacy.__doc__ = f"Keras 2.10 ``{cls.__name__}`` (legacy epsilon placement and ``decay``)."
    return Legacy


SGD = _legacy(rules.SGD)
Adagrad = _legacy(rules.Adagrad)
RMSprop = _legacy(rules.RMSprop)
Adam = _legacy(rules.Adam)
Adamax = _legacy(rules.Adamax)
Adadelta = _legacy(rules.Adadelta)


class Nadam(_Legacy, rules.Nadam):
    """Keras 2.10 ``Nadam``: ``decay`` is the momentum schedule's (``schedule_decay``,
    0.004: ``u_t = b1 (1 - 0.5*0.96^(0.004 t))``), never a learning-rate decay."""

    def _process_kwargs(self, kwargs, learning_rate):
        kwargs.pop("decay", None)
        self.schedule_decay = self.decay = float(kwargs.pop("schedule_decay", 0.004))
        return Optimizer._process_kwargs(self, kwargs, learning_rate)

    def current_learning_rate(self) -> float:
        return Optimizer.current_learning_rate(self)

Optimizer = Optimizer
