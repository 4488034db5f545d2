"""``Dense``: ``y = activation(x @ kernel + bias)`` on the last axis, one fused C call each way."""
from __future__ import annotations

import math

import numpy as np

from pymodel import activations
from pymodel._native import aligned
from pymodel.layers.base import KernelLayer


class Dense(KernelLayer):
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
        self._set_kernel_args(activation, use_bias, kernel_initializer, bias_initializer,
                              kernel_regularizer, bias_regularizer, kernel_constraint,
                              bias_constraint)
        self._linear = None

    def build(self, input_shape) -> None:
        last = input_shape[-1]
        if last is None:
            raise ValueError("The last dimension of the inputs to a Dense layer should be "
                             f"defined. Found None. Full input shape received: {input_shape}")
        self._build_kernel((last, self.units))

    def compute_output_shape(self, input_shape) -> tuple:
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            **self._kernel_config(),
        }

    # ------------------------------------------------------------------ steps
    def buffers(self, rows, input_shape) -> dict:
        from pymodel._native import dense
        flat = rows * math.prod(input_shape[:-1])
        k, n = input_shape[-1], self.units
        return {
            "z": aligned.empty((flat, n), self.dtype), "y": aligned.empty((flat, n), self.dtype),
            "dz": aligned.empty((flat, n), self.dtype), "dx": aligned.empty((flat, k), self.dtype),
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
