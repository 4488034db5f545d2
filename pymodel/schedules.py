"""Learning-rate schedules with tf-keras's names, arguments, formulas and configs.

`keras.optimizers.schedules.*`: an optimizer given a schedule as `learning_rate` calls
`schedule(step)` with its iteration count to get the rate for that step. Values are computed
in float64 (tf-keras computes in float32; the two agree to float32 rounding).

Example:
    >>> schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> [round(schedule(step), 4) for step in (0, 10, 20)]
    [0.1, 0.05, 0.025]
    >>> steps = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries=[100], values=[0.1, 0.01])
    >>> steps(100), steps(101)
    (0.1, 0.01)
    >>> model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
"""
from __future__ import annotations

import math
from typing import Optional, Sequence


class LearningRateSchedule:
    """Base class: a serializable map from a step (int) to a learning rate (float)."""

    def __call__(self, step) -> float:
        raise NotImplementedError(
            f"Learning rate schedule '{self.__class__.__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Learning rate schedule '{self.__class__.__name__}' must override `get_config()` "
            "in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)


class _TimeDecay(LearningRateSchedule):
    """Base of the decays driven by `step / decay_steps` (floored if `staircase`): their arguments and config."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _progress(self, step) -> float:
        p = float(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_TimeDecay):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`, the exponent floored if `staircase`."""

    def __call__(self, step) -> float:
        return float(self.initial_learning_rate) * float(self.decay_rate) ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while step <= boundaries[0], `values[i]` on (boundaries[i-1], boundaries[i]], then `values[-1]`."""

    def __init__(self, boundaries: Sequence, values: Sequence, name=None):
        super().__init__()
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, "
                f"and values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step) -> float:
        step = float(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(_TimeDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`, the ratio floored if `staircase`."""

    def __call__(self, step) -> float:
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * self._progress(step))


class CosineDecay(LearningRateSchedule):
    """Cosine decay (SGDR, Loshchilov & Hutter 2016, arXiv:1608.03983), with optional linear warmup.

    Without warmup: `lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)`,
    s = min(step, decay_steps). With `warmup_target`: linear from `initial_learning_rate` to
    `warmup_target` over `warmup_steps`, then the cosine decay from `warmup_target`.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None,
                 warmup_target: Optional[float] = None, warmup_steps=0):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, step: float, decay_from_lr: float) -> float:
        cosine_decayed = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return decay_from_lr * ((1 - self.alpha) * cosine_decayed + self.alpha)

    def __call__(self, step) -> float:
        lr0 = float(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decay(min(float(step), self.decay_steps), lr0)
        step = min(float(step), self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            return (float(self.warmup_target) - lr0) * (step / self.warmup_steps) + lr0
        return self._decay(step - self.warmup_steps, float(self.warmup_target))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


_CLASSES = {cls.__name__: cls for cls in
            (ExponentialDecay, PiecewiseConstantDecay, InverseTimeDecay, CosineDecay)}


def serialize(learning_rate_schedule: LearningRateSchedule, use_legacy_format: bool = False) -> dict:
    """Config dict of a schedule, as tf-keras writes it (legacy form: only class_name and config)."""
    if not isinstance(learning_rate_schedule, LearningRateSchedule):
        raise TypeError("Could not serialize learning rate schedule: expected a LearningRateSchedule. "
                        f"Received: learning_rate_schedule={learning_rate_schedule!r}")
    name = type(learning_rate_schedule).__name__
    config = {"class_name": name, "config": learning_rate_schedule.get_config()}
    if use_legacy_format:
        return config
    builtin = _CLASSES.get(name) is type(learning_rate_schedule)
    return {"module": "keras.optimizers.schedules" if builtin else type(learning_rate_schedule).__module__,
            **config, "registered_name": None if builtin else name}


def deserialize(config: dict, custom_objects: Optional[dict] = None,
                use_legacy_format: bool = False) -> LearningRateSchedule:
    """Schedule from a `serialize` dict (either form); `custom_objects` maps names to custom classes."""
    if isinstance(config, LearningRateSchedule):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret learning rate schedule config: {config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Unknown decay: '{name}'. Please ensure you are using a "
                         "`keras.utils.custom_object_scope` and that this object is included in the scope.")
    return cls.from_config(config.get("config", {}))
