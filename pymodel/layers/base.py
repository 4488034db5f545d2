"""The base ``Layer``: Keras 2 constructor arguments, names, weights, config, and the step protocol.

A layer takes part in training through four methods the trainer calls with
buffers it allocated once per batch size (see ``pymodel/training.py``):

- ``buffers(rows, input_shape)``: dict of arrays for ``rows`` samples;
- ``forward(buf, x, training)``: write the output into ``buf``, return it;
- ``backward(buf, x, dy, need_dx)``: fill ``self.gradients``, return dx;
- ``logits(buf, x)``: the pre-activation for Keras's crossentropy shortcut
  (None when the layer does not end in sigmoid/softmax).

Each of these is one C call per layer step.
"""
from __future__ import annotations

import math

import numpy as np

from pymodel import activations, backend, initializers, regularizers
from pymodel._native import aligned

_LOGIT_ACTIVATIONS = ("sigmoid", "softmax")
_ALLOWED_KWARGS = {"input_dim", "input_shape", "batch_input_shape", "batch_size", "weights",
                   "activity_regularizer", "autocast", "implementation"}


class KerasWeight(backend.Tensor):
    """A parameter array with Keras's variable name (``dense/kernel:0``) and ``numpy()``."""

    name: str = ""
    trainable: bool = True

    def assign(self, value) -> None:
        self[...] = value

    def __array_finalize__(self, obj):
        self.name = getattr(obj, "name", "")
        self.trainable = getattr(obj, "trainable", True)


def _shape_tuple(shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(None if s is None else int(s) for s in shape)


class Layer:
    """Keras 2 base layer (``trainable``, ``name``, ``dtype`` and the shape keyword arguments)."""

    def __init__(self, trainable: bool = True, name: str | None = None, dtype=None,
                 dynamic: bool = False, **kwargs):
        for key in kwargs:
            if key not in _ALLOWED_KWARGS:
                raise TypeError("Keyword argument not understood:", key)
        if "input_dim" in kwargs and "input_shape" not in kwargs:
            kwargs["input_shape"] = (kwargs["input_dim"],)
        self._batch_input_shape = None
        if "batch_input_shape" in kwargs:
            self._batch_input_shape = _shape_tuple(kwargs["batch_input_shape"])
        elif "input_shape" in kwargs:
            self._batch_input_shape = (kwargs.get("batch_size"),) + _shape_tuple(kwargs["input_shape"])
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Layer name must be a string. Received: name={name!r}")
        self.name = name or backend.unique_object_name(backend.to_snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        if isinstance(dtype, dict):  # a serialized dtype policy: {"config": {"name": "float32"}}
            dtype = dtype.get("config", {}).get("name")
        self.dtype = np.dtype(dtype or backend.floatx()).name
        self.activity_regularizer = regularizers.get(kwargs.get("activity_regularizer"))
        self._initial_weights = kwargs.get("weights")
        self._weights: list[KerasWeight] = []
        self._regularizers: list = []
        self.gradients: list[np.ndarray] = []
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._rng: np.random.Generator | None = None

    # ------------------------------------------------------------------ building
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis first, may be None)."""
        self.built = True

    def _maybe_build(self, input_shape) -> None:
        if not self.built:
            input_shape = _shape_tuple(input_shape)
            self.build(input_shape)
            self.built = True
            self.input_shape = input_shape
            self.output_shape = self.compute_output_shape(input_shape)
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None

    def add_weight(self, name: str, shape, initializer="glorot_uniform", regularizer=None,
                   trainable: bool = True, dtype=None) -> KerasWeight:
        """Create a parameter from ``initializer`` (drawing from the model's generator)."""
        init = initializers.get(initializer)
        dtype = dtype or self.dtype
        from pymodel.validation import check_memory
        dims = _shape_tuple(shape)
        check_memory(2 * math.prod(d or 0 for d in dims) * np.dtype(dtype).itemsize,  # + gradient
                     f'Weight "{self.name}/{name}" of shape {dims}')
        if isinstance(init, initializers.Initializer):
            if self._rng is None:
                from pymodel.utils import make_generator
                self._rng = make_generator()
            value = init(shape, dtype=dtype, rng=self._rng)
        else:  # a plain callable (shape, dtype) -> array, as Keras allows
            value = init(shape, dtype=dtype)
        weight = aligned.array(value, dtype).view(KerasWeight)
        weight.name = f"{self.name}/{name}:0"
        weight.trainable = trainable
        self._weights.append(weight)
        self._regularizers.append(regularizers.get(regularizer))
        self.gradients.append(aligned.zeros(weight.shape, weight.dtype))
        return weight

    def _require_ndim(self, input_shape, ndim: int, spec: str = "ndim") -> None:
        """Keras's InputSpec error when ``input_shape`` has not ``ndim`` axes (``spec``: ndim or min_ndim)."""
        if len(input_shape) != ndim:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"{spec}={ndim}, found ndim={len(input_shape)}. Full shape received: "
                f"{tuple(input_shape)}")

    def compute_output_shape(self, input_shape) -> tuple:
        return _shape_tuple(input_shape)

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list:
        """Trainable weights first, then the others (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self) -> list:
        return [w for w in self._weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self) -> list:
        if not self.trainable:
            return list(self._weights)
        return [w for w in self._weights if not w.trainable]

    @property
    def variables(self) -> list:
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, as plain NumPy arrays."""
        return [np.array(w) for w in self.weights]

    def set_weights(self, weights) -> None:
        """Copy ``weights`` into the parameters (in place, so the optimizer's views stay valid)."""
        params = self.weights
        weights = list(weights)
        if len(params) != len(weights):
            raise ValueError(
                f'You called `set_weights(weights)` on layer "{self.name}" with a weight list of '
                f"length {len(weights)}, but the layer was expecting {len(params)} weights. "
                f"Provided weights: {weights!r:.50}...")
        for param, value in zip(params, weights):
            value = np.asarray(value)
            if value.shape != param.shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {param.shape} is not compatible with "
                    f"provided weight shape {value.shape}.")
            param[...] = value

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer {self.name}, but the layer isn't "
                f"built. You can build it manually via: `{self.name}.build(batch_input_shape)`.")
        return int(sum(math.prod(w.shape) for w in self._weights))

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)

    # ------------------------------------------------------------------ eager call
    def __call__(self, inputs, training: bool = False) -> np.ndarray:
        """Run the layer on a NumPy array (builds it on first use)."""
        x = np.ascontiguousarray(inputs, dtype=self.dtype)
        self._maybe_build((None,) + x.shape[1:])
        buf = self.buffers(x.shape[0], x.shape[1:])
        return np.array(self.forward(buf, x, training))

    # ------------------------------------------------------------------ step protocol
    def buffers(self, rows: int, input_shape: tuple) -> dict:
        """Arrays this layer needs for ``rows`` samples of ``input_shape`` (no batch axis)."""
        return {}

    def forward(self, buf: dict, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, buf: dict, x: np.ndarray, dy: np.ndarray, need_dx: bool,
                 from_logits: bool = False):
        raise NotImplementedError

    def logits(self, buf: dict, x: np.ndarray):
        """Pre-activation values when this layer ends in sigmoid/softmax, else None."""
        return None

    def output_activation(self) -> str | None:
        """Name of the activation this layer ends with, if any (for the logits shortcut)."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} name={self.name}>"


class KernelLayer(Layer):
    """Base of ``activation(op(inputs, kernel) + bias)`` layers (Dense, Conv): their shared
    arguments, weights, config entries and output activation."""

    def _set_kernel_args(self, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, kernel_constraint,
                         bias_constraint) -> None:
        """Resolve the shared constructor arguments (constraints: only None is supported)."""
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        for key, value in (("kernel_constraint", kernel_constraint),
                           ("bias_constraint", bias_constraint)):
            if value is not None:
                raise ValueError(f"pymodel's {type(self).__name__} does not support weight "
                                 f"constraints yet. Received: {key}={value!r}")
        self.kernel_constraint = self.bias_constraint = None
        self._desc = activations.descriptor(self.activation)
        self.kernel = self.bias = None

    def _build_kernel(self, kernel_shape: tuple) -> None:
        """Add ``kernel`` and, with ``use_bias``, a ``bias`` as long as the kernel's last axis."""
        self.kernel = self.add_weight("kernel", kernel_shape, self.kernel_initializer,
                                      self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", kernel_shape[-1:], self.bias_initializer,
                                        self.bias_regularizer)
        self.built = True

    def _kernel_config(self) -> dict:
        """The config entries of the shared arguments, in Keras's order."""
        return {
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": self.kernel_constraint,
            "bias_constraint": self.bias_constraint,
        }

    def logits(self, buf, x):
        return buf["z"] if self.output_activation() else None

    def output_activation(self):
        name = activations.serialize(self.activation)
        return name if name in _LOGIT_ACTIVATIONS else None

    def _kernel(self) -> np.ndarray:
        return self.kernel.view(np.ndarray)

    def _bias(self):
        return None if self.bias is None else self.bias.view(np.ndarray)
