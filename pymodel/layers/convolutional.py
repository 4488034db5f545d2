"""``Conv1D`` and ``Conv2D`` (channels_last): ``y = activation(conv(x, kernel) + bias)`` on the C core.

The convolution (im2col + GEMM, bias added in the same pass) is one C call each
way; the activation is one more. The layer's buffers hold the pre-activation
``z``, the output ``y``, the gradients and the convolution workspace, sized once
per batch capacity by the training plan.
"""
from __future__ import annotations

import numpy as np

from pymodel import activations
from pymodel._native import aligned
from pymodel.layers.base import KernelLayer


def normalize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple:
    """tf-keras ``conv_utils.normalize_tuple``: an int repeated ``n`` times, or ``n`` ints, all > 0."""
    error = f"The `{name}` argument must be a tuple of {n} integers. Received: {value}"
    if isinstance(value, (int, np.integer)):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(error) from None
        if len(values) != n:
            raise ValueError(error)
        for v in values:
            try:
                int(v)
            except (ValueError, TypeError):
                raise ValueError(f"{error}including element {v} of type {type(v)}") from None
        values = tuple(int(v) for v in values)
    bad = {v for v in values if (v < 0 if allow_zero else v <= 0)}
    if bad:
        raise ValueError(f"{error} including {bad} that does not satisfy the requirement "
                         f"`{'>= 0' if allow_zero else '> 0'}`.")
    return values


def normalize_padding(value) -> str:
    """tf-keras ``conv_utils.normalize_padding``: 'valid', 'same' or 'causal' (any case)."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in ("valid", "same", "causal"):
        raise ValueError('The `padding` argument must be a list/tuple or one of "valid", "same" '
                         f'(or "causal", only for `Conv1D). Received: {padding}')
    return padding


def normalize_data_format(value) -> str:
    """Only ``channels_last`` (Keras's default on CPU) is implemented."""
    if value is None:
        return "channels_last"
    data_format = value.lower() if isinstance(value, str) else value
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError('The `data_format` argument must be one of "channels_first", '
                         f'"channels_last". Received: {value}')
    if data_format == "channels_first":
        raise ValueError("pymodel implements data_format='channels_last' only. "
                         f"Received: data_format={value!r}")
    return data_format


def spatial_output(sizes, window, strides, padding: str, dilation) -> tuple:
    """Output lengths of the spatial axes (None stays None); raises ValueError if a window does not fit."""
    from pymodel._native.conv import padding_amounts
    return tuple(None if s is None else padding_amounts(s, k, st, padding, d).out
                 for s, k, st, d in zip(sizes, window, strides, dilation))


class _Conv(KernelLayer):
    """Keras 2 ``Conv`` base for ``rank`` spatial axes (1 or 2)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(filters, float):
            filters = int(filters)
        if filters is None or filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly positive "
                             f"value. Received filters={filters}.")
        self.filters = int(filters)
        self.groups = groups or 1
        if self.groups != 1:
            raise ValueError(f"pymodel's convolutions support groups=1 only. Received: groups={groups}")
        n = self.rank
        self.kernel_size = normalize_tuple(kernel_size, n, "kernel_size")
        self.strides = normalize_tuple(strides, n, "strides", allow_zero=True)
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, n, "dilation_rate")
        if not all(self.strides):
            raise ValueError(f"The argument `strides` cannot contains 0(s). Received: {self.strides}")
        if self.padding == "causal" and n != 1:
            raise ValueError("Causal padding is only supported for `Conv1D`and `SeparableConv1D`.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        self._set_kernel_args(activation, use_bias, kernel_initializer, bias_initializer,
                              kernel_regularizer, bias_regularizer, kernel_constraint,
                              bias_constraint)
        self._linear_act = activations.serialize(self.activation) == "linear"

    # ------------------------------------------------------------------ shapes
    def _check_rank(self, input_shape) -> None:
        self._require_ndim(input_shape, self.rank + 2, "min_ndim")

    def build(self, input_shape) -> None:
        self._check_rank(input_shape)
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. The input_shape "
                             f"received is {tuple(input_shape)}, where axis -1 (0-based) is the channel "
                             "dimension, which found to be `None`.")
        self._build_kernel(self.kernel_size + (channels, self.filters))

    def compute_output_shape(self, input_shape) -> tuple:
        input_shape = tuple(input_shape)
        self._check_rank(input_shape)
        try:
            spatial = spatial_output(input_shape[1:-1], self.kernel_size, self.strides, self.padding,
                                     self.dilation_rate)
        except ValueError:
            raise ValueError(
                f"One of the dimensions in the output is <= 0 due to downsampling in {self.name}. "
                "Consider increasing the input size. Received input shape "
                f"{list(input_shape)} which would produce output shape with a zero or negative "
                "value in a dimension.") from None
        return (input_shape[0],) + spatial + (self.filters,)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            **self._kernel_config(),
        }

    # ------------------------------------------------------------------ steps
    def buffers(self, rows, input_shape) -> dict:
        from pymodel._native import conv
        x_shape = (rows,) + tuple(input_shape)
        out_shape = self.compute_output_shape(x_shape)
        kernel_shape = self.kernel_size + (input_shape[-1], self.filters)
        buf = {"z": aligned.empty(out_shape, self.dtype), "dx": aligned.empty(x_shape, self.dtype),
               "work": conv.workspace(x_shape, kernel_shape, self.strides, self.padding,
                                      self.dilation_rate, dtype=self.dtype)}
        if not self._linear_act:
            buf["y"] = aligned.empty(out_shape, self.dtype)
            buf["dz"] = aligned.empty(out_shape, self.dtype)
        return buf

    def forward(self, buf, x, training):
        from pymodel._native import activations as act_kernels
        from pymodel._native import conv
        run = conv.conv1d_forward if self.rank == 1 else conv.conv2d_forward
        z = run(x, self._kernel(), self._bias(), self.strides, self.padding, self.dilation_rate,
                out=buf["z"], work=buf["work"])
        if self._linear_act:
            return z
        return act_kernels.forward(self._desc, z, out=buf["y"])

    def backward(self, buf, x, dy, need_dx, from_logits=False):
        from pymodel._native import activations as act_kernels
        from pymodel._native import conv
        dz = dy
        if not (self._linear_act or from_logits):  # from_logits: dy is already d loss / d z
            dz = act_kernels.backward(self._desc, buf["z"], buf["y"], dy, out=buf["dz"])
        run = conv.conv1d_backward if self.rank == 1 else conv.conv2d_backward
        grads = self.gradients
        dx, _, _ = run(x, self._kernel(), dz, self.strides, self.padding,
                       self.dilation_rate, dx=buf["dx"] if need_dx else None, dkernel=grads[0],
                       dbias=grads[1] if self.use_bias else None, need_dx=need_dx,
                       need_dbias=self.use_bias, work=buf["work"])
        return dx


class Conv1D(_Conv):
    """Keras 2 ``Conv1D``: inputs ``(batch, steps, channels)``, kernel ``(k, channels, filters)``.

    ``padding`` may also be 'causal' (left padding only, for temporal models).
    """

    rank = 1


class Conv2D(_Conv):
    """Keras 2 ``Conv2D``: inputs ``(batch, rows, cols, channels)``, kernel ``(kh, kw, channels, filters)``."""

    rank = 2


Convolution1D = Conv1D
Convolution2D = Conv2D
