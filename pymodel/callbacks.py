"""Callbacks: hooks into fit/evaluate/predict, with tf-keras 2.x names, arguments and messages.

The training loop builds a `CallbackList` and calls its hooks, exactly as tf-keras's fit does:

    callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                             model=model, verbose=verbose, epochs=epochs, steps=steps)
    callbacks.on_train_begin()
    for epoch ...: on_epoch_begin(epoch); per step on_train_batch_begin(step) /
        on_train_batch_end(step, logs); on_test_* for validation; on_epoch_end(epoch, logs)
    callbacks.on_train_end()

Logs hold running means over the epoch so far (Keras semantics), so the progress bar
shows them as given. Messages printed with `verbose` match tf-keras's text.
"""
from __future__ import annotations

import collections
import copy
import csv
import logging
import math
import os
import sys
from typing import Any, Callable, Iterable, Optional

import numpy as np

from pymodel.progbar import Progbar

_log = logging.getLogger("pymodel")


def _print_msg(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


#: Hooks whose default implementation calls a backwards-compatible alias.
_HOOK_ALIASES = {"on_train_batch_begin": ("on_batch_begin",),
                 "on_train_batch_end": ("on_batch_end",)}


def handles(callback, hook: str) -> bool:
    """True when ``callback`` does something on ``hook``: it (or the alias its default
    calls) is overridden by the class or set on the instance (LambdaCallback)."""
    return any(getattr(getattr(callback, name, None), "__func__", None)
               is not getattr(Callback, name, None)
               for name in (hook,) + _HOOK_ALIASES.get(hook, ()))


def _to_python(value: Any) -> Any:
    """Turns NumPy scalars and 0-d arrays into Python numbers; leaves the rest alone."""
    if type(value) is float:  # what fit logs: the common case, once per epoch and key
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


class Callback:
    """Base class of callbacks: every hook does nothing; override the ones you need.

    `fit` calls `on_train_begin`, then per epoch `on_epoch_begin`, `on_train_batch_begin` /
    `on_train_batch_end` per batch, the `on_test_*` hooks for validation, `on_epoch_end` (its
    logs hold the epoch's results, `val_` keys included), and finally `on_train_end`. Setting
    `self.model.stop_training = True` ends training after the current batch.

    Attributes:
        params: Dict of training parameters (verbose, epochs, steps).
        model: The model being trained, set by `set_model`.

    Example:
        >>> class StopBelow(keras.callbacks.Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         if logs["loss"] < 10.0:
        ...             self.model.stop_training = True
        >>> history = model.fit(x, y, epochs=5, callbacks=[StopBelow()], verbose=0)
        >>> history.epoch
        [0]
    """

    def __init__(self):
        self.validation_data = None
        self.model = None
        self.params: dict = {}

    def set_params(self, params: dict) -> None:
        self.params = params

    def set_model(self, model) -> None:
        self.model = model

    def on_batch_begin(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_begin`."""

    def on_batch_end(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_end`."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch (training mode only)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch; logs hold the epoch's results, val_ keys included."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before each batch of evaluate (and of fit's validation)."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after each batch of evaluate (and of fit's validation)."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before each batch of predict."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after each batch of predict."""

    def on_train_begin(self, logs=None):
        """Called at the beginning of training."""

    def on_train_end(self, logs=None):
        """Called at the end of training."""

    def on_test_begin(self, logs=None):
        """Called at the beginning of evaluation or validation."""

    def on_test_end(self, logs=None):
        """Called at the end of evaluation or validation."""

    def on_predict_begin(self, logs=None):
        """Called at the beginning of prediction."""

    def on_predict_end(self, logs=None):
        """Called at the end of prediction."""


class CallbackList:
    """Container dispatching each hook to a list of callbacks, in order.

    Args:
        callbacks: List of `Callback` instances (or None).
        add_history: Append a `History` callback if there is none.
        add_progbar: Append a `ProgbarLogger` (after History) if there is none.
        model: The model the callbacks act on.
        **params: Training parameters (verbose, epochs, steps) given to `set_params`.
    """

    def __init__(self, callbacks=None, add_history: bool = False, add_progbar: bool = False,
                 model=None, **params):
        self.callbacks = list(callbacks) if callbacks else []
        self._hook_cache: dict = {}
        self._add_default_callbacks(add_history, add_progbar)
        self.model = None
        self.params: dict = {}
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def _add_default_callbacks(self, add_history: bool, add_progbar: bool) -> None:
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        # NOTE: order as in tf-keras: user callbacks, History, ProgbarLogger; so the
        # bar and History show keys that callbacks add to the logs (e.g. "lr").
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger(count_mode="steps")
            self.callbacks.append(self._progbar)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_params(self, params: dict) -> None:
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def set_model(self, model) -> None:
        self.model = model
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def _takers(self, hook: str) -> list:
        """The callbacks that do something on ``hook`` (cached until the list changes)."""
        cached = self._hook_cache.get(hook)
        if cached is None or cached[0] != len(self.callbacks):
            cached = self._hook_cache[hook] = (len(self.callbacks),
                                               [cb for cb in self.callbacks if handles(cb, hook)])
        return cached[1]

    def _call(self, hook: str, *args) -> None:
        # One fresh dict of Python numbers shared by all callbacks of this hook, as
        # in tf-keras: the caller's dict is untouched, and what one callback adds
        # (ReduceLROnPlateau's "lr") the next ones see. Hooks nobody overrides cost
        # nothing (a 1500-epoch fit of a tiny model spends most of its time here).
        takers = self._takers(hook)
        if not takers:
            return
        *args, logs = args
        logs = {k: _to_python(v) for k, v in (logs or {}).items()}
        for callback in takers:
            getattr(callback, hook)(*args, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def __iter__(self):
        return iter(self.callbacks)


class History(Callback):
    """Records each epoch's logs into `history` (a dict of lists of Python floats).

    Added to every fit; `model.history` refers to it and fit returns it.

    Example:
        >>> history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
        >>> list(history.history), history.epoch
        (['loss', 'accuracy', 'val_loss', 'val_accuracy'], [0, 1])
    """

    def __init__(self):
        super().__init__()
        self.history: dict = {}
        self.epoch: list = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        # NOTE: set at once (tf-keras waits for the first epoch's end) so that the
        # history is reachable even when fit is interrupted during its first epoch.
        if self.model is not None:
            self.model.history = self

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(_to_python(v))
        # The model points at the latest state (as in tf-keras).
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints metrics to stdout through a `Progbar`.

    Args:
        count_mode: "steps" or "samples": what the bar counts.
        stateful_metrics: Names shown as given rather than averaged over the epoch.

    NOTE: every logged value is shown as given, since fit logs running means (as tf-keras,
    where all of fit's logs are the model's stateful metrics); the bar never re-averages them.
    """

    def __init__(self, count_mode: str = "samples", stateful_metrics: Optional[Iterable[str]] = None):
        super().__init__()
        if count_mode not in ("samples", "steps"):
            raise ValueError(
                f"Unknown `count_mode`: {count_mode}. Expected values are [\"samples\", \"steps\"]")
        self.use_steps = count_mode == "steps"
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        self.seen = 0
        self.progbar: Optional[Progbar] = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        self.verbose = params["verbose"]
        self.epochs = params["epochs"]
        if self.use_steps and "steps" in params:
            self.target = params["steps"]
        elif not self.use_steps and "samples" in params:
            self.target = params["samples"]
        else:
            self.target = None

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            _print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._batch_update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._batch_update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._batch_update_progbar(batch, None)  # predictions are not shown

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def _reset_progbar(self) -> None:
        self.seen = 0
        self.progbar = None

    def _stateful_names(self, logs) -> set:
        metrics = getattr(self.model, "metrics", None) or []
        return set(logs or {}) | {getattr(m, "name", m) for m in metrics}

    def _maybe_init_progbar(self, logs=None) -> None:
        names = self.stateful_metrics | self._stateful_names(logs)
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose, stateful_metrics=names,
                                   unit_name="step" if self.use_steps else "sample")
        self.progbar._update_stateful_metrics(names)

    def _batch_update_progbar(self, batch, logs=None) -> None:
        logs = logs or {}
        self._maybe_init_progbar(logs)
        if self.use_steps:
            self.seen = batch + 1  # one-indexed
        else:
            logs = copy.copy(logs)
            batch_size = logs.pop("size", 0)
            num_steps = logs.pop("num_steps", 1)
            logs.pop("batch", None)
            self.seen += num_steps * batch_size
        if self.verbose == 1:
            self.progbar.update(self.seen, [(k, _to_python(v)) for k, v in logs.items()], finalize=False)

    def _finalize_progbar(self, logs) -> None:
        logs = {k: _to_python(v) for k, v in (logs or {}).items()}
        if self.progbar is None:
            self._maybe_init_progbar(logs)
        else:
            self.progbar._update_stateful_metrics(self._stateful_names(logs))
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list(logs.items()), finalize=True)


def _monitor_is_accuracy_like(monitor: str) -> bool:
    return monitor.endswith("acc") or monitor.endswith("accuracy") or monitor.endswith("auc")


class EarlyStopping(Callback):
    """Stops training when a monitored quantity has stopped improving.

    Args:
        monitor: Quantity to be monitored.
        min_delta: Minimum change that counts as an improvement.
        patience: Number of epochs with no improvement after which training stops.
        verbose: 1 prints when the callback acts.
        mode: "min", "max" or "auto" (direction inferred from the name).
        baseline: Value the monitored quantity must beat to reset the patience counter.
        restore_best_weights: Restore the weights of the best epoch at the end of training.
        start_from_epoch: Epochs to wait before starting to monitor improvement.

    Example:
        >>> stop = keras.callbacks.EarlyStopping(monitor="loss", patience=2,
        ...                                      restore_best_weights=True)
        >>> history = model.fit(x, y, epochs=100, callbacks=[stop], verbose=0)
        >>> stop.stopped_epoch == (len(history.epoch) - 1 if stop.stopped_epoch else 0)
        True
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = start_from_epoch
        if mode not in ("auto", "min", "max"):
            _log.warning("EarlyStopping mode %s is unknown, fallback to auto mode.", mode)
            mode = "auto"
        if mode == "min" or (mode == "auto" and not _monitor_is_accuracy_like(monitor)):
            self.monitor_op = np.less
            self.min_delta *= -1
        else:
            self.monitor_op = np.greater
        self.best = np.inf if self.monitor_op is np.less else -np.inf
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf if self.monitor_op is np.less else -np.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Weights after the first epoch, if no progress is ever made.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Only restart waiting when beating both the baseline and the previous best.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        # NOTE: as in tf-keras 2.21, the best weights come back at the end of
        # training whether or not it stopped early.
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            _log.warning("Early stopping conditioned on metric `%s` which is not available. "
                         "Available metrics are: %s", self.monitor, ",".join(logs))
        return value

    def _is_improvement(self, monitor_value, reference_value) -> bool:
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))


def _get_lr(optimizer) -> np.float32:
    """The current learning rate as tf-keras reads it from its float32 variable."""
    lr = optimizer.learning_rate
    if callable(lr):  # a LearningRateSchedule: its value at the current step
        lr = lr(int(getattr(optimizer, "iterations", 0)))
    return np.float32(float(lr))  # float(): also a scalar variable object


def _set_lr(optimizer, value: float) -> None:
    optimizer.learning_rate = float(value)


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch from `schedule(epoch, lr)`.

    Args:
        schedule: Function of the epoch index (0-based) and current learning rate
            returning the new rate; a one-argument `schedule(epoch)` also works.
        verbose: 1 prints the rate set each epoch.

    Example:
        >>> schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 * 0.5 ** epoch)
        >>> history = model.fit(x, y, epochs=3, callbacks=[schedule], verbose=0)
        >>> [round(lr, 6) for lr in history.history["lr"]]
        [0.01, 0.005, 0.0025]
    """

    def __init__(self, schedule: Callable, verbose: int = 0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "lr" attribute.')
        try:
            lr = self.schedule(epoch, float(_get_lr(optimizer)))
        except TypeError:  # one-argument schedule (old API)
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f'The output of the "schedule" function should be float. Got: {lr}')
        _set_lr(optimizer, lr)
        if self.verbose > 0:
            _print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = _get_lr(self.model.optimizer)


class ReduceLROnPlateau(Callback):
    """Reduces the learning rate when a metric has stopped improving.

    Args:
        monitor: Quantity to be monitored.
        factor: Factor by which the rate is reduced (new_lr = lr * factor), < 1.
        patience: Number of epochs with no improvement after which the rate is reduced.
        verbose: 1 prints a message on each reduction.
        mode: "min", "max" or "auto" ("max" when the name contains "acc").
        min_delta: Threshold for measuring a new optimum.
        cooldown: Epochs to wait after a reduction before resuming normal operation.
        min_lr: Lower bound on the learning rate.

    The rate is the optimizer's `learning_rate`; each epoch's rate is logged as `lr`.

    Example:
        >>> model.optimizer.learning_rate = 0.001
        >>> reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
        ...                                            min_delta=10.0)  # nothing improves by 10
        >>> history = model.fit(x, y, epochs=3, callbacks=[reduce], verbose=0)
        >>> [round(lr, 6) for lr in history.history["lr"]]
        [0.001, 0.001, 0.0005]
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0, **kwargs):
        super().__init__()
        self.monitor = monitor
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Got {factor}")
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            _log.warning("`epsilon` argument is deprecated and will be removed, use `min_delta` instead.")
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self.best = 0
        self.mode = mode
        self.monitor_op = None
        self._reset()

    def _reset(self) -> None:
        if self.mode not in ("auto", "min", "max"):
            _log.warning("Learning rate reduction mode %s is unknown, fallback to auto mode.", self.mode)
            self.mode = "auto"
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["lr"] = _get_lr(self.model.optimizer)
        current = logs.get(self.monitor)
        if current is None:
            _log.warning("Learning rate reduction is conditioned on metric `%s` which is not "
                         "available. Available metrics are: %s", self.monitor, ",".join(logs))
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _get_lr(self.model.optimizer)
                if old_lr > np.float32(self.min_lr):
                    # NOTE: float32 arithmetic, as on tf-keras's float32 variable,
                    # so the printed value reads the same.
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _set_lr(self.model.optimizer, new_lr)
                    if self.verbose > 0:
                        _print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing "
                                   f"learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0


class TerminateOnNaN(Callback):
    """Stops training when a batch's loss is NaN or infinite.

    Example:
        >>> history = model.fit(x, y, callbacks=[keras.callbacks.TerminateOnNaN()], verbose=0)
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None:
            loss = float(_to_python(loss))
            if math.isnan(loss) or math.isinf(loss):
                _print_msg(f"Batch {batch}: Invalid loss, terminating training")
                self.model.stop_training = True


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) at some frequency.

    Args:
        filepath: Path, formatted with `epoch` (1-based) and the logs' keys,
            e.g. "weights.{epoch:02d}-{val_loss:.2f}.h5".
        monitor: Quantity compared when `save_best_only`.
        verbose: 1 prints a message when saving.
        save_best_only: Save only when `monitor` improves on the best so far.
        save_weights_only: Call `model.save_weights` instead of `model.save`.
        mode: "min", "max" or "auto" ("max" when the name contains "acc").
        save_freq: "epoch", or an integer number of batches between saves.
        initial_value_threshold: Initial "best" value of `monitor`.

    `model.save` writes pymodel's zip format and `model.save_weights` NumPy `.npz` data,
    whatever the file name's extension.

    Example:
        >>> ckpt = keras.callbacks.ModelCheckpoint("ckpt/w.{epoch:02d}-{loss:.1f}.npz",
        ...                                        save_weights_only=True)
        >>> history = model.fit(x, y, epochs=2, callbacks=[ckpt], verbose=0)
        >>> import os; sorted(os.listdir("ckpt"))  # doctest: +ELLIPSIS
        ['w.01-0....npz', 'w.02-0....npz']
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", options=None,
                 initial_value_threshold=None, **kwargs):
        super().__init__()
        self.monitor = monitor
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.options = options
        if "period" in kwargs:
            _log.warning("`period` argument is deprecated. Please use `save_freq` to specify the "
                         "frequency in number of batches seen.")
        self.period = kwargs.get("period", 1)
        self.epochs_since_last_save = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._current_epoch = 0
        self.best = initial_value_threshold
        if mode not in ("auto", "min", "max"):
            _log.warning("ModelCheckpoint mode %s is unknown, fallback to auto mode.", mode)
            mode = "auto"
        if mode == "min" or (mode == "auto" and not ("acc" in monitor or monitor.startswith("fmeasure"))):
            self.monitor_op = np.less
            if self.best is None:
                self.best = np.inf
        else:
            self.monitor_op = np.greater
            if self.best is None:
                self.best = -np.inf
        if self.save_freq != "epoch" and not isinstance(self.save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {self.save_freq}. Expected save_freq "
                             'are "epoch" or integer')

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        # Batches restart at 0 each epoch: a smaller index means a new epoch began.
        add_batches = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_since_last_save += 1
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _save_model(self, epoch, batch, logs) -> None:
        logs = logs or {}
        if not isinstance(self.save_freq, int) and self.epochs_since_last_save < self.period:
            return
        filepath = self._get_file_path(epoch, batch, logs)
        self.epochs_since_last_save = 0
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                _log.warning("Can save best model only with %s available, skipping.", self.monitor)
                return
            if self.monitor_op(current, self.best):
                if self.verbose > 0:
                    _print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} "
                               f"to {current:.5f}, saving model to {filepath}")
                self.best = current
                self._write(filepath)
            elif self.verbose > 0:
                _print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
            return
        if self.verbose > 0:
            _print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
        self._write(filepath)

    def _write(self, filepath: str) -> None:
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)

    def _get_file_path(self, epoch, batch, logs) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from e


class CSVLogger(Callback):
    """Streams epoch results to a CSV file (tf-keras's format: header, \\r\\n line ends).

    Args:
        filename: Path of the CSV file.
        separator: Field separator.
        append: Append to an existing file (no second header) instead of overwriting.

    Example:
        >>> history = model.fit(x, y, epochs=2, callbacks=[keras.callbacks.CSVLogger("log.csv")],
        ...                     verbose=0)
        >>> open("log.csv").read().splitlines()[0]  # val_ columns even without validation, as Keras
        'epoch,accuracy,loss,val_accuracy,val_loss'
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r", newline="") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def handle_value(k):
            if isinstance(k, str):
                return k
            if isinstance(k, collections.abc.Iterable) and not (isinstance(k, np.ndarray) and k.ndim == 0):
                return f"\"[{', '.join(map(str, k))}]\""
            return k

        if self.keys is None:
            self.keys = sorted(logs.keys())
            # With validation_freq > 1 the first epoch has no val_ keys: add them.
            if not any(key.startswith("val_") for key in self.keys):
                self.keys.extend(["val_" + k for k in self.keys])
        if not self.writer:
            class CustomDialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=CustomDialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.writer = None


class LambdaCallback(Callback):
    """Callback built from plain functions.

    `on_epoch_begin`/`on_epoch_end` take `(epoch, logs)`, `on_batch_begin`/`on_batch_end`
    take `(batch, logs)`, `on_train_begin`/`on_train_end` take `(logs)`; other keyword
    arguments (e.g. `on_test_end=...`) set further hooks. As in Keras, the batch hooks are
    called with `logs=` as a keyword, so name that parameter `logs`.

    Example:
        >>> losses = []
        >>> log = keras.callbacks.LambdaCallback(
        ...     on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
        >>> history = model.fit(x, y, epochs=2, callbacks=[log], verbose=0)
        >>> len(losses)
        2
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None,
                 on_batch_end=None, on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_batch_begin=on_batch_begin, on_batch_end=on_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end)
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)
