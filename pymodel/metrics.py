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


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    """1 where ``argmax(y_true)`` is among the ``k`` largest predictions (ties count as in)."""
    return sparse_top_k_categorical_accuracy(np.argmax(np.asarray(y_true), -1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    """1 where the label's prediction is among the ``k`` largest (as ``tf.math.in_top_k``)."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true).reshape(y_pred.shape[:-1]).astype(np.int64)
    target = np.take_along_axis(y_pred, y_true[..., None], axis=-1)
    above = np.sum(y_pred > target, axis=-1)
    return backend.as_tensor((above < k).astype(np.float32))


def cosine_similarity(y_true, y_pred, axis: int = -1) -> np.ndarray:
    """Sum of l2-normalised ``y_true * y_pred`` (norms floored at 1e-6, as tf l2_normalize)."""
    def unit(v):
        v = np.asarray(v, np.float64)
        return v / np.sqrt(np.maximum(np.sum(v * v, axis=axis, keepdims=True), 1e-12))
    return backend.as_tensor(np.sum(unit(y_true) * unit(y_pred), axis=axis).astype(np.float32))


mean_squared_error = mse = MSE = losses.mean_squared_error
mean_absolute_error = mae = MAE = losses.mean_absolute_error
mean_absolute_percentage_error = mape = MAPE = losses.mean_absolute_percentage_error
mean_squared_logarithmic_error = msle = MSLE = losses.mean_squared_logarithmic_error
binary_crossentropy = losses.binary_crossentropy
categorical_crossentropy = losses.categorical_crossentropy
sparse_categorical_crossentropy = losses.sparse_categorical_crossentropy
hinge, squared_hinge, poisson = losses.hinge, losses.squared_hinge, losses.poisson
kl_divergence = kld = losses.kl_divergence
categorical_hinge, logcosh = losses.categorical_hinge, losses.log_cosh


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

    def get_config(self) -> dict:
        return {**super().get_config(), **self.fn_kwargs}

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

TopKCategoricalAccuracy = _wrapper("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                   "top_k_categorical_accuracy", k=5)
SparseTopKCategoricalAccuracy = _wrapper("SparseTopKCategoricalAccuracy",
                                         sparse_top_k_categorical_accuracy,
                                         "sparse_top_k_categorical_accuracy", k=5)
MeanSquaredLogarithmicError = _wrapper("MeanSquaredLogarithmicError", msle,
                                       "mean_squared_logarithmic_error")
Hinge = _wrapper("Hinge", hinge, "hinge")
SquaredHinge = _wrapper("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _wrapper("CategoricalHinge", categorical_hinge, "categorical_hinge")
KLDivergence = _wrapper("KLDivergence", kld, "kullback_leibler_divergence")
Poisson = _wrapper("Poisson", poisson, "poisson")
LogCoshError = _wrapper("LogCoshError", logcosh, "logcosh")
CosineSimilarity = _wrapper("CosineSimilarity", cosine_similarity, "cosine_similarity", axis=-1)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the (weighted) mean of the squared errors."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = _pair(y_true, y_pred)
        error = np.square(np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64))
        if sample_weight is not None:
            sample_weight = np.broadcast_to(
                np.asarray(sample_weight, np.float64).reshape(
                    (-1,) + (1,) * (error.ndim - 1)), error.shape)
        super().update_state(error, sample_weight)

    def result(self) -> np.float32:
        return np.float32(np.sqrt(self.total / self.count) if self.count else 0.0)


class _ConfusionMetric(Metric):
    """True/false positives and negatives per threshold (``pred > threshold``, as tf-keras).

    Every element counts (a multi-column output is flattened), unless ``class_id``
    picks one column; ``top_k`` keeps only each row's ``k`` largest predictions.
    """

    def __init__(self, thresholds, top_k=None, class_id=None, name=None, dtype=None):
        self.thresholds = np.atleast_1d(np.asarray(thresholds, np.float32))
        self.top_k, self.class_id = top_k, class_id
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        shape = self.thresholds.shape
        self.tp, self.fp = np.zeros(shape), np.zeros(shape)
        self.tn, self.fn = np.zeros(shape), np.zeros(shape)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = _pair(y_true, y_pred)
        y_pred = np.asarray(y_pred, np.float32)
        y_true = np.broadcast_to(np.asarray(y_true) != 0, y_pred.shape)
        if self.top_k is not None:
            kth = -np.sort(-y_pred, axis=-1)[..., self.top_k - 1:self.top_k]
            y_pred = np.where(y_pred >= kth, y_pred, -np.inf).astype(np.float32)
        w = np.ones(y_pred.shape) if sample_weight is None else np.broadcast_to(
            np.asarray(sample_weight, np.float64).reshape((-1,) + (1,) * (y_pred.ndim - 1)),
            y_pred.shape)
        if self.class_id is not None:
            y_true, y_pred, w = (a[..., self.class_id] for a in (y_true, y_pred, w))
        t, p, w = y_true.reshape(-1), y_pred.reshape(-1), w.reshape(-1)
        positive = p[None, :] > self.thresholds[:, None]
        self.tp += (positive & t) @ w
        self.fp += (positive & ~t) @ w
        self.fn += (~positive & t) @ w
        self.tn += (~positive & ~t) @ w

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "top_k": self.top_k,
                "class_id": self.class_id}


def _unique(cls) -> str:
    """Keras's name for a metric created without one: ``auc``, ``auc_1`` ... per session."""
    return backend.unique_object_name(backend.to_snake_case(cls.__name__))


def _divide_no_nan(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


class Precision(_ConfusionMetric):
    """``tp / (tp + fp)`` at ``thresholds`` (default 0.5)."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        default = 0.5 if top_k is None else -np.inf
        super().__init__(default if thresholds is None else thresholds, top_k, class_id,
                         name or _unique(type(self)), dtype)

    def result(self):
        value = _divide_no_nan(self.tp, self.tp + self.fp).astype(np.float32)
        return value[0] if value.size == 1 else value

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class Recall(Precision):
    """``tp / (tp + fn)`` at ``thresholds`` (default 0.5)."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        value = _divide_no_nan(self.tp, self.tp + self.fn).astype(np.float32)
        return value[0] if value.size == 1 else value


class AUC(_ConfusionMetric):
    """Area under the ROC or PR curve from ``num_thresholds`` confusion counts (tf-keras's).

    Thresholds ``[-eps, 1/(n-1), ..., (n-2)/(n-1), 1 + eps]``; ROC by the
    trapezoidal rule ("interpolation"), PR by Davis & Goadrich interpolation;
    "minoring"/"majoring" take the lower/upper heights.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        if multi_label:
            raise ValueError(f"pymodel's AUC does not support multi_label=True. "
                             f"Received: multi_label={multi_label}")
        eps = backend.epsilon()
        if thresholds is None:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        else:
            inner = list(thresholds)
            num_thresholds = len(inner) + 2
        self.num_thresholds, self.curve = num_thresholds, str(curve).upper()
        self.summation_method, self.from_logits = str(summation_method).lower(), from_logits
        self.multi_label, self.num_labels, self.label_weights = multi_label, num_labels, None
        self._given_thresholds = thresholds
        super().__init__([0.0 - eps] + inner + [1.0 + eps], name=name or _unique(type(self)),
                         dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if self.from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-np.asarray(y_pred, np.float64)))
        super().update_state(y_true, y_pred, sample_weight)

    def result(self) -> np.float32:
        n = self.num_thresholds
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        if self.curve == "PR" and self.summation_method == "interpolation":
            dtp = tp[:n - 1] - tp[1:]
            p = tp + fp
            dp = p[:n - 1] - p[1:]
            slope = _divide_no_nan(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * p[1:]
            both = (p[:n - 1] > 0) & (p[1:] > 0)
            ratio = np.where(both, _divide_no_nan(p[:n - 1], np.maximum(p[1:], 0)), 1.0)
            with np.errstate(divide="ignore"):
                log_ratio = np.log(ratio)
            increment = _divide_no_nan(slope * (dtp + intercept * log_ratio),
                                       np.maximum(tp[1:] + fn[1:], 0))
            return np.float32(np.sum(increment))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:n - 1], y[1:])
        else:
            heights = np.maximum(y[:n - 1], y[1:])
        return np.float32(np.sum((x[:n - 1] - x[1:]) * heights))

    def get_config(self):
        return {"num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "multi_label": self.multi_label,
                "num_labels": self.num_labels, "label_weights": self.label_weights,
                "thresholds": self._given_thresholds, "from_logits": self.from_logits,
                "name": self.name, "dtype": self.dtype}


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
    "kl_divergence": kld, "categorical_hinge": categorical_hinge, "logcosh": logcosh,
    "log_cosh": logcosh, "cosine_similarity": cosine_similarity,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
}
_CLASSES = {c.__name__: c for c in (
    Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, MeanSquaredLogarithmicError, Hinge, SquaredHinge,
    CategoricalHinge, KLDivergence, Poisson, LogCoshError, CosineSimilarity,
    RootMeanSquaredError, Precision, Recall, AUC)}


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
