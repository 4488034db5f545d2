"""The batch loop: a ``Plan`` of per-layer buffers, one ``Step`` per batch size, and the loops.

A ``Plan`` allocates every layer's buffers once for a batch *capacity*; a smaller
batch (the partial last one) uses views of the same memory, cached per size, so
an epoch allocates no array data. One forward or backward pass makes one C
call per layer; the optimizer makes one C call per variable.

``fit`` compiles that loop when it can (:func:`compile_step`): a C struct
describing the layers, buffers, loss and optimizer, over the same arrays, so
that one C call runs a whole step, or a whole epoch when nothing needs a
per-batch hook. Its results are bitwise those of the Python loop, which stays
the reference and the path for everything the plan does not cover.

Numerics follow tf-keras (KERAS2.md section 4): a batch loss is
``sum_i w_i l_i / N`` plus the regularization losses; an epoch's loss is the
batch-size-weighted mean of the batch losses; metrics are sample-weighted
means of per-sample values over the epoch.
"""
from __future__ import annotations

import functools
import math
import numbers
import struct
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pymodel import backend, interrupts, streaming, validation
from pymodel import metrics as metrics_mod
from pymodel._native import NonFiniteError, aligned
from pymodel._native import plan as native_plan

# tf-keras computes these losses from the logits whenever the output comes from a
# sigmoid or softmax (backend._get_logits), whichever of the two and whatever the
# loss's from_logits says: e.g. BCE on a softmax output is sigmoid-CE of its logits.
_LOGIT_LOSSES = ("bce", "cce", "scce")


class Plan:
    """Forward/backward over a list of built layers with buffers for ``capacity`` samples."""

    def __init__(self, layers: list, input_shape: tuple, dtype, capacity: int):
        self.layers, self.dtype, self.capacity = list(layers), np.dtype(dtype), capacity
        shapes = [tuple(input_shape)]
        for layer in self.layers:
            shapes.append(tuple(layer.compute_output_shape((None,) + shapes[-1])[1:]))
        self.shapes = shapes
        self._full = [layer.buffers(capacity, shapes[i]) for i, layer in enumerate(self.layers)]
        self._views: dict[int, list] = {capacity: self._full}
        self.inputs: list = [None] * len(self.layers)
        self.outputs: list = [None] * len(self.layers)

    def buffers(self, rows: int) -> list[dict]:
        """Per-layer buffers for a batch of ``rows`` (views, cached per batch size)."""
        views = self._views.get(rows)
        if views is None:
            views = [self._slice(buf, rows) for buf in self._full]
            self._views[rows] = views
        return views

    def _slice(self, buf: dict, rows: int) -> dict:
        out = {}
        for key, value in buf.items():
            if key.startswith("work"):
                out[key] = value
            elif key == "out_shape":
                out[key] = (rows,) + tuple(value[1:])
            else:
                out[key] = value[: value.shape[0] * rows // self.capacity]
        return out

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for i, (layer, buf) in enumerate(zip(self.layers, self.buffers(x.shape[0]))):
            self.inputs[i] = x
            x = layer.forward(buf, x, training)
            self.outputs[i] = x
        return x

    def backward(self, dy: np.ndarray, from_logits: bool) -> float:
        """Back-propagate ``dy`` (d loss / d output, or / d logits); returns activity penalties."""
        penalty = 0.0
        bufs = self.buffers(dy.shape[0])
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            layer = self.layers[i]
            fused = from_logits and i == last
            reg = layer.activity_regularizer
            if reg is not None:
                from pymodel._native import optimizers as ops
                rows = dy.shape[0]
                if fused:  # dy is d loss / d logits: take the penalty's gradient through act
                    gy = np.zeros_like(self.outputs[i])
                    penalty += ops.l1l2(self.outputs[i], reg.l1 / rows, reg.l2 / rows, gy)
                    dy = dy + layer.activation_backward(bufs[i], self.inputs[i], gy)
                else:
                    penalty += ops.l1l2(self.outputs[i], reg.l1 / rows, reg.l2 / rows, dy)
            dy = layer.backward(bufs[i], self.inputs[i], dy, need_dx=i > 0, from_logits=fused)
        return penalty


class Step:
    """Training/evaluation of one batch capacity: the plan, loss buffers and batch inputs."""

    def __init__(self, model, capacity: int, x_shape: tuple, y_shape: tuple):
        self.model, self.capacity = model, capacity
        self.dtype = np.dtype(model._dtype())
        self.plan = Plan(model.layers, x_shape, self.dtype, capacity)
        self.loss = model._loss_object()
        out_shape = self.plan.shapes[-1]
        self.cols = out_shape[-1]
        self.rows_per_sample = math.prod(out_shape[:-1])
        rows = capacity * self.rows_per_sample
        self.per_sample = np.empty(rows, self.dtype)
        self.grad = aligned.empty((rows, self.cols), self.dtype)
        self.x = aligned.empty((capacity,) + tuple(x_shape), self.dtype)
        self.y = aligned.empty((capacity,) + tuple(y_shape), self.dtype)
        self.w = np.empty(capacity, self.dtype)
        last = model.layers[-1]
        kind = getattr(self.loss, "kind", None)
        self.has_logits = last.output_activation() is not None
        self.shortcut = kind in _LOGIT_LOSSES and self.has_logits
        self.params = [w.view(np.ndarray) for w in model.trainable_weights]
        self.grads = [g for layer in model.layers if layer.trainable
                      for w, g in zip(layer._weights, layer.gradients) if w.trainable]
        self.regularized = regularized_layers(model.layers)
        optimizer = model.optimizer
        if optimizer.built and _addresses(optimizer._variables) != _addresses(self.params):
            optimizer.build(self.params)  # layers were added or popped since the last fit

    def _loss(self, out, y, w) -> tuple:
        """Batch loss (without regularization) and the 2-D views the gradient needs."""
        pred = self.plan.layers[-1].logits(self.plan.buffers(out.shape[0])[-1],
                                           self.plan.inputs[-1]) if self.shortcut else out
        pred2 = pred.reshape(-1, self.cols)
        y2 = y if self.loss.sparse_targets else y.reshape(-1, self.cols)
        rows = pred2.shape[0]
        values = self.loss.per_sample(y2, pred2, out=self.per_sample[:rows],
                                      from_logits=self.shortcut)
        total = native_plan.loss_sum(values, w)  # the compiled plan sums the same way
        return total / rows * self.model._loss_weight, pred2, y2

    def _with_logits(self, out: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """``out`` carrying ``_keras_logits`` (as Keras's sigmoid/softmax outputs) for metrics;
        ``z``: the logits, else the last layer's (from its input of the last Python forward)."""
        if not self.has_logits:
            return out
        if z is None:
            z = self.plan.layers[-1].logits(self.plan.buffers(out.shape[0])[-1],
                                            self.plan.inputs[-1])
        tensor = out.view(backend.Tensor)
        tensor._keras_logits = z.reshape(out.shape)
        return tensor

    def train(self, x, y, w) -> tuple[float, np.ndarray]:
        """One optimizer step on a batch; returns (batch loss incl. regularization, predictions)."""
        model = self.model
        out = self.plan.forward(x, training=True)
        value, pred2, y2 = self._loss(out, y, w)
        rows = pred2.shape[0]
        grad = self.loss.gradient(y2, pred2, weight=w, alpha=model._loss_weight / rows,
                                  out=self.grad[:rows], from_logits=self.shortcut)
        value += self.plan.backward(grad.reshape(out.shape), self.shortcut)
        value += weight_penalty(self.regularized, accumulate_gradients=True)
        optimizer = model.optimizer
        if not optimizer.built:
            optimizer.build(self.params)
        optimizer.step(self.params, self.grads)
        return value, self._with_logits(out)

    def test(self, x, y, w, penalty: float) -> tuple[float, np.ndarray]:
        """Loss of a batch in inference mode (``penalty``: the weights' regularization loss)."""
        out = self.plan.forward(x, training=False)
        value, _, _ = self._loss(out, y, w)
        for layer, output in zip(self.plan.layers, self.plan.outputs):
            if layer.activity_regularizer is not None:
                value += layer.activity_regularizer(output) / out.shape[0]
        return value + penalty, self._with_logits(out)


class CompiledStep:
    """A :class:`Step` compiled into one C training plan (``pymodel._native.plan``).

    One C call runs a whole step (gather, forward, loss, backward, update) or
    a whole epoch of them, with the very kernels and arguments ``Step.train``
    uses, so weights and losses are bitwise the same. Built per ``fit`` from
    the step's own buffers; :func:`compile_step` returns None for what the
    plan does not cover (other layers, activity regularizers, Python losses
    or optimizers), and the caller keeps the Python loop for those.

    A step is atomic with respect to Ctrl-C: KeyboardInterrupt surfaces only
    between C calls, after every variable and ``iterations`` got the same
    completed step.
    """

    def __init__(self, step: Step, cplan, logits: np.ndarray | None = None):
        """``logits``: for a last Activation layer, the buffer of its input (its logits)."""
        self.step, self.cplan, self.logits = step, cplan, logits
        self.optimizer = step.model.optimizer

    def bind(self, x, y, w, order) -> None:
        """The fit's data (``order``: the shuffled indices, shuffled in place each epoch).

        An ``x`` read through its file (``streaming.Rows``) is staged a chunk of
        batches at a time, in batch order, into buffers the plan then trains on
        unshuffled: the same batches, so the same numbers.
        """
        self.n = x.shape[0]
        capacity = self.step.capacity
        self.steps = math.ceil(self.n / capacity)
        self.losses = np.zeros(self.steps, np.float64)
        self.x, self.y, self.w, self.order = x, y, w, order
        self._chunk = None
        if isinstance(x, streaming.Rows):
            row_bytes = math.prod(x.shape[1:]) * x.dtype.itemsize
            self._chunk = max(1, streaming.CHUNK_BYTES // (capacity * row_bytes))
            rows = min(self.n, self._chunk * capacity)
            # two sets: one is read into while the plan trains on the other
            self._buffers = [(np.empty((rows,) + x.shape[1:], x.dtype),
                              None if order is None else np.empty((rows,) + y.shape[1:], y.dtype),
                              None if order is None or w is None else np.empty(rows, w.dtype))
                             for _ in range(2)]
        else:
            self.cplan.bind(x, y, w, order, self.losses)
        # the model outputs train_batch returns: views for the full and the last batch
        self._outputs, self._logits = {}, {}
        for rows in {min(capacity, self.n), self.n - (self.steps - 1) * capacity}:
            shape = (rows,) + tuple(self.step.plan.shapes[-1])
            self._outputs[rows] = self.step.plan.buffers(rows)[-1]["y"].reshape(shape)
            if self.logits is not None:
                self._logits[rows] = self.logits.reshape(capacity, -1)[:rows].reshape(shape)

    def train(self, b0: int, nb: int) -> None:
        """Train batches ``b0 .. b0+nb-1``; their losses land in ``self.losses[:nb]``."""
        if self._chunk is None:
            return self._run(b0, nb)
        capacity, n = self.step.capacity, self.n
        spans = [(j, min(self._chunk, nb - j)) for j in range(0, nb, self._chunk)]

        def stage(i: int) -> tuple:
            start = (b0 + spans[i][0]) * capacity
            return self._stage(start, min(n, start + spans[i][1] * capacity), self._buffers[i % 2])
        if len(spans) == 1:
            self._staged = stage(0)
            self.cplan.bind(*self._staged, None, self.losses)
            return self._run(0, nb)
        # NOTE: the next chunk is read in a thread while the plan trains on this one (both
        # release the GIL): the file's reads cost no time when a core is free.
        with ThreadPoolExecutor(1) as pool:
            ahead = pool.submit(stage, 0)
            for i, (j, k) in enumerate(spans):
                self._staged = ahead.result()
                if i + 1 < len(spans):
                    ahead = pool.submit(stage, i + 1)
                self.cplan.bind(*self._staged, None, self.losses[j:])
                self._run(0, k)

    def _run(self, b0: int, nb: int) -> None:
        """One C call over batches ``b0 .. b0+nb-1`` of the bound data."""
        optimizer, cplan = self.optimizer, self.cplan
        cplan.iterations = int(optimizer.iterations)
        try:
            cplan.train(b0, nb, optimizer.current_learning_rate())
        finally:
            optimizer.iterations.assign(cplan.iterations)

    def _stage(self, start: int, stop: int, buffers: tuple) -> tuple:
        """(x, y, w) of samples ``start .. stop-1`` in the epoch's order, x read and cast into
        ``buffers`` (y and w too when shuffled; else views)."""
        x, y, w, order = self.x, self.y, self.w, self.order
        xs, ys, ws = buffers
        if order is None:
            return x.read(start, stop, xs), y[start:stop], None if w is None else w[start:stop]
        idx, rows = order[start:stop], stop - start
        return (x.take(idx, xs), np.take(y, idx, axis=0, out=ys[:rows], mode="clip"),
                None if w is None else np.take(w, idx, out=ws[:rows], mode="clip"))

    def train_epoch(self, tracker) -> dict:
        """All batches in one C call; the tracker gets each batch's loss, as fit logs them."""
        self.train(0, self.steps)
        capacity, n, dtype = self.step.capacity, self.n, self.x.dtype
        for b, value in enumerate(self.losses.tolist()):
            tracker.add_loss(value, min(capacity, n - b * capacity), dtype)
        return tracker.logs()

    def train_epochs(self, count: int, generator: np.random.Generator | None) -> list:
        """``count`` whole epochs in one C call, each shuffled by ``generator`` (None: in order)
        as fit shuffles them one at a time; returns each epoch's loss as fit logs it."""
        order, capacity, n = self.order, self.step.capacity, self.n
        orders = None
        if order is not None:
            orders = np.empty((count, n), np.int64)
            for i in range(count):
                generator.shuffle(order)
                orders[i] = order
        losses = np.empty((count, self.steps))
        optimizer, cplan = self.optimizer, self.cplan
        cplan.iterations = int(optimizer.iterations)
        try:
            cplan.train_epochs(orders, optimizer.current_learning_rate(), losses)
        finally:
            optimizer.iterations.assign(cplan.iterations)
        rows = [min(capacity, n - b * capacity) for b in range(self.steps)]
        return epoch_losses(losses, rows, self.x.dtype)

    def train_batch(self, b: int, start: int, stop: int) -> tuple:
        """One batch: (loss, y, outputs, sample weights) as ``Step.train`` + ``gather`` give them."""
        self.train(b, 1)
        rows, step = stop - start, self.step
        if self._chunk is not None:
            _, yb, wb = self._staged
        elif self.order is None:
            yb, wb = self.y[start:stop], None if self.w is None else self.w[start:stop]
        else:
            yb, wb = step.y[:rows], None if self.w is None else step.w[:rows]
        return (float(self.losses[0]), yb,
                step._with_logits(self._outputs[rows], self._logits.get(rows)), wb)


def compile_step(step: Step):
    """A :class:`CompiledStep` for ``step``, or None when the plan cannot run it."""
    from pymodel.layers import Activation, Dense, Dropout, Flatten, Reshape
    from pymodel.losses import KernelLoss

    model, plan = step.model, step.plan
    loss, optimizer = step.loss, model.optimizer
    layers = plan.layers
    if (not layers or type(layers[-1]) not in (Dense, Activation)
            or not isinstance(loss, KernelLoss)
            or type(loss).per_sample is not KernelLoss.per_sample
            or type(loss).gradient is not KernelLoss.gradient):
        return None
    if not optimizer.built:
        optimizer.build(step.params)
    config = optimizer.plan_config()
    if config is None:
        return None
    kind, options, slots = config
    regularizers = _param_regularizers(model)
    if regularizers is None:
        return None
    key = (kind, tuple(sorted(options.items())), tuple(id(a) for s in slots for a in s),
           tuple(getattr(layer, "rate", None) for layer in layers), model._loss_weight,
           tuple(regularizers))
    cached = getattr(step, "_compiled", None)
    if cached is not None and cached[0] == key:  # the plan holds those arrays: ids stay unique
        return cached[1]
    specs = []
    for i, layer in enumerate(layers):
        if layer.activity_regularizer is not None:
            return None
        buf, shape = plan._full[i], plan.shapes[i]
        fused = step.shortcut and i == len(layers) - 1
        if type(layer) is Dense:
            specs.append(native_plan.Dense(
                w=layer._kernel(), b=layer._bias(), dw=layer.gradients[0],
                db=layer.gradients[1] if layer.use_bias else None, act=layer._desc,
                z=buf["z"], y=buf["y"], dz=buf["dz"], dx=buf["dx"], work=buf["work"],
                rows_per_sample=math.prod(shape[:-1]), fused=fused, need_dx=bool(specs)))
        elif type(layer) is Activation:
            if (fused or layer.output_activation()) and not specs:
                return None  # its input, the logits, would be the batch itself
            specs.append(native_plan.Activation(
                act=layer._desc, y=buf["y"], dx=buf["dx"], n=shape[-1],
                rows_per_sample=math.prod(shape[:-1]), need_dx=bool(specs), fused=fused,
                z=specs[-1].y if fused else None))
        elif type(layer) is Dropout and isinstance(layer.rate, (int, float)) and 0 <= layer.rate < 1:
            if layer.rate > 0:
                specs.append(native_plan.Dropout(
                    rate=float(layer.rate), rng=layer._random_state(), mask=buf["mask"],
                    y=buf["y"], dx=buf["dx"], n=math.prod(shape), need_dx=bool(specs)))
        elif type(layer) not in (Flatten, Reshape):  # those two: views of the same memory
            return None
    if not len(step.params) == len(slots) == len(regularizers):
        return None
    params = [native_plan.Param(w, g, s, reg)
              for w, g, s, reg in zip(step.params, step.grads, slots, regularizers)]
    cplan = native_plan.TrainingPlan(
        specs, capacity=step.capacity, x_size=math.prod(step.x.shape[1:]),
        y_size=math.prod(step.y.shape[1:]), out_rows=step.rows_per_sample, out_cols=step.cols,
        xb=step.x, yb=step.y, wb=step.w, per_sample=step.per_sample, grad=step.grad,
        loss=loss.descriptor(step.shortcut), shortcut=step.shortcut,
        loss_weight=model._loss_weight, optimizer=kind, params=params, options=options)
    last = layers[-1]
    logits = specs[-2].y if type(last) is Activation and last.output_activation() else None
    step._compiled = key, CompiledStep(step, cplan, logits)
    return step._compiled[1]


def _labels_ok(step: Step, y) -> bool:
    """Sparse labels all in [0, cols) (else the Python loop raises Keras's error at its batch)."""
    if not step.loss.sparse_targets:
        return True
    return bool(np.all((y >= 0) & (y < step.cols) & (y == np.floor(y))))


_TRAIN_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end")
_EPOCH_HOOKS = ("on_epoch_begin", "on_epoch_end")
_PREDICT_HOOKS = ("on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end",
                  "on_predict_end")


def _observed(callbacks, hooks: tuple) -> bool:
    """True when some callback does something on one of ``hooks``."""
    from pymodel.callbacks import History, handles
    for cb in callbacks:
        # NOTE: the History every fit, evaluate and predict adds is answered from its class
        # (asking it for each hook costs ~2 us of a one-sample predict's ~10)
        if type(cb) is History and not cb.__dict__.keys() & hooks and _history_hooks().isdisjoint(hooks):
            continue
        for hook in hooks:
            if handles(cb, hook):
                return True
    return False


@functools.cache
def _history_hooks() -> frozenset:
    """The hooks on which History does something."""
    from pymodel.callbacks import Callback, History, handles
    return frozenset(name for name in dir(Callback) if name.startswith("on_")
                     and handles(History(), name))


def regularized_layers(layers: list) -> list:
    """The layers with a kernel or bias regularizer."""
    return [layer for layer in layers if any(r is not None for r in layer._regularizers)]


def weight_penalty(layers: list, accumulate_gradients: bool) -> float:
    """Sum of the layers' weight regularization losses, weight by weight in layer order (the
    order the compiled plan adds them in); their gradients are added if asked."""
    from pymodel._native import optimizers as kernels
    total = 0.0
    for layer in layers:
        for weight, reg, grad in zip(layer._weights, layer._regularizers, layer.gradients):
            if reg is not None:
                target = grad if accumulate_gradients else np.zeros_like(grad)
                total += kernels.l1l2(np.asarray(weight), reg.l1, reg.l2, target)
    return total


def _param_regularizers(model) -> list | None:
    """``(l1, l2)`` or None for each trainable weight, in the order of ``Step.params``; None
    when a frozen weight has a regularizer (its penalty counts, but the plan updates only
    trainable weights)."""
    regularizers = []
    for layer in model.layers:
        for weight, reg in zip(layer._weights, layer._regularizers):
            if layer.trainable and weight.trainable:
                regularizers.append(None if reg is None else (float(reg.l1), float(reg.l2)))
            elif reg is not None:
                return None
    return regularizers


def _addresses(arrays: list) -> list:
    return [(a.__array_interface__["data"][0], a.shape) for a in arrays]


# ---------------------------------------------------------------- data handling
def batches(n: int, batch_size: int):
    """(index, start, stop) of every batch; the last one may be partial."""
    for b in range(math.ceil(n / batch_size)):
        yield b, b * batch_size, min(n, (b + 1) * batch_size)


def gather(step: Step, order, start: int, stop: int, x, y, w):
    """The batch's x, y, w: views when unshuffled, else copied into the step's buffers.

    An ``x`` read through its file (``streaming.Rows``) is always read into ``step.x``.
    """
    rows = stop - start
    streamed = isinstance(x, streaming.Rows)
    if order is None:
        xb = x.read(start, stop, step.x) if streamed else x[start:stop]
        return xb, y[start:stop], None if w is None else w[start:stop]
    idx = order[start:stop]
    # NOTE: mode="clip" (indices are valid anyway): the default mode="raise" buffers `out`,
    # allocating a temporary batch every step.
    xb = x.take(idx, step.x) if streamed else np.take(x, idx, axis=0, out=step.x[:rows], mode="clip")
    yb = np.take(y, idx, axis=0, out=step.y[:rows], mode="clip")
    wb = None if w is None else np.take(w, idx, axis=0, out=step.w[:rows], mode="clip")
    return xb, yb, wb


_FLOAT32 = struct.Struct("f")


def _round_f32(value: float) -> float:
    """``value`` rounded to float32 (inf past its range), as a Python float.

    NOTE: a float32 sum or product computed in double and rounded once equals the
    float32 operation (53 >= 2 * 24 + 2 bits), so this reproduces float32 arithmetic
    without NumPy scalars and their error-state bookkeeping on the per-epoch path.
    """
    try:
        return _FLOAT32.unpack(_FLOAT32.pack(value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def epoch_losses(losses: np.ndarray, rows: list, dtype) -> list:
    """The loss fit logs for each epoch, from its batch ``losses`` (one epoch per row, batch
    ``b`` of ``rows[b]`` samples): the same float32 (or float64) arithmetic as
    :meth:`Tracker.add_loss` and :meth:`Tracker.logs`, for many epochs at once."""
    kind = np.float32 if dtype == np.float32 else np.float64
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.zeros(losses.shape[0], kind)
        for b, count in enumerate(rows):
            total = total + losses[:, b].astype(kind) * kind(count)
        return (total.astype(np.float64) / sum(rows)).astype(kind).tolist()


class Tracker:
    """Running epoch means: the batch-size-weighted loss and the compiled metrics.

    NOTE: metrics other than the loss are computed in NumPy and allocate small
    per-sample arrays each batch; the loss, forward, backward and update do not.
    """

    def __init__(self, metrics: list):
        self.metrics = metrics
        self.reset()

    def reset(self) -> None:
        self.loss_total = 0.0
        self.count = 0
        self._round = _round_f32
        for metric in self.metrics:
            metric.reset_state()

    def add_loss(self, loss: float, rows: int, dtype) -> None:
        """Adds a batch's loss weighted by its rows, summed in the model ``dtype``.

        NOTE: float32 sums, as tf-keras's Mean metric keeps them, so History and CSVLogger
        show the same float32 values and a huge loss overflows to inf at the same batch
        (where TerminateOnNaN stops).
        """
        r = self._round = _round_f32 if dtype == np.float32 else float
        self.loss_total = r(r(self.loss_total) + r(r(loss) * rows))
        self.count += rows

    def update(self, loss: float, rows: int, y, out, w) -> dict:
        self.add_loss(loss, rows, out.dtype)
        for metric in self.metrics:
            metric.update_state(y, out, sample_weight=w if metric._weighted else None)
        return self.logs()

    def logs(self) -> dict:
        logs = {"loss": self._round(self.loss_total / self.count) if self.count else 0.0}
        for metric in self.metrics:
            logs[metric.name] = float(metric.result())
        return logs


def build_metrics(model, y_shape: tuple, out_shape: tuple) -> list:
    """Metric objects for ``compile(metrics=..., weighted_metrics=...)``, in that order.

    As tf-keras's MetricsContainer: "accuracy" is resolved from the shapes; only
    ``weighted_metrics`` see sample/class weights (flag ``_weighted``); a weighted
    metric whose name is taken gets the prefix ``weighted_``. Built once per
    ``compile`` and reused by every fit/evaluate (so ``"AUC"`` stays ``auc``).
    """
    if getattr(model, "_metric_objects", None) is not None:
        return model._metric_objects
    specs = model._compiled_metrics
    first_weighted = getattr(model, "_first_weighted_metric", len(specs))
    result, names = [], set()
    for i, spec in enumerate(specs):
        metric = metrics_mod.resolve(spec, y_shape, out_shape)
        metric._weighted = i >= first_weighted
        if metric.name in names:
            if not metric._weighted:
                raise ValueError(f"Found two metrics with the same name: {metric.name}. All "
                                 "the metrics added to the model need to have unique names.")
            metric.name = "weighted_" + metric.name
        names.add(metric.name)
        result.append(metric)
    model._metric_objects = result
    return result




# ---------------------------------------------------------------- loops
def _callback_list(model, callbacks, verbose, epochs, steps):
    from pymodel.callbacks import CallbackList
    if isinstance(callbacks, CallbackList):
        return callbacks
    return CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                        verbose=verbose, epochs=epochs, steps=steps)


def resolve_verbose(verbose) -> int:
    return 1 if verbose == "auto" else int(verbose)


def fit_loop(model, x, y, w, *, batch_size, epochs, verbose, callbacks, validation,
             shuffle, initial_epoch, validation_batch_size, validation_freq):
    """tf-keras's fit: hooks in order, epoch means, ``val_`` logs, ``stop_training``."""
    n = x.shape[0]
    steps = math.ceil(n / batch_size)
    step = model._step(batch_size, x.shape[1:], y.shape[1:])
    tracker = Tracker(build_metrics(model, model._y_shape, (None,) + step.plan.shapes[-1]))
    model._trackers = tracker.metrics
    cbs = _callback_list(model, callbacks, verbose, epochs, steps)
    model.stop_training = False
    order = np.arange(n, dtype=np.int64) if shuffle else None
    fast = compile_step(step) if _labels_ok(step, y) else None
    if fast is not None:
        fast.bind(x, y, w, order)
    whole_epochs = fast is not None and not tracker.metrics and not _observed(cbs, _TRAIN_BATCH_HOOKS)
    group = _epoch_group(fast, cbs, n, epochs - initial_epoch) if whole_epochs and validation is None else 0
    cbs.on_train_begin()
    logs = {}
    epoch = initial_epoch
    while epoch < epochs:
        tracker.reset()
        cbs.on_epoch_begin(epoch)
        if group and fast.optimizer.constant_learning_rate():
            count = min(group, epochs - epoch)
            logs = _epochs_in_one_call(fast, cbs, epoch, count, model._generator() if shuffle else None)
            epoch += count
            continue
        if shuffle:
            model._generator().shuffle(order)
        if whole_epochs and fast.optimizer.constant_learning_rate():
            logs = fast.train_epoch(tracker)
        else:
            for b, start, stop in batches(n, batch_size):
                cbs.on_train_batch_begin(b)
                if fast is not None:
                    value, yb, out, wb = fast.train_batch(b, start, stop)
                else:
                    xb, yb, wb = gather(step, order, start, stop, x, y, w)
                    value, out = interrupts.deferred(step.train, xb, yb, wb)
                logs = tracker.update(value, stop - start, yb, out, wb)
                cbs.on_train_batch_end(b, logs)
                if model.stop_training:
                    break
        epoch_logs = dict(logs)
        if validation is not None and _runs_validation(epoch, validation_freq):
            vx, vy, vw = validation
            val_logs = test_loop(model, vx, vy, vw, batch_size=validation_batch_size or batch_size,
                                 callbacks=cbs)
            epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
        cbs.on_epoch_end(epoch, epoch_logs)
        logs = epoch_logs
        if model.stop_training:
            break
        epoch += 1
    cbs.on_train_end(logs)
    return model.history


def _epochs_in_one_call(fast: CompiledStep, callbacks, epoch: int, count: int, generator) -> dict:
    """Epochs ``epoch .. epoch+count-1`` (the first one begun) trained in one C call, then
    their hooks (History's records); Ctrl-C waits for both. Returns the last epoch's logs."""
    with interrupts.held():
        for i, loss in enumerate(fast.train_epochs(count, generator)):
            if i:
                callbacks.on_epoch_begin(epoch + i)
            logs = {"loss": loss}
            callbacks.on_epoch_end(epoch + i, logs)
    return logs


#: Bounds on one call of CompiledStep.train_epochs: samples over all its epochs (the shuffled
#: orders it takes fill 8 bytes each), and samples x weights, about the multiply-adds of its
#: forward pass (a fraction of a second at most, so Ctrl-C still answers at once).
EPOCH_GROUP_SAMPLES = 1 << 16
EPOCH_GROUP_WORK = 1 << 24


def _epoch_group(fast: CompiledStep, callbacks, n: int, epochs: int) -> int:
    """Epochs to train per C call (0: one at a time): several when epochs are tiny (their
    Python bookkeeping would cost more than the training) and no callback but History looks
    between them (History only records each epoch's logs)."""
    from pymodel.callbacks import History
    if fast._chunk is not None or any(type(cb) is not History and _observed((cb,), _EPOCH_HOOKS)
                                      for cb in callbacks):
        return 0
    weights = sum(p.size for p in fast.step.params)
    group = min(epochs, EPOCH_GROUP_SAMPLES // max(n, 1), EPOCH_GROUP_WORK // max(n * weights, 1))
    return group if group > 1 else 0


def _runs_validation(epoch: int, freq) -> bool:
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return epoch + 1 in freq


def test_loop(model, x, y, w, *, batch_size, callbacks) -> dict:
    """Evaluate in inference mode; returns the logs (loss, then metrics)."""
    n = x.shape[0]
    step = model._step(batch_size, x.shape[1:], y.shape[1:])
    tracker = Tracker(build_metrics(model, model._y_shape, (None,) + step.plan.shapes[-1]))
    model._trackers = tracker.metrics
    penalty = weight_penalty(regularized_layers(model.layers), accumulate_gradients=False)
    callbacks.on_test_begin()
    logs = tracker.logs()
    for b, start, stop in batches(n, batch_size):
        callbacks.on_test_batch_begin(b)
        xb, yb, wb = gather(step, None, start, stop, x, y, w)
        value, out = step.test(xb, yb, wb, penalty)
        logs = tracker.update(value, stop - start, yb, out, wb)
        callbacks.on_test_batch_end(b, logs)
    callbacks.on_test_end(logs)
    return logs


def predict_loop(model, x, *, batch_size, callbacks, finite: bool = True) -> np.ndarray:
    """Inference over ``x`` in batches, written into one preallocated output array.

    With a compiled forward (:func:`compile_forward`) and no callback doing
    anything on the predict hooks, all the batches run in one C call.
    ``finite``: ``x`` is known to be finite; else it is checked (before any
    hook), in that C call when there is one.
    """
    n = x.shape[0]
    plan = model._plan(min(batch_size, max(n, 1)), x.shape[1:])
    fast = compile_forward(plan)
    # a memory-mapped x is read through its file (see pymodel.streaming)
    rows = x if isinstance(x, streaming.Rows) else streaming.open_rows(x, plan.dtype)
    if fast is not None and rows is None and not _observed(callbacks, _PREDICT_HOOKS):
        return fast.run(x, training=False, finite_only=not finite)
    if not finite:
        validation.check_finite("x", x)
    result = np.empty((n,) + plan.shapes[-1], plan.dtype)
    buf = None if rows is None else np.empty((plan.capacity,) + x.shape[1:], plan.dtype)
    callbacks.on_predict_begin()
    for b, start, stop in batches(n, batch_size):
        callbacks.on_predict_batch_begin(b)
        xb = x[start:stop] if rows is None else rows.read(start, stop, buf)
        if fast is not None:
            fast.run(xb, training=False, out=result[start:stop])
        else:
            result[start:stop] = plan.forward(xb, training=False)
        callbacks.on_predict_batch_end(b, {"outputs": result[start:stop]})
    callbacks.on_predict_end()
    return result


# ---------------------------------------------------------------- compiled forward
class CompiledForward:
    """A :class:`Plan`'s forward pass compiled into one C call (``pymodel._native.plan``).

    The C side calls the very kernels ``Plan.forward`` calls, with the same
    arguments and buffers, chunk by chunk, so outputs are bitwise the same.
    ``trains``: it can also run ``training=True`` (every Dropout rate is a
    number below 1 and the layer has its random state).
    """

    def __init__(self, fplan, out_shape: tuple, dtype, trains: bool):
        self.fplan, self.out_shape, self.dtype, self.trains = fplan, out_shape, dtype, trains

    def run(self, x: np.ndarray, training: bool, out: np.ndarray | None = None,
            finite_only: bool = False) -> np.ndarray:
        """The outputs for ``x`` (all its samples), in ``out`` or a new array.

        ``finite_only``: refuse NaN and infinity in ``x`` (ValueError naming the first one),
        checked in the C call itself.
        """
        if out is None:
            out = np.empty((x.shape[0],) + self.out_shape, self.dtype)
        try:
            return self.fplan.run(x, out, training, finite_only)
        except NonFiniteError:
            validation.check_finite("x", x)  # raises, naming the first bad value
            raise


def _forward_refs(layer) -> tuple:
    """Names of the attributes a compiled forward reads from ``layer`` (None: not compilable)."""
    from pymodel.layers import Activation, Dense, Dropout, Flatten, Reshape
    return {Dense: ("kernel", "bias", "_desc"), Activation: ("_desc",),
            Dropout: ("rate", "_state"), Flatten: (), Reshape: ()}.get(type(layer))


def compile_forward(plan: Plan) -> CompiledForward | None:
    """The compiled forward of ``plan`` (cached on it), or None when a layer needs Python.

    Covers Dense, Activation, Dropout, Flatten and Reshape. The cache holds the
    objects it read (weights, activation descriptors, dropout rates and
    states): when one of them was rebound since, it compiles again.
    """
    cached = plan.__dict__.get("_compiled_forward")
    if cached is not None:
        refs, compiled = cached
        for obj, name, value in refs:
            if getattr(obj, name) is not value:
                break
        else:
            return compiled
    names = [_forward_refs(layer) for layer in plan.layers]
    if any(n is None for n in names):
        plan._compiled_forward = ((), None)  # the plan's layers never change
        return None
    refs = tuple((layer, name, getattr(layer, name))
                 for layer, layer_names in zip(plan.layers, names) for name in layer_names)
    try:
        compiled = _compile_forward(plan)
    except (TypeError, ValueError):  # e.g. a layer of another dtype: Python's forward says why
        compiled = None
    plan._compiled_forward = refs, compiled
    return compiled


def _compile_forward(plan: Plan) -> CompiledForward:
    from pymodel.layers import Activation, Dense, Dropout
    specs, trains = [], True
    for layer, buf, shape in zip(plan.layers, plan._full, plan.shapes):
        kind = type(layer)
        if kind is Dense:
            specs.append(native_plan.Dense(
                w=layer._kernel(), b=layer._bias(), act=layer._desc, z=buf["z"], y=buf["y"],
                work=buf["work"], rows_per_sample=math.prod(shape[:-1])))
        elif kind is Activation:
            specs.append(native_plan.Activation(act=layer._desc, y=buf["y"], n=shape[-1],
                                                rows_per_sample=math.prod(shape[:-1])))
        elif kind is Dropout:
            rate = layer.rate
            if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not 0 <= rate < 1 \
                    or (rate > 0 and layer._state is None):
                trains = False  # Python's forward handles it; at inference it is the identity
            elif rate > 0:
                specs.append(native_plan.Dropout(rate=float(rate), rng=layer._state,
                                                 mask=buf["mask"], y=buf["y"], n=math.prod(shape)))
        # Flatten, Reshape and zero-rate Dropout: views of the same memory, nothing to run
    fplan = native_plan.ForwardPlan(specs, capacity=plan.capacity,
                                    x_size=math.prod(plan.shapes[0]), dtype=plan.dtype)
    return CompiledForward(fplan, plan.shapes[-1], plan.dtype, trains)
