"""Reshaping layers: ``Flatten`` and ``Reshape`` (views, no copy), ``ZeroPadding2D`` (a copy into a zeroed buffer)."""
from __future__ import annotations

import math

import numpy as np

from pymodel._native import aligned
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


class Reshape(Layer):
    """Keras 2 ``Reshape(target_shape)``: a view of each sample as ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(s) for s in target_shape)

    def _fix_unknown_dimension(self, input_shape: list, output_shape: list) -> list:
        output_shape = list(output_shape)
        msg = ("total size of new array must be unchanged, input_shape = "
               f"{input_shape}, output_shape = {output_shape}")
        known, unknown = 1, None
        for index, dim in enumerate(output_shape):
            if dim < 0:
                if unknown is not None:
                    raise ValueError("There must be at most one unknown dimension in output_shape. "
                                     f"Received: output_shape={output_shape}.")
                unknown = index
            else:
                known *= dim
        original = math.prod(input_shape)
        if unknown is not None:
            if known == 0 or original % known != 0:
                raise ValueError(msg)
            output_shape[unknown] = original // known
        elif original != known:
            raise ValueError(msg)
        return output_shape

    def compute_output_shape(self, input_shape) -> tuple:
        rest = list(input_shape[1:])
        if any(s is None for s in rest):
            return (input_shape[0],) + tuple(None if s < 0 else s for s in self.target_shape)
        return (input_shape[0],) + tuple(self._fix_unknown_dimension(rest, list(self.target_shape)))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": self.target_shape}

    def forward(self, buf, x, training):
        return x.reshape(self.compute_output_shape(x.shape))

    def backward(self, buf, x, dy, need_dx, from_logits=False):
        return dy.reshape(x.shape)


def _pair_of_pairs(padding) -> tuple:
    """tf-keras ZeroPadding2D's padding forms: int, (rows, cols), or ((top, bottom), (left, right))."""
    from pymodel.layers.convolutional import normalize_tuple
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    if not hasattr(padding, "__len__"):
        raise ValueError("`padding` should be either an int, a tuple of 2 ints (symmetric_height_pad, "
                         "symmetric_width_pad), or a tuple of 2 tuples of 2 ints ((top_pad, bottom_pad), "
                         f"(left_pad, right_pad)). Received: padding={padding}.")
    if len(padding) != 2:
        raise ValueError(f"`padding` should have two elements. Received: {padding}.")
    rows = normalize_tuple(padding[0], 2, "1st entry of padding", allow_zero=True)
    cols = normalize_tuple(padding[1], 2, "2nd entry of padding", allow_zero=True)
    return (rows, cols)


class ZeroPadding2D(Layer):
    """Keras 2 ``ZeroPadding2D(padding=(1, 1), data_format=None)`` (channels_last).

    The forward pass copies each sample into the middle of a zeroed buffer (its
    border is written once, when the buffer is made); the backward pass copies
    the middle of the gradient out.
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        from pymodel.layers.convolutional import normalize_data_format
        self.data_format = normalize_data_format(data_format)
        self.padding = _pair_of_pairs(padding)

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        self._require_ndim(input_shape, 4)
        (top, bottom), (left, right) = self.padding
        h, w = input_shape[1:3]
        return (input_shape[0], None if h is None else h + top + bottom,
                None if w is None else w + left + right, input_shape[3])

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}

    def buffers(self, rows, input_shape) -> dict:
        x_shape = (rows,) + tuple(input_shape)
        return {"y": aligned.zeros(self.compute_output_shape(x_shape), self.dtype),
                "dx": aligned.empty(x_shape, self.dtype)}

    def _middle(self, arr: np.ndarray, x_shape) -> np.ndarray:
        (top, _), (left, _) = self.padding
        return arr[:, top:top + x_shape[1], left:left + x_shape[2]]

    def forward(self, buf, x, training):
        y = buf["y"]
        self._middle(y, x.shape)[...] = x
        return y

    def backward(self, buf, x, dy, need_dx, from_logits=False):
        if not need_dx:
            return None
        dx = buf["dx"]
        np.copyto(dx, self._middle(dy, x.shape))
        return dx
