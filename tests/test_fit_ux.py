"""Real fits (a real Sequential, real optimizer) against what tf-keras 2.21 did on the same runs.

Callbacks: tests/fixtures/fit_ux (scenarios.py is played on both libraries; expected.json is
tf-keras's result, see record.py). Progress bar: tests/fixtures/progbar/fit_real_* (a real
tf-keras fit/evaluate/predict recorded on a terminal and on a pipe with a ticking fake clock).
"""
import csv
import importlib.util
import io
import json
import pathlib
import sys

import numpy as np
import pytest
from terminal import on_terminal, use_ticking_clock

import pymodel as keras
import pymodel.progbar as progbar_module

HERE = pathlib.Path(__file__).resolve().parent
UX = HERE / "fixtures" / "fit_ux"
PROGBAR = HERE / "fixtures" / "progbar"
_spec = importlib.util.spec_from_file_location("fit_ux_scenarios", UX / "scenarios.py")
scenarios = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scenarios)
RECORDED = json.loads((UX / "expected.json").read_text())


def play(name, tmp_path):
    """Runs scenario `name` on pymodel; returns (pymodel's result, tf-keras's result)."""
    return scenarios.SCENARIOS[name](keras, RECORDED["data"], tmp_path), RECORDED["results"][name]


def assert_same_history(got, expected):
    assert list(got["history"]) == list(expected["history"])
    for key, values in expected["history"].items():
        np.testing.assert_allclose(got["history"][key], values, rtol=1e-5, atol=1e-7, err_msg=key)
    if "epoch" in expected:
        assert got["epoch"] == expected["epoch"]
        assert got["params"] == expected["params"]


def assert_same_weights(got, expected):
    for a, b in zip(got["weights"], expected["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_every_scenario_was_recorded_with_the_data_it_uses():
    assert sorted(RECORDED["results"]) == sorted(scenarios.SCENARIOS)
    assert RECORDED["data"] == scenarios.make_data()


def test_early_stopping_stops_at_the_same_epoch_and_restores_the_best_epochs_weights(tmp_path):
    got, expected = play("early_stopping_restores_best", tmp_path)
    assert expected["best_epoch"] == 5 and expected["stopped_epoch"] == 7  # the case is not trivial
    assert got["stopped_epoch"] == expected["stopped_epoch"]
    assert got["best_epoch"] == expected["best_epoch"]
    assert got["restored_from_epochs"] == [expected["best_epoch"]]
    assert got["text"] == expected["text"] == (
        "Epoch 8: early stopping\nRestoring model weights from the end of the best epoch: 6.\n")
    assert_same_history(got, expected)
    assert_same_weights(got, expected)


def test_early_stopping_that_never_stops_still_restores_the_best_weights_at_the_end(tmp_path):
    got, expected = play("early_stopping_that_never_stops_keeps_the_last_weights", tmp_path)
    assert got["stopped_epoch"] == expected["stopped_epoch"] == 0
    assert got["text"] == expected["text"] == (
        "Restoring model weights from the end of the best epoch: 6.\n")
    best = RECORDED["results"]["early_stopping_restores_best"]["weights"]
    for a, b in zip(got["weights"], best):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert_same_history(got, expected)


def test_early_stopping_on_accuracy_waits_for_the_baseline(tmp_path):
    got, expected = play("early_stopping_on_accuracy_with_baseline", tmp_path)
    assert got["stopped_epoch"] == expected["stopped_epoch"]
    assert got["text"] == expected["text"]
    assert_same_history(got, expected)


def test_reduce_lr_on_plateau_lowers_the_real_optimizers_rate_at_the_same_epochs(tmp_path):
    got, expected = play("reduce_lr_on_plateau", tmp_path)
    assert got["history"]["lr"] == expected["history"]["lr"]
    rate = float(np.float32(0.3))  # the rate as its float32 variable holds it
    assert expected["history"]["lr"][:8] == [rate] * 7 + [float(np.float32(rate * 0.5))]
    assert got["learning_rate"] == expected["learning_rate"]
    assert got["text"] == expected["text"]
    assert "Epoch 7: ReduceLROnPlateau reducing learning rate to 0.15000000596046448." in got["text"]
    assert_same_history(got, expected)
    assert_same_weights(got, expected)


def test_learning_rate_scheduler_sets_and_logs_the_rate_each_epoch(tmp_path):
    got, expected = play("learning_rate_scheduler", tmp_path)
    assert got["text"] == expected["text"]
    assert got["learning_rate"] == expected["learning_rate"]
    assert_same_history(got, expected)
    assert_same_weights(got, expected)


def test_assigning_optimizer_learning_rate_during_fit_changes_the_updates(tmp_path):
    got, expected = play("learning_rate_set_from_a_callback", tmp_path)
    assert got["learning_rate"] == pytest.approx(0.4, rel=1e-7) == expected["learning_rate"]
    assert_same_history(got, expected)
    assert_same_weights(got, expected)


def test_a_schedule_given_as_learning_rate_is_followed_step_by_step(tmp_path):
    got, expected = play("schedule_in_the_optimizer", tmp_path)
    assert got["iterations"] == expected["iterations"] == 12
    assert_same_history(got, expected)
    assert_same_weights(got, expected)


def test_model_checkpoint_formats_epoch_and_val_loss_into_the_file_names(tmp_path):
    got, expected = play("model_checkpoint_every_epoch", tmp_path)
    assert got["files"] == expected["files"]
    assert got["files"][0].startswith("w.01-0.")
    assert got["text"] == expected["text"]
    for name in got["files"]:
        assert (tmp_path / "ckpt" / name).stat().st_size > 0


def test_model_checkpoint_save_best_only_writes_only_improvements(tmp_path):
    got, expected = play("model_checkpoint_best_only", tmp_path)
    assert got["files"] == expected["files"] == [f"best.0{i}.h5" for i in range(1, 7)]
    assert got["text"] == expected["text"]
    model = scenarios._classifier(keras, RECORDED["data"])
    model.load_weights(tmp_path / "best.06.h5")
    early = RECORDED["results"]["early_stopping_restores_best"]  # same run, best epoch 6 restored
    for a, b in zip(model.get_weights(), early["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_csv_logger_writes_tf_keras_header_and_rows(tmp_path):
    got, expected = play("csv_logger", tmp_path)
    got_rows = list(csv.reader(io.StringIO(got["csv"])))
    expected_rows = list(csv.reader(io.StringIO(expected["csv"])))
    assert got["csv"].count("\r\n") == expected["csv"].count("\r\n") == 4
    assert got_rows[0] == expected_rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in got_rows] == [r[0] for r in expected_rows]
    np.testing.assert_allclose(np.array(got_rows[1:], float), np.array(expected_rows[1:], float),
                               rtol=1e-5)


def test_validation_every_second_epoch_logs_na_in_the_csv_and_fewer_val_values(tmp_path):
    got, expected = play("validation_every_second_epoch", tmp_path)
    assert [len(v) for v in got["history"].values()] == [4, 4, 2, 2]
    assert_same_history(got, expected)
    rows = list(csv.reader(io.StringIO(got["csv"])))
    expected_rows = list(csv.reader(io.StringIO(expected["csv"])))
    assert rows[0] == expected_rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[3:] for r in rows[1::2]] == [["NA", "NA"], ["NA", "NA"]]
    for row, expected_row in zip(rows[1:], expected_rows[1:]):
        assert [v == "NA" for v in row] == [v == "NA" for v in expected_row]
        np.testing.assert_allclose([float(v) for v in row if v != "NA"],
                                   [float(v) for v in expected_row if v != "NA"], rtol=1e-5)


def test_terminate_on_nan_stops_at_the_batch_where_the_float32_loss_overflows(tmp_path):
    got, expected = play("terminate_on_nan", tmp_path)
    assert got == expected
    assert expected["text"].startswith("Batch ") and expected["loss_is_finite"][-1] is False


def test_setting_model_stop_training_in_a_batch_ends_fit_after_that_batch(tmp_path):
    got, expected = play("stop_training_from_a_callback", tmp_path)
    assert got["batches"] == expected["batches"] == [0, 1, 2, 0, 1]
    assert got["epoch"] == expected["epoch"] == [0, 1]
    assert_same_history(got, expected)
    assert_same_weights(got, expected)


def test_validation_split_adds_val_metrics_to_history(tmp_path):
    got, expected = play("validation_split", tmp_path)
    assert list(got["history"]) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert got["params"] == {"verbose": 0, "epochs": 3, "steps": 3}
    assert_same_history(got, expected)
    assert_same_weights(got, expected)


# ---------------------------------------------------------------- the bar of a real fit
REAL_RUNS = ["fit_real_verbose1", "fit_real_verbose2"]


def real_fit(name, verbose=None):
    """The recorded tf-keras case run on pymodel's real Sequential, with the recording's clock."""
    case = json.loads((PROGBAR / f"{name}.case.json").read_text())
    keras.backend.clear_session()
    model = keras.Sequential([getattr(keras.layers, layer["class"])(**layer["args"])
                              for layer in case["layers"]])
    model.set_weights([np.array(w, dtype="float32") for w in case["weights"]])
    c = case["compile"]
    model.compile(optimizer=getattr(keras.optimizers, c["optimizer"])(**c["optimizer_args"]),
                  loss=c["loss"], metrics=c["metrics"])
    x, y = np.array(case["x"], dtype="float32"), np.array(case["y"], dtype="float32")
    for method, kwargs in case["calls"]:
        kwargs = dict(kwargs, verbose=kwargs["verbose"] if verbose is None else verbose)
        if method == "predict":
            model.predict(x, **kwargs)
        else:
            getattr(model, method)(x, y, **kwargs)


@pytest.fixture
def ticking_clock(monkeypatch):
    """The recording's clock: every reading advances it by clock_tick seconds."""
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    use_ticking_clock(monkeypatch,
                      json.loads((PROGBAR / "fit_real_verbose1.case.json").read_text())["clock_tick"])


@pytest.mark.parametrize("name", REAL_RUNS)
def test_a_real_fit_on_a_terminal_writes_the_same_bytes_as_tf_keras(name, ticking_clock):
    written = on_terminal(lambda: real_fit(name))
    assert written == (PROGBAR / f"{name}.tty").read_bytes()


@pytest.mark.parametrize("name", REAL_RUNS)
def test_a_real_fit_piped_writes_the_final_lines_of_tf_keras_screen(name, ticking_clock, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    real_fit(name)
    text = out.getvalue()
    assert "\b" not in text and "\r" not in text
    assert text == (PROGBAR / f"{name}.screen").read_text()


def test_verbose_auto_draws_the_verbose_1_bar(ticking_clock):
    written = on_terminal(lambda: real_fit("fit_real_verbose1", verbose="auto"))
    assert written == (PROGBAR / "fit_real_verbose1.tty").read_bytes()


def test_verbose_0_prints_nothing(ticking_clock, capsys):
    real_fit("fit_real_verbose1", verbose=0)
    assert capsys.readouterr().out == ""


def test_a_longer_fit_with_printing_callbacks_writes_tf_keras_bytes_on_a_terminal(monkeypatch):
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    monkeypatch.setattr(progbar_module, "time", progbar_module.time)  # restored after the test
    written = on_terminal(lambda: scenarios.bar_fit(keras, progbar_module))
    assert written == (UX / "bar_fit.tty").read_bytes()


def test_a_longer_fit_piped_writes_the_final_bar_lines_and_messages_only(monkeypatch):
    # On tf-keras's screen, a bar still in progress when a callback prints stays there (the
    # "ETA" lines); piped, pymodel never wrote it, so that line is empty. All else is equal.
    monkeypatch.setattr(progbar_module, "time", progbar_module.time)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    scenarios.bar_fit(keras, progbar_module)
    text = out.getvalue()
    screen = (UX / "bar_fit.screen").read_text().split("\n")
    assert "\b" not in text and "\r" not in text
    assert sum("ETA:" in line for line in screen) == 2
    assert text.split("\n") == ["" if "ETA:" in line else line for line in screen]
