"""``Activation``: applies a built-in activation (C kernel) element-wise, or row-wise for softmax."""
from __future__ import annotations

from pymodel import activations
from pymodel._native import aligned
from pymodel.layers.base import Layer


class Activation(Layer):
    """Applies an activation function to its input (Keras 2 ``Activation``).

    Args:
        activation: Name (``"relu"``, ``"softmax"``, ...) or function from ``keras.activations``.

    Raises:
        ValueError: unknown activation name.

    Example:
        >>> keras.layers.Activation("softmax")(np.array([[1.0, 1.0]], "float32")).tolist()
        [[0.5, 0.5]]
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._desc = activations.descriptor(self.activation)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}

    def buffers(self, rows, input_shape) -> dict:
        shape = (rows,) + tuple(input_shape)
        return {"y": aligned.empty(shape, self.dtype), "dx": aligned.empty(shape, self.dtype)}

    def forward(self, buf, x, training):
        from pymodel._native import activations as kernels
        return kernels.forward(self._desc, x, out=buf["y"])

    def backward(self, buf, x, dy, need_dx, from_logits=False):
        if from_logits:  # dy is already d loss / d x (the fused crossentropy gradient)
            return dy
        from pymodel._native import activations as kernels
        return kernels.backward(self._desc, x, buf["y"], dy, out=buf["dx"])

    def activation_backward(self, buf, x, dy):
        """d/dx of a loss whose gradient with respect to this layer's output is ``dy``."""
        from pymodel._native import activations as kernels
        return kernels.backward(self._desc, x, buf["y"], dy)

    def logits(self, buf, x):
        return x if self.output_activation() else None

    def output_activation(self):
        name = activations.serialize(self.activation)
        return name if name in ("sigmoid", "softmax") else None
