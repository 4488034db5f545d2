"""Keras JSON for Sequential models: read the 2.10-2.12 form, the 2.13+ form and the legacy list."""
from __future__ import annotations

import json

from pymodel import layers as layers_mod


def sequential_from_config(cls, config, custom_objects: dict | None = None):
    """Build a Sequential from its ``get_config()`` dict (or the Keras <= 2.2 list of layers)."""
    if isinstance(config, list):  # legacy: "config": [layer, ...]
        name, layer_configs, build_shape = None, config, None
    else:
        name = config.get("name")
        layer_configs = config.get("layers", [])
        build_shape = config.get("build_input_shape")
        if build_shape is None and isinstance(config.get("build_config"), dict):
            build_shape = config["build_config"].get("input_shape")
    model = cls(name=name)
    for layer_config in layer_configs:
        model.add(layers_mod.deserialize(layer_config, custom_objects))
    if not model.built and build_shape is not None:
        model.build(tuple(build_shape))
    return model


def model_from_config(config: dict, custom_objects: dict | None = None):
    """A model from ``{"class_name": "Sequential", "config": ...}``."""
    from pymodel.models.sequential import Sequential
    class_name = config.get("class_name")
    if class_name != "Sequential":
        raise ValueError(f"pymodel reads Sequential models only. Received: class_name="
                         f"{class_name!r}")
    inner = config.get("config", {})
    if isinstance(inner, dict) and "build_config" not in inner and "build_config" in config:
        inner = {**inner, "build_config": config["build_config"]}
    return sequential_from_config(Sequential, inner, custom_objects)


def model_from_json(json_string: str, custom_objects: dict | None = None):
    """Keras's ``models.model_from_json``: the model described by ``to_json()`` text."""
    return model_from_config(json.loads(json_string), custom_objects)
