"""``Sequential``: a stack of layers with Keras 2's building, training and config behaviour."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np

from pymodel import backend, interrupts, losses, optimizers, streaming, training, validation
from pymodel.layers import Layer
from pymodel.layers import serialize as serialize_layer
from pymodel.layers.input_layer import InputLayer
from pymodel.models import summary as summary_mod

# NOTE: the JSON layout is 2.10-2.12's, but the version tag is the tf-keras the reference
# recordings were made with, so that to_json() matches them text for text.
KERAS_VERSION = "2.21.0"


class Sequential:
    """A linear stack of layers: Keras 2's ``Sequential(layers=None, name=None)``.

    Args:
        layers: Layers to add, in order (a list, or one layer).
        name: Model name (default ``sequential``, ``sequential_1``, ...).

    Example:
        >>> import numpy as np
        >>> import pymodel as keras
        >>> model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)),
        ...                           keras.layers.Dense(1, activation="sigmoid")])
        >>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        >>> x, y = np.zeros((8, 3), "float32"), np.ones((8, 1), "float32")
        >>> history = model.fit(x, y, epochs=2, verbose=0)
        >>> list(history.history)
        ['loss', 'accuracy']
        >>> model.predict(x, verbose=0).shape  # batches of 32 by default, Dropout off
        (8, 1)

    ``fit``, ``evaluate`` and ``predict`` take tf-keras's arguments; ``verbose="auto"`` (1)
    draws tf-keras's progress bar, 2 one line per epoch, 0 nothing.
    """

    def __init__(self, layers=None, name: str | None = None):
        self.name = name or backend.unique_object_name("sequential")
        self._layers: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self._build_input_shape = None
        self._inferred_input_dtype = None  # integer data that built a deferred model
        self.built = False
        self.optimizer = None
        self.loss = None
        self.compiled_loss = None
        self._compiled_metrics: list = []
        self._compile_config = None
        self._loss_weight = 1.0
        self._trackers: list | None = None  # the compiled metrics, once a step has built them
        self._rng: np.random.Generator | None = None
        self._steps: dict = {}
        self._plans: dict = {}
        self._y_shape = None
        self.stop_training = False
        self.history = None
        if layers is not None:
            for layer in layers if isinstance(layers, (list, tuple)) else [layers]:
                self.add(layer)

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        """The layers, without the input layer (as Keras lists them)."""
        return list(self._layers)

    def add(self, layer: Layer) -> None:
        """Append ``layer``; builds it at once when the input shape is known.

        Raises:
            TypeError: ``layer`` is not a Layer.
            ValueError: a layer of the model already has that name.
        """
        if not isinstance(layer, Layer):
            raise TypeError("The added layer must be an instance of class Layer. "
                            f"Received: layer={layer} of type {type(layer)}.")
        names = {existing.name for existing in self._layers}
        if layer.name in names:
            raise ValueError("All layers added to a Sequential model should have unique names. "
                             f'Name "{layer.name}" is already the name of a layer in this model. '
                             "Update the `name` argument to pass a unique name.")
        self._invalidate()
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("An InputLayer can only be the first layer of a Sequential "
                                 f"model. Received: layer={layer.name}")
            self._input_layer = layer
            return
        if not self._layers and self._input_layer is None and layer._batch_input_shape is not None:
            self._input_layer = InputLayer(batch_input_shape=layer._batch_input_shape,
                                           name=f"{layer.name}_input", dtype=layer.dtype)
        self._layers.append(layer)
        shape = self._input_shape()
        if shape is not None:
            self._build_layers(shape)

    def pop(self) -> None:
        """Remove the last layer."""
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        self._layers.pop()
        self._invalidate()
        if not self._layers:
            self._input_layer = None
            self._build_input_shape = None
            self._inferred_input_dtype = None
            self.built = False

    @property
    def input_shape(self) -> tuple:
        """``(None, ...)`` of the model input (Keras raises the same error before building)."""
        self._require_built()
        shape = self._input_shape()
        return tuple(shape) if shape is not None else tuple(self._layers[0].input_shape)

    @property
    def output_shape(self) -> tuple:
        """``(None, ...)`` of the model output."""
        self._require_built()
        return self.input_shape[:1] + self._output_shape(self.input_shape[1:])

    @property
    def trainable(self) -> bool:
        return all(layer.trainable for layer in self._layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self._layers:
            layer.trainable = bool(value)
        self._invalidate()

    def _input_shape(self):
        if self._input_layer is not None:
            return self._input_layer._batch_input_shape
        return self._build_input_shape

    def build(self, input_shape=None) -> None:
        """Create every layer's weights for inputs of ``input_shape`` (batch axis included)."""
        if input_shape is None:
            input_shape = self._input_shape()
            if input_shape is None:
                raise ValueError("You must provide an `input_shape` argument.")
        input_shape = tuple(None if s is None else int(s) for s in input_shape)
        if self._input_layer is None:
            self._build_input_shape = input_shape
        self._build_layers(input_shape)

    def _build_layers(self, input_shape: tuple) -> None:
        if self._rng is None:
            from pymodel.utils import make_generator
            self._rng = make_generator()
        shape = tuple(input_shape)
        for layer in self._layers:
            if not layer.built:
                if layer._rng is None:
                    layer._rng = self._rng
                layer._maybe_build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = bool(self._layers)

    def _generator(self) -> np.random.Generator:
        if self._rng is None:
            from pymodel.utils import make_generator
            self._rng = make_generator()
        return self._rng

    def _dtype(self) -> str:
        return self._layers[0].dtype if self._layers else backend.floatx()

    def _invalidate(self) -> None:
        self._steps.clear()
        self._plans.clear()

    # ------------------------------------------------------------------ weights
    def _assert_weights_created(self) -> None:
        if not self.built:
            raise ValueError(f"Weights for model '{self.name}' have not yet been created. "
                             "Weights are created when the model is first called on inputs or "
                             "`build()` is called with an `input_shape`.")

    @property
    def weights(self) -> list:
        self._assert_weights_created()
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list:
        self._assert_weights_created()
        return [w for layer in self._layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list:
        self._assert_weights_created()
        return [w for layer in self._layers for w in layer.non_trainable_weights]

    trainable_variables = trainable_weights
    variables = weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, layer by layer (Dense: kernel, then bias)."""
        return [np.array(w) for w in self.weights]

    def set_weights(self, weights) -> None:
        """Set every weight from a list in :meth:`get_weights` order (count and shapes must match)."""
        weights = list(weights)
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(f"You called `set_weights(weights)` on layer \"{self.name}\" with a "
                             f"weight list of length {len(weights)}, but the layer was expecting "
                             f"{len(params)} weights. Provided weights: {weights!s:.50}...")
        for param, value in zip(params, weights):  # check all before writing any
            if np.shape(value) != param.shape:
                raise ValueError(f"Layer {self.name} weight shape {param.shape} is not compatible "
                                 f"with provided weight shape {np.shape(value)}.")
        values = [validation.as_array(f"weights[{i}]", value, param.dtype, finite=False)
                  for i, (param, value) in enumerate(zip(params, weights))]
        i = 0
        for layer in self._layers:
            k = len(layer.weights)
            layer.set_weights(values[i:i + k])
            i += k

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer {self.name}, but the layer isn't "
                f"built. You can build it manually via: `{self.name}.build(batch_input_shape)`.")
        return sum(layer.count_params() for layer in self._layers)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name``, or at ``index`` (raises ValueError for an unknown name)."""
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in self._layers]}.")

    def _require_built(self) -> None:
        if not self.built:
            raise ValueError("This model has not yet been built. Build the model first by "
                             "calling `build()` or by calling the model on a batch of data.")

    # ------------------------------------------------------------------ summary & config
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Print the layers, their output shapes and parameter counts (Keras 2.10-2.12 text).

        Args:
            line_length, positions: Table width and column ends (Keras's defaults: 65, .45/.85/1).
            print_fn: Called with each line (default ``print``).
            show_trainable: Add a "Trainable" column.

        Raises:
            ValueError: the model is not built yet.
        """
        self._require_built()
        summary_mod.print_summary(self, line_length=line_length, positions=positions,
                                  print_fn=print_fn, show_trainable=show_trainable)

    def get_config(self) -> dict:
        layers = [serialize_layer(layer) for layer in self._layers]
        input_layer = self._input_layer
        if input_layer is None and self._build_input_shape is not None and self._layers:
            # tf-keras builds a deferred model as a graph on an Input named after the
            # first layer, which its config then lists (and no build_input_shape).
            input_layer = InputLayer(batch_input_shape=self._build_input_shape,
                                     name=f"{self._layers[0].name}_input",
                                     dtype=self._inferred_input_dtype or self._dtype())
        if input_layer is not None:
            layers.insert(0, serialize_layer(input_layer))
        return {"name": self.name, "layers": layers}

    @classmethod
    def from_config(cls, config, custom_objects: dict | None = None) -> "Sequential":
        from pymodel.models.serialization import sequential_from_config
        return sequential_from_config(cls, config, custom_objects)

    def to_json(self, **kwargs) -> str:
        """Keras 2.10-2.12 JSON (``class_name``/``config``, no ``module``/``build_config``)."""
        return json.dumps({"class_name": "Sequential", "config": self.get_config(),
                           "keras_version": KERAS_VERSION, "backend": "tensorflow"},
                          default=_json_default, **kwargs)

    # ------------------------------------------------------------------ saving & specs (pymodel.saving / pymodel.compiler)
    def save(self, filepath, overwrite: bool = True, **kwargs) -> None:
        """Write the model (config, weights, compile config, optimizer state) to one zip file.

        ``keras.models.load_model(filepath)`` reads it back, ready to resume training.
        """
        from pymodel import saving
        saving.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite: bool = True, **kwargs) -> None:
        """Write the weights to an .npz file."""
        from pymodel import saving
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, **kwargs) -> None:
        """Read weights written by :meth:`save_weights` (count and shapes must match)."""
        from pymodel import saving
        saving.load_weights(self, filepath)

    def to_spec(self) -> dict:
        """This model as a pymodel JSON spec (see ``pymodel.compiler.to_spec``)."""
        from pymodel import compiler
        return compiler.to_spec(self)

    @classmethod
    def from_spec(cls, spec: dict, **kwargs) -> "Sequential":
        """The compiled model a pymodel JSON spec describes (see ``pymodel.compiler.from_spec``)."""
        from pymodel import compiler
        return compiler.from_spec(spec, **kwargs)

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None,
                jit_compile=None, **kwargs) -> None:
        """Configure training: the optimizer, loss and metrics (Keras 2 arguments).

        Args:
            optimizer: Name (``"sgd"``, ``"adam"``, ...), config dict or Optimizer instance.
            loss: Name (``"mse"``, ``"binary_crossentropy"``, ...), Loss instance or a function
                ``fn(y_true, y_pred)``; an unknown name is reported at fit, as in Keras.
            metrics: Names (``"accuracy"``, ``"mae"``, ...), Metric instances or functions.
            loss_weights: Scale of the loss (one output: a number, or a one-item list/dict).
            weighted_metrics: Metrics that also take ``sample_weight``.
            run_eagerly, steps_per_execution, jit_compile: Accepted; no effect.

        Raises:
            ValueError: unknown optimizer.

        Example:
            >>> model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
            ...               loss="mse", metrics=["mae"])  # doctest: +SKIP
        """
        self.optimizer = optimizers.get(optimizer)
        self.optimizer._reset_train_function()
        self.loss = loss
        self.compiled_loss = None
        if isinstance(metrics, dict):
            metrics = [m for group in metrics.values() for m in (
                group if isinstance(group, (list, tuple)) else [group])]
        self._compiled_metrics = list(metrics or []) + list(weighted_metrics or [])
        self._first_weighted_metric = len(metrics or [])
        if isinstance(loss_weights, dict):
            loss_weights = next(iter(loss_weights.values()), 1.0)
        if isinstance(loss_weights, (list, tuple)):
            loss_weights = loss_weights[0] if loss_weights else 1.0
        self._loss_weight = 1.0 if loss_weights is None else float(loss_weights)
        self._compile_config = {"optimizer": optimizer, "loss": loss, "metrics": metrics,
                                "loss_weights": loss_weights, "weighted_metrics": weighted_metrics,
                                "run_eagerly": run_eagerly,
                                "steps_per_execution": steps_per_execution,
                                "jit_compile": jit_compile}
        self._trackers = None
        self._metric_objects = None  # built by the first step (training.build_metrics)
        self._invalidate()

    def get_compile_config(self) -> dict | None:
        """tf-keras 2.13+: the compile arguments, serializable (for saving)."""
        if self._compile_config is None:
            return None
        config = dict(self._compile_config)
        config["optimizer"] = optimizers.serialize(self.optimizer)
        loss = config["loss"]
        if loss is not None and not isinstance(loss, str):
            config["loss"] = losses.serialize(loss)
        if config["metrics"] is not None:
            config["metrics"] = [m if isinstance(m, str) else getattr(m, "__name__", getattr(
                m, "name", str(m))) for m in config["metrics"]]
        return config

    def compile_from_config(self, config: dict) -> None:
        """Compile again from :meth:`get_compile_config`'s dict."""
        config = dict(config)
        opt = config.get("optimizer", "rmsprop")
        config["optimizer"] = optimizers.deserialize(opt) if isinstance(opt, dict) else opt
        loss = config.get("loss")
        if isinstance(loss, dict):
            config["loss"] = losses.deserialize(loss)
        self.compile(**config)

    def _loss_object(self) -> losses.Loss:
        if self.compiled_loss is None:
            if self.loss is None:
                raise ValueError("No loss found. You may have forgotten to provide a `loss` "
                                 "argument in the `compile()` method.")
            self.compiled_loss = losses.to_loss_object(self.loss)
        return self.compiled_loss

    @property
    def metrics(self) -> list:
        from pymodel.metrics import Mean
        if self.optimizer is None or self._trackers is None:
            return []  # as tf-keras: empty until fit/evaluate/train_on_batch built them
        return [Mean(name="loss")] + list(self._trackers)

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    # ------------------------------------------------------------------ plans
    def _plan(self, capacity: int, x_shape: tuple) -> training.Plan:
        key = (capacity, tuple(x_shape))
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= 8:  # calls on many batch sizes: keep memory bounded
                self._plans.clear()
            validation.check_batch_memory(self._layers, x_shape, capacity, self._dtype())
            plan = self._plans[key] = training.Plan(self._layers, x_shape, self._dtype(), capacity)
        return plan

    def _step(self, capacity: int, x_shape: tuple, y_shape: tuple) -> training.Step:
        key = (capacity, tuple(x_shape), tuple(y_shape))
        step = self._steps.get(key)
        if step is None:
            slots = len(getattr(self.optimizer, "slot_names", ()))
            params = sum(w.nbytes for w in self.weights)
            validation.check_batch_memory(self._layers, x_shape, capacity, self._dtype(),
                                          fixed_bytes=params * (2 + slots))
            step = self._steps[key] = training.Step(self, capacity, x_shape, y_shape)
        return step

    # ------------------------------------------------------------------ data
    def _check_compiled(self) -> None:
        if self.optimizer is None:
            raise RuntimeError("You must compile your model before training/testing. Use "
                                   "`model.compile(optimizer, loss)`.")

    def _inputs(self, x, name: str = "x", stream: bool = False):
        """``x`` as a C-contiguous, finite array of the model dtype; builds a deferred model.

        A memory-mapped ``x`` is never copied whole: with ``stream`` (the batch
        loops of fit/evaluate) it comes back as ``streaming.Rows``, read batch by
        batch through its file and cast there; without, a mapping already in the
        model dtype is used in place and any other is cast whole. Either way its
        finiteness is checked through the file, a chunk at a time.
        """
        if isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(x[0], np.ndarray):
            x = x[0]
        if not self._layers:
            raise ValueError(f'Sequential model "{self.name}" has no layers to run.')
        rows = None
        if isinstance(x, np.ndarray) and x.base is not None:  # views only: in-memory arrays skip this
            x = validation.numeric_array(name, x)
            rows = streaming.open_rows(x, self._dtype())
        if rows is None:
            x = validation.as_array(name, x, self._dtype())
        else:
            validation.check_finite_rows(name, rows)
            if stream:
                x = rows
            elif rows.source_dtype == rows.dtype and x.flags.c_contiguous:
                x = np.asarray(x)  # read-only is fine: kernels never write their inputs
            else:
                x = validation.as_array(name, x, self._dtype(), finite=False)
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        validation.check_not_empty(name, x)
        if not self.built:
            self.build((None,) + x.shape[1:])
            if x.dtype.kind in "iu":  # tf-keras's inferred Input keeps integer data's dtype
                self._inferred_input_dtype = x.dtype.name
        expected = self._input_shape()
        if expected is None:
            expected = (None,) + tuple(self._layers[0].input_shape[1:])
        if len(expected) != x.ndim or any(e is not None and e != d
                                          for e, d in zip(expected[1:], x.shape[1:])):
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"expected shape={tuple(expected)}, found shape="
                             f"{(None,) + tuple(x.shape[1:])}")
        return x

    def _targets(self, x, y, sample_weight, class_weight, names=("x", "y", "sample_weight"),
                 stream: bool = False):
        """Checked ``(x, y, w)``; ``stream``: as in :meth:`_inputs` (targets and weights, small
        next to ``x``, are read into memory, a memory-mapped one through its file)."""
        x = self._inputs(x, names[0], stream)
        if y is None:
            raise ValueError("Target data is missing. Your model was compiled with loss="
                             f"{self.loss}, and therefore expects target data to be provided "
                             "in `fit()`.")
        y = validation.as_array(names[1], streaming.load(y), self._dtype())
        if y.ndim == 0:
            y = y.reshape(1)
        w = None
        if sample_weight is not None:
            w = validation.as_array(names[2], streaming.load(sample_weight), np.float64).reshape(-1)
        validation.check_samples({names[0]: x, names[1]: y, names[2]: w})
        loss = self._loss_object()
        out_shape = (None,) + self._output_shape(x.shape[1:])
        validation.check_targets(y, out_shape, loss)
        self._y_shape = y.shape
        if class_weight is not None:
            w = _with_class_weights(w, y, class_weight)
        y = loss.prepare_targets(y, out_shape, self._dtype())
        if w is not None:
            if len(out_shape) > 2:
                raise ValueError("pymodel supports sample_weight / class_weight for outputs of "
                                 f"rank 2 only. Received: output shape {out_shape}")
            w = np.ascontiguousarray(w, dtype=self._dtype())
        return x, y, w

    def _output_shape(self, x_shape: tuple) -> tuple:
        shape = (None,) + tuple(x_shape)
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return tuple(shape[1:])

    # ------------------------------------------------------------------ training API
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=1,
            use_multiprocessing=False):
        """Train the model for ``epochs`` passes over ``(x, y)`` (tf-keras semantics).

        Args:
            x: Inputs, an array of shape ``(samples, ...)``.
            y: Targets, one row per sample.
            batch_size: Samples per gradient step (default 32); the last batch may be smaller.
            epochs: Epoch index to stop at (with ``initial_epoch``: the number of epochs).
            verbose: ``"auto"`` or 1: progress bar (redrawn in place on a terminal, final lines
                only when piped); 2: one line per epoch; 0: silent.
            callbacks: ``keras.callbacks`` instances (History and the bar are added).
            validation_split: Fraction of the data, taken from its end before shuffling, to
                validate on after each epoch (``val_`` keys in History).
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight)``; wins over
                ``validation_split``.
            shuffle: Shuffle the training samples before each epoch.
            class_weight: ``{class index: weight}`` applied to each sample's loss.
            sample_weight: One weight per sample.
            initial_epoch: Epoch to start at (to resume training).
            steps_per_epoch: Batches per epoch (sets the batch size to cover the data).
            validation_batch_size: Batch size of validation (default ``batch_size``).
            validation_freq: Validate every n epochs (int) or after the epochs listed.
            validation_steps, max_queue_size, workers, use_multiprocessing: Accepted; no effect.

        Returns:
            The ``History`` callback: ``.history`` maps ``loss``, metrics, ``val_loss``, ... to
            one Python float per epoch; also ``model.history``.

        Raises:
            RuntimeError: the model is not compiled.
            ValueError: shapes of ``x``/``y`` do not fit the model, or each other.

        Example:
            >>> history = model.fit(x, y, batch_size=4, epochs=3, validation_split=0.25,
            ...                     verbose=0)
            >>> [len(v) for v in history.history.values()]
            [3, 3, 3, 3]
        """
        self._check_compiled()
        batch_size = validation.positive_int("batch_size", batch_size, default=32)
        epochs = validation.non_negative_int("epochs", epochs)
        initial_epoch = validation.non_negative_int("initial_epoch", initial_epoch)
        validation_split = validation.validation_split(validation_split)
        validation_freq = validation.validation_freq(validation_freq)
        if validation_batch_size is not None:
            validation_batch_size = validation.positive_int("validation_batch_size",
                                                            validation_batch_size)
        if steps_per_epoch is not None:
            steps_per_epoch = validation.positive_int("steps_per_epoch", steps_per_epoch)
        if class_weight is not None and not isinstance(class_weight, dict):
            raise TypeError("`class_weight` must be a dict mapping class indices to weights. "
                            f"Received: class_weight={class_weight!r:.80}")
        # class weights apply to the training part only (tf-keras splits before weighting)
        x, y, w = self._targets(x, y, sample_weight, None, stream=True)
        held_out = None
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError("`validation_data` must be a tuple (x_val, y_val) or "
                                 "(x_val, y_val, val_sample_weights). Received: "
                                 f"validation_data={validation_data!r:.80}")
            vx, vy, *vw = validation_data
            held_out = self._targets(vx, vy, vw[0] if vw else None, None,
                                     ("x_val", "y_val", "val_sample_weights"), stream=True)
        elif validation_split:
            n = x.shape[0]
            split_at = int(math.floor(n * (1.0 - validation_split)))
            if split_at == 0 or split_at == n:
                raise ValueError(
                    f"Training data contains {n} samples, which is not sufficient to split it "
                    "into a validation and training set as specified by `validation_split="
                    f"{validation_split}`. Either provide more data, or a different value for the "
                    "`validation_split` argument.")
            held_out = (x[split_at:], y[split_at:], None if w is None else w[split_at:])
            x, y, w = x[:split_at], y[:split_at], None if w is None else w[:split_at]
        if class_weight is not None:
            if len(self._output_shape(x.shape[1:])) > 1:
                raise ValueError("pymodel supports sample_weight / class_weight for outputs of "
                                 "rank 2 only. Received: output shape "
                                 f"{(None,) + self._output_shape(x.shape[1:])}")
            w = np.ascontiguousarray(_with_class_weights(w, y, class_weight), dtype=self._dtype())
        if steps_per_epoch:
            batch_size = max(batch_size, math.ceil(x.shape[0] / steps_per_epoch))
        capacity = min(batch_size, x.shape[0])
        if shuffle == "batch":
            shuffle = True
        self.optimizer._call_spec = None  # fit's batches: any size (see optimizers.Nadam)
        with interrupts.guarded():  # Ctrl-C waits for the current step to finish
            history = training.fit_loop(
                self, x, y, w, batch_size=capacity, epochs=epochs,
                verbose=training.resolve_verbose(verbose), callbacks=callbacks,
                validation=held_out, shuffle=bool(shuffle), initial_epoch=initial_epoch,
                validation_batch_size=validation_batch_size, validation_freq=validation_freq)
        _warn_if_not_finite(history, callbacks)
        return history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, max_queue_size=10, workers=1,
                 use_multiprocessing=False, return_dict=False, **kwargs):
        """Loss and metrics on ``(x, y)`` in inference mode (Dropout off).

        Args:
            x, y, batch_size, sample_weight: As in :meth:`fit`.
            verbose: ``"auto"`` or 1 draws a progress bar; 0 is silent.
            steps: Number of batches (sets the batch size).
            callbacks: Callbacks receiving the ``on_test_*`` hooks.
            return_dict: Return ``{"loss": ..., metric: ...}``.

        Returns:
            The loss (a float) when there are no metrics, else ``[loss, metric, ...]``, or the
            dict with ``return_dict=True``.

        Example:
            >>> loss, accuracy = model.evaluate(x, y, verbose=0)
        """
        self._check_compiled()
        batch_size = validation.positive_int("batch_size", batch_size, default=32)
        x, y, w = self._targets(x, y, sample_weight, None, stream=True)
        if steps is not None:
            batch_size = math.ceil(x.shape[0] / validation.positive_int("steps", steps))
        batch_size = min(batch_size, x.shape[0])
        verbose = training.resolve_verbose(verbose)
        cbs = training._callback_list(self, callbacks, verbose, 1, math.ceil(x.shape[0] / batch_size))
        logs = training.test_loop(self, x, y, w, batch_size=batch_size, callbacks=cbs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                max_queue_size=10, workers=1, use_multiprocessing=False) -> np.ndarray:
        """Outputs for ``x`` in inference mode (Dropout off), in the model dtype."""
        batch_size = validation.positive_int("batch_size", batch_size, default=32)
        x, finite = self._predict_inputs(x, stream=True)
        if steps is not None:
            batch_size = math.ceil(x.shape[0] / validation.positive_int("steps", steps))
        verbose = training.resolve_verbose(verbose)
        n_steps = math.ceil(x.shape[0] / batch_size)
        cbs = training._callback_list(self, callbacks, verbose, 1, n_steps)
        return training.predict_loop(self, x, batch_size=batch_size, callbacks=cbs, finite=finite)

    def __call__(self, inputs, training: bool = False) -> np.ndarray:
        """Run the model on an array (``training=True`` applies Dropout); answers ``.numpy()``."""
        return backend.as_tensor(self._forward(*self._predict_inputs(inputs), bool(training)))

    def predict_on_batch(self, x) -> np.ndarray:
        return np.asarray(self(x))

    def _predict_inputs(self, x, stream: bool = False) -> tuple:
        """(``x`` as :meth:`_inputs` gives it, whether it is known to be finite), with a
        shortcut for the common case: a C-contiguous ndarray of the model dtype and input
        shape, given to a built model, is used as it is, its finiteness left to the forward
        pass (the compiled one checks it in C, in the same call).

        NOTE: the shortcut costs about a microsecond, the full checks about ten; anything
        else (lists, other dtypes, a wrong shape) takes the full checks, which convert or
        raise.
        """
        expected = self._input_shape() if self.built else None
        if (type(x) is np.ndarray and expected is not None and x.ndim == len(expected) > 1
                and x.shape[0] and x.flags.c_contiguous and x.dtype == self._dtype()
                and x.shape[1:] == tuple(expected[1:])):
            return x, False
        return self._inputs(x, stream=stream), True

    def _forward(self, x: np.ndarray, finite: bool, train: bool) -> np.ndarray:
        """The outputs for all of ``x`` as one batch: compiled when the layers allow it.
        ``finite``: ``x`` is known to be finite (else it is checked)."""
        plan = self._plan(max(x.shape[0], 1), x.shape[1:])
        fast = training.compile_forward(plan)
        if fast is not None and (fast.trains or not train):
            return fast.run(x, train, finite_only=not finite)
        if not finite:
            validation.check_finite("x", x)
        return np.array(plan.forward(x, training=train))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       reset_metrics=True, return_dict=False):
        """One optimizer step on ``(x, y)``; returns the loss (and metrics) of that batch."""
        self._check_compiled()
        x, y, w = self._targets(x, y, sample_weight, class_weight)
        step = self._step(x.shape[0], x.shape[1:], y.shape[1:])
        tracker = self._batch_tracker(step, reset_metrics)
        self.optimizer._call_spec = x.shape[0]
        value, out = interrupts.deferred(step.train, x, y, w)
        return self._batch_logs(tracker.update(value, x.shape[0], y, out, w), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True,
                      return_dict=False):
        """Loss (and metrics) of one batch in inference mode."""
        self._check_compiled()
        x, y, w = self._targets(x, y, sample_weight, None)
        step = self._step(x.shape[0], x.shape[1:], y.shape[1:])
        tracker = self._batch_tracker(step, reset_metrics)
        penalty = training.weight_penalty(training.regularized_layers(self._layers), False)
        value, out = step.test(x, y, w, penalty)
        return self._batch_logs(tracker.update(value, x.shape[0], y, out, w), return_dict)

    def _batch_tracker(self, step, reset: bool) -> training.Tracker:
        tracker = getattr(self, "_on_batch_tracker", None)
        if tracker is None or reset:
            tracker = training.Tracker(training.build_metrics(
                self, self._y_shape, (None,) + step.plan.shapes[-1]))
            self._on_batch_tracker = tracker
            self._trackers = tracker.metrics
        return tracker

    @staticmethod
    def _batch_logs(logs: dict, return_dict: bool):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def reset_metrics(self) -> None:
        for metric in self._trackers or []:
            metric.reset_state()


def _warn_if_not_finite(history, callbacks) -> None:
    """Warn when a loss in ``history`` is NaN or infinite and no TerminateOnNaN was given."""
    from pymodel.callbacks import TerminateOnNaN
    given = getattr(callbacks, "callbacks", callbacks) or []  # a list or a CallbackList
    if history is None or any(isinstance(c, TerminateOnNaN) for c in given):
        return
    for epoch, value in zip(history.epoch, history.history.get("loss", [])):
        if not math.isfinite(value):
            warnings.warn(f"The training loss became {value} at epoch {epoch + 1}: the weights "
                          "are probably no longer finite. Lower the learning rate, check the "
                          "data, or pass callbacks=[TerminateOnNaN()] to stop at the first bad "
                          "batch.", RuntimeWarning, stacklevel=3)
            return


def _with_class_weights(w, y, class_weight: dict) -> np.ndarray:
    """Sample weights times ``class_weight[label]`` (argmax of one-hot rows, or the value)."""
    y = np.asarray(y)
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(-1)
    cw = np.array([class_weight.get(int(c), 1.0) for c in labels.astype(np.int64)])
    validation.check_finite("class_weight", cw.astype(np.float64))
    return cw if w is None else w * cw


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
