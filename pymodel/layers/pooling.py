"""Pooling layers (channels_last): Max/Average pooling 1-D and 2-D, and their global forms.

Each step is one C call (``pymodel._native.pool``) writing into the layer's
buffers. TensorFlow's geometry: 'same' puts the odd extra pad at the end; average
pooling counts only real cells; max pooling's gradient goes to the first maximum.
"""
from __future__ import annotations

from pymodel._native import aligned
from pymodel.layers.base import Layer
from pymodel.layers.convolutional import (
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
    spatial_output,
)


class _Pooling(Layer):
    """Keras 2 ``Pooling1D`` / ``Pooling2D`` base: ``pool_size``, ``strides`` (None = pool_size), ``padding``."""

    rank = 2
    op = "max"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        n = self.rank
        if strides is None:
            strides = pool_size
        self.pool_size = normalize_tuple(pool_size, n, "pool_size")
        self.strides = normalize_tuple(strides, n, "strides", allow_zero=True)
        self.padding = normalize_padding(padding)
        if self.padding == "causal":
            raise ValueError("Pooling layers support padding 'valid' or 'same'. Received: padding='causal'")
        if not all(self.strides):
            raise ValueError(f"The argument `strides` cannot contains 0(s). Received: {self.strides}")
        self.data_format = normalize_data_format(data_format)

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        self._require_ndim(input_shape, self.rank + 2)
        try:
            spatial = spatial_output(input_shape[1:-1], self.pool_size, self.strides, self.padding,
                                     (1,) * self.rank)
        except ValueError:
            raise ValueError(
                f"Negative dimension size caused by pooling {self.pool_size} over the input of shape "
                f"{input_shape} in layer {self.name!r} with padding='{self.padding}'. "
                f"Received: input_shape={input_shape}, pool_size={self.pool_size}") from None
        return (input_shape[0],) + spatial + (input_shape[-1],)

    def get_config(self) -> dict:
        own = {"pool_size": self.pool_size, "padding": self.padding, "strides": self.strides,
               "data_format": self.data_format}
        if self.rank == 1:  # tf-keras's Pooling1D writes strides first
            own = {"strides": self.strides, **own}
        return {**super().get_config(), **own}

    def buffers(self, rows, input_shape) -> dict:
        x_shape = (rows,) + tuple(input_shape)
        return {"y": aligned.empty(self.compute_output_shape(x_shape), self.dtype),
                "dx": aligned.empty(x_shape, self.dtype)}

    def forward(self, buf, x, training):
        from pymodel._native import pool
        run = getattr(pool, f"{self.op}_pool{self.rank}d_forward")
        return run(x, self.pool_size, self.strides, self.padding, out=buf["y"])

    def backward(self, buf, x, dy, need_dx, from_logits=False):
        if not need_dx:
            return None
        from pymodel._native import pool
        run = getattr(pool, f"{self.op}_pool{self.rank}d_backward")
        return run(x, dy, self.pool_size, self.strides, self.padding, dx=buf["dx"])


class MaxPooling1D(_Pooling):
    """Keras 2 ``MaxPooling1D(pool_size=2, strides=None, padding="valid", data_format="channels_last")``."""

    rank, op = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Keras 2 ``AveragePooling1D(pool_size=2, strides=None, padding="valid", data_format="channels_last")``."""

    rank, op = 1, "average"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling):
    """Keras 2 ``MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid", data_format=None)``."""

    rank, op = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """Keras 2 ``AveragePooling2D(pool_size=(2, 2), strides=None, padding="valid", data_format=None)``."""

    rank, op = 2, "average"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    """Keras 2 global pooling over every spatial axis; ``keepdims`` keeps them as size 1."""

    rank = 2
    op = "max"

    def __init__(self, data_format="channels_last", keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        self._require_ndim(input_shape, self.rank + 2)
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}

    def buffers(self, rows, input_shape) -> dict:
        return {"y": aligned.empty((rows, input_shape[-1]), self.dtype),
                "dx": aligned.empty((rows,) + tuple(input_shape), self.dtype)}

    def forward(self, buf, x, training):
        from pymodel._native import pool
        y = getattr(pool, f"global_{self.op}_pool_forward")(x, out=buf["y"])
        return y.reshape(self.compute_output_shape(x.shape)) if self.keepdims else y

    def backward(self, buf, x, dy, need_dx, from_logits=False):
        if not need_dx:
            return None
        from pymodel._native import pool
        run = getattr(pool, f"global_{self.op}_pool_backward")
        return run(x, dy.reshape(x.shape[0], x.shape[-1]), dx=buf["dx"])


class GlobalMaxPooling1D(_GlobalPooling):
    """Keras 2 ``GlobalMaxPooling1D``: ``(batch, steps, channels)`` -> ``(batch, channels)``."""

    rank, op = 1, "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """Keras 2 ``GlobalAveragePooling1D``: the mean over steps."""

    rank, op = 1, "average"


class GlobalMaxPooling2D(_GlobalPooling):
    """Keras 2 ``GlobalMaxPooling2D``: ``(batch, rows, cols, channels)`` -> ``(batch, channels)``."""

    rank, op = 2, "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)


class GlobalAveragePooling2D(_GlobalPooling):
    """Keras 2 ``GlobalAveragePooling2D``: the mean over rows and columns."""

    rank, op = 2, "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)


MaxPool1D, AvgPool1D, MaxPool2D, AvgPool2D = MaxPooling1D, AveragePooling1D, MaxPooling2D, AveragePooling2D
GlobalMaxPool1D, GlobalAvgPool1D = GlobalMaxPooling1D, GlobalAveragePooling1D
GlobalMaxPool2D, GlobalAvgPool2D = GlobalMaxPooling2D, GlobalAveragePooling2D
