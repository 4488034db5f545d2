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
            raise ValueError("`momentum` must be between [0, 1].")
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
    """tf-keras Nadam with the momentum schedule ``u_t = b1 (1 - 0.5*0.96^t)``.

    The running product ``u_product`` follows tf-keras exactly, including how
    ``model.fit`` advances it. tf-keras guards the product with
    ``tf.cond(counter == iterations + 2, cached, multiply)`` where ``counter``
    is a Python int that only moves while the train function is *traced*
    (once per variable per trace). Eagerly (``apply_gradients``) that gives one
    multiplication per step. Inside fit/train_on_batch each variable's branch
    compares against the constant its trace baked in, so the product is
    multiplied once per variable per step, except by variable ``k`` of a trace
    with constants ``base + k`` at the step where ``base + k == iterations + 2``.
    The first trace of an optimizer runs twice (its slots are created while
    tracing); a new input batch shape retraces once with a relaxed shape that
    then fits every batch (``reduce_retracing``); fit's batches all share one
    shape (batch dimension unknown). ``_call_spec`` says which kind of call
    the next step is (set by the model); ``_reset_train_function`` runs at
    ``compile`` (tf-keras drops the traced function there).
    """

    slot_names = ("m", "v")
    schedule_decay = 1.0  # exponent factor of 0.96 (0.004 in the legacy Nadam)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="Nadam", **kwargs):
        super().__init__(name=name, learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._u_product = 1.0
        self._u_product_counter = 1
        self._traces: list = []   # (batch spec or None for any, first constant)
        self._ever_traced = False
        self._t = 0
        self._base = None

    def _reset_train_function(self) -> None:
        self._traces = []

    def _trace_base(self, n: int) -> int:
        """The first counter constant of the traced function this step runs in."""
        spec = self._call_spec
        for traced, base in self._traces:
            if traced is None or traced == spec:
                return base
        self._u_product_counter += n * (1 if self._ever_traced else 2)
        self._ever_traced = True
        self._traces.append((None if self._traces else spec, self._u_product_counter - n))
        return self._u_product_counter - n

    def _prepare_step(self, t):
        self._t = t
        eager = self._call_spec == "eager" or self.legacy
        self._base = None if eager else self._trace_base(len(self._variables))

    def _scalars(self, i: int, dtype):
        """u_t, u_t1, u_prod, u_prod_t1, beta2_pow for variable ``i`` of this step."""
        f = np.dtype(dtype).type
        t = self._t
        b1, decay = f(self.beta_1), f(0.96)
        k = f(self.schedule_decay)
        u_t = b1 * (f(1) - f(0.5) * decay ** (k * f(t)))
        u_t1 = b1 * (f(1) - f(0.5) * decay ** (k * f(t + 1)))
        if self.legacy:  # legacy: one cache update per step, before the variables
            cached = i > 0
        elif self._base is None:  # eager: the counter moves at run time
            cached = self._u_product_counter == t + 1
        else:
            cached = self._base + i == t + 1
        if not cached:
            self._u_product = float(f(self._u_product) * u_t)
            if self._base is None and not self.legacy:
                self._u_product_counter += 1
        u_prod = f(self._u_product)
        return (float(u_t), float(u_t1), float(u_prod), float(u_prod * u_t1),
                float(f(self.beta_2) ** f(t)))

    def _update(self, i, w, g, lr, t):
        _ops().nadam_step(w, g, self._slots["m"][i], self._slots["v"][i], lr, self.beta_1,
                          self.beta_2, self.epsilon, *self._scalars(i, w.dtype))

    def _extra_state(self):
        return {"u_product": np.array(self._u_product)}

    def _set_extra_state(self, state):
        self._u_product = float(state.get("u_product", 1.0))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay on by default (``weight_decay=0.004``)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="AdamW", **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name,
                         weight_decay=weight_decay, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Missing value of `weight_decay` which is required and must be a "
                             "float value.")


class Adadelta(Optimizer):
    """``a = rho*a + (1-rho)*g^2``; ``d = -sqrt(ad + eps)/sqrt(a + eps)*g``;
    ``ad = rho*ad + (1-rho)*d^2``; ``w += lr*d``."""

    slot_names = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="Adadelta", **kwargs):
        super().__init__(name=name, learning_rate=learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def _update(self, i, w, g, lr, t):
        _ops().adadelta_step(w, g, *self._plan_slots(i), lr, self.rho, self.epsilon)

    plan_kind = "adadelta"

    def _plan_options(self):
        return {"rho": self.rho, "epsilon": self.epsilon}

    def _plan_slots(self, i):
        s = self._slots
        return (s["accumulated_grad"][i], s["accumulated_delta_var"][i])

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Lion(Optimizer):
    """``w -= lr*sign(b1*m + (1-b1)*g)``; ``m = b2*m + (1-b2)*g`` (Chen et al. 2023).

    Reference: Chen et al. 2023, arXiv:2302.06675.
    """

    slot_names = ("momentum",)

    def __init__(self, learning_rate=0.0001, beta_1=0.9, beta_2=0.99, name="Lion", **kwargs):
        super().__init__(name=name, learning_rate=learning_rate, **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(f"`beta_1`={beta_1} must be between ]0, 1]. Otherwise, the "
                             "optimizer degenerates to SignSGD.")
        self.beta_1, self.beta_2 = beta_1, beta_2

    def _update(self, i, w, g, lr, t):
        _ops().lion_step(w, g, self._slots["momentum"][i], lr, self.beta_1, self.beta_2)

    plan_kind = "lion"

    def _plan_options(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}

    def _plan_slots(self, i):
        return (self._slots["momentum"][i],)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Ftrl(Optimizer):
    """Follow-the-regularized-leader (McMahan et al. 2013), as tf-keras's ``update_step``.

    ``n' = n + g^2``; ``z += g + 2*l2s*w - (n'^-p - n^-p)/lr * w`` (p = learning_rate_power);
    ``w = (clip(z, -l1, l1) - z) / (n'^-p/lr + 2*(l2 + beta/(2 lr)))``; ``n = n'``.
    NOTE: NumPy in the variable dtype (no C kernel yet).
    """

    slot_names = ("accumulator", "linear")

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, name="Ftrl", **kwargs):
        super().__init__(name=name, learning_rate=learning_rate, **kwargs)
        for key, value in (("initial_accumulator_value", initial_accumulator_value),
                           ("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength",
                            l2_shrinkage_regularization_strength)):
            if value < 0.0:
                raise ValueError(f"`{key}` needs to be positive or zero. Received: "
                                 f"{key}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _init_slot(self, name, variable):
        value = self.initial_accumulator_value if name == "accumulator" else 0.0
        return np.full(variable.shape, value, dtype=variable.dtype)

    def _update(self, i, w, g, lr, t):
        accum, linear = self._slots["accumulator"][i], self._slots["linear"][i]
        lr = w.dtype.type(lr)
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        new_accum = accum + g * g
        linear += (g + 2 * self.l2_shrinkage_regularization_strength * w
                   - (new_accum ** power - accum ** power) / lr * w)
        quadratic = new_accum ** power / lr + 2 * l2
        l1 = self.l1_regularization_strength
        w[...] = (np.clip(linear, -l1, l1) - linear) / quadratic
        accum[...] = new_accum

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
