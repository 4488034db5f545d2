"""Keras 2 layers: core (``Dense``, ``Activation``, ``Dropout``), reshaping, convolution, pooling, input."""
from __future__ import annotations

from pymodel.layers.activation import Activation
from pymodel.layers.base import Layer
from pymodel.layers.convolutional import Conv1D, Conv2D, Convolution1D, Convolution2D
from pymodel.layers.core import Dense
from pymodel.layers.dropout import Dropout
from pymodel.layers.input_layer import Input, InputLayer
from pymodel.layers.pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D,
                                    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAvgPool1D,
                                    GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D,
                                    GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPool2D,
                                    MaxPooling1D, MaxPooling2D)
from pymodel.layers.reshaping import Flatten, Reshape, ZeroPadding2D
from pymodel.validation import did_you_mean

__all__ = ["Layer", "Dense", "Activation", "Dropout", "Flatten", "Reshape", "ZeroPadding2D",
           "Conv1D", "Conv2D", "Convolution1D", "Convolution2D",
           "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
           "GlobalAvgPool1D", "GlobalAvgPool2D",
           "InputLayer", "Input", "serialize", "deserialize", "get"]

_CLASSES = {c.__name__: c for c in (
    Dense, Activation, Dropout, Flatten, Reshape, ZeroPadding2D, Conv1D, Conv2D, MaxPooling1D,
    MaxPooling2D, AveragePooling1D, AveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
    GlobalAveragePooling1D, GlobalAveragePooling2D, InputLayer)}


def serialize(layer: Layer) -> dict:
    """Keras 2.10-2.12 form ``{"class_name": ..., "config": {...}}``."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """A layer from ``{"class_name", "config"}`` (2.13+ extra keys are ignored)."""
    name = config.get("class_name")
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Unknown layer: '{name}'. Please ensure you are using a "
                         "`keras.utils.custom_object_scope` and that this object is included "
                         "in the scope. "
                         "See https://www.tensorflow.org/guide/keras/save_and_serialize"
                         "#registering_the_custom_object for details." + did_you_mean(name, _CLASSES))
    return cls.from_config(dict(config.get("config", {})))


get = deserialize
