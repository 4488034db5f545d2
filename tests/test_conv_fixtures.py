"""Replay the convolutional tf-keras cases in tests/fixtures/keras_cnn/ and land on Keras's numbers.

Each case fixes the initial weights and turns shuffling off, so the float32
trajectory is deterministic (see the folder's README and record.py).
"""

import pytest
from keras_replay import (
    check_trained,
    close,
    close_weights,
    data,
    fit_recorded,
    load_cases,
    prepared,
    summary_text,
)

CASES = load_cases("keras_cnn")


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
    assert model.to_json() == case["expected"]["to_json"]  # version tag included


@pytest.mark.parametrize("name", CASES)
def test_cnn_fixture_training_history_weights_and_predictions_match_keras(name):
    case = CASES[name]
    check_trained(*fit_recorded(case), case)


@pytest.mark.parametrize("name", CASES)
def test_cnn_fixture_one_train_on_batch_step_matches_keras(name):
    case = CASES[name]
    model = prepared(case)
    x, y = data(case)
    batch = case["fit"]["batch_size"]
    model.train_on_batch(x[:batch], y[:batch])
    close_weights(model.get_weights(), case["expected"]["one_step_weights"], case, "one_step_weights")
