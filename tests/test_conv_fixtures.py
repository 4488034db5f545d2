"""Replay the convolutional tf-keras cases in tests/fixtures/keras_cnn/ and land on Keras's numbers.

Each case fixes the initial weights and turns shuffling off, so the float32
trajectory is deterministic (see the folder's README and record.py).
"""
import json
import pathlib

import numpy as np
import pytest

import pymodel as keras

FIXTURES = sorted((pathlib.Path(__file__).parent / "fixtures" / "keras_cnn").glob("*.json"))
CASES = {p.stem: json.loads(p.read_text()) for p in FIXTURES}


def prepared(case):
    keras.backend.clear_session()
    model = keras.models.Sequential([getattr(keras.layers, e["class"])(**e["args"])
                                     for e in case["model"]["layers"]])
    model.set_weights([np.asarray(w, np.float32) for w in case["initial_weights"]])
    c = case["compile"]
    model.compile(optimizer=getattr(keras.optimizers, c["optimizer"])(**c["optimizer_args"]),
                  loss=c["loss"], metrics=c["metrics"])
    return model


def data(case):
    return np.asarray(case["X"], case["X_dtype"]), np.asarray(case["y"], case["y_dtype"])


def close(actual, expected, case, what):
    tol = case["tolerance"]
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64),
                               rtol=tol["rtol"], atol=tol["atol"], err_msg=what)


def summary_text(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def test_fixture_folder_holds_the_recorded_cases():
    assert len(CASES) >= 4
    assert {e["class"] for c in CASES.values() for e in c["model"]["layers"]} >= {
        "Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
        "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Reshape",
        "ZeroPadding2D", "Flatten"}


@pytest.mark.parametrize("name", CASES)
def test_cnn_fixture_predictions_summary_and_json_match_keras_before_training(name):
    case = CASES[name]
    model = prepared(case)
    x, _ = data(case)
    close(model.predict(x, verbose=0), case["expected"]["predictions_initial"], case, "predictions_initial")
    assert summary_text(model) == case["expected"]["summary"]
    theirs = json.loads(case["expected"]["to_json"])
    ours = json.loads(model.to_json())
    ours.pop("keras_version"), theirs.pop("keras_version")
    assert json.dumps(ours) == json.dumps(theirs)


@pytest.mark.parametrize("name", CASES)
def test_cnn_fixture_training_history_weights_and_predictions_match_keras(name):
    case = CASES[name]
    model = prepared(case)
    x, y = data(case)
    fit = case["fit"]
    history = model.fit(x, y, epochs=fit["epochs"], batch_size=fit["batch_size"], shuffle=False, verbose=0)
    expected = case["expected"]
    assert list(history.history) == list(expected["history"])
    for key, values in expected["history"].items():
        close(history.history[key], values, case, f"history[{key}]")
    weights = model.get_weights()
    assert len(weights) == len(expected["final_weights"])
    for i, (w, e) in enumerate(zip(weights, expected["final_weights"])):
        close(w, e, case, f"final_weights[{i}]")
    close(model.predict(x, verbose=0), expected["predictions"], case, "predictions")
    close(model.evaluate(x, y, verbose=0), expected["evaluate"], case, "evaluate")


@pytest.mark.parametrize("name", CASES)
def test_cnn_fixture_one_train_on_batch_step_matches_keras(name):
    case = CASES[name]
    model = prepared(case)
    x, y = data(case)
    batch = case["fit"]["batch_size"]
    model.train_on_batch(x[:batch], y[:batch])
    for i, (w, e) in enumerate(zip(model.get_weights(), case["expected"]["one_step_weights"])):
        close(w, e, case, f"one_step_weights[{i}]")
