"""Replay the extra tf-keras recordings in tests/fixtures/keras_more/ (losses, optimizers, fit options).

Same format as tests/fixtures/keras/ plus the fields listed in that folder's
README: loss/metric objects, legacy optimizers, every ``fit`` argument, and
more expectations per case (evaluate as a dict, predict in batches of 3,
``metrics_names``, ``History.params``). Tolerances come from each case.
"""
import json
import pathlib

import numpy as np
import pytest

import pymodel as keras

HERE = pathlib.Path(__file__).parent / "fixtures" / "keras_more"
CASES = {p.stem: json.loads(p.read_text()) for p in sorted(HERE.glob("*.json"))}
TRAIN = [n for n, c in CASES.items() if c["kind"] == "train"]


# ---------------------------------------------------------------- building from a case
def build(case):
    keras.backend.clear_session()
    keras.backend.set_floatx(case["floatx"])
    spec = case["model"]
    layers = [getattr(keras.layers, e["class"])(**e["args"]) for e in spec["layers"]]
    if spec["ctor"] == "list":
        model = keras.models.Sequential(layers, name=spec["name"])
    else:
        model = keras.models.Sequential(name=spec["name"])
        for layer in layers:
            model.add(layer)
    if spec["build"] is not None:
        model.build(tuple(spec["build"]))
    return model


@pytest.fixture(autouse=True)
def _float32_after_each_case():
    yield
    keras.backend.set_floatx("float32")


def custom_functions(K):
    """The custom functions the recorder defines (same names, same Keras backend calls)."""
    def rmse_loss(y_true, y_pred):
        return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1) + 1e-6)

    def mean_pred(y_true, y_pred):
        return K.mean(y_pred)

    def abs_error(y_true, y_pred):
        return K.abs(y_pred - y_true)

    return {f.__name__: f for f in (rmse_loss, mean_pred, abs_error)}


def loss_object(loss):
    if isinstance(loss, dict) and "custom" in loss:
        return custom_functions(keras.backend)[loss["custom"]]
    if isinstance(loss, dict):
        if "function" in loss:
            return getattr(keras.losses, loss["function"])
        return getattr(keras.losses, loss["class"])(**loss["args"])
    return loss


def metric_object(m):
    if isinstance(m, dict) and "custom" in m:
        return custom_functions(keras.backend)[m["custom"]]
    if isinstance(m, dict):
        if "function" in m:
            return getattr(keras.metrics, m["function"])
        return getattr(keras.metrics, m["class"])(**m["args"])
    return m


def compile_model(model, case):
    c = case["compile"]
    if c["optimizer_string"]:
        optimizer = c["optimizer_string"]
    else:
        module = keras.optimizers.legacy if c["optimizer_module"] == "legacy" else keras.optimizers
        optimizer = getattr(module, c["optimizer"])(**c["optimizer_args"])
    weighted = case["fit"].get("weighted_metrics")
    model.compile(optimizer=optimizer, loss=loss_object(c["loss"]),
                  metrics=[metric_object(m) for m in c["metrics"]],
                  weighted_metrics=None if weighted is None else [metric_object(m)
                                                                  for m in weighted])


def prepared(case):
    model = build(case)
    model.set_weights([np.asarray(w, case["floatx"]) for w in case["initial_weights"]])
    compile_model(model, case)
    return model


def data(case):
    return np.asarray(case["X"], case["X_dtype"]), np.asarray(case["y"], case["y_dtype"])


def fit_kwargs(case):
    f = case["fit"]
    kw = {"epochs": f["epochs"], "batch_size": f["batch_size"], "shuffle": False, "verbose": 0}
    if "validation_split" in f:
        kw["validation_split"] = f["validation_split"]
    if f.get("validation_data"):
        kw["validation_data"] = (np.asarray(case["X_val"], case["X_dtype"]),
                                 np.asarray(case["y_val"], case["y_dtype"]))
    if "sample_weight" in f:
        kw["sample_weight"] = np.asarray(case["sample_weight"], np.float32)
    if "class_weight" in f:
        kw["class_weight"] = {int(k): v for k, v in f["class_weight"].items()}
    for key in ("initial_epoch", "validation_freq", "validation_batch_size"):
        if key in f:
            kw[key] = f[key]
    return kw


def close(actual, expected, case, what):
    tol = case["tolerance"]
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64),
                               rtol=tol["rtol"], atol=tol["atol"], err_msg=what)


def summary_text(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


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
    model = prepared(case)
    x, y = data(case)
    expected = case["expected"]
    history = model.fit(x, y, **fit_kwargs(case))
    assert history is model.history and history.model is model
    assert list(history.history) == list(expected["history"])
    for key, values in expected["history"].items():
        assert len(history.history[key]) == len(values)
        close(history.history[key], values, case, f"history[{key}]")
    assert history.params == expected["history_params"]
    assert history.epoch == expected["history_epoch"]
    assert model.optimizer.get_config() == case["compile"]["optimizer_config"]  # after fit
    assert model.metrics_names == expected["metrics_names"]
    for i, (w, e) in enumerate(zip(model.get_weights(), expected["final_weights"])):
        close(w, e, case, f"final_weights[{i}]")
    close(model.predict(x, verbose=0), expected["predictions"], case, "predictions")
    close(model.predict(x, batch_size=3, verbose=0), expected["predict_batch3"], case,
          "predict_batch3")
    close(model.evaluate(x, y, verbose=0), expected["evaluate"], case, "evaluate")
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
    for i, (w, e) in enumerate(zip(model.get_weights(), expected["one_step_weights"])):
        close(w, e, case, f"one_step_weights[{i}]")
    model = prepared(case)
    history = model.fit(x, y, **{**kw, "epochs": 1})
    assert list(history.history) == list(expected["epoch1_history"])
    for key, values in expected["epoch1_history"].items():
        close(history.history[key], values, case, f"epoch1_history[{key}]")
    for i, (w, e) in enumerate(zip(model.get_weights(), expected["epoch1_weights"])):
        close(w, e, case, f"epoch1_weights[{i}]")


# ---------------------------------------------------------------- action cases
ACTIONS = [n for n, c in CASES.items() if c["kind"] == "summary"]


def run_action(model, case, action, x, y):
    if action == "compile":
        compile_model(model, case)
        return None
    if action == "pop":
        model.pop()
        return None
    results = {
        "summary": lambda: summary_text(model),
        "to_json": model.to_json,
        "weight_shapes": lambda: [list(w.shape) for w in model.get_weights()],
        "predict": lambda: list(model.predict(x, verbose=0).shape),
        "count_params": model.count_params,
        "metrics_names": lambda: list(model.metrics_names),
        "fit_keys": lambda: list(model.fit(x, y, epochs=1, verbose=0).history),
        "layer_names": lambda: [layer.name for layer in model.layers],
        "output_shape": lambda: list(model.output_shape),
    }
    return results[action]()


@pytest.mark.parametrize("name", ACTIONS)
def test_more_fixture_actions_give_keras_results_and_errors(name):
    case = CASES[name]
    model = build(case)
    x, y = data(case)
    for expected in case["expected"]["actions"]:
        action = expected["action"]
        if expected["error"] is not None:
            with pytest.raises(Exception) as info:
                run_action(model, case, action, x, y)
            assert type(info.value).__name__ == expected["error"]["type"], action
            assert str(info.value) == expected["error"]["message"], action
        else:
            assert run_action(model, case, action, x, y) == expected["result"], action


# ---------------------------------------------------------------- session cases
def test_models_built_in_one_session_get_keras_automatic_names_summaries_and_json():
    case = CASES["session_three_models"]
    keras.backend.clear_session()
    models = []
    for step in case["steps"]:
        layers = [getattr(keras.layers, e["class"])(**e["args"]) for e in step["layers"]]
        if step["ctor"] == "list":
            model = keras.models.Sequential(layers)
        else:
            model = keras.models.Sequential()
            for layer in layers:
                model.add(layer)
        if step["build"] is not None:
            model.build(tuple(step["build"]))
        models.append(model)
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
    with np.errstate(all="ignore"):
        losses, weights = _nadam_run([keras.layers.Dense(1, use_bias=False, input_dim=2)])
    assert np.isinf(losses[0][0]) and np.isnan(losses[0][1:]).all()
    assert np.isnan(weights[0]).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_gives_positive_zero_for_negative_inputs_as_tf_nn_relu(dtype):
    x = np.array([[-3.0, -0.5, -0.0, 0.0, 2.0]], dtype)
    y = np.asarray(keras.activations.relu(x))
    assert y.tolist() == [[0.0, 0.0, 0.0, 0.0, 2.0]]
    assert not np.signbit(y).any()
