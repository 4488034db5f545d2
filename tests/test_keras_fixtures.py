"""Replay every recorded tf-keras case in tests/fixtures/keras/ and land on Keras's numbers.

Each fixture fixes the initial weights and turns shuffling off, so the
float32 trajectory is deterministic; tolerances come from the fixture.
"""
import pytest
from keras_replay import (
    build,
    check_actions,
    check_trained,
    close,
    close_weights,
    data,
    fit_recorded,
    load_cases,
    one_epoch_and_compare,
    prepared,
    summary_text,
)

CASES = load_cases("keras")
TRAIN = [n for n, c in CASES.items() if c["kind"] == "train"]
MODELS = [n for n, c in CASES.items() if c["kind"] in ("train", "predict")]
SUMMARY = [n for n, c in CASES.items() if c["kind"] == "summary"]


@pytest.mark.parametrize("name", MODELS)
def test_fixture_predictions_evaluate_summary_and_json_match_keras_before_training(name):
    case = CASES[name]
    model = prepared(case)
    x, y = data(case)
    expected = case["expected"]
    close(model.predict(x, verbose=0), expected["predictions_initial"], case, "predictions_initial")
    assert summary_text(model) == expected["summary"]
    assert model.to_json() == expected["to_json"]  # version tag included
    if "optimizer_config" in case["compile"]:
        assert model.optimizer.get_config() == case["compile"]["optimizer_config"]
    if case["kind"] == "predict":
        close(model.evaluate(x, y, verbose=0), expected["evaluate"], case, "evaluate")


@pytest.mark.parametrize("name", TRAIN)
def test_fixture_training_history_weights_and_predictions_match_keras(name):
    case = CASES[name]
    check_trained(*fit_recorded(case), case)


@pytest.mark.parametrize("name", TRAIN)
def test_fixture_one_train_on_batch_and_one_epoch_match_keras(name):
    case = CASES[name]
    x, y = data(case)
    expected = case["expected"]
    batch = case["fit"]["batch_size"] or 32
    model = prepared(case)
    model.train_on_batch(x[:batch], y[:batch])
    close_weights(model.get_weights(), expected["one_step_weights"], case, "one_step_weights")
    one_epoch_and_compare(case)


@pytest.mark.parametrize("name", SUMMARY)
def test_fixture_actions_give_keras_results_and_errors(name):
    case = CASES[name]
    check_actions(build(case), case, zip(case["actions"], case["expected"]["actions"]))


def test_every_fixture_is_replayed():
    assert len(CASES) == 22
    assert set(TRAIN) | set(MODELS) | set(SUMMARY) == set(CASES)
