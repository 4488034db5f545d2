"""``Optimizer``: learning rate (value, Variable or schedule), clipping, weight decay, slots, state.

One training step follows tf-keras 2.11+ ``apply_gradients``: (1) the learning
rate at ``iterations`` (a schedule is called with it); (2) clipping, where only
one of clipnorm / global_clipnorm / clipvalue applies; (3) decoupled weight
decay ``w -= w * weight_decay * lr``; (4) one C ``*_step`` call per variable;
(5) ``iterations += 1``. Slot arrays are allocated once, at the first step.
"""
from __future__ import annotations

import math

import numpy as np

from pymodel import backend
from pymodel._native import aligned


def _ops():
    from pymodel._native import optimizers as kernels
    return kernels


def _is_schedule(value) -> bool:
    return callable(value) and hasattr(value, "get_config") and not isinstance(
        value, backend.Variable)


class Optimizer:
    """Base class. Subclasses list ``slot_names`` and implement ``_update(i, w, g, lr, t)``."""

    slot_names: tuple = ()
    legacy = False
    # What kind of call the next step belongs to: "eager" (apply_gradients), None
    # (fit: batches of any size) or the batch size (train_on_batch). Only Nadam's
    # tf-keras schedule depends on it (see rules.Nadam).
    _call_spec = "eager"

    def __init__(self, name: str, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, jit_compile=True, learning_rate=0.001,
                 **kwargs):
        learning_rate = self._process_kwargs(kwargs, learning_rate)
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError("At most one of `clipnorm` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, global_clipnorm={global_clipnorm}.")
        if use_ema:
            raise ValueError("pymodel optimizers do not support use_ema=True. "
                             f"Received: use_ema={use_ema}")
        self.name = name
        self.weight_decay, self.clipnorm, self.clipvalue = weight_decay, clipnorm, clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        self.ema_overwrite_frequency, self.jit_compile = ema_overwrite_frequency, jit_compile
        self.iterations = backend.Variable(0, "iteration", dtype="int64")
        self.learning_rate = learning_rate
        self._slots: dict[str, list[np.ndarray]] = {}
        self._variables: list[np.ndarray] = []
        self._pending_state = None
        self.built = False

    def _process_kwargs(self, kwargs: dict, learning_rate):
        if "lr" in kwargs:
            lr = kwargs.pop("lr")
            if self.legacy:
                learning_rate = lr
            elif lr:  # tf-keras 2.11+ ignores it (with this warning)
                import warnings
                warnings.warn("`lr` is deprecated in Keras optimizer, please use "
                              "`learning_rate` or use the legacy optimizer, e.g.,"
                              f"tf.keras.optimizers.legacy.{type(self).__name__}.",
                              stacklevel=3)
        for key in kwargs:
            if key in ("decay", "gradient_aggregator", "gradient_transformers"):
                raise ValueError(
                    f"{key} is deprecated in the new TF-Keras optimizer, please check the "
                    "docstring for valid arguments, or use the legacy optimizer, e.g., "
                    f"tf.keras.optimizers.legacy.{type(self).__name__}.")
            raise TypeError(f"{key} is not a valid argument, kwargs should be empty  for "
                            "`optimizer_experimental.Optimizer`.")
        return learning_rate

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        current = getattr(self, "_learning_rate", None)
        if _is_schedule(value):
            self._learning_rate = value
        elif _is_schedule(current) and not self.legacy:
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as "
                            "its `learning_rate` constructor argument, hence its learning rate is "
                            "not settable. If you need the learning rate to be settable, you "
                            "should instantiate the optimizer with a float `learning_rate` "
                            "argument.")
        elif isinstance(getattr(self, "_learning_rate", None), backend.Variable):
            self._learning_rate.assign(value)
        else:
            self._learning_rate = backend.Variable(backend.get_value(value), "learning_rate",
                                                   dtype=backend.floatx())

    lr = learning_rate

    def current_learning_rate(self) -> float:
        """The rate the next step uses (a schedule is evaluated at ``iterations``)."""
        lr = self._learning_rate
        if _is_schedule(lr):
            return float(backend.get_value(lr(int(self.iterations))))
        return float(lr.numpy())  # float32, as Keras stores it

    def constant_learning_rate(self) -> bool:
        """True when steps use the same rate until it is set again (no schedule, no decay)."""
        return not _is_schedule(self._learning_rate)

    # ------------------------------------------------------------------ slots
    def build(self, variables: list) -> None:
        """Allocate the slot arrays for ``variables`` (once)."""
        self._variables = list(variables)
        self._slots = {name: [self._init_slot(name, v) for v in self._variables]
                       for name in self.slot_names}
        self.built = True
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self.set_state(state)

    def _init_slot(self, name: str, variable: np.ndarray) -> np.ndarray:
        return aligned.zeros(variable.shape, variable.dtype)

    def variables(self) -> list:
        return [self.iterations] + [s for name in self.slot_names for s in self._slots[name]]

    def get_state(self) -> dict[str, np.ndarray]:
        """``iterations`` and every slot (``"<slot>/<index>"``), in a stable order."""
        state = {"iterations": np.array(int(self.iterations), dtype=np.int64)}
        state.update(self._extra_state())
        for name in self.slot_names:
            for i, slot in enumerate(self._slots.get(name, [])):
                state[f"{name}/{i}"] = slot.copy()
        return state

    def set_state(self, state: dict) -> None:
        """Restore :meth:`get_state`'s dict (applied at build time if not built yet)."""
        if not self.built:
            self._pending_state = {k: np.array(v) for k, v in state.items()}
            self.iterations.assign(int(np.asarray(state["iterations"])))
            return
        self.iterations.assign(int(np.asarray(state["iterations"])))
        self._set_extra_state(state)
        for name in self.slot_names:
            for i, slot in enumerate(self._slots[name]):
                value = np.asarray(state[f"{name}/{i}"])
                if value.shape != slot.shape:
                    raise ValueError(f"Optimizer state {name}/{i} has shape {value.shape}, "
                                     f"expected {slot.shape}.")
                slot[...] = value

    def _extra_state(self) -> dict:
        return {}

    def _set_extra_state(self, state: dict) -> None:
        pass

    # ------------------------------------------------------------------ steps
    def apply_gradients(self, grads_and_vars) -> None:
        """Keras API: one step for ``[(gradient, variable), ...]`` (gradients may be clipped in place)."""
        pairs = list(grads_and_vars)
        variables = [v for _, v in pairs]
        if not self.built:
            self.build(variables)
        grads = [np.ascontiguousarray(g, dtype=v.dtype) for g, v in pairs]
        self._call_spec = "eager"
        self.step(variables, grads)

    def step(self, variables: list, grads: list) -> None:
        """One update of ``variables`` (the list given to :meth:`build`) from ``grads``."""
        ops = _ops()
        lr = self.current_learning_rate()
        if self.clipnorm is not None and self.clipnorm > 0:
            for g in grads:
                norm = math.sqrt(ops.sumsq(g))
                if norm > self.clipnorm:
                    ops.scale(g, self.clipnorm / norm)
        elif self.global_clipnorm is not None and self.global_clipnorm > 0:
            norm = math.sqrt(sum(ops.sumsq(g) for g in grads))
            if norm > self.global_clipnorm:
                for g in grads:
                    ops.scale(g, self.global_clipnorm / norm)
        elif self.clipvalue is not None and self.clipvalue > 0:
            for g in grads:
                ops.clip(g, -self.clipvalue, self.clipvalue)
        if self.weight_decay is not None:
            for w in variables:
                ops.weight_decay(w, self.weight_decay, lr)
        t = int(self.iterations) + 1
        self._prepare_step(t)
        for i, (w, g) in enumerate(zip(variables, grads)):
            self._update(i, w, g, lr, t)
        self.iterations.assign(t)

    def _prepare_step(self, t: int) -> None:
        pass

    # ------------------------------------------------------------------ compiled plan
    #: Name of this update rule in the compiled training plan (pymodel/_native/plan.py);
    #: None: the rule runs from Python only.
    plan_kind: str | None = None

    def plan_config(self):
        """``(kind, options, slots)`` for the compiled training plan, or None.

        ``slots[i]`` are variable i's slot arrays in the kernel's argument order.
        None when the rule has no plan kind or a subclass changes how a step runs.
        """
        cls = type(self)
        rule = next((c for c in cls.__mro__ if "plan_kind" in c.__dict__), None)
        if (rule is None or rule.plan_kind is None or not self.built or cls._update is not rule._update
                or cls.step is not Optimizer.step or cls._prepare_step is not Optimizer._prepare_step):
            return None
        options = {"clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                   "clipvalue": self.clipvalue, "weight_decay": self.weight_decay,
                   "legacy": self.legacy, **self._plan_options()}
        slots = [self._plan_slots(i) for i in range(len(self._variables))]
        return rule.plan_kind, options, slots

    def _plan_options(self) -> dict:
        return {}

    def _plan_slots(self, i: int) -> tuple:
        return ()

    def _reset_train_function(self) -> None:
        """``compile`` dropped the model's traced train function (matters to Nadam only)."""

    def _update(self, i: int, w: np.ndarray, g: np.ndarray, lr: float, t: int) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ config
    def _serialized_lr(self):
        lr = self._learning_rate
        if _is_schedule(lr):
            return {"class_name": type(lr).__name__, "config": lr.get_config()}
        return float(lr.numpy())

    def get_config(self) -> dict:
        return {
            "name": self.name, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
            "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency, "jit_compile": False,
            "is_legacy_optimizer": False, "learning_rate": self._serialized_lr(),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> "Optimizer":
        config = dict(config)
        config.pop("is_legacy_optimizer", None)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            from pymodel.optimizers import schedules
            config["learning_rate"] = schedules.deserialize(lr)
        return cls(**config)
