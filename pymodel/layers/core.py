"""``Dense``: ``y = activation(x @ kernel + bias)`` on the last axis, one fused C call each way."""
from __future__ import annotations

import math

import numpy as np

from pymodel import activations, initializers, regularizers
from pymodel.layers.base import Layer

_LOGIT_ACTIVATIONS = ("sigmoid", "softmax")


class Dense(Layer):
    """Densely-connected layer: ``output = activation(inputs @ kernel + bias)`` (Keras 2 ``Dense``).

    Inputs of rank > 2 are multiplied on their last axis.

    Args:
        units: Output size (a positive integer).
        activation: Activation name or function (default: none, i.e. linear).
        use_bias: Whether the layer has a bias vector.
        kernel_initializer, bias_initializer: Initializers of the weights (names or objects).
        kernel_regularizer, bias_regularizer, activity_regularizer: Penalties added to the loss.
        kernel_constraint, bias_constraint: Only ``None`` is supported.
        **kwargs: Base layer arguments: ``name``, ``trainable``, ``dtype``, ``input_shape``,
            ``input_dim``, ``batch_input_shape``, ``batch_size``.

    Raises:
        ValueError: ``units`` is negative, or a constraint is given.

    Example:
        >>> layer = keras.layers.Dense(2, activation="relu", input_shape=(3,))
        >>> layer(np.ones((4, 3), "float32")).shape
        (4, 2)
        >>> [w.shape for w in layer.get_weights()]
        [(3, 2), (2,)]
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        units = units if isinstance(units, (int, np.integer)) else int(units)
        if units < 0:
            raise ValueError("Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        for key, value in (("kernel_constraint", kernel_constraint),
                           ("bias_constraint", bias_constraint)):
            if value is not None:
                raise ValueError(f"pymodel's Dense does not support weight constraints yet. "
                                 f"Received: {key}={value!r}")
        self.kernel_constraint = self.bias_constraint = None
        self._desc = activations.descriptor(self.activation)
        self._linear = None
        self.kernel = self.bias = None

    def build(self, input_shape) -> None:
        last = input_shape[-1]
        if last is None:
            raise ValueError("The last dimension of the inputs to a Dense layer should be "
                             f"defined. Found None. Full input shape received: {input_shape}")
        self.kernel = self.add_weight("kernel", (last, self.units), self.kernel_initializer,
                                      self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        self.bias_regularizer)
        self.built = True

    def compute_output_shape(self, input_shape) -> tuple:
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
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

    # ------------------------------------------------------------------ steps
    def buffers(self, rows, input_shape) -> dict:
        from pymodel._native import dense
        flat = rows * math.prod(input_shape[:-1])
        k, n = input_shape[-1], self.units
        return {
            "z": np.empty((flat, n), self.dtype), "y": np.empty((flat, n), self.dtype),
            "dz": np.empty((flat, n), self.dtype), "dx": np.empty((flat, k), self.dtype),
            "work": dense.workspace(max(flat, 1), k, n, self.dtype),
            "out_shape": (rows,) + tuple(input_shape[:-1]) + (n,),
        }

    def forward(self, buf, x, training):
        from pymodel._native import dense
        dense.forward(x.reshape(-1, x.shape[-1]), self._kernel(), self._bias(), self._desc,
                      z=buf["z"], y=buf["y"], work=buf["work"])
        return buf["y"].reshape(buf["out_shape"])

    def backward(self, buf, x, dy, need_dx, from_logits=False):
        from pymodel._native import dense
        desc = self._desc
        if from_logits:  # dy is already d loss / d z (the fused crossentropy gradient)
            if self._linear is None:
                self._linear = activations.descriptor(activations.linear)
            desc = self._linear
        dy2 = dy.reshape(buf["z"].shape)
        grads = self.gradients
        dx, _, _ = dense.backward(
            x.reshape(-1, x.shape[-1]), self._kernel(), desc, buf["z"], buf["y"], dy2,
            dz=dy2 if from_logits else buf["dz"], dx=buf["dx"] if need_dx else None,
            dw=grads[0], db=grads[1] if self.use_bias else None,
            need_dx=need_dx, need_db=self.use_bias, work=buf["work"])
        return None if dx is None else dx.reshape(x.shape)

    def activation_backward(self, buf, x, dy):
        """d/dz of a loss whose gradient with respect to this layer's output is ``dy``."""
        from pymodel._native import activations as kernels
        return kernels.backward(self._desc, buf["z"], buf["y"], dy.reshape(buf["z"].shape)
                                ).reshape(dy.shape)

    def logits(self, buf, x):
        return buf["z"] if self.output_activation() else None

    def output_activation(self):
        name = activations.serialize(self.activation)
        return name if name in _LOGIT_ACTIVATIONS else None

    def _kernel(self) -> np.ndarray:
        return self.kernel.view(np.ndarray)

    def _bias(self):
        return None if self.bias is None else self.bias.view(np.ndarray)
