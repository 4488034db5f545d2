"""to_json / model_from_json: Keras 2.10-2.12 output; 2.12, 2.13+ and legacy-list input."""
import json

import numpy as np
import pytest

import pymodel as keras
from pymodel import layers

# KERAS2.md section 9: what tf-keras 2.15 writes for
# Sequential([Dense(4, input_shape=(3,)), Dense(1, activation="sigmoid")]).
KERAS_215 = (
    '{"class_name": "Sequential", "config": {"name": "sequential", "layers": [{"module": '
    '"keras.layers", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], '
    '"dtype": "float32", "sparse": false, "ragged": false, "name": "dense_input"}, '
    '"registered_name": null}, {"module": "keras.layers", "class_name": "Dense", "config": '
    '{"name": "dense", "trainable": true, "dtype": "float32", "batch_input_shape": [null, 3], '
    '"units": 4, "activation": "linear", "use_bias": true, "kernel_initializer": {"module": '
    '"keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, '
    '"registered_name": null}, "bias_initializer": {"module": "keras.initializers", '
    '"class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, '
    '"bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, '
    '"bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": '
    '[null, 3]}}, {"module": "keras.layers", "class_name": "Dense", "config": {"name": '
    '"dense_1", "trainable": true, "dtype": "float32", "units": 1, "activation": "sigmoid", '
    '"use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": '
    '"GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer": '
    '{"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": '
    'null}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, '
    '"kernel_constraint": null, "bias_constraint": null}, "registered_name": null, '
    '"build_config": {"input_shape": [null, 4]}}]}, "keras_version": "2.15.0", "backend": '
    '"tensorflow"}')


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()


def reference_model():
    return keras.models.Sequential([layers.Dense(4, input_shape=(3,)),
                                    layers.Dense(1, activation="sigmoid")])


def test_json_is_the_keras_212_form_of_the_215_model():
    ours = json.loads(reference_model().to_json())
    theirs = json.loads(KERAS_215)

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items()
                    if k not in ("module", "registered_name", "build_config", "keras_version")}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    assert strip(ours) == strip(theirs)
    assert "module" not in json.dumps(ours) and ours["keras_version"] == "2.21.0"


def test_model_from_json_reads_the_213_form_and_writes_it_back_in_212_form():
    keras.backend.clear_session()
    model = keras.models.model_from_json(KERAS_215)
    assert [l.name for l in model.layers] == ["dense", "dense_1"]
    assert model.built and [w.shape for w in model.get_weights()] == [(3, 4), (4,), (4, 1), (1,)]
    assert model.to_json() == reference_model().to_json()


def test_round_trip_keeps_config_and_names_every_layer_kind():
    model = keras.models.Sequential([
        layers.Dense(5, activation="relu", input_dim=4, kernel_initializer="he_uniform",
                     bias_regularizer=keras.regularizers.l1(0.01), name="hidden"),
        layers.Dropout(0.2, seed=1), layers.Activation("tanh"), layers.Flatten(),
        layers.Dense(2, use_bias=False)], name="net")
    clone = keras.models.model_from_json(model.to_json())
    assert clone.to_json() == model.to_json()
    assert clone.name == "net" and clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(3, 4))
    assert np.array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))


def test_legacy_list_config_is_accepted():
    legacy = {"class_name": "Sequential", "config": [
        {"class_name": "Dense", "config": {"name": "d1", "units": 3,
                                           "batch_input_shape": [None, 2]}},
        {"class_name": "Activation", "config": {"name": "a1", "activation": "relu"}}]}
    model = keras.models.model_from_json(json.dumps(legacy))
    assert [l.name for l in model.layers] == ["d1", "a1"] and model.count_params() == 9


def test_deferred_build_is_recorded_and_restored():
    model = keras.models.Sequential([layers.Dense(3)])
    assert "build_input_shape" not in model.get_config()
    assert [entry["class_name"] for entry in model.get_config()["layers"]] == ["Dense"]
    model.build((None, 5))
    config = json.loads(model.to_json())["config"]
    assert "build_input_shape" not in config  # tf-keras lists the Input it built on instead
    assert config["layers"][0]["config"]["batch_input_shape"] == [None, 5]
    assert config["layers"][0]["config"]["name"] == model.layers[0].name + "_input"
    assert keras.models.model_from_json(model.to_json()).count_params() == 18


def test_unknown_classes_raise_value_errors():
    with pytest.raises(ValueError, match="Unknown layer: 'Conv9D'"):
        keras.models.model_from_json(json.dumps(
            {"class_name": "Sequential", "config": {"name": "s", "layers": [
                {"class_name": "Conv9D", "config": {}}]}}))
    with pytest.raises(ValueError, match="Sequential models only"):
        keras.models.model_from_json('{"class_name": "Functional", "config": {}}')
