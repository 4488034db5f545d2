"""Keras 2 losses: functions (per-sample values), classes, ``get``, and custom Python losses.

A loss gives per-sample values ``l_i`` (reducing the last axis) and the
gradient of ``alpha * sum_i w_i l_i`` with respect to ``y_pred``. Built-in
losses run in C; a custom Python function ``fn(y_true, y_pred)`` is wrapped in
:class:`LossFunctionWrapper`. Reduction is Keras's SUM_OVER_BATCH_SIZE:
``L = sum_i w_i l_i / N`` with N the number of samples (not the sum of weights).

Logits shortcut: when the output comes from a sigmoid or softmax, Keras computes
every crossentropy (BCE, CCE, SCCE; losses and metrics; whatever ``from_logits``
says) from the pre-activation ``z`` (no clipping): BCE of a softmax output is the
sigmoid crossentropy of its logits. The trainer then asks for
``descriptor(from_logits=True)`` and gets d loss/d z straight from the C kernel
(``sigmoid(z) - y`` / ``softmax(z) - y``, the crossentropy-with-logits gradient),
so the activation's own backward is skipped.

Example:
    >>> y_true = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]], "float32")
    >>> y_pred = np.array([[0.5, 3.0, 2.0], [0.0, 0.0, 0.0]], "float32")
    >>> round(float(keras.losses.MeanSquaredError()(y_true, y_pred)), 5)
    1.20833
    >>> keras.losses.mean_squared_error(y_true, y_pred).shape  # per sample
    (2,)
    >>> round(float(keras.losses.Huber(delta=1.0)(y_true, y_pred)), 5)
    0.52083
"""
from __future__ import annotations

import numpy as np

from pymodel import backend
from pymodel.validation import did_you_mean


def _kernels():
    from pymodel._native import losses as kernels
    return kernels


def _float(x, like=None) -> np.ndarray:
    dtype = like.dtype if like is not None else None
    if dtype is None:  # as tf.convert_to_tensor: float arrays keep their dtype, the rest floatx
        floating = isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64)
        dtype = x.dtype if floating else np.dtype(backend.floatx())
    return np.ascontiguousarray(x, dtype=dtype)


_LOGIT_KINDS = ("bce", "cce", "scce")


def _keras_logits(loss, y_pred):
    """The pre-activation a sigmoid/softmax output carries, for a crossentropy ``loss``.

    tf-keras's ``backend.sigmoid``/``softmax`` attach ``_keras_logits`` to their
    output and every crossentropy (loss or metric, whatever its ``from_logits``)
    then computes from those logits. pymodel's trainer attaches the same attribute
    to the outputs it hands to metrics.
    """
    if getattr(loss, "kind", None) in _LOGIT_KINDS:
        return getattr(y_pred, "_keras_logits", None)
    return None


def _rows(x: np.ndarray) -> np.ndarray:
    """View as (rows, last axis)."""
    return x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x


class Loss:
    """Base loss: ``loss(y_true, y_pred, sample_weight=None) -> float`` (SUM_OVER_BATCH_SIZE)."""

    sparse_targets = False

    def __init__(self, reduction: str = "auto", name: str | None = None):
        if reduction not in ("auto", "sum_over_batch_size", "sum", "none"):
            raise ValueError(f"Invalid Reduction Key: {reduction}. Expected keys are "
                             "\"auto, none, sum, sum_over_batch_size\"")
        self.reduction = reduction
        self.name = name or type(self).__name__

    # Per-sample values and gradient, on 2-D arrays (rows, cols).
    def per_sample(self, y_true, y_pred, out=None, from_logits: bool = False) -> np.ndarray:
        raise NotImplementedError

    def gradient(self, y_true, y_pred, weight=None, alpha: float = 1.0, out=None,
                 from_logits: bool = False) -> np.ndarray:
        raise NotImplementedError

    def prepare_targets(self, y, pred_shape: tuple, dtype) -> np.ndarray:
        """Targets as a C-contiguous float array shaped like the kernel expects."""
        y = np.asarray(y)
        if self.sparse_targets:
            return np.ascontiguousarray(y.reshape(-1), dtype=dtype)
        if y.ndim == len(pred_shape) - 1:
            y = y[..., None]
        return np.ascontiguousarray(y, dtype=dtype)

    def __call__(self, y_true, y_pred, sample_weight=None) -> np.floating:
        logits = _keras_logits(self, y_pred)
        y_pred = _float(y_pred if logits is None else logits)
        y_true = self.prepare_targets(y_true, y_pred.shape, y_pred.dtype)
        values = self.per_sample(_rows(y_true) if not self.sparse_targets else y_true,
                                 _rows(y_pred), from_logits=logits is not None)
        if sample_weight is not None:
            values = values * np.broadcast_to(np.asarray(sample_weight, values.dtype).reshape(-1),
                                              values.shape)
        if self.reduction == "none":
            return backend.as_tensor(values.reshape(y_pred.shape[:-1]))
        total = values.sum(dtype=np.float64)
        if self.reduction != "sum":
            total /= max(values.size, 1)
        return backend.as_tensor(np.array(total, dtype=y_pred.dtype))

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)


class KernelLoss(Loss):
    """A loss computed by the C kernel ``kind`` (``pymodel._native.losses``)."""

    kind = ""
    default_name = ""

    def __init__(self, reduction="auto", name=None, from_logits=False, label_smoothing=0.0,
                 delta=1.0):
        super().__init__(reduction=reduction, name=name or self.default_name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.delta = float(delta)
        self._desc = {}

    def descriptor(self, from_logits: bool = False):
        key = bool(from_logits or self.from_logits)
        if key not in self._desc:
            self._desc[key] = _kernels().descriptor(
                self.kind, from_logits=key, delta=self.delta,
                label_smoothing=self.label_smoothing, epsilon=backend.epsilon())
        return self._desc[key]

    def per_sample(self, y_true, y_pred, out=None, from_logits=False):
        return _kernels().forward(self.descriptor(from_logits), y_true, y_pred, out=out)

    def gradient(self, y_true, y_pred, weight=None, alpha=1.0, out=None, from_logits=False):
        return _kernels().backward(self.descriptor(from_logits), y_true, y_pred, weight=weight,
                                   alpha=alpha, out=out)


def _kernel_loss(class_name, kind, fn_name, options=(), doc=""):
    class_options = tuple(options)

    class Cls(KernelLoss):
        __doc__ = doc

        def get_config(self):
            config = super().get_config()
            for key in class_options:
                config[key] = getattr(self, key)
            return config

    Cls.__name__ = Cls.__qualname__ = class_name
    Cls.kind, Cls.default_name = kind, fn_name
    return Cls


MeanSquaredError = _kernel_loss("MeanSquaredError", "mse", "mean_squared_error",
                                doc="mean((y_pred - y_true)^2) over the last axis.")
MeanAbsoluteError = _kernel_loss("MeanAbsoluteError", "mae", "mean_absolute_error",
                                 doc="mean(|y_pred - y_true|).")
MeanAbsolutePercentageError = _kernel_loss(
    "MeanAbsolutePercentageError", "mape", "mean_absolute_percentage_error",
    doc="100 mean(|(y_true - y_pred) / max(|y_true|, eps)|).")
MeanSquaredLogarithmicError = _kernel_loss(
    "MeanSquaredLogarithmicError", "msle", "mean_squared_logarithmic_error",
    doc="mean((log(max(p, eps) + 1) - log(max(y, eps) + 1))^2).")
LogCosh = _kernel_loss("LogCosh", "log_cosh", "log_cosh", doc="mean(log(cosh(y_pred - y_true))).")
Hinge = _kernel_loss("Hinge", "hinge", "hinge", doc="mean(max(1 - y p, 0)), labels {0,1}->{-1,1}.")
SquaredHinge = _kernel_loss("SquaredHinge", "squared_hinge", "squared_hinge",
                            doc="mean(max(1 - y p, 0)^2).")
CategoricalHinge = _kernel_loss("CategoricalHinge", "categorical_hinge", "categorical_hinge",
                                doc="max(0, max((1 - y) p) - sum(y p) + 1).")
KLDivergence = _kernel_loss("KLDivergence", "kld", "kl_divergence",
                            doc="sum(y log(y / p)), clipped to [eps, 1].")
Poisson = _kernel_loss("Poisson", "poisson", "poisson", doc="mean(p - y log(p + eps)).")


class Huber(KernelLoss):
    """0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2, averaged over the last axis."""

    kind, default_name = "huber", "huber_loss"

    def __init__(self, delta=1.0, reduction="auto", name="huber_loss"):
        super().__init__(reduction=reduction, name=name, delta=delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class BinaryCrossentropy(KernelLoss):
    """Keras binary crossentropy (clipped probabilities, or ``from_logits``)."""

    kind, default_name = "bce", "binary_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="auto",
                 name="binary_crossentropy"):
        super().__init__(reduction=reduction, name=name, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.axis = axis

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalCrossentropy(BinaryCrossentropy):
    """Keras categorical crossentropy (renormalised and clipped, or ``from_logits``)."""

    kind, default_name = "cce", "categorical_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="auto",
                 name="categorical_crossentropy"):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)


class SparseCategoricalCrossentropy(KernelLoss):
    """Categorical crossentropy with integer labels (one per sample)."""

    kind, default_name = "scce", "sparse_categorical_crossentropy"
    sparse_targets = True

    def __init__(self, from_logits=False, ignore_class=None, reduction="auto",
                 name="sparse_categorical_crossentropy"):
        super().__init__(reduction=reduction, name=name, from_logits=from_logits)
        if ignore_class is not None:
            raise ValueError(f"pymodel does not support ignore_class. "
                             f"Received: ignore_class={ignore_class}")
        self.ignore_class = ignore_class

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


#: Elements of y_pred per call of a Python loss when its gradient is estimated:
#: the perturbed copies of a batch go through in groups this size (8 MB in float64).
_STACKED_ELEMENTS = 1 << 20


class LossFunctionWrapper(Loss):
    """A Python loss ``fn(y_true, y_pred) -> per-sample values`` (NumPy), made trainable.

    The gradient comes from ``fn.gradient(y_true, y_pred)`` (d l_i / d y_pred,
    same shape as y_pred) when the function has that attribute. Otherwise it
    is estimated by central differences in float64: a sample's loss depends
    only on its own row (as in Keras, where a loss sees batches of any size),
    so the ``2 * cols`` perturbed copies of the batch (every row's column
    ``j`` moved by ``+-h``) are stacked into one batch for one call of
    ``fn`` (a function that returns one scalar for the whole batch needs
    ``2 * rows * cols`` calls more). With the step
    ``h = eps**(1/3) * max(1, |y_pred|)`` (about 6e-6) the error is
    ``O(h^2 f''')`` plus ``O(eps / h)`` rounding: about 1e-10 relative for a
    smooth loss, far below float32 resolution. Kinks (abs, max) give a
    one-sided average within ``h`` of the kink.
    """

    def __init__(self, fn, reduction="auto", name=None, **kwargs):
        super().__init__(reduction=reduction, name=name or getattr(fn, "__name__", "loss"))
        self.fn, self.fn_kwargs = fn, kwargs

    def _values(self, y_true, y_pred) -> np.ndarray:
        values = np.asarray(self.fn(y_true, y_pred, **self.fn_kwargs), dtype=np.float64)
        if values.ndim == 0:
            return np.full(y_pred.shape[0], float(values))
        return values.reshape(y_pred.shape[0], -1).mean(axis=1)

    def per_sample(self, y_true, y_pred, out=None, from_logits=False):
        values = self._values(y_true, y_pred)
        if out is None:
            return values.astype(y_pred.dtype)
        out[...] = values
        return out

    def gradient(self, y_true, y_pred, weight=None, alpha=1.0, out=None, from_logits=False):
        given = getattr(self.fn, "gradient", None)
        if given is not None:
            grad = np.asarray(given(y_true, y_pred), dtype=np.float64).reshape(y_pred.shape)
        else:
            grad = self._central_differences(np.asarray(y_true, np.float64),
                                             np.array(y_pred, np.float64))
        grad *= alpha
        if weight is not None:
            grad *= np.asarray(weight, np.float64).reshape(-1, 1)
        if out is None:
            return grad.astype(y_pred.dtype)
        out[...] = grad
        return out

    def _central_differences(self, y_true, p) -> np.ndarray:
        h = np.cbrt(np.finfo(np.float64).eps) * np.maximum(1.0, np.abs(p))
        rows = p.shape[0]
        flat, steps = p.reshape(rows, -1), h.reshape(rows, -1)
        grad = np.empty_like(flat)
        per_call = max(1, _STACKED_ELEMENTS // (2 * flat.size))  # columns per call of fn
        for j0 in range(0, flat.shape[1], per_call):
            cols = np.arange(j0, min(flat.shape[1], j0 + per_call))
            step = steps[:, cols].T  # (len(cols), rows)
            copies = np.broadcast_to(flat, (2, len(cols)) + flat.shape).copy()
            copies[0, np.arange(len(cols)), :, cols] += step
            copies[1, np.arange(len(cols)), :, cols] -= step
            count = 2 * len(cols)
            values = np.asarray(self.fn(np.concatenate([y_true] * count),
                                        copies.reshape((count * rows,) + p.shape[1:]),
                                        **self.fn_kwargs), dtype=np.float64)
            if values.ndim == 0:  # one scalar for the whole batch: rows are not independent
                return self._cellwise_differences(y_true, p, h)
            up, down = values.reshape(2, len(cols), rows, -1).mean(axis=3)
            grad[:, cols] = ((up - down) / (2 * step)).T
        return grad.reshape(p.shape)

    def _cellwise_differences(self, y_true, p, h) -> np.ndarray:
        """Central differences of a loss that returns one scalar per batch, one cell at a time."""
        grad = np.empty_like(p)
        for cell in np.ndindex(p.shape):
            keep = p[cell]
            p[cell] = keep + h[cell]
            up = self._values(y_true, p)
            p[cell] = keep - h[cell]
            down = self._values(y_true, p)
            p[cell] = keep
            # one value for the batch, repeated per row: d(mean)/dp
            grad[cell] = (up[0] - down[0]) / (2 * h[cell]) * p.shape[0]
        return grad

    def get_config(self):
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", str(self.fn))}


def _unit(v: np.ndarray) -> tuple:
    """``tf.math.l2_normalize`` on the last axis: (v / norm, norm), norm^2 floored at 1e-12."""
    sq = np.sum(v * v, axis=-1, keepdims=True)
    norm = np.sqrt(np.maximum(sq, 1e-12))
    return v / norm, norm, sq >= 1e-12


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample ``-sum(l2_normalize(y_true) * l2_normalize(y_pred))`` (Keras's loss sign)."""
    if axis not in (-1, np.ndim(y_pred) - 1):
        raise ValueError(f"pymodel's cosine_similarity reduces the last axis only. "
                         f"Received: axis={axis}")
    y_pred = _float(y_pred)
    y_true = _float(y_true, like=y_pred)
    value = -np.sum(_unit(y_true)[0] * _unit(y_pred)[0], axis=-1)
    return backend.as_tensor(value.astype(y_pred.dtype))


def _cosine_similarity_gradient(y_true, y_pred):
    """d/dp of -(u . p)/|p|, u = y/|y|: -(u - (u . p̂) p̂)/|p| (norm constant when floored)."""
    u = _unit(np.asarray(y_true, np.float64))[0]
    unit_p, norm, moving = _unit(np.asarray(y_pred, np.float64))
    dot = np.sum(u * unit_p, axis=-1, keepdims=True)
    return -(u - np.where(moving, dot * unit_p, 0.0)) / norm


cosine_similarity.gradient = _cosine_similarity_gradient


class CosineSimilarity(LossFunctionWrapper):
    """Keras ``CosineSimilarity(axis=-1)``: minus the cosine of y_true and y_pred per sample."""

    def __init__(self, axis=-1, reduction="auto", name="cosine_similarity"):
        super().__init__(cosine_similarity, reduction=reduction, name=name, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name, "axis": self.axis}


# ------------------------------------------------------------- function forms
def _function(cls, name, **options):
    def fn(y_true, y_pred, **kwargs):
        loss = cls(**options, **kwargs)
        logits = _keras_logits(loss, y_pred)
        y_pred = _float(y_pred if logits is None else logits)
        y = loss.prepare_targets(y_true, y_pred.shape, y_pred.dtype)
        values = loss.per_sample(y if loss.sparse_targets else _rows(y), _rows(y_pred),
                                 from_logits=logits is not None)
        return backend.as_tensor(values.reshape(y_pred.shape[:-1]))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Per-sample ``{name}`` (reduces the last axis); see :class:`{cls.__name__}`."
    fn.loss_class = (cls, options)
    return fn


mean_squared_error = _function(MeanSquaredError, "mean_squared_error")
mean_absolute_error = _function(MeanAbsoluteError, "mean_absolute_error")
mean_absolute_percentage_error = _function(MeanAbsolutePercentageError,
                                           "mean_absolute_percentage_error")
mean_squared_logarithmic_error = _function(MeanSquaredLogarithmicError,
                                           "mean_squared_logarithmic_error")
log_cosh = _function(LogCosh, "log_cosh")
hinge = _function(Hinge, "hinge")
squared_hinge = _function(SquaredHinge, "squared_hinge")
categorical_hinge = _function(CategoricalHinge, "categorical_hinge")
kl_divergence = _function(KLDivergence, "kl_divergence")
poisson = _function(Poisson, "poisson")
binary_crossentropy = _function(BinaryCrossentropy, "binary_crossentropy")
categorical_crossentropy = _function(CategoricalCrossentropy, "categorical_crossentropy")
sparse_categorical_crossentropy = _function(SparseCategoricalCrossentropy,
                                            "sparse_categorical_crossentropy")
huber = _function(Huber, "huber_loss")
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh

_FUNCTIONS = {
    "mean_squared_error": mean_squared_error, "mse": mse, "MSE": mse,
    "mean_absolute_error": mae, "mae": mae, "MAE": mae,
    "mean_absolute_percentage_error": mape, "mape": mape, "MAPE": mape,
    "mean_squared_logarithmic_error": msle, "msle": msle, "MSLE": msle,
    "log_cosh": log_cosh, "logcosh": log_cosh, "hinge": hinge, "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge, "kl_divergence": kld, "kld": kld, "KLD": kld,
    "kullback_leibler_divergence": kld, "poisson": poisson,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "huber": huber, "huber_loss": huber, "cosine_similarity": cosine_similarity,
}
_CLASSES = {c.__name__: c for c in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence,
    Poisson, Huber, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    CosineSimilarity)}


def serialize(loss) -> dict | str:
    if isinstance(loss, Loss) and type(loss).__name__ in _CLASSES:
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    return getattr(loss, "__name__", getattr(loss, "name", str(loss)))


def deserialize(name, custom_objects: dict | None = None):
    if isinstance(name, dict):
        cls = (custom_objects or {}).get(name["class_name"]) or _CLASSES.get(name["class_name"])
        if cls is None:
            raise ValueError(f"Unknown loss function: '{name['class_name']}'. Please ensure "
                             "you are using a `keras.utils.custom_object_scope` and that this "
                             "object is included in the scope. "
                             "See https://www.tensorflow.org/guide/keras/save_and_serialize"
                             "#registering_the_custom_object for details.")
        return cls.from_config(name.get("config", {}))
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _FUNCTIONS:
        return _FUNCTIONS[name]
    if name in _CLASSES:
        return _CLASSES[name]()
    raise ValueError(f"Unknown loss function: '{name}'. Please ensure you are using a "
                     "`keras.utils.custom_object_scope` and that this object is included in "
                     "the scope. "
                     "See https://www.tensorflow.org/guide/keras/save_and_serialize"
                     "#registering_the_custom_object for details." + did_you_mean(name, list(_FUNCTIONS) + list(_CLASSES)))


def get(identifier):
    """A loss function or instance from a name, a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss function identifier: {identifier}")


def to_loss_object(identifier) -> Loss:
    """The :class:`Loss` that ``compile`` trains with (functions become their class)."""
    loss = get(identifier)
    if isinstance(loss, Loss):
        return loss
    if hasattr(loss, "loss_class"):
        cls, options = loss.loss_class
        return cls(name=loss.__name__, **options)
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    return LossFunctionWrapper(loss)
