"""Spec -> graph compilation: shape inference, shape/target checks before training, and spec <-> model round trips."""
import json
import pathlib

import numpy as np
import pytest

import pymodel as keras
from pymodel import compiler
from pymodel import spec as spec_module
from pymodel.spec import SpecError

VALID = pathlib.Path(__file__).parent / "specs" / "valid"



def make_spec(layers, loss="mse", **extra):
    return {"format": "pymodel.spec/1", "model": {"layers": layers}, "compile": {"loss": loss, "optimizer": "sgd"},
            **extra}


def only_issue(info):
    (issue,) = info.value.errors
    return issue


def test_shapes_are_inferred_through_every_layer_type():
    spec = make_spec([{"type": "InputLayer", "input_shape": [2, 3]}, {"type": "Flatten"},
                      {"type": "Dense", "units": 5, "activation": "relu"}, {"type": "Dropout", "rate": 0.5},
                      {"type": "Activation", "activation": "tanh"}, {"type": "Dense", "units": 2}])
    graph = compiler.build_graph(spec)
    assert [n.out_shape for n in graph.nodes] == [(2, 3), (6,), (5,), (5,), (5,), (2,)]
    assert [n.name for n in graph.nodes] == ["input_1", "flatten", "dense", "dropout", "activation", "dense_1"]
    assert graph.input_shape == (2, 3) and graph.output_shape == (2,)


def test_dense_on_rank_3_input_acts_on_the_last_axis():
    graph = compiler.build_graph(make_spec([{"type": "Dense", "units": 7, "input_shape": [4, 3]}]))
    assert graph.output_shape == (4, 7)


def test_first_layer_without_input_size_is_rejected_naming_the_layer():
    spec = make_spec([{"type": "Dense", "units": 4, "name": "hidden"}, {"type": "Dense", "units": 1}])
    with pytest.raises(SpecError) as info:
        compiler.build_graph(spec)
    issue = only_issue(info)
    assert issue.pointer == "/model/layers/0"
    assert "'hidden' (Dense)" in issue.message and "input_dim" in issue.message


def test_input_size_is_inferred_from_the_data_when_not_declared():
    graph = compiler.build_graph(make_spec([{"type": "Dense", "units": 4}]), (6,))
    assert graph.input_shape == (6,) and graph.output_shape == (4,)


def test_data_with_another_feature_count_is_rejected_with_both_shapes():
    spec = make_spec([{"type": "Dense", "units": 4, "input_dim": 3}])
    with pytest.raises(SpecError) as info:
        compiler.build_graph(spec, (4,))
    issue = only_issue(info)
    assert issue.pointer == "/data/train/x"
    assert "'dense' (Dense)" in issue.message and "(None, 3)" in issue.message and "(None, 4)" in issue.message


def test_keras_form_and_native_form_give_the_same_graph():
    keras_spec = json.loads((VALID / "keras_2_15_to_json.json").read_text())
    native = make_spec([{"type": "InputLayer", "batch_input_shape": [None, 3], "name": "dense_input"},
                        {"type": "Dense", "units": 4, "name": "dense"},
                        {"type": "Dense", "units": 1, "activation": "sigmoid", "name": "dense_1"}])
    a, b = compiler.build_graph(keras_spec), compiler.build_graph(native)
    assert [(n.class_name, n.name, n.in_shape, n.out_shape) for n in a.nodes] == \
           [(n.class_name, n.name, n.in_shape, n.out_shape) for n in b.nodes]
    assert a.nodes[1].kwargs["kernel_initializer"] == {"class_name": "GlorotUniform", "config": {"seed": None}}


def classifier(width, activation="softmax"):
    return compiler.build_graph(make_spec([{"type": "Dense", "units": width, "activation": activation,
                                            "input_dim": 2}]))


def test_sparse_labels_out_of_range_are_rejected():
    with pytest.raises(SpecError) as info:
        compiler.check_targets(classifier(3), "sparse_categorical_crossentropy", np.array([0.0, 2.0, 3.0]))
    issue = only_issue(info)
    assert issue.pointer == "/data/train/y" and "[0, 3)" in issue.message and "found 3" in issue.message


def test_one_hot_targets_with_sparse_loss_suggest_categorical():
    with pytest.raises(SpecError) as info:
        compiler.check_targets(classifier(3), "sparse_categorical_crossentropy", np.eye(3))
    assert "use categorical_crossentropy" in only_issue(info).message


def test_integer_labels_with_categorical_loss_suggest_sparse():
    with pytest.raises(SpecError) as info:
        compiler.check_targets(classifier(3), {"type": "CategoricalCrossentropy"}, np.array([[0.0], [2.0]]))
    assert "sparse_categorical_crossentropy" in only_issue(info).message


def test_targets_of_the_wrong_width_name_the_output_layer():
    with pytest.raises(SpecError) as info:
        compiler.check_targets(classifier(1, "sigmoid"), "mse", np.zeros((4, 2)))
    message = only_issue(info).message
    assert "'dense' (Dense)" in message and "(None, 1)" in message and "(None, 2)" in message


def test_binary_crossentropy_on_a_wide_softmax_is_a_warning_not_an_error():
    warnings = compiler.check_targets(classifier(3), "binary_crossentropy", np.eye(3))
    assert [w.pointer for w in warnings] == ["/compile/loss"] and "softmax of width 3" in warnings[0].message
    assert compiler.check_targets(classifier(1, "sigmoid"), "binary_crossentropy", np.ones((3, 1))) == []


def test_matching_targets_pass_every_check():
    assert compiler.check_targets(classifier(3), "sparse_categorical_crossentropy", np.array([[0.0], [2.0]])) == []
    assert compiler.check_targets(classifier(3), "categorical_crossentropy", np.eye(3)) == []
    assert compiler.check_targets(classifier(1, "linear"), "mse", np.zeros(5)) == []


def test_loss_names_are_canonicalised_from_every_form():
    forms = ["MSE", "mse", "MeanSquaredError", {"type": "MeanSquaredError"}, {"class_name": "MeanSquaredError"}]
    assert {compiler.canonical_loss(f) for f in forms} == {"mean_squared_error"}
    assert compiler.canonical_loss("pkg.mod:fn") is None


def test_prepare_loads_every_data_form_relative_to_the_spec(tmp_path):
    spec = json.loads((VALID / "csv_features_and_optimizers.json").read_text())
    prepared = compiler.prepare(spec, VALID)
    x, y = prepared.sets["train"]
    assert x.shape == (6, 2) and y.shape == (6, 2)
    np.testing.assert_array_equal(prepared.sets["test"][0], x)
    np.testing.assert_array_equal(prepared.x_predict, x)
    assert prepared.graph.input_shape == (2,)


# -- spec <-> Sequential --------------------------------------------------------------------------


XOR_SPEC = json.loads((pathlib.Path(__file__).parent.parent / "examples" / "xor.json").read_text())


def fresh(build):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    return build()


def test_spec_and_python_code_build_the_same_model():
    from_spec = fresh(lambda: compiler.from_spec(XOR_SPEC))

    def python():
        model = keras.Sequential([keras.layers.Dense(4, activation="sigmoid", input_dim=3),
                                  keras.layers.Dense(1, activation="sigmoid")], name="xor")
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mean_squared_error")
        return model

    by_hand = fresh(python)
    assert isinstance(from_spec, keras.Sequential)
    assert from_spec.to_json() == by_hand.to_json()
    assert from_spec.get_compile_config() == by_hand.get_compile_config()
    for a, b in zip(from_spec.get_weights(), by_hand.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_to_spec_then_from_spec_round_trips_layers_and_compile():
    source = json.loads((VALID / "every_layer_and_argument.json").read_text())
    model = fresh(lambda: compiler.from_spec(source))
    written = model.to_spec()
    spec_module.validate(written)
    rebuilt = fresh(lambda: keras.Sequential.from_spec(written))
    assert rebuilt.to_json() == model.to_json()
    assert rebuilt.get_compile_config() == model.get_compile_config()
    assert all(w.dtype == np.float64 for w in rebuilt.get_weights())
    assert compiler.to_spec(rebuilt) == written


def test_keras_2_12_document_loads_back_to_the_same_json():
    source = json.loads((VALID / "keras_2_12_to_json.json").read_text())
    model = fresh(lambda: compiler.from_spec(source))
    assert json.loads(model.to_json())["config"] == source["model"]["config"]


def test_a_custom_loss_is_imported_only_when_allowed(tmp_path):
    (tmp_path / "mylosses.py").write_text(
        "import numpy as np\n\ndef half_mse(y_true, y_pred):\n    return 0.5 * np.mean((y_pred - y_true) ** 2, axis=-1)\n")
    spec = dict(XOR_SPEC, compile={"optimizer": "sgd", "loss": "mylosses:half_mse"})
    with pytest.raises(SpecError) as info:
        compiler.from_spec(spec, base_dir=tmp_path)
    assert only_issue(info).pointer == "/compile/loss" and "allow_import=True" in only_issue(info).message
    model = compiler.from_spec(spec, base_dir=tmp_path, allow_import=True)
    assert model.loss.__name__ == "half_mse"
    with pytest.raises(SpecError, match="cannot import 'mylosses:nope'"):
        compiler.from_spec(dict(spec, compile={"loss": "mylosses:nope"}), base_dir=tmp_path, allow_import=True)
