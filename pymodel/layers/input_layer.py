"""``InputLayer`` and ``Input()``: the declared input shape of a model (no computation)."""
from __future__ import annotations


from pymodel import backend
from pymodel.layers.base import Layer, _shape_tuple


class InputLayer(Layer):
    """Keras 2 ``InputLayer(input_shape=None, batch_size=None, dtype=None, ..., name=None)``."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, input_tensor=None,
                 sparse=None, name=None, ragged=None, type_spec=None, **kwargs):
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        kwargs.pop("optional", None)  # tf-keras 2.16+ JSON writes "optional": false
        if kwargs:
            raise TypeError("Keyword argument not understood:", next(iter(kwargs)))
        if input_shape is not None and batch_input_shape is not None:
            raise ValueError("Only provide the input_shape OR batch_input_shape argument to "
                             "InputLayer, not both at the same time.")
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("An InputLayer needs an `input_shape` or a `batch_input_shape`."
                                 f" Received: input_shape={input_shape}")
            batch_input_shape = (batch_size,) + _shape_tuple(input_shape)
        name = name or f"input_{backend.get_uid('input')}"
        super().__init__(name=name, dtype=dtype)
        self._batch_input_shape = _shape_tuple(batch_input_shape)
        self.sparse, self.ragged = bool(sparse), bool(ragged)
        self.built = True
        self.input_shape = self.output_shape = self._batch_input_shape

    def get_config(self) -> dict:
        return {"batch_input_shape": self._batch_input_shape, "dtype": self.dtype,
                "sparse": self.sparse, "ragged": self.ragged, "name": self.name}

    def forward(self, buf, x, training):
        return x


def Input(shape=None, batch_size=None, name=None, dtype=None, sparse=None, tensor=None,
          ragged=None, type_spec=None, **kwargs) -> InputLayer:
    """Keras's ``Input(shape=...)``; returns the ``InputLayer`` (add it to a Sequential).

    Example:
        >>> model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
        >>> model.output_shape
        (None, 2)
    """
    batch_shape = kwargs.pop("batch_shape", kwargs.pop("batch_input_shape", None))
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {list(kwargs)}")
    if shape is None and batch_shape is None and tensor is None and type_spec is None:
        raise ValueError("Please provide to Input a `shape` or a `tensor` or a `type_spec` "
                         "argument. Note that `shape` does not include the batch dimension.")
    if batch_shape is not None:
        return InputLayer(batch_input_shape=batch_shape, name=name, dtype=dtype, sparse=sparse,
                          ragged=ragged)
    return InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                      sparse=sparse, ragged=ragged)


