"""Keras 2 metrics: per-sample functions, the stateful classes, and ``compile``'s name resolution.

A metric's epoch value is the (sample-weighted) mean of its per-sample values,
as Keras's ``MeanMetricWrapper`` computes it.
"""
from __future__ import annotations

import numpy as np

from pymodel import backend, losses
from pymodel.validation import did_you_mean


def _pair(y_true, y_pred):
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true)
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    return y_true, y_pred


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> np.ndarray:
    """mean over the last axis of ``y_true == (y_pred > threshold)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return backend.as_tensor(np.mean(y_true == (y_pred > threshold), axis=-1, dtype=np.float32))


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """``argmax(y_true) == argmax(y_pred)`` per sample."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return backend.as_tensor((np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float32))


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """``y_true == argmax(y_pred)`` per sample (a trailing axis of 1 in y_true is squeezed)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return backend.as_tensor((y_true == np.argmax(y_pred, -1)).astype(np.float32))


def accuracy(y_true, y_pred) -> np.ndarray:
    """Keras's ``Accuracy``: element-wise equality of labels and predictions."""
    y_true, y_pred = _pair(y_true, y_pred)
    equal = y_true == y_pred
    return backend.as_tensor(np.mean(equal, axis=-1, dtype=np.float32) if y_pred.ndim > 1
                             else equal.astype(np.float32))


mean_squared_error = mse = MSE = losses.mean_squared_error
mean_absolute_error = mae = MAE = losses.mean_absolute_error
mean_absolute_percentage_error = mape = MAPE = losses.mean_absolute_percentage_error
mean_squared_logarithmic_error = msle = MSLE = losses.mean_squared_logarithmic_error
binary_crossentropy = losses.binary_crossentropy
categorical_crossentropy = losses.categorical_crossentropy
sparse_categorical_crossentropy = losses.sparse_categorical_crossentropy
hinge, squared_hinge, poisson = losses.hinge, losses.squared_hinge, losses.poisson
kl_divergence = kld = losses.kl_divergence


class Metric:
    """Stateful metric: ``update_state``, ``result``, ``reset_state``."""

    def __init__(self, name: str | None = None, dtype=None):
        self.name = name or type(self).__name__.lower()
        self.dtype = dtype or "float32"
        self.reset_state()

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    reset_states = reset_state

    def result(self) -> np.float32:
        return np.float32(self.total / self.count if self.count else 0.0)

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class Mean(Metric):
    """Weighted mean of the values given to ``update_state``."""

    def update_state(self, values, sample_weight=None) -> None:
        values = np.asarray(values, np.float64).reshape(-1)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += values.size
        else:
            w = np.broadcast_to(np.asarray(sample_weight, np.float64).reshape(-1), values.shape)
            self.total += float(np.dot(values, w))
            self.count += float(w.sum())


class MeanMetricWrapper(Mean):
    """Mean of a per-sample function ``fn(y_true, y_pred)``."""

    def __init__(self, fn, name: str | None = None, dtype=None, **kwargs):
        self.fn, self.fn_kwargs = fn, kwargs
        super().__init__(name=name or getattr(fn, "__name__", "metric"), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        values = np.asarray(self.fn(y_true, y_pred, **self.fn_kwargs), np.float64)
        if values.ndim > 1:
            values = values.reshape(values.shape[0], -1).mean(axis=1)
        super().update_state(values, sample_weight)


def _wrapper(class_name, fn, default_name, **fixed):
    class Cls(MeanMetricWrapper):
        def __init__(self, name=default_name, dtype=None, **kwargs):
            super().__init__(fn, name=name, dtype=dtype, **{**fixed, **kwargs})

    Cls.__name__ = Cls.__qualname__ = class_name
    Cls.__doc__ = f"Mean of ``{fn.__name__}`` per sample."
    return Cls


Accuracy = _wrapper("Accuracy", accuracy, "accuracy")
BinaryAccuracy = _wrapper("BinaryAccuracy", binary_accuracy, "binary_accuracy", threshold=0.5)
CategoricalAccuracy = _wrapper("CategoricalAccuracy", categorical_accuracy,
                               "categorical_accuracy")
SparseCategoricalAccuracy = _wrapper("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                     "sparse_categorical_accuracy")
MeanSquaredError = _wrapper("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _wrapper("MeanAbsolutePercentageError", mape,
                                       "mean_absolute_percentage_error")
BinaryCrossentropy = _wrapper("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy")
CategoricalCrossentropy = _wrapper("CategoricalCrossentropy", categorical_crossentropy,
                                   "categorical_crossentropy")
SparseCategoricalCrossentropy = _wrapper("SparseCategoricalCrossentropy",
                                         sparse_categorical_crossentropy,
                                         "sparse_categorical_crossentropy")

_FUNCTIONS = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mse": mse, "mean_squared_error": mse, "MSE": mse, "mae": mae, "mean_absolute_error": mae,
    "MAE": mae, "mape": mape, "mean_absolute_percentage_error": mape, "MAPE": mape,
    "msle": msle, "mean_squared_logarithmic_error": msle, "MSLE": msle,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "hinge": hinge, "squared_hinge": squared_hinge, "poisson": poisson, "kld": kld,
    "kl_divergence": kld,
}
_CLASSES = {c.__name__: c for c in (
    Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy)}


def get(identifier):
    """A metric function or instance from a name, a config dict, an instance or a callable."""
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown metric function: {identifier!r}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        if identifier in ("accuracy", "acc"):
            return accuracy
        raise ValueError(f"Unknown metric function: '{identifier}'. Please ensure you are "
                         "using a `keras.utils.custom_object_scope` and that this object is "
                         "included in the scope." + did_you_mean(
                             identifier, ["accuracy"] + list(_FUNCTIONS) + list(_CLASSES)))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric identifier: {identifier}")


def serialize(metric):
    if isinstance(metric, Metric):
        return {"class_name": type(metric).__name__, "config": metric.get_config()}
    return getattr(metric, "__name__", str(metric))


def resolve(identifier, y_true_shape: tuple, y_pred_shape: tuple) -> Metric:
    """The metric object ``compile`` uses, with Keras's ``"accuracy"``/``"crossentropy"`` rule.

    ``y_pred`` with one column -> binary; ``y_true`` of lower rank, or one column
    against several -> sparse categorical; otherwise categorical.
    """
    if isinstance(identifier, Metric):
        return identifier
    if identifier in ("accuracy", "acc", "crossentropy", "ce"):
        acc = identifier in ("accuracy", "acc")
        if y_pred_shape[-1] == 1:
            fn = binary_accuracy if acc else binary_crossentropy
        elif len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1
                                                       and y_pred_shape[-1] > 1):
            fn = sparse_categorical_accuracy if acc else sparse_categorical_crossentropy
        else:
            fn = categorical_accuracy if acc else categorical_crossentropy
        return MeanMetricWrapper(fn, name=identifier)
    fn = get(identifier)
    if isinstance(fn, Metric):
        return fn
    name = identifier if isinstance(identifier, str) else getattr(fn, "__name__", "metric")
    return MeanMetricWrapper(fn, name=name)
