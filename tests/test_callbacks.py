"""Callbacks against tf-keras 2.21 on scripted runs (tests/fixtures/callbacks, recorded by its record.py)."""
import importlib.util
import io
import json
import pathlib
import sys
import types

import numpy as np
import pytest

from pymodel import callbacks

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "callbacks"
_spec = importlib.util.spec_from_file_location("callback_scenarios", FIXTURES / "scenarios.py")
scenarios = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scenarios)
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())

IMPL = types.SimpleNamespace(
    callbacks=callbacks,
    make_optimizer=lambda lr: types.SimpleNamespace(learning_rate=lr),
    # tf-keras keeps the rate in a float32 variable; compare what it would hold.
    get_lr=lambda opt: float(np.float32(opt.learning_rate)),
    decorate=lambda model: None,
)


def play(name, tmp_path, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    result = scenarios.play(scenarios.SCENARIOS[name], IMPL, str(tmp_path))
    result["stdout"] = out.getvalue().replace(str(tmp_path), "TMP")
    return json.loads(json.dumps(result))  # same JSON round trip as the recording


def test_every_scenario_was_recorded():
    assert sorted(EXPECTED) == sorted(scenarios.SCENARIOS)


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_scripted_run_matches_tf_keras(name, tmp_path, monkeypatch):
    got, expected = play(name, tmp_path, monkeypatch), EXPECTED[name]
    for key in ("epochs", "restored", "saved", "history", "history_epoch", "files", "attrs", "lambda", "stdout"):
        assert got[key] == expected[key], key


# --- Readable checks of the same behaviour, and of what the recordings do not cover ---------


class Model:
    """Smallest model the callbacks need: weights are the epoch marker, saves write files."""

    def __init__(self, lr=0.01):
        self.stop_training = False
        self.optimizer = types.SimpleNamespace(learning_rate=lr)
        self.weights = [np.zeros(2)]
        self.history = None

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, filepath):
        pathlib.Path(filepath).write_text("model")

    def save_weights(self, filepath):
        pathlib.Path(filepath).write_text("weights")


def fit(model, cbs, epoch_logs, steps=1, batch_logs=None, verbose=0):
    """A fit loop calling hooks as tf-keras's fit does; returns the CallbackList."""
    cbl = callbacks.CallbackList(cbs, add_history=True, add_progbar=verbose != 0, model=model,
                                 verbose=verbose, epochs=len(epoch_logs), steps=steps)
    cbl.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        cbl.on_epoch_begin(epoch)
        for step in range(steps):
            cbl.on_train_batch_begin(step)
            cbl.on_train_batch_end(step, (batch_logs or {}).get((epoch, step), {"loss": logs.get("loss", 1.0)}))
            if model.stop_training:
                break
        model.weights = [np.full(2, float(epoch))]
        cbl.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    cbl.on_train_end()
    return cbl


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch(capsys):
    model = Model()
    es = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True, verbose=1)
    fit(model, [es], [{"loss": 1, "val_loss": v} for v in [1.0, 0.5, 0.6, 0.7, 0.1]])
    assert model.history.epoch == [0, 1, 2, 3]
    assert es.stopped_epoch == 3
    np.testing.assert_array_equal(model.get_weights()[0], [1.0, 1.0])  # weights after epoch index 1
    assert capsys.readouterr().out == ("Epoch 4: early stopping\n"
                                       "Restoring model weights from the end of the best epoch: 2.\n")


def test_reduce_lr_on_plateau_lowers_the_rate_once_patience_runs_out(capsys):
    model = Model(lr=0.1)
    fit(model, [callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, verbose=1)],
        [{"loss": v} for v in [1.0, 1.0, 1.0, 0.5]])
    # The logs get the rate the epoch trained with, before the reduction (as in tf-keras).
    assert model.history.history["lr"] == pytest.approx([0.1, 0.1, 0.1, 0.05], rel=1e-7)
    assert model.optimizer.learning_rate == pytest.approx(0.05, rel=1e-7)
    assert capsys.readouterr().out == "\nEpoch 3: ReduceLROnPlateau reducing learning rate to 0.05000000074505806.\n"


def test_reduce_lr_on_plateau_rejects_a_factor_of_one_or_more():
    with pytest.raises(ValueError, match="does not support a factor >= 1.0. Got 1.5"):
        callbacks.ReduceLROnPlateau(factor=1.5)


def test_learning_rate_scheduler_rejects_a_non_float_rate():
    model = Model()
    with pytest.raises(ValueError, match='should be float. Got: 1'):
        fit(model, [callbacks.LearningRateScheduler(lambda epoch: 1)], [{"loss": 1.0}])


def test_learning_rate_scheduler_reads_a_schedule_valued_rate_at_the_current_step():
    from pymodel.schedules import ExponentialDecay

    model = Model()
    model.optimizer.learning_rate = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model.optimizer.iterations = 10
    seen = []
    fit(model, [callbacks.LearningRateScheduler(lambda epoch, lr: seen.append(lr) or lr)], [{"loss": 1.0}])
    assert seen == [pytest.approx(0.05, rel=1e-7)]


class ScalarVariable:
    """A scalar variable object as optimizers may hold (float()/int() give its value)."""

    def __init__(self, value):
        self.value = value

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)


def test_rate_and_step_held_in_variable_objects_are_read_by_value():
    from pymodel.schedules import PiecewiseConstantDecay

    model = Model()
    model.optimizer.learning_rate = ScalarVariable(0.25)
    cb = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    fit(model, [cb], [{"loss": 1.0}, {"loss": 1.0}])
    assert model.history.history["lr"] == [0.25, 0.25] and model.optimizer.learning_rate == 0.125
    model.optimizer.learning_rate = PiecewiseConstantDecay([5], [0.5, 0.1])
    model.optimizer.iterations = ScalarVariable(6)
    fit(model, [callbacks.LearningRateScheduler(lambda epoch, lr: lr)], [{"loss": 1.0}])
    assert model.optimizer.learning_rate == pytest.approx(0.1, rel=1e-7)


def test_model_checkpoint_writes_the_formatted_files(tmp_path):
    model = Model()
    pattern = str(tmp_path / "ckpt" / "w.{epoch:02d}-{val_loss:.2f}.h5")
    fit(model, [callbacks.ModelCheckpoint(pattern, save_best_only=True, save_weights_only=True)],
        [{"loss": 1, "val_loss": v} for v in [0.9, 0.95, 0.5]])
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["w.01-0.90.h5", "w.03-0.50.h5"]
    assert (tmp_path / "ckpt" / "w.03-0.50.h5").read_text() == "weights"


def test_model_checkpoint_names_a_missing_format_key(tmp_path):
    cb = callbacks.ModelCheckpoint(str(tmp_path / "{val_mae}.h5"))
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        fit(Model(), [cb], [{"loss": 1.0}])


def test_model_checkpoint_rejects_an_unknown_save_freq():
    with pytest.raises(ValueError, match="Unrecognized save_freq: batch"):
        callbacks.ModelCheckpoint("x.h5", save_freq="batch")


def test_csv_logger_writes_a_header_and_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    fit(Model(), [callbacks.CSVLogger(path)], [{"loss": 0.5, "val_loss": 0.75}, {"loss": 0.25, "val_loss": 0.5}])
    assert path.read_bytes() == b"epoch,loss,val_loss\r\n0,0.5,0.75\r\n1,0.25,0.5\r\n"


def test_terminate_on_nan_sets_stop_training_at_the_bad_batch(capsys):
    model = Model()
    fit(model, [callbacks.TerminateOnNaN()], [{"loss": 1.0}] * 3, steps=4, batch_logs={(0, 2): {"loss": float("nan")}})
    assert model.stop_training is True
    assert model.history.epoch == [0]
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"


def test_callback_list_orders_user_callbacks_then_history_then_progbar():
    user = callbacks.Callback()
    cbl = callbacks.CallbackList([user], add_history=True, add_progbar=True, model=Model(), verbose=1, epochs=1, steps=1)
    assert [type(cb) for cb in cbl] == [callbacks.Callback, callbacks.History, callbacks.ProgbarLogger]
    assert all(cb.params == {"verbose": 1, "epochs": 1, "steps": 1} for cb in cbl)
    assert cbl.model.history is cbl.callbacks[1]


def test_callback_list_reuses_given_history_and_progbar():
    history, bar = callbacks.History(), callbacks.ProgbarLogger(count_mode="steps")
    cbl = callbacks.CallbackList([bar, history], add_history=True, add_progbar=True, model=Model(), verbose=1, epochs=1)
    assert cbl.callbacks == [bar, history]


def test_callback_list_passes_python_numbers_and_leaves_the_callers_logs_alone():
    received = []
    cb = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: received.append(logs))
    cbl = callbacks.CallbackList([cb], model=Model())
    logs = {"loss": np.float32(0.5)}
    cbl.on_epoch_end(0, logs)
    assert type(received[0]["loss"]) is float and received[0] is not logs
    assert type(logs["loss"]) is np.float32


def test_every_hook_is_dispatched_to_every_callback():
    calls = []

    class Recorder(callbacks.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                return lambda *args: calls.append((name, args))
            return super().__getattribute__(name)

    cbl = callbacks.CallbackList([Recorder(), Recorder()])
    hooks = [n for n in dir(callbacks.Callback) if n.startswith("on_")]
    for name in hooks:
        getattr(cbl, name)(*((0,) if "batch" in name or "epoch" in name else ()))
    names = [c[0] for c in calls]
    for name in hooks:
        expected = "on_train" + name[2:] if name in ("on_batch_begin", "on_batch_end") else name
        assert names.count(expected) >= 2, name


def test_history_keeps_the_keras_key_order_and_python_floats():
    model = Model()
    fit(model, [], [{"loss": np.float32(0.5), "accuracy": 0.75, "val_loss": 0.625, "val_accuracy": 0.5}])
    assert list(model.history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert model.history.history["loss"] == [0.5] and type(model.history.history["loss"][0]) is float


def test_progbar_logger_rejects_an_unknown_count_mode():
    with pytest.raises(ValueError, match="Unknown `count_mode`: lines"):
        callbacks.ProgbarLogger(count_mode="lines")


def test_validation_inside_fit_does_not_draw_a_second_bar(capsys):
    model = Model()
    cbl = callbacks.CallbackList(None, add_history=True, add_progbar=True, model=model, verbose=1, epochs=1, steps=2)
    cbl.on_train_begin()
    cbl.on_epoch_begin(0)
    for step in range(2):
        cbl.on_train_batch_end(step, {"loss": 0.5})
    cbl.on_test_begin()
    cbl.on_test_batch_end(0, {"loss": 9.0})
    cbl.on_test_end({"loss": 9.0})
    cbl.on_epoch_end(0, {"loss": 0.5, "val_loss": 9.0})
    cbl.on_train_end()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("2/2 [==============================] - ")
    assert lines[0].endswith("/step - loss: 0.5000 - val_loss: 9.0000")


def test_unknown_step_count_is_learned_at_the_end_of_the_first_epoch(capsys):
    model = Model()
    cbl = callbacks.CallbackList(None, add_progbar=True, model=model, verbose=1, epochs=2)
    cbl.on_train_begin()
    for epoch in range(2):
        cbl.on_epoch_begin(epoch)
        for step in range(3):
            cbl.on_train_batch_end(step, {"loss": 0.5})
        cbl.on_epoch_end(epoch, {"loss": 0.5})
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("3/3 [==============================] - ")
    assert lines[2] == "Epoch 2/2" and lines[3].startswith("3/3 [==============================] - ")
    assert "Unknown" not in out  # off a terminal, the redraws of epoch 1 are not written


def test_lambda_callback_takes_extra_hooks_as_keywords():
    seen = []
    cb = callbacks.LambdaCallback(on_test_end=lambda logs: seen.append(logs))
    callbacks.CallbackList([cb]).on_test_end({"loss": 1.0})
    assert seen == [{"loss": 1.0}]


def test_model_checkpoint_deprecated_period_saves_every_nth_epoch(tmp_path):
    fit(Model(), [callbacks.ModelCheckpoint(str(tmp_path / "m{epoch}.h5"), period=2)], [{"loss": 1.0}] * 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m2.h5", "m4.h5"]
