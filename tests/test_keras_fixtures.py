"""Replay every recorded tf-keras case in tests/fixtures/keras/ and land on Keras's numbers.

Each fixture fixes the initial weights and turns shuffling off, so the
float32 trajectory is deterministic; tolerances come from the fixture.
"""
import json
import pathlib

import numpy as np
import pytest

import pymodel as keras

FIXTURES = sorted((pathlib.Path(__file__).parent / "fixtures" / "keras").glob("*.json"))
CASES = {p.stem: json.loads(p.read_text()) for p in FIXTURES}
TRAIN = [n for n, c in CASES.items() if c["kind"] == "train"]
MODELS = [n for n, c in CASES.items() if c["kind"] in ("train", "predict")]
SUMMARY = [n for n, c in CASES.items() if c["kind"] == "summary"]
LAYERS = {"Dense": keras.layers.Dense, "Activation": keras.layers.Activation,
          "Dropout": keras.layers.Dropout}


def build(case):
    """The fixture's model, built as its recorder built it (fresh automatic names)."""
    keras.backend.clear_session()
    spec = case["model"]
    layers = [LAYERS[entry["class"]](**entry["args"]) for entry in spec["layers"]]
    if spec["ctor"] == "list":
        model = keras.models.Sequential(layers, name=spec["name"])
    else:
        model = keras.models.Sequential(name=spec["name"])
        for layer in layers:
            model.add(layer)
    if spec["build"] is not None:
        model.build(tuple(spec["build"]))
    return model


def compile_model(model, case):
    c = case["compile"]
    if c.get("optimizer_string"):
        optimizer = c["optimizer_string"]
    else:
        optimizer = getattr(keras.optimizers, c["optimizer"])(**c["optimizer_args"])
    model.compile(optimizer=optimizer, loss=c["loss"], metrics=c["metrics"])


def prepared(case):
    model = build(case)
    model.set_weights([np.asarray(w, np.float32) for w in case["initial_weights"]])
    compile_model(model, case)
    return model


def data(case):
    return np.asarray(case["X"], case["X_dtype"]), np.asarray(case["y"], case["y_dtype"])


def close(actual, expected, case, what):
    tol = case["tolerance"]
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64),
                               rtol=tol["rtol"], atol=tol["atol"], err_msg=what)


def same_json(ours: str, theirs: str) -> None:
    """Identical text, version tag included (the tf-keras that made the recording)."""
    assert ours == theirs


def summary_text(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


@pytest.mark.parametrize("name", MODELS)
def test_fixture_predictions_evaluate_summary_and_json_match_keras_before_training(name):
    case = CASES[name]
    model = prepared(case)
    x, y = data(case)
    expected = case["expected"]
    close(model.predict(x, verbose=0), expected["predictions_initial"], case, "predictions_initial")
    assert summary_text(model) == expected["summary"]
    same_json(model.to_json(), expected["to_json"])
    if "optimizer_config" in case["compile"]:
        assert model.optimizer.get_config() == case["compile"]["optimizer_config"]
    if case["kind"] == "predict":
        close(model.evaluate(x, y, verbose=0), expected["evaluate"], case, "evaluate")


@pytest.mark.parametrize("name", TRAIN)
def test_fixture_training_history_weights_and_predictions_match_keras(name):
    case = CASES[name]
    model = prepared(case)
    x, y = data(case)
    fit = case["fit"]
    history = model.fit(x, y, epochs=fit["epochs"], batch_size=fit["batch_size"],
                        shuffle=fit["shuffle"], verbose=0)
    expected = case["expected"]
    assert list(history.history) == list(expected["history"])
    for key, values in expected["history"].items():
        assert len(history.history[key]) == len(values)
        close(history.history[key], values, case, f"history[{key}]")
    for i, (w, e) in enumerate(zip(model.get_weights(), expected["final_weights"])):
        close(w, e, case, f"final_weights[{i}]")
    close(model.predict(x, verbose=0), expected["predictions"], case, "predictions")
    close(model.evaluate(x, y, verbose=0), expected["evaluate"], case, "evaluate")


@pytest.mark.parametrize("name", TRAIN)
def test_fixture_one_train_on_batch_and_one_epoch_match_keras(name):
    case = CASES[name]
    x, y = data(case)
    expected = case["expected"]
    batch = case["fit"]["batch_size"] or 32
    model = prepared(case)
    model.train_on_batch(x[:batch], y[:batch])
    for i, (w, e) in enumerate(zip(model.get_weights(), expected["one_step_weights"])):
        close(w, e, case, f"one_step_weights[{i}]")
    model = prepared(case)
    history = model.fit(x, y, epochs=1, batch_size=case["fit"]["batch_size"], shuffle=False,
                        verbose=0)
    for key, values in expected["epoch1_history"].items():
        close(history.history[key], values, case, f"epoch1_history[{key}]")
    for i, (w, e) in enumerate(zip(model.get_weights(), expected["epoch1_weights"])):
        close(w, e, case, f"epoch1_weights[{i}]")


def run_action(model, case, action):
    if action == "compile":
        compile_model(model, case)
        return None
    if action == "summary":
        return summary_text(model)
    if action == "to_json":
        return model.to_json()
    if action == "weight_shapes":
        return [list(w.shape) for w in model.get_weights()]
    if action == "predict":
        return list(model.predict(np.asarray(case["X"], case["X_dtype"]), verbose=0).shape)
    raise AssertionError(f"unknown action {action}")


@pytest.mark.parametrize("name", SUMMARY)
def test_fixture_actions_give_keras_results_and_errors(name):
    case = CASES[name]
    model = build(case)
    for action, expected in zip(case["actions"], case["expected"]["actions"]):
        if expected["error"] is not None:
            with pytest.raises(Exception) as info:
                run_action(model, case, action)
            assert type(info.value).__name__ == expected["error"]["type"]
            assert str(info.value) == expected["error"]["message"]
            continue
        result = run_action(model, case, action)
        if action == "to_json":
            same_json(result, expected["result"])
        else:
            assert result == expected["result"], action


def test_every_fixture_is_replayed():
    assert len(CASES) == 22
    assert set(TRAIN) | set(MODELS) | set(SUMMARY) == set(CASES)
