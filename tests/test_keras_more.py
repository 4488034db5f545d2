"""Replay the extra tf-keras recordings in tests/fixtures/keras_more/ (losses, optimizers, fit options).

Same format as tests/fixtures/keras/ plus the fields listed in that folder's
README: loss/metric objects, legacy optimizers, every ``fit`` argument, and
more expectations per case (evaluate as a dict, predict in batches of 3,
``metrics_names``, ``History.params``). Tolerances come from each case.
"""
import numpy as np
import pytest
from keras_replay import (
    build,
    check_actions,
    check_trained,
    close,
    close_weights,
    data,
    fit_kwargs,
    fit_recorded,
    load_cases,
    one_epoch_and_compare,
    prepared,
    sequential,
    summary_text,
)

import pymodel as keras

CASES = load_cases("keras_more")
TRAIN = [n for n, c in CASES.items() if c["kind"] == "train"]


@pytest.fixture(autouse=True)
def _float32_after_each_case():
    yield
    keras.backend.set_floatx("float32")


# ---------------------------------------------------------------- train cases
@pytest.mark.parametrize("name", TRAIN)
def test_more_fixture_initial_predictions_evaluate_summary_json_and_config_match_keras(name):
    case = CASES[name]
    model = prepared(case)
    x, y = data(case)
    expected = case["expected"]
    predictions = model.predict(x, verbose=0)
    assert predictions.dtype == np.dtype(case["floatx"])
    close(predictions, expected["predictions_initial"], case, "predictions_initial")
    close(model.evaluate(x, y, verbose=0), expected["evaluate_initial"], case, "evaluate_initial")
    assert summary_text(model) == expected["summary"]
    assert model.to_json() == expected["to_json"]


@pytest.mark.parametrize("name", TRAIN)
def test_more_fixture_training_matches_keras_history_weights_and_results(name):
    case = CASES[name]
    x, y = data(case)
    expected = case["expected"]
    model, history = fit_recorded(case)
    assert history is model.history and history.model is model
    assert history.params == expected["history_params"]
    assert history.epoch == expected["history_epoch"]
    assert model.optimizer.get_config() == case["compile"]["optimizer_config"]  # after fit
    assert model.metrics_names == expected["metrics_names"]
    check_trained(model, history, case)
    close(model.predict(x, batch_size=3, verbose=0), expected["predict_batch3"], case,
          "predict_batch3")
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(result) == list(expected["evaluate_dict"])
    close(list(result.values()), list(expected["evaluate_dict"].values()), case, "evaluate_dict")


@pytest.mark.parametrize("name", TRAIN)
def test_more_fixture_train_on_batch_and_one_epoch_match_keras(name):
    case = CASES[name]
    x, y = data(case)
    expected = case["expected"]
    kw = fit_kwargs(case)
    batch = case["fit"]["batch_size"] or 32
    extra = {}
    if "sample_weight" in kw:
        extra["sample_weight"] = kw["sample_weight"][:batch]
    if "class_weight" in kw:
        extra["class_weight"] = kw["class_weight"]
    model = prepared(case)
    close(model.train_on_batch(x[:batch], y[:batch], **extra), expected["one_step_loss"], case,
          "one_step_loss")
    close_weights(model.get_weights(), expected["one_step_weights"], case, "one_step_weights")
    one_epoch_and_compare(case)


# ---------------------------------------------------------------- action cases
ACTIONS = [n for n, c in CASES.items() if c["kind"] == "summary"]


@pytest.mark.parametrize("name", ACTIONS)
def test_more_fixture_actions_give_keras_results_and_errors(name):
    case = CASES[name]
    check_actions(build(case), case,
                  [(expected["action"], expected) for expected in case["expected"]["actions"]])


# ---------------------------------------------------------------- session cases
def test_models_built_in_one_session_get_keras_automatic_names_summaries_and_json():
    case = CASES["session_three_models"]
    keras.backend.clear_session()
    models = [sequential(step) for step in case["steps"]]
    expected = case["expected"]
    assert [[m.name] + [layer.name for layer in m.layers] for m in models] == expected["names"]
    assert [summary_text(m) for m in models] == expected["summaries"]
    assert [m.to_json() for m in models] == expected["to_json"]


def test_model_from_json_reads_tf_keras_2_21_json_and_writes_the_2_12_form():
    case = CASES["model_from_json_keras_2_21"]
    keras.backend.clear_session()
    model = keras.models.model_from_json(case["json"])
    model.set_weights([np.asarray(w, np.float32) for w in case["initial_weights"]])
    expected = case["expected"]
    assert [model.name] + [layer.name for layer in model.layers] == expected["names"]
    assert summary_text(model) == expected["summary"]
    assert model.to_json() == expected["to_json"]
    close(model.predict(np.asarray(case["X"], np.float32), verbose=0), expected["predictions"],
          case, "predictions")


def test_every_more_fixture_is_replayed():
    kinds = {c["kind"] for c in CASES.values()}
    assert kinds == {"train", "summary", "session", "from_json"}
    assert len(TRAIN) >= 40


def _nadam_run(layers):
    """fit, two train_on_batch calls on new batch shapes, fit, recompile, fit (recorded in tf-keras)."""
    x = np.array([[1., 2.], [0.5, -1.], [0.2, 0.3]], np.float32)
    y = np.array([[1.], [0.], [2.]], np.float32)
    model = keras.models.Sequential(layers)
    model.set_weights([np.full(w.shape, 0.5, np.float32) for w in model.get_weights()])
    model.compile(keras.optimizers.Nadam(0.1), "mse")
    losses = [model.fit(x, y, epochs=4, batch_size=2, verbose=0, shuffle=False).history["loss"]]
    model.train_on_batch(x[:1], y[:1])
    model.train_on_batch(x[:2], y[:2])
    losses.append(model.fit(x, y, epochs=2, batch_size=2, verbose=0, shuffle=False)
                  .history["loss"])
    model.compile(model.optimizer, "mse")
    losses.append(model.fit(x, y, epochs=3, batch_size=3, verbose=0, shuffle=False)
                  .history["loss"])
    return losses, model.get_weights()


def test_nadam_follows_tf_keras_traced_u_product_through_fit_train_on_batch_and_recompile():
    keras.backend.clear_session()
    losses, weights = _nadam_run([keras.layers.Dense(1, input_dim=2)])
    expected = [[0.9859244227409363, 0.8382999300956726, 0.7904914021492004, 0.7504040598869324],
                [0.6696785092353821, 0.6400784850120544],
                [0.6002588868141174, 0.5894693732261658, 0.5783050656318665]]
    for got, want in zip(losses, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(weights[0], [[0.03849909454584122], [0.2446809560060501]],
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(weights[1], [0.7782769203186035], rtol=1e-5)


def test_nadam_in_fit_with_a_single_variable_divides_by_zero_as_tf_keras_does():
    # The only variable reads the cached product (1.0) at the first step: 1 - u_product = 0.
    keras.backend.clear_session()
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning) as caught:
        losses, weights = _nadam_run([keras.layers.Dense(1, use_bias=False, input_dim=2)])
    assert [str(w.message).split(":")[0] for w in caught] == [  # fit warns, once per fit
        "The training loss became inf at epoch 1", "The training loss became nan at epoch 1",
        "The training loss became nan at epoch 1"]
    assert np.isinf(losses[0][0]) and np.isnan(losses[0][1:]).all()
    assert np.isnan(weights[0]).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_gives_positive_zero_for_negative_inputs_as_tf_nn_relu(dtype):
    x = np.array([[-3.0, -0.5, -0.0, 0.0, 2.0]], dtype)
    y = np.asarray(keras.activations.relu(x))
    assert y.tolist() == [[0.0, 0.0, 0.0, 0.0, 2.0]]
    assert not np.signbit(y).any()
