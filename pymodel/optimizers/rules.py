"""The tf-keras 2.11+ optimizers: SGD, Adagrad, RMSprop, Adam, Adamax, Nadam (one C step each).

Formulas and golden vectors: KERAS2.md section 6. ``legacy=True`` (set by
``pymodel.optimizers.legacy``) selects the Keras 2.10 kernels, which differ only
in where epsilon sits for Adagrad and RMSprop.
"""
from __future__ import annotations

import numpy as np

from pymodel.optimizers.base import Optimizer, _ops


class SGD(Optimizer):
    """``m = momentum*m - lr*g``; ``w += m`` (nesterov: ``w += momentum*m - lr*g``)."""

    slot_names = ("momentum",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(name=name, learning_rate=learning_rate, **kwargs)
        if not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError(f"`momentum` must be between [0, 1]. Received: momentum={momentum} "
                             f"(of type {type(momentum)}).")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _update(self, i, w, g, lr, t):
        _ops().sgd_step(w, g, self._slots["momentum"][i], lr, self.momentum, self.nesterov)

    plan_kind = "sgd"

    def _plan_options(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def _plan_slots(self, i):
        return (self._slots["momentum"][i],)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """``a += g^2``; ``w -= lr*g/sqrt(a + eps)`` (epsilon inside the root, 2.11+)."""

    slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="Adagrad", **kwargs):
        super().__init__(name=name, learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _init_slot(self, name, variable):
        return np.full(variable.shape, self.initial_accumulator_value, dtype=variable.dtype)

    def _update(self, i, w, g, lr, t):
        _ops().adagrad_step(w, g, self._slots["accumulator"][i], lr, self.epsilon, self.legacy)

    plan_kind = "adagrad"

    def _plan_options(self):
        return {"epsilon": self.epsilon}

    def _plan_slots(self, i):
        return (self._slots["accumulator"][i],)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value":
                self.initial_accumulator_value, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """``v = rho*v + (1-rho)*g^2``; ``w -= lr*g/sqrt(v [- mg^2] + eps)`` (+ momentum)."""

    slot_names = ("velocity", "average_gradient", "momentum")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="RMSprop", ema_overwrite_frequency=100, **kwargs):
        super().__init__(name=name, learning_rate=learning_rate,
                         ema_overwrite_frequency=ema_overwrite_frequency, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _update(self, i, w, g, lr, t):
        s = self._slots
        _ops().rmsprop_step(w, g, s["velocity"][i],
                            s["average_gradient"][i] if self.centered else None,
                            s["momentum"][i] if self.momentum > 0 else None, lr, self.rho,
                            self.momentum, self.epsilon, self.centered, self.legacy)

    plan_kind = "rmsprop"

    def _plan_options(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}

    def _plan_slots(self, i):
        s = self._slots
        return (s["velocity"][i], s["average_gradient"][i] if self.centered else None,
                s["momentum"][i] if self.momentum > 0 else None)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """Adam with Keras's "epsilon hat": ``w -= alpha*m/(sqrt(v) + eps)``.

    Reference: Kingma & Ba 2014, arXiv:1412.6980.
    """

    slot_names = ("m", "v", "vhat")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="Adam", **kwargs):
        super().__init__(name=name, learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _update(self, i, w, g, lr, t):
        s = self._slots
        _ops().adam_step(w, g, s["m"][i], s["v"][i], s["vhat"][i] if self.amsgrad else None,
                         lr, self.beta_1, self.beta_2, self.epsilon, t, self.amsgrad)

    plan_kind = "adam"

    def _plan_options(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}

    def _plan_slots(self, i):
        s = self._slots
        return (s["m"][i], s["v"][i], s["vhat"][i] if self.amsgrad else None)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class Adamax(Optimizer):
    """``u = max(beta_2*u, |g|)``; ``w -= lr*m/((1 - beta_1^t)(u + eps))``."""

    slot_names = ("m", "u")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="Adamax", **kwargs):
        super().__init__(name=name, learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _update(self, i, w, g, lr, t):
        _ops().adamax_step(w, g, self._slots["m"][i], self._slots["u"][i], lr, self.beta_1,
                           self.beta_2, self.epsilon, t)

    plan_kind = "adamax"

    def _plan_options(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def _plan_slots(self, i):
        return (self._slots["m"][i], self._slots["u"][i])

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Nadam(Optimizer):
    """tf-keras Nadam with the momentum schedule ``u_t = b1 (1 - 0.5*0.96^t)``."""

    slot_names = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="Nadam", **kwargs):
        super().__init__(name=name, learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._u_product = 1.0
        self._scalars = ()

    def _prepare_step(self, t):
        dtype = self._variables[0].dtype if self._variables else np.float32
        self._scalars = _ops().nadam_schedule(t, self.beta_1, self.beta_2, self._u_product, dtype)
        self._u_product = self._scalars.u_prod

    def _update(self, i, w, g, lr, t):
        _ops().nadam_step(w, g, self._slots["m"][i], self._slots["v"][i], lr, self.beta_1,
                          self.beta_2, self.epsilon, *self._scalars)

    def _extra_state(self):
        return {"u_product": np.array(self._u_product)}

    def _set_extra_state(self, state):
        self._u_product = float(state.get("u_product", 1.0))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
