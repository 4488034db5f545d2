"""``Flatten``: reshape ``(batch, ...)`` to ``(batch, prod(...))`` as a view (no copy, no kernel)."""
from __future__ import annotations

import math

from pymodel.layers.base import Layer


class Flatten(Layer):
    """Flattens each sample to one dimension (Keras 2 ``Flatten(data_format=None)``).

    Example:
        >>> keras.layers.Flatten()(np.zeros((2, 3, 4), "float32")).shape
        (2, 12)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError("The `data_format` argument must be one of \"channels_first\", "
                             f"\"channels_last\". Received: {data_format}")
        self.data_format = data_format or "channels_last"

    def compute_output_shape(self, input_shape) -> tuple:
        rest = input_shape[1:]
        size = None if any(s is None for s in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}

    def forward(self, buf, x, training):
        return x.reshape(x.shape[0], -1)

    def backward(self, buf, x, dy, need_dx, from_logits=False):
        return dy.reshape(x.shape)
