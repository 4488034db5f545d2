"""Loss kernels: per-sample values and gradients w.r.t. the prediction, tf-keras 2.x formulas.

A loss reduces the last axis of a ``(rows, cols)`` batch to one value per row
(the mean for most losses, the sum for ``cce``/``kld``; ``scce`` takes one
integer label per row, stored as floats). Callers reshape rank > 2 inputs to
2-D and apply Keras's reduction themselves, e.g. ``SUM_OVER_BATCH_SIZE``:
``sum(weight * per_sample) / rows``, whose gradient is
``backward(..., weight=weight, alpha=1 / rows)``.

Fused output deltas: with ``from_logits=True`` the crossentropies take the
pre-activation ``z`` and return the stable gradients ``(sigmoid(z) - y) / cols``
(BCE) and ``softmax(z) - y`` (CCE, SCCE with one-hot ``y``). They are exact
because d/dz of ``-sum y log softmax(z)`` is ``softmax(z) * sum(y) - y`` and
label rows sum to 1 (TensorFlow's fused op assumes the same), and d/dz of
``-(y log s + (1 - y) log(1 - s))`` with ``s = sigmoid(z)`` is ``s - y``. This is
what Keras itself uses after a sigmoid/softmax output layer.
"""
from __future__ import annotations

import numpy as np

from pymodel._native import (KernelError, check, check_no_overlap, ffi, kernel, lib, out_ptr,
                             ptr, require)

__all__ = ["KINDS", "descriptor", "forward", "backward"]

#: Canonical loss kernel names -> pm_loss kind.
KINDS: dict[str, int] = {
    "mse": lib.PM_LOSS_MSE,
    "mae": lib.PM_LOSS_MAE,
    "mape": lib.PM_LOSS_MAPE,
    "msle": lib.PM_LOSS_MSLE,
    "huber": lib.PM_LOSS_HUBER,
    "log_cosh": lib.PM_LOSS_LOG_COSH,
    "bce": lib.PM_LOSS_BCE,
    "cce": lib.PM_LOSS_CCE,
    "scce": lib.PM_LOSS_SCCE,
    "hinge": lib.PM_LOSS_HINGE,
    "squared_hinge": lib.PM_LOSS_SQUARED_HINGE,
    "kld": lib.PM_LOSS_KLD,
    "poisson": lib.PM_LOSS_POISSON,
    "categorical_hinge": lib.PM_LOSS_CATEGORICAL_HINGE,
}
_LOGIT_KINDS = {"bce", "cce", "scce"}
_SMOOTHING_KINDS = {"bce", "cce"}


def descriptor(kind: str, from_logits: bool = False, delta: float = 1.0,
               label_smoothing: float = 0.0, epsilon: float = 1e-7):
    """A ``pm_loss`` descriptor (owning cdata) for ``forward``/``backward``.

    Args:
        kind: a name in ``KINDS``.
        from_logits: ``bce``/``cce``/``scce`` only: ``y_pred`` holds logits.
        delta: Huber threshold (> 0).
        label_smoothing: ``bce``/``cce`` only, in [0, 1].
        epsilon: Keras's ``backend.epsilon()``, in [0, 0.5).
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown loss kind. Expected one of {sorted(KINDS)}. Received: kind={kind!r}")
    if from_logits and kind not in _LOGIT_KINDS:
        raise ValueError(f"from_logits applies to {sorted(_LOGIT_KINDS)} only. "
                         f"Received: kind={kind!r}, from_logits={from_logits!r}")
    if label_smoothing and kind not in _SMOOTHING_KINDS:
        raise ValueError(f"label_smoothing applies to {sorted(_SMOOTHING_KINDS)} only. "
                         f"Received: kind={kind!r}, label_smoothing={label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1]. Received: label_smoothing={label_smoothing!r}")
    if not delta > 0.0:
        raise ValueError(f"delta must be positive. Received: delta={delta!r}")
    if not 0.0 <= epsilon < 0.5:
        raise ValueError(f"epsilon must be in [0, 0.5). Received: epsilon={epsilon!r}")
    return ffi.new("pm_loss *", {
        "kind": KINDS[kind], "from_logits": int(bool(from_logits)), "delta": float(delta),
        "label_smoothing": float(label_smoothing), "epsilon": float(epsilon),
    })


def _struct(desc):
    if not isinstance(desc, ffi.CData) or ffi.typeof(desc) not in (_LOSS_PTR, _LOSS):
        raise TypeError(f"desc must come from losses.descriptor(). Received: {desc!r}")
    return desc[0] if ffi.typeof(desc) is _LOSS_PTR else desc


_LOSS_PTR = ffi.typeof("pm_loss *")
_LOSS = ffi.typeof("pm_loss")


def _inputs(loss, y_true, y_pred):
    """Check the pair and return (rows, cols)."""
    y_pred = require(y_pred, "y_pred", shape=(None, None))
    rows, cols = y_pred.shape
    if loss.kind == lib.PM_LOSS_SCCE:
        y_true = require(y_true, "y_true", dtype=y_pred.dtype)
        if y_true.shape not in ((rows,), (rows, 1)):
            raise ValueError(f"sparse_categorical_crossentropy takes one label per row: y_true must "
                             f"have shape ({rows},) or ({rows}, 1) for y_pred of shape {y_pred.shape}. "
                             f"Received: y_true.shape={y_true.shape}")
    else:
        require(y_true, "y_true", dtype=y_pred.dtype, shape=y_pred.shape)
    if rows and not cols:
        raise ValueError(f"y_pred must have at least one column. Received: shape={y_pred.shape}")
    return rows, cols


def _check(status, loss, name, y_true, cols):
    if status == lib.PM_EINVAL and loss.kind == lib.PM_LOSS_SCCE:
        bad = y_true[(y_true < 0) | (y_true >= cols) | (y_true != np.floor(y_true))]
        if bad.size:
            raise KernelError(f"sparse_categorical_crossentropy labels must be integers in "
                              f"[0, {cols}). Received: label={bad.flat[0]!r}")
    check(status, name)


def forward(desc, y_true: np.ndarray, y_pred: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Per-sample loss values, shape ``(rows,)``, in ``y_pred``'s dtype."""
    loss = _struct(desc)
    rows, cols = _inputs(loss, y_true, y_pred)
    if out is None:
        out = np.empty(rows, dtype=y_pred.dtype)
    require(out, "out", dtype=y_pred.dtype, shape=(rows,), writable=True)
    check_no_overlap(out, "out", (y_true, "y_true"), (y_pred, "y_pred"))
    status = kernel("loss_fwd", y_pred.dtype)(loss, rows, cols, ptr(y_true), ptr(y_pred), out_ptr(out))
    _check(status, loss, "pm_loss_fwd", y_true, cols)
    return out


def backward(desc, y_true: np.ndarray, y_pred: np.ndarray, weight: np.ndarray | None = None,
             alpha: float = 1.0, out: np.ndarray | None = None) -> np.ndarray:
    """``alpha * weight[i] * d loss_i / d y_pred[i, j]``, shape of ``y_pred`` (weight None: ones)."""
    loss = _struct(desc)
    rows, cols = _inputs(loss, y_true, y_pred)
    if weight is not None:
        require(weight, "weight", dtype=y_pred.dtype, shape=(rows,))
    if out is None:
        out = np.empty_like(y_pred)
    require(out, "out", dtype=y_pred.dtype, shape=y_pred.shape, writable=True)
    check_no_overlap(out, "out", (y_true, "y_true"), (y_pred, "y_pred"), (weight, "weight"))
    w = ffi.NULL if weight is None else ptr(weight)
    status = kernel("loss_bwd", y_pred.dtype)(loss, rows, cols, ptr(y_true), ptr(y_pred), w,
                                              float(alpha), out_ptr(out))
    _check(status, loss, "pm_loss_bwd", y_true, cols)
    return out
