"""Compile a validated spec into a graph with every shape resolved, then into a pymodel Sequential.

Stages (the schema check is stage 1, in ``pymodel.spec``):
  2. ``build_graph``: normalise both layer forms (native ``{type, ...}`` and
     Keras ``{class_name, config}``) into Nodes and infer each output shape;
     a first layer with no input size, or data whose feature count differs,
     is rejected here, before any training, naming the layer and the shapes.
  3. ``check_targets``: the loss must fit the output (sparse labels vs one-hot
     width, labels out of range); dubious pairs give warnings.
  4. ``to_model``: Nodes -> ``pymodel.models.Sequential``, compiled as the spec says.
The same Sequential comes out of Python code that adds the same layers, and
``to_spec(model)`` writes it back as a spec that ``from_spec`` rebuilds.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pymodel.backend import to_snake_case
from pymodel.spec import FORMAT, Issue, SpecError, is_custom_name, layer_entries, pointer, validate

__all__ = ["Node", "Graph", "Prepared", "build_graph", "check_targets", "prepare", "to_model", "from_spec", "to_spec",
           "canonical_loss", "keras_object"]

Shape = tuple  # without the batch axis


@dataclass
class Node:
    """One layer: class, constructor arguments, shapes (no batch axis) and where the spec says it."""

    class_name: str
    kwargs: dict
    path: list
    name: str = ""
    in_shape: Shape = ()
    out_shape: Shape = ()

    def describe(self) -> str:
        return f"layer {self.name!r} ({self.class_name})"


@dataclass
class Graph:
    """The compiled model: nodes in order plus the model name and dtype."""

    name: str | None
    nodes: list[Node]
    dtype: str = "float32"
    warnings: list[Issue] = field(default_factory=list)

    @property
    def input_shape(self) -> Shape:
        return self.nodes[0].in_shape

    @property
    def output_shape(self) -> Shape:
        return self.nodes[-1].out_shape


def keras_object(value: Any) -> Any:
    """Spec object forms -> Keras's ``{class_name, config}`` (``{type, config}`` / ``{type, **args}``)."""
    if isinstance(value, dict) and "type" in value and "class_name" not in value:
        rest = {k: v for k, v in value.items() if k != "type"}
        config = rest.pop("config", rest)
        return {"class_name": value["type"], "config": config}
    if isinstance(value, dict) and "class_name" in value:
        return {"class_name": value["class_name"], "config": value.get("config", {})}
    return value


def _layer_kwargs(config: dict) -> dict:
    kwargs = {k: v for k, v in config.items() if k != "type"}
    for key in ("activation", "kernel_initializer", "bias_initializer", "kernel_regularizer",
                "bias_regularizer", "activity_regularizer"):
        if isinstance(kwargs.get(key), dict):
            obj = keras_object(kwargs[key])
            # An activation object without arguments is just its name.
            kwargs[key] = obj["class_name"] if key == "activation" and not obj["config"] else obj
    if isinstance(kwargs.get("dtype"), dict):  # Keras 2.13+ dtype policy
        kwargs["dtype"] = kwargs["dtype"].get("config", {}).get("name", "float32")
    return kwargs


def _declared_input(kwargs: dict) -> Shape | None:
    if kwargs.get("batch_input_shape"):
        return tuple(kwargs["batch_input_shape"][1:])
    if kwargs.get("input_shape"):
        return tuple(kwargs["input_shape"])
    if kwargs.get("input_dim"):
        return (kwargs["input_dim"],)
    return None


# Layers whose output shape the layer class itself computes (convolution, pooling, reshaping).
_SHAPED_BY_LAYER = ("Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
                    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
                    "Reshape", "ZeroPadding2D")


def _layer_out_shape(node: Node) -> Shape:
    """Output shape from the layer's own ``compute_output_shape``; errors name the layer and the shapes."""
    from pymodel import layers as layer_module

    kwargs = {k: v for k, v in node.kwargs.items() if k != "dtype"}
    kwargs["name"] = node.name  # an explicit name takes no automatic-name number
    try:
        layer = getattr(layer_module, node.class_name)(**kwargs)
    except (ValueError, TypeError) as e:
        raise SpecError([Issue(pointer(node.path), f"{node.describe()}: {e}")]) from None
    try:
        return tuple(layer.compute_output_shape((None, *node.in_shape))[1:])
    except ValueError as e:
        window = ", ".join(f"{k}={getattr(layer, k)!r}" for k in ("kernel_size", "pool_size", "strides", "padding")
                           if hasattr(layer, k))
        raise SpecError([Issue(pointer(node.path), f"{node.describe()}{' with ' + window if window else ''} cannot "
                               f"take its input of shape {(None, *node.in_shape)}: {e}")]) from None


def _out_shape(node: Node) -> Shape:
    shape = node.in_shape
    if node.class_name == "Dense":
        return shape[:-1] + (node.kwargs["units"],)
    if node.class_name == "Flatten":
        return (math.prod(shape),)
    if node.class_name in _SHAPED_BY_LAYER:
        return _layer_out_shape(node)
    return shape


def build_graph(spec: dict, data_shape: Shape | None = None, *, data_pointer: str = "/data/train/x") -> Graph:
    """Nodes with resolved shapes; ``data_shape`` is the training data's sample shape, if any.

    Raises:
        SpecError: no input size anywhere, or data that does not fit the first layer.
    """
    entries, base = layer_entries(spec)
    nodes, counts = [], {}
    for i, entry in enumerate(entries):
        keras_form = "class_name" in entry
        cls = entry["class_name"] if keras_form else entry["type"]
        kwargs = _layer_kwargs(entry["config"] if keras_form else entry)
        path = base + [i] + (["config"] if keras_form else [])
        if "name" in kwargs:
            name = kwargs["name"]
        else:
            prefix = to_snake_case(cls)
            n = counts.get(prefix, 0)
            counts[prefix] = n + 1
            # Keras numbers InputLayers from 1 ("input_1"), everything else from 0 ("dense", "dense_1").
            name = f"input_{n + 1}" if cls == "InputLayer" else prefix if n == 0 else f"{prefix}_{n}"
        nodes.append(Node(cls, kwargs, path, name))
    model = spec["model"]
    name = model.get("name") or (model.get("config", {}).get("name") if isinstance(model.get("config"), dict) else None)
    graph = Graph(name or spec.get("name"), nodes, spec.get("dtype", "float32"))

    first = nodes[0]
    declared = _declared_input(first.kwargs)
    if declared is None and data_shape is None:
        raise SpecError([Issue(pointer(first.path), f"the first layer, {first.describe()}, has no input size: give it "
                               "input_dim or input_shape (or an InputLayer), or training data to infer it from")])
    if declared is not None and data_shape is not None and tuple(data_shape) != declared:
        raise SpecError([Issue(data_pointer, f"the data has shape {(None, *data_shape)} but the first layer, "
                               f"{first.describe()}, expects input shape {(None, *declared)}")])
    shape = declared if declared is not None else tuple(data_shape)
    for node in nodes:
        node.in_shape = shape
        if node.class_name == "Dense" and not shape:
            raise SpecError([Issue(pointer(node.path), f"{node.describe()} needs an input with a feature axis; "
                                   f"got shape {(None, *shape)}")])
        node.out_shape = shape = _out_shape(node)
    return graph


# -- loss vs output -----------------------------------------------------------------------------

_LOSS_ALIASES = {
    "mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "huber_loss": "huber", "logcosh": "log_cosh",
    "kld": "kl_divergence", "kullback_leibler_divergence": "kl_divergence",
}


def canonical_loss(loss: Any) -> str | None:
    """Canonical snake-case name of a spec loss (``"MSE"``, ``{type: "Huber"}`` ...), None for custom code."""
    if isinstance(loss, dict):
        loss = loss.get("class_name") or loss.get("type")
    if not isinstance(loss, str) or is_custom_name(loss):
        return None
    if loss[:1].isupper() and not loss.isupper():  # a class name: "BinaryCrossentropy"
        loss = to_snake_case(loss)
    return _LOSS_ALIASES.get(loss.lower(), loss.lower())


def _output_activation(graph: Graph) -> str | None:
    for node in reversed(graph.nodes):
        if node.class_name in ("Dense", "Activation", "Conv1D", "Conv2D"):
            act = node.kwargs.get("activation")
            return act.get("class_name") if isinstance(act, dict) else (act or "linear")
    return None


def check_targets(graph: Graph, loss: Any, y: np.ndarray | None, *, y_pointer: str = "/data/train/y") -> list[Issue]:
    """Check that ``loss`` fits the output layer and targets ``y``; returns warnings.

    Raises:
        SpecError: targets whose shape or values the loss cannot take.
    """
    name = canonical_loss(loss)
    last = graph.nodes[-1]
    out = graph.output_shape
    width = out[-1] if out else 1
    where = f"{last.describe()} with output shape {(None, *out)}"
    warnings = []
    if name == "binary_crossentropy" and _output_activation(graph) == "softmax" and width > 1:
        warnings.append(Issue("/compile/loss", f"binary_crossentropy on a softmax of width {width} ({where}) "
                              "treats each class as a separate yes/no; categorical_crossentropy is the usual pair"))
    if y is None or name is None:
        return warnings
    y_shape = tuple(y.shape[1:])
    if name == "sparse_categorical_crossentropy":
        if y_shape not in ((), (1,)):
            hint = "; these look one-hot: use categorical_crossentropy" if y_shape == out else ""
            raise SpecError([Issue(y_pointer, f"sparse_categorical_crossentropy takes one integer label per sample, "
                                   f"got targets of shape {(None, *y_shape)} for {where}{hint}")])
        bad = (y != np.round(y)) | (y < 0) | (y >= width)
        if bad.any():
            raise SpecError([Issue(y_pointer, f"labels must be integers in [0, {width}) for {where}; found "
                                   f"{_show_value(y[bad][0])}")])
        return warnings
    if name == "binary_crossentropy" and ((y < 0) | (y > 1)).any():
        raise SpecError([Issue(y_pointer, f"binary_crossentropy takes targets in [0, 1] for {where}; found "
                               f"{_show_value(y[(y < 0) | (y > 1)][0])}")])
    if name == "categorical_crossentropy" and y_shape in ((), (1,)) and width > 1:
        raise SpecError([Issue(y_pointer, f"categorical_crossentropy takes one-hot targets of width {width} for "
                               f"{where}, got shape {(None, *y_shape)}; use sparse_categorical_crossentropy "
                               "for integer labels")])
    if y_shape != out and not (y_shape == () and out == (1,)):
        raise SpecError([Issue(y_pointer, f"targets of shape {(None, *y_shape)} do not fit {where} "
                               f"(loss {name})")])
    return warnings


def _show_value(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


@dataclass
class Prepared:
    """A spec checked against its data: the graph, the datasets by name, predict inputs, warnings."""

    graph: Graph
    sets: dict[str, tuple[np.ndarray, np.ndarray]]
    x_predict: np.ndarray | None
    warnings: list[Issue]


def prepare(spec: dict, base_dir) -> Prepared:
    """Load the spec's data and compile its graph against it: every shape and target check, no training.

    Raises:
        SpecError: bad data, or data/targets that do not fit the model.
    """
    from pymodel import data as data_io

    sets_spec = spec.get("data", {})
    sets = {name: data_io.load_dataset(sets_spec[name], base_dir, ["data", name])
            for name in ("train", "validation", "test") if name in sets_spec}
    x_pred = data_io.load_inputs(sets_spec["predict"], base_dir, ["data", "predict"]) if "predict" in sets_spec else None
    train_shape = sets["train"][0].shape[1:] if "train" in sets else None
    graph = build_graph(spec, train_shape)
    loss = spec.get("compile", {}).get("loss")
    warnings = []
    for name, (x, y) in sets.items():
        if name != "train":
            build_graph(spec, x.shape[1:], data_pointer=f"/data/{name}/x")
        found = check_targets(graph, loss, y, y_pointer=f"/data/{name}/y")
        warnings += [w for w in found if w not in warnings]
    if x_pred is not None:
        build_graph(spec, x_pred.shape[1:], data_pointer="/data/predict/x")
    warnings += [w for w in check_targets(graph, loss, None) if w not in warnings]
    return Prepared(graph, sets, x_pred, warnings)


# -- graph -> Sequential ------------------------------------------------------------------------

@contextlib.contextmanager
def _import_path(base_dir):
    if base_dir is None:
        yield
        return
    sys.path.insert(0, str(base_dir))
    try:
        yield
    finally:
        sys.path.remove(str(base_dir))


def _import_function(name: str, where: str, allow_import: bool, base_dir):
    if not allow_import:
        raise SpecError([Issue(where, f"{name!r} names Python code; a spec runs no code unless imports are "
                               "allowed (--allow-import / allow_import=True)")])
    module, _, attr = name.partition(":")
    try:
        with _import_path(base_dir):
            fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise SpecError([Issue(where, f"cannot import {name!r}: {e}")]) from None
    if not callable(fn):
        raise SpecError([Issue(where, f"{name!r} is not callable")])
    return fn


def _optimizer(value: Any):
    from pymodel import optimizers

    obj = keras_object(value)
    if isinstance(obj, dict):
        return optimizers.get({"class_name": obj["class_name"],
                               "config": {k: v for k, v in obj["config"].items() if k != "type"}})
    return optimizers.get(obj)


def to_model(graph: Graph, spec: dict, *, allow_import: bool = False, base_dir=None):
    """Build (and, if the spec has a ``compile`` section, compile) the Sequential for ``graph``."""
    from pymodel import layers as layer_module
    from pymodel import losses, metrics
    from pymodel.models import Sequential

    built = []
    for node in graph.nodes:
        kwargs = dict(node.kwargs)
        if "dtype" in spec:
            kwargs.setdefault("dtype", spec["dtype"])
        try:
            built.append(getattr(layer_module, node.class_name)(**kwargs))
        except (ValueError, TypeError) as e:
            raise SpecError([Issue(pointer(node.path), f"{node.describe()}: {e}")]) from None
    model = Sequential(built, **({"name": graph.name} if graph.name else {}))
    if not getattr(model, "built", False):
        model.build((None, *graph.input_shape))
    section = spec.get("compile")
    if section is not None:
        loss = section["loss"]
        if is_custom_name(loss):
            loss = _import_function(loss, "/compile/loss", allow_import, base_dir)
        else:
            loss = keras_object(loss)
            if isinstance(loss, dict):  # Keras 2.13+ writes the wrapped function too; the class implies it
                loss = {"class_name": loss["class_name"],
                        "config": {k: v for k, v in loss["config"].items() if k not in ("fn", "type")}}
            loss = losses.get(loss)
        mets = []
        for i, m in enumerate(section.get("metrics", [])):
            if is_custom_name(m):
                mets.append(_import_function(m, f"/compile/metrics/{i}", allow_import, base_dir))
            else:
                obj = keras_object(m)
                mets.append(metrics.get(obj) if isinstance(obj, dict) else obj)
        try:
            model.compile(optimizer=_optimizer(section.get("optimizer", "rmsprop")), loss=loss, metrics=mets or None)
        except (ValueError, TypeError) as e:
            raise SpecError([Issue("/compile", str(e))]) from None
    return model


def from_spec(spec: dict, *, base_dir=None, allow_import: bool = False, data_shape: Shape | None = None):
    """Validate ``spec`` and build its compiled Sequential (no data is loaded here).

    Args:
        spec: a spec dict (see ``schemas/model.schema.json``).
        base_dir: folder that relative paths (and importable custom code) resolve against.
        allow_import: permit "module:function" losses and metrics.
        data_shape: sample shape, for models whose first layer declares no input size.

    Returns:
        A built Sequential, compiled if the spec has a ``compile`` section.

    Raises:
        SpecError: the spec is invalid (every problem, with its JSON pointer).

    Example:
        >>> model = from_spec({"format": "pymodel.spec/1",
        ...                    "model": {"layers": [{"type": "Dense", "units": 2, "input_dim": 3}]},
        ...                    "compile": {"optimizer": "sgd", "loss": "mse"}})
        >>> model.output_shape
        (None, 2)
    """
    validate(spec, base_dir=None, allow_import=allow_import)
    graph = build_graph(spec, data_shape)
    return to_model(graph, spec, allow_import=allow_import, base_dir=base_dir)


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def to_spec(model, *, name: str | None = None) -> dict:
    """A spec (format ``pymodel.spec/1``) describing ``model``: its layers and, if compiled, how.

    ``from_spec(to_spec(model))`` builds the same graph (same layers, arguments and shapes).

    Example:
        >>> spec = to_spec(model)
        >>> spec["format"], [layer["type"] for layer in spec["model"]["layers"]]
        ('pymodel.spec/1', ['InputLayer', 'Dense', 'Dense'])
    """
    config = json.loads(model.to_json())["config"]  # JSON types (lists, not tuples)
    layers = [{"type": entry["class_name"], **entry["config"]} for entry in config["layers"]]
    spec: dict[str, Any] = {"format": FORMAT, "name": name or config.get("name", "model"),
                            "model": {"name": config.get("name", "model"), "layers": layers}}
    compile_config = model.get_compile_config() if getattr(model, "optimizer", None) is not None else None
    compile_config = json.loads(json.dumps(compile_config)) if compile_config else None
    if compile_config:
        section = _drop_none(dict(compile_config))
        opt = section.get("optimizer")
        if isinstance(opt, dict):
            section["optimizer"] = {"class_name": opt["class_name"], "config": _drop_none(opt["config"])}
        if isinstance(section.get("loss"), dict):
            section["loss"] = {"class_name": section["loss"]["class_name"], "config": section["loss"].get("config", {})}
        for key in ("loss_weights", "weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile"):
            section.pop(key, None)
        if not section.get("metrics"):
            section.pop("metrics", None)
        spec["compile"] = section
    validate(spec)
    return spec
