"""Binding of the compiled plans: ``pm_plan`` built once, then one C call per step(s) or predict.

A :class:`TrainingPlan` holds a ``pm_plan`` struct whose pointers refer to
arrays the Python side owns (parameters, gradients, optimizer slots, layer
buffers); it keeps references to all of them, so they outlive the struct.
Everything is validated when the plan is built and when data is bound;
:meth:`TrainingPlan.train` then passes only integers and a learning rate,
which is what makes a tiny model's step cost about a microsecond of Python.
A :class:`ForwardPlan` lays out the same layers (plus Activation) for the
forward pass alone: ``predict`` and ``model(x)``.

The layer, loss and optimizer descriptions are plain values here; which
models qualify and how their objects map onto a plan is
``pymodel.training``'s business.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pymodel._native import (CTYPE, check, ffi, kernel, lib, nullable_ptr, out_ptr, ptr, require,
                             suffix)

__all__ = ["Dense", "Dropout", "Activation", "Param", "TrainingPlan", "ForwardPlan", "loss_sum",
           "OPTIMIZERS"]

#: optimizer name -> pm_plan optimizer kind
OPTIMIZERS = {"sgd": lib.PM_PLAN_SGD, "adagrad": lib.PM_PLAN_ADAGRAD,
              "rmsprop": lib.PM_PLAN_RMSPROP, "adam": lib.PM_PLAN_ADAM,
              "adamax": lib.PM_PLAN_ADAMAX, "adadelta": lib.PM_PLAN_ADADELTA,
              "lion": lib.PM_PLAN_LION}


@dataclass
class Dense:
    """A dense layer step: x (m, k) -> z, y (m, n); buffers for the plan capacity.

    ``dw``, ``db``, ``dz``, ``dx`` (the backward's) may be None in a :class:`ForwardPlan`.
    """

    w: np.ndarray
    b: np.ndarray | None
    act: object                 # pm_act * (pymodel._native.activations.descriptor)
    z: np.ndarray
    y: np.ndarray
    work: np.ndarray
    dw: np.ndarray | None = None
    db: np.ndarray | None = None
    dz: np.ndarray | None = None
    dx: np.ndarray | None = None
    rows_per_sample: int = 1
    fused: bool = False         # last layer whose dy is d loss / d z
    need_dx: bool = True


@dataclass
class Dropout:
    """Inverted dropout over ``n`` elements per flat row, 0 < rate < 1 (``dx``: backward's)."""

    rate: float
    rng: object                 # pymodel._native.dropout.Rng
    mask: np.ndarray
    y: np.ndarray
    n: int
    dx: np.ndarray | None = None
    rows_per_sample: int = 1
    need_dx: bool = True


@dataclass
class Activation:
    """y = act(x) on (rows_per_sample, n) per sample; ``dx`` the backward's (None in a
    :class:`ForwardPlan`). A ``fused`` last layer passes dy = d loss / d x through, and ``z``
    is then its input, the logits the loss reads."""

    act: object                 # pm_act *
    y: np.ndarray
    n: int
    rows_per_sample: int = 1
    need_dx: bool = False
    dx: np.ndarray | None = None
    fused: bool = False
    z: np.ndarray | None = None


@dataclass
class Param:
    """A trainable variable, its gradient, its optimizer slots (None where unused) and its
    L1/L2 regularization ``(l1, l2)``, None for none."""

    w: np.ndarray
    g: np.ndarray
    slots: tuple = field(default_factory=tuple)
    regularizer: tuple | None = None


def _raw(arr, name: str, dtype, shape=None, writable: bool = False) -> np.ndarray:
    """``require`` for the non-float arrays (uint8 workspace, int64 order)."""
    if not isinstance(arr, np.ndarray) or arr.dtype != np.dtype(dtype):
        raise TypeError(f"{name} must be a numpy.ndarray of {np.dtype(dtype)}. Received: {arr!r:.60}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}. Received: shape={arr.shape}")
    if not arr.flags.c_contiguous or (writable and not arr.flags.writeable):
        raise ValueError(f"{name} must be C-contiguous{' and writable' if writable else ''}")
    return arr


def loss_sum(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """``sum_i values[i] * weights[i]`` in double, left to right (the batch loss total)."""
    require(values, "values", shape=(None,))
    if weights is not None:
        require(weights, "weights", dtype=values.dtype, shape=values.shape)
    out = ffi.new("double *")
    check(kernel("loss_sum", values.dtype)(values.size, ptr(values), nullable_ptr(weights), out),
          "pm_loss_sum")
    return float(out[0])


class _Plan:
    """A ``pm_plan`` struct and its layers over caller-owned arrays (kept referenced)."""

    def __init__(self, layers: list, dtype):
        self.dtype = np.dtype(dtype)
        suffix(self.dtype)
        self._keep: list = []
        p = self._p = ffi.new("pm_plan *")
        self._layers = ffi.new("pm_plan_layer[]", len(layers))
        for i, layer in enumerate(layers):
            self._layer(self._layers[i], layer)
        p.n_layers, p.layers = len(layers), self._layers

    # ------------------------------------------------------------------ building
    def _out(self, arr, name):
        require(arr, name, dtype=self.dtype, writable=True)
        self._keep.append(arr)
        return out_ptr(arr)

    def _opt(self, arr, name):
        return ffi.NULL if arr is None else self._out(arr, name)

    def _layer(self, c, layer) -> None:
        c.rows_per_sample, c.need_dx = int(layer.rows_per_sample), int(bool(layer.need_dx))
        if isinstance(layer, Dense):
            k, n = layer.w.shape
            c.kind, c.k, c.n, c.fused = lib.PM_PLAN_DENSE, k, n, int(bool(layer.fused))
            c.act = layer.act[0]
            self._keep.append(layer.act)
            c.w, c.b = self._out(layer.w, "w"), self._opt(layer.b, "b")
            c.dw, c.db = self._opt(layer.dw, "dw"), self._opt(layer.db, "db")
            c.z, c.y = self._out(layer.z, "z"), self._out(layer.y, "y")
            c.dz, c.dx = self._opt(layer.dz, "dz"), self._opt(layer.dx, "dx")
            work = _raw(layer.work, "work", np.uint8, writable=True)
            self._keep.append(work)
            c.work, c.work_bytes = ffi.from_buffer(layer.work, require_writable=True), \
                layer.work.nbytes
        elif isinstance(layer, Dropout):
            if not 0 < layer.rate < 1:
                raise ValueError(f"plan dropout rate must be in (0, 1). Received: rate={layer.rate}")
            c.kind, c.n, c.rate, c.rng = lib.PM_PLAN_DROPOUT, int(layer.n), float(layer.rate), \
                layer.rng._state
            self._keep.append(layer.rng)
            c.mask, c.y = self._out(layer.mask, "mask"), self._out(layer.y, "y")
            c.dx = self._opt(layer.dx, "dx")
        elif isinstance(layer, Activation):
            c.kind, c.n, c.act = lib.PM_PLAN_ACTIVATION, int(layer.n), layer.act[0]
            c.fused = int(bool(layer.fused))
            self._keep.append(layer.act)
            c.y, c.dx, c.z = self._out(layer.y, "y"), self._opt(layer.dx, "dx"), \
                self._opt(layer.z, "z")
        else:
            raise TypeError("plan layers are Dense, Dropout or Activation. Received: "
                            f"{type(layer).__name__}")


class TrainingPlan(_Plan):
    """A ``pm_plan``: layers, loss and optimizer compiled over caller-owned arrays."""

    def __init__(self, layers: list, *, capacity: int, x_size: int, y_size: int, out_rows: int,
                 out_cols: int, xb, yb, wb, per_sample, grad, loss, shortcut: bool,
                 loss_weight: float, optimizer: str, params: list, options: dict):
        for layer in layers:  # what the backward pass writes
            if (layer.need_dx and layer.dx is None) or (
                    isinstance(layer, Dense) and (layer.dw is None or layer.dz is None)):
                raise ValueError("training plan layers need their backward buffers. Received: "
                                 f"{type(layer).__name__} without them")
        if shortcut and isinstance(layers[-1], Activation) and layers[-1].z is None:
            raise ValueError("a fused last Activation needs z, its input (the logits)")
        super().__init__(layers, xb.dtype)
        self._fn = kernel("plan_train", self.dtype)
        self._epochs_fn = kernel("plan_train_epochs", self.dtype)
        p = self._p
        p.capacity, p.x_size, p.y_size = capacity, x_size, y_size
        p.out_rows, p.out_cols = out_rows, out_cols
        p.xb, p.yb, p.wb = self._out(xb, "xb"), self._out(yb, "yb"), self._out(wb, "wb")
        p.per_sample, p.grad = self._out(per_sample, "per_sample"), self._out(grad, "grad")
        for arr, name, rows in ((xb, "xb", x_size), (yb, "yb", y_size), (wb, "wb", 1),
                                (per_sample, "per_sample", out_rows),
                                (grad, "grad", out_rows * out_cols)):
            if arr.size < capacity * rows:
                raise ValueError(f"plan buffer {name} holds {arr.size} elements, fewer than "
                                 f"{capacity * rows}")
        p.loss = loss[0]
        self._keep.append(loss)
        p.shortcut, p.loss_weight = int(shortcut), float(loss_weight)
        p.optimizer = OPTIMIZERS[optimizer]
        self._params = ffi.new("pm_plan_param[]", len(params))
        for i, param in enumerate(params):
            self._param(self._params[i], param)
        p.n_params, p.params = len(params), self._params
        for key in ("beta_1", "beta_2", "epsilon", "momentum", "rho", "clipnorm",
                    "global_clipnorm", "clipvalue"):
            setattr(p, key, float(options.get(key) or 0.0))
        for key in ("nesterov", "amsgrad", "centered", "legacy"):
            setattr(p, key, int(bool(options.get(key))))
        wd = options.get("weight_decay")
        p.decay, p.weight_decay = int(wd is not None), float(wd or 0.0)
        self._data = None

    # ------------------------------------------------------------------ building
    def _param(self, c, param: Param) -> None:
        w = require(param.w, "w", dtype=self.dtype, writable=True)
        require(param.g, "g", dtype=self.dtype, shape=w.shape, writable=True)
        c.n, c.w, c.g = w.size, self._out(param.w, "w"), self._out(param.g, "g")
        slots = list(param.slots) + [None] * (3 - len(param.slots))
        for name, slot in zip(("s0", "s1", "s2"), slots):
            if slot is not None:
                require(slot, name, dtype=self.dtype, shape=w.shape, writable=True)
            setattr(c, name, self._out(slot, name) if slot is not None else ffi.NULL)
        if param.regularizer is not None:
            c.regularized = 1
            c.l1, c.l2 = (float(v) for v in param.regularizer)

    # ------------------------------------------------------------------ running
    @property
    def iterations(self) -> int:
        """Optimizer steps taken (the C side adds one after each completed step)."""
        return int(self._p.iterations)

    @iterations.setter
    def iterations(self, value: int) -> None:
        self._p.iterations = int(value)

    def bind(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None, order: np.ndarray | None,
             losses: np.ndarray) -> None:
        """Check and remember the epoch's data: x, y, w (or None), order (or None), losses out."""
        n = x.shape[0]
        require(x, "x", dtype=self.dtype)
        require(y, "y", dtype=self.dtype)
        if x.size != n * self._p.x_size or y.shape[:1] != (n,) or y.size != n * self._p.y_size:
            raise ValueError(f"plan data: x {x.shape} and y {y.shape} do not match the plan")
        if w is not None:
            require(w, "w", dtype=self.dtype, shape=(n,))
        if order is not None:
            _raw(order, "order", np.int64, shape=(n,))
        require(losses, "losses", dtype=np.float64, shape=(None,), writable=True)
        self._data = (x, y, w, order, losses)
        self._args = (n, ptr(x), ptr(y), nullable_ptr(w),
                      ffi.NULL if order is None else ffi.cast("int64_t *", order.ctypes.data))
        self._losses = ffi.cast("double *", losses.ctypes.data)
        self._max_batches = losses.size

    def train(self, b0: int, nb: int, lr: float) -> None:
        """Train on batches ``b0 .. b0+nb-1`` of the bound data; losses land in ``losses[:nb]``.

        NOTE: ``order`` is read while training, so shuffle it in place between
        calls (its memory is what C reads).
        """
        if nb > self._max_batches:
            raise ValueError(f"nb must be at most {self._max_batches}. Received: nb={nb}")
        n, x, y, w, order = self._args
        check(self._fn(self._p, n, x, y, w, order, b0, nb, lr, self._losses), "pm_plan_train")

    def train_epochs(self, orders: np.ndarray | None, lr: float, losses: np.ndarray) -> None:
        """Train whole epochs of the bound data in one call, epoch ``e`` in the order ``orders[e]``
        (None: as stored); its batches' losses land in ``losses[e]``, one epoch per row."""
        n = self._args[0]
        require(losses, "losses", dtype=np.float64, shape=(None, -(-n // self._p.capacity)),
                writable=True)
        epochs = losses.shape[0]
        if orders is not None:
            _raw(orders, "orders", np.int64, shape=(epochs, n))
        x, y, w = self._args[1:4]
        orders_ptr = ffi.NULL if orders is None else ffi.from_buffer("int64_t *", orders)
        check(self._epochs_fn(self._p, n, x, y, w, orders_ptr, epochs, lr,
                              ffi.from_buffer("double *", losses)), "pm_plan_train_epochs")


class ForwardPlan(_Plan):
    """The forward pass of ``layers`` over any number of samples in one C call (``predict``).

    Runs chunks of ``capacity`` samples through the layers' buffers, as the
    Python forward does batch by batch, and copies each chunk's output out.
    The layers chain is checked here: each layer reads as many elements per
    sample as the one before wrote, and every buffer holds ``capacity``
    samples; :meth:`run` then checks only the two arrays it is given.
    """

    def __init__(self, layers: list, *, capacity: int, x_size: int, dtype):
        super().__init__(layers, dtype)
        if capacity < 1:
            raise ValueError(f"capacity must be positive. Received: capacity={capacity}")
        size = x_size  # elements per sample flowing into the next layer
        for layer in layers:
            rows = layer.rows_per_sample
            if isinstance(layer, Dense):
                k, n = layer.w.shape
                reads, writes, out = rows * k, rows * n, (layer.z, layer.y)
                if layer.b is not None and layer.b.shape != (n,):
                    raise ValueError(f"plan dense bias must have shape ({n},). Received: "
                                     f"shape={layer.b.shape}")
            else:
                reads = writes = rows * layer.n
                out = (layer.y, layer.mask) if isinstance(layer, Dropout) else (layer.y,)
            if reads != size:
                raise ValueError(f"plan layer {type(layer).__name__} reads {reads} elements per "
                                 f"sample, the layer before gives {size}")
            for arr in out:
                if arr.size < capacity * writes:
                    raise ValueError(f"plan buffer holds {arr.size} elements, fewer than "
                                     f"{capacity * writes}")
            size = writes
        p = self._p
        p.capacity, p.x_size, p.out_rows, p.out_cols = capacity, x_size, 1, size
        self.x_size, self.y_size = x_size, size
        self._fn = kernel("plan_predict", self.dtype)
        self._finite_fn = kernel("plan_predict_finite", self.dtype)
        self._ctype = CTYPE[self.dtype]

    def run(self, x: np.ndarray, y: np.ndarray, training: bool = False,
            finite_only: bool = False) -> np.ndarray:
        """Write into ``y`` the outputs for the samples ``x`` (dropout only when ``training``).

        ``finite_only``: NonFiniteError, with ``y`` untouched, when ``x`` holds NaN or
        infinity (checked in C, in the call that runs the layers).
        """
        dtype = self.dtype
        n = x.shape[0] if isinstance(x, np.ndarray) and x.ndim else -1
        if (not isinstance(x, np.ndarray) or x.dtype != dtype or not x.flags.c_contiguous
                or x.size != n * self.x_size):
            require(x, "x", dtype=dtype)
            raise ValueError(f"x must hold {self.x_size} elements per sample. Received: "
                             f"shape={x.shape}")
        if (not isinstance(y, np.ndarray) or y.dtype != dtype or not y.flags.c_contiguous
                or not y.flags.writeable or y.size != n * self.y_size):
            require(y, "y", dtype=dtype, writable=True)
            raise ValueError(f"y must hold {n} x {self.y_size} elements. Received: shape={y.shape}")
        if np.may_share_memory(x, y):
            raise ValueError("y must not overlap x")
        ctype = self._ctype
        check((self._finite_fn if finite_only else self._fn)(
            self._p, n, ffi.from_buffer(ctype, x), int(bool(training)),
            ffi.from_buffer(ctype, y, require_writable=True)), "pm_plan_predict")
        return y
