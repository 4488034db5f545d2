"""Replay recorded tf-keras cases (tests/fixtures/*/*.json): build, compile, fit and compare.

Shared by the fixture tests; each case fixes the initial weights and turns
shuffling off, so results are deterministic and compared with the case's tolerance.
"""
import json
import pathlib

import numpy as np
import pytest

import pymodel as keras

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def load_cases(folder: str) -> dict:
    """Every case in tests/fixtures/<folder>/, by file stem, in name order."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((FIXTURES / folder).glob("*.json"))}


# ---------------------------------------------------------------- building from a case
def sequential(spec, name=None):
    """A Sequential made as the recorder made it: from a list or by ``add``, then ``build``."""
    layers = [getattr(keras.layers, e["class"])(**e["args"]) for e in spec["layers"]]
    if spec["ctor"] == "list":
        model = keras.models.Sequential(layers, name=name)
    else:
        model = keras.models.Sequential(name=name)
        for layer in layers:
            model.add(layer)
    if spec["build"] is not None:
        model.build(tuple(spec["build"]))
    return model


def build(case):
    """The case's model in a fresh session (fresh automatic names) with the case's floatx."""
    keras.backend.clear_session()
    keras.backend.set_floatx(case["floatx"])
    return sequential(case["model"], name=case["model"]["name"])


def custom_functions(K):
    """The custom functions the recorder defines (same names, same Keras backend calls)."""
    def rmse_loss(y_true, y_pred):
        return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1) + 1e-6)

    def mean_pred(y_true, y_pred):
        return K.mean(y_pred)

    def abs_error(y_true, y_pred):
        return K.abs(y_pred - y_true)

    return {f.__name__: f for f in (rmse_loss, mean_pred, abs_error)}


def _resolve(entry, module):
    """A loss or metric as recorded: a name, a function, a class with args or a custom function."""
    if not isinstance(entry, dict):
        return entry
    if "custom" in entry:
        return custom_functions(keras.backend)[entry["custom"]]
    if "function" in entry:
        return getattr(module, entry["function"])
    return getattr(module, entry["class"])(**entry["args"])


def compile_model(model, case):
    c = case["compile"]
    if c.get("optimizer_string"):
        optimizer = c["optimizer_string"]
    else:
        legacy = c.get("optimizer_module") == "legacy"
        module = keras.optimizers.legacy if legacy else keras.optimizers
        optimizer = getattr(module, c["optimizer"])(**c["optimizer_args"])
    weighted = (case.get("fit") or {}).get("weighted_metrics")
    model.compile(optimizer=optimizer, loss=_resolve(c["loss"], keras.losses),
                  metrics=_metrics(c["metrics"]), weighted_metrics=_metrics(weighted))


def _metrics(entries):
    return None if entries is None else [_resolve(m, keras.metrics) for m in entries]


def prepared(case):
    """Built, set to the recorded initial weights, compiled."""
    model = build(case)
    model.set_weights([np.asarray(w, case["floatx"]) for w in case["initial_weights"]])
    compile_model(model, case)
    return model


def data(case):
    return np.asarray(case["X"], case["X_dtype"]), np.asarray(case["y"], case["y_dtype"])


def fit_kwargs(case):
    """The recorded ``fit`` arguments (never shuffled, silent)."""
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


# ---------------------------------------------------------------- comparing with a case
def close(actual, expected, case, what):
    tol = case["tolerance"]
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64),
                               rtol=tol["rtol"], atol=tol["atol"], err_msg=what)


def close_weights(weights, expected, case, what):
    assert len(weights) == len(expected), what
    for i, (w, e) in enumerate(zip(weights, expected)):
        close(w, e, case, f"{what}[{i}]")


def close_history(history, expected, case, what):
    """Same keys in the same order, same number of epochs, values within tolerance."""
    assert list(history.history) == list(expected), what
    for key, values in expected.items():
        assert len(history.history[key]) == len(values), f"{what}[{key}]"
        close(history.history[key], values, case, f"{what}[{key}]")


def fit_recorded(case):
    """Prepared model after the recorded ``fit``: ``(model, history)``."""
    model = prepared(case)
    return model, model.fit(*data(case), **fit_kwargs(case))


def check_trained(model, history, case) -> None:
    """History, final weights, predictions and evaluate after the recorded ``fit``."""
    x, y = data(case)
    expected = case["expected"]
    close_history(history, expected["history"], case, "history")
    close_weights(model.get_weights(), expected["final_weights"], case, "final_weights")
    close(model.predict(x, verbose=0), expected["predictions"], case, "predictions")
    close(model.evaluate(x, y, verbose=0), expected["evaluate"], case, "evaluate")


def one_epoch_and_compare(case) -> None:
    """Prepared model after one epoch of the recorded ``fit``, checked against the case's."""
    model = prepared(case)
    history = model.fit(*data(case), **{**fit_kwargs(case), "epochs": 1})
    close_history(history, case["expected"]["epoch1_history"], case, "epoch1_history")
    close_weights(model.get_weights(), case["expected"]["epoch1_weights"], case, "epoch1_weights")


def summary_text(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


# ---------------------------------------------------------------- action cases
def run_action(model, case, action):
    """What one recorded action returns (None for the ones that only change the model)."""
    if action == "compile":
        compile_model(model, case)
        return None
    if action == "pop":
        model.pop()
        return None
    x = np.asarray(case["X"], case["X_dtype"])
    results = {
        "summary": lambda: summary_text(model),
        "to_json": model.to_json,
        "weight_shapes": lambda: [list(w.shape) for w in model.get_weights()],
        "predict": lambda: list(model.predict(x, verbose=0).shape),
        "count_params": model.count_params,
        "metrics_names": lambda: list(model.metrics_names),
        "fit_keys": lambda: list(model.fit(*data(case), epochs=1, verbose=0).history),
        "layer_names": lambda: [layer.name for layer in model.layers],
        "output_shape": lambda: list(model.output_shape),
    }
    return results[action]()


def check_actions(model, case, actions):
    """Run ``(action, expected)`` pairs in order: the same result, or the same error and text."""
    for action, expected in actions:
        if expected["error"] is not None:
            with pytest.raises(Exception) as info:
                run_action(model, case, action)
            assert type(info.value).__name__ == expected["error"]["type"], action
            assert str(info.value) == expected["error"]["message"], action
        else:
            assert run_action(model, case, action) == expected["result"], action
