"""predict / model(x) / predict_on_batch through the compiled forward against the Python path.

The compiled forward (one C call for every layer and every batch) must give
bitwise the outputs of the per-layer Python forward (``training.compile_forward``
patched to return None), advance Dropout's random state the same way, keep the
callbacks' hooks, and fall back to the Python path for what it does not cover.
"""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import pymodel as keras
from pymodel import training
from pymodel._native import plan as native_plan

L = keras.layers


def _nets(dtype):
    """Networks the compiled forward covers: (name, layers, input shape)."""
    return [
        ("seed", [L.Dense(2, input_dim=2, activation="sigmoid", dtype=dtype),
                  L.Dense(1, activation="sigmoid", dtype=dtype)], (2,)),
        ("mlp", [L.Dense(33, activation="relu", input_shape=(20,), dtype=dtype),
                 L.Dropout(0.3, seed=1, dtype=dtype),
                 L.Dense(17, activation="tanh", dtype=dtype),
                 L.Dense(10, dtype=dtype), L.Activation("softmax", dtype=dtype)], (20,)),
        ("ranks", [L.Dense(6, activation="elu", input_shape=(4, 5), dtype=dtype),
                   L.Activation("relu", dtype=dtype), L.Flatten(dtype=dtype),
                   L.Dropout(0.0, dtype=dtype), L.Reshape((4, 6), dtype=dtype),
                   L.Dense(3, use_bias=False, activation="softmax", dtype=dtype)], (4, 5)),
    ]


def _pair(name, dtype):
    """Two models with the same weights and dropout seeds."""
    models = []
    for _ in range(2):
        layers, shape = next((layers, shape) for n, layers, shape in _nets(dtype) if n == name)
        models.append(keras.Sequential(layers))
    models[1].set_weights(models[0].get_weights())
    return models, shape


def _x(rows, shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal((rows,) + shape).astype(dtype)


@pytest.fixture
def python_path(monkeypatch):
    """Run a callable with the compiled forward switched off."""
    real = training.compile_forward

    def run(fn, *args, **kwargs):
        monkeypatch.setattr(training, "compile_forward", lambda plan: None)
        try:
            return fn(*args, **kwargs)
        finally:
            monkeypatch.setattr(training, "compile_forward", real)
    return run


def _compiled(model, rows, shape):
    return training.compile_forward(model._plan(rows, shape))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["seed", "mlp", "ranks"])
@pytest.mark.parametrize("rows,batch_size", [(1, None), (7, None), (103, 32), (70, 1000)])
def test_predict_call_and_predict_on_batch_are_bitwise_the_python_forward(
        python_path, name, dtype, rows, batch_size):
    (fast, slow), shape = _pair(name, dtype)
    x = _x(rows, shape, dtype)
    got = fast.predict(x, batch_size=batch_size, verbose=0)
    assert _compiled(fast, min(rows, batch_size or 32), shape) is not None
    want = python_path(slow.predict, x, batch_size=batch_size, verbose=0)
    assert type(got) is np.ndarray and got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)
    called, want_called = fast(x), python_path(slow, x)
    assert type(called) is type(want_called) and np.array_equal(called, want_called)
    on_batch = fast.predict_on_batch(x)
    assert type(on_batch) is np.ndarray and np.array_equal(on_batch,
                                                           python_path(slow.predict_on_batch, x))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_true_applies_the_same_dropout_masks_as_the_python_forward(python_path, dtype):
    (fast, slow), shape = _pair("mlp", dtype)
    assert _compiled(fast, 9, shape).trains
    for seed in range(3):  # the random state advances alike call after call
        x = _x(9, shape, dtype, seed)
        got, want = fast(x, training=True), python_path(slow, x, training=True)
        assert np.array_equal(got, want)
        assert not np.array_equal(got, fast(x))  # dropout did something
    assert np.array_equal(fast(x, training=False), python_path(slow, x))


def test_a_dropout_rate_changed_between_calls_is_seen(python_path):
    (fast, slow), shape = _pair("mlp", "float32")
    x = _x(5, shape, "float32")
    fast(x, training=True), python_path(slow, x, training=True)
    for model in (fast, slow):
        model.layers[1].rate = 0.0
    assert np.array_equal(fast(x, training=True), python_path(slow, x, training=True))
    assert np.array_equal(fast(x, training=True), fast(x))  # rate 0: the identity


def test_new_weights_are_used_whether_written_in_place_or_rebound():
    (model, _), shape = _pair("seed", "float32")
    x = _x(4, shape, "float32")
    before = model.predict(x, verbose=0)
    model.set_weights([w * 2 for w in model.get_weights()])
    after = model.predict(x, verbose=0)
    assert not np.array_equal(before, after)
    dense = model.layers[0]
    dense.kernel = dense.kernel * 0  # a new array bound to the attribute
    z = np.zeros(2, np.float32) + model.get_weights()[1]
    hidden = 1 / (1 + np.exp(-z))
    w2, b2 = model.get_weights()[2:]
    expect = 1 / (1 + np.exp(-(hidden @ w2 + b2)))
    assert np.allclose(model.predict(x, verbose=0), np.tile(expect, (4, 1)), atol=1e-6)


def test_callbacks_get_every_predict_hook_with_the_batch_outputs():
    (model, _), shape = _pair("mlp", "float32")
    x = _x(10, shape, "float32")
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_predict_begin(self, logs=None):
            seen.append(("begin",))

        def on_predict_batch_end(self, batch, logs=None):
            seen.append(("batch_end", batch, np.array(logs["outputs"])))

        def on_predict_end(self, logs=None):
            seen.append(("end",))

    lam = []
    got = model.predict(x, batch_size=4, verbose=0, callbacks=[
        Recorder(), keras.callbacks.LambdaCallback(on_predict_batch_begin=lambda b, logs: lam.append(b))])
    assert [s[0] for s in seen] == ["begin", "batch_end", "batch_end", "batch_end", "end"]
    assert [s[1] for s in seen[1:-1]] == [0, 1, 2] and lam == [0, 1, 2]
    assert np.array_equal(np.concatenate([s[2] for s in seen[1:-1]]), got)
    assert np.array_equal(got, model.predict(x, batch_size=4, verbose=0))


def test_the_progress_bar_is_still_drawn_and_predict_still_resets_model_history(capsys):
    (model, _), shape = _pair("seed", "float32")
    x = _x(3, shape, "float32")
    quiet = model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""
    history = model.history
    assert np.array_equal(model.predict(x, verbose=1), quiet)
    assert "1/1 [==============================]" in capsys.readouterr().out
    assert model.history is not history and model.history.history == {}


@pytest.mark.parametrize("x,error", [
    (np.array([[0.5, np.nan]], np.float32), "contains nan at index \\[0, 1\\]"),
    (np.array([[np.inf, 0.0]], np.float32), "contains inf at index \\[0, 0\\]"),
    (np.zeros((2, 3), np.float32), "expected shape=\\(None, 2\\), found shape=\\(None, 3\\)"),
    (np.zeros((0, 2), np.float32), "is empty"),
])
def test_bad_inputs_raise_the_full_checks_errors(x, error):
    (model, _), _ = _pair("seed", "float32")
    for run in (lambda: model.predict(x, verbose=0), lambda: model(x),
                lambda: model.predict_on_batch(x)):
        with pytest.raises(ValueError, match=error):
            run()


class _Begun(keras.callbacks.Callback):
    def on_predict_begin(self, logs=None):
        raise AssertionError("a hook ran before the input check")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
@pytest.mark.parametrize("compiled", [True, False])
def test_a_bad_value_anywhere_in_a_large_input_is_refused_before_any_output(dtype, bad, compiled,
                                                                           monkeypatch):
    (model, _), shape = _pair("mlp", dtype)
    x = _x(1000, shape, dtype)
    x[999, 19] = bad
    if not compiled:
        monkeypatch.setattr(training, "compile_forward", lambda plan: None)
    error = f"contains {bad} at index \\[999, 19\\]"
    for run in (lambda: model.predict(x, verbose=0), lambda: model(x),
                lambda: model.predict(x, verbose=0, batch_size=64, callbacks=[_Begun()])):
        with pytest.raises(ValueError, match=error):
            run()


def test_forward_plan_refuses_non_finite_inputs_in_c_and_writes_nothing():
    from pymodel._native import NonFiniteError
    (model, _), shape = _pair("seed", "float64")
    x = _x(7, shape, "float64")
    model(x)
    fplan = _compiled(model, 7, shape).fplan
    y = np.full((7, 1), 5.0)
    assert np.array_equal(fplan.run(x, y, finite_only=True), model(x))
    for i in (0, 13):
        bad = x.copy()
        bad.flat[i] = np.inf
        y[:] = 5.0
        with pytest.raises(NonFiniteError, match="NaN or infinity"):
            fplan.run(bad, y, finite_only=True)
        assert (y == 5.0).all()
        fplan.run(bad, y)  # unchecked: runs
        assert not (y == 5.0).any()


def test_inputs_outside_the_shortcut_are_converted_as_before():
    (model, _), shape = _pair("seed", "float32")
    x = _x(5, shape, "float64")
    want = model.predict(x.astype(np.float32), verbose=0)
    fortran = np.asfortranarray(x.astype(np.float32))
    readonly = x.astype(np.float32)
    readonly.flags.writeable = False
    for given in (x, x.tolist(), fortran, readonly, x.astype(np.float32)[:, :, None][:, :, 0]):
        assert np.array_equal(model.predict(given, verbose=0), want)


def test_a_deferred_model_is_built_by_its_first_predict():
    model = keras.Sequential([L.Dense(3, activation="relu"), L.Dense(1)])
    x = _x(4, (5,), "float32")
    assert model.predict(x, verbose=0).shape == (4, 1) and model.built
    assert np.array_equal(model(x), model.predict(x, verbose=0))


def test_layers_the_compiled_forward_does_not_cover_keep_the_python_forward(python_path):
    model = keras.Sequential([L.Conv1D(2, 3, input_shape=(6, 1)), L.Flatten(), L.Dense(2)])
    x = _x(3, (6, 1), "float32")
    assert _compiled(model, 3, (6, 1)) is None
    assert np.array_equal(model.predict(x, verbose=0), python_path(model.predict, x, verbose=0))

    class Doubled(L.Dense):  # a subclass may change forward: not compiled
        def forward(self, buf, x, training):
            return super().forward(buf, x, training) * 2

    sub = keras.Sequential([Doubled(2, input_dim=2)])
    x = _x(3, (2,), "float32")
    assert _compiled(sub, 3, (2,)) is None
    assert np.allclose(sub(x), 2 * (x @ sub.get_weights()[0]))


def test_a_model_of_dropout_alone_predicts_its_input():
    model = keras.Sequential([L.Dropout(0.5, input_shape=(3,))])
    x = _x(5, (3,), "float32")
    assert np.array_equal(model.predict(x, verbose=0), x)
    assert _compiled(model, 5, (3,)) is not None


def test_forward_plan_binding_refuses_what_does_not_fit():
    (model, _), shape = _pair("seed", "float32")
    model(_x(2, shape, "float32"))
    fplan = _compiled(model, 2, shape).fplan
    x, y = np.zeros((3, 2), np.float32), np.zeros((3, 1), np.float32)
    assert np.array_equal(fplan.run(x, y), model(x))  # any number of samples
    with pytest.raises(TypeError):
        fplan.run(x.astype(np.float64), y)
    with pytest.raises(ValueError, match="elements per sample"):
        fplan.run(np.zeros((3, 3), np.float32), y)
    with pytest.raises(ValueError):
        fplan.run(x, np.zeros((2, 1), np.float32))
    with pytest.raises(ValueError):
        fplan.run(x, np.zeros((3, 2), np.float32)[:, :1])  # not C-contiguous
    both = np.zeros(9, np.float32)
    with pytest.raises(ValueError, match="overlap"):
        fplan.run(both[:6].reshape(3, 2), both[4:7].reshape(3, 1))
    dense = model.layers[0]
    buf = model._plan(2, shape)._full[0]
    spec = native_plan.Dense(w=dense._kernel(), b=dense._bias(), act=dense._desc, z=buf["z"],
                             y=buf["y"], work=buf["work"])
    with pytest.raises(ValueError, match="reads 2 elements per sample"):
        native_plan.ForwardPlan([spec], capacity=2, x_size=3, dtype=np.float32)
    with pytest.raises(ValueError, match="fewer than"):
        native_plan.ForwardPlan([spec], capacity=3, x_size=2, dtype=np.float32)
    with pytest.raises(ValueError, match="backward buffers"):
        native_plan.TrainingPlan([spec], capacity=2, x_size=2, y_size=2, out_rows=1, out_cols=2,
                                 xb=x, yb=x, wb=x, per_sample=x, grad=x, loss=None,
                                 shortcut=False, loss_weight=1.0, optimizer="sgd", params=[],
                                 options={})


def test_quick_inference_benchmark_prints_the_three_rows_for_pymodel():
    root = pathlib.Path(__file__).resolve().parent.parent
    res = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_inference.py"), "--quick"],
                         capture_output=True, text=True, timeout=120, cwd=root)
    assert res.returncode == 0, res.stderr
    rows = [line for line in res.stdout.splitlines()
            if line.startswith(("seed net 1 sample", "MLP 1 sample", "MLP batch 256"))]
    assert len(rows) == 3
    for line in rows:
        predict, call, torch, tf = line.split("|")[1].split()
        assert float(predict.replace(",", "")) > 0 and float(call.replace(",", "")) > 0
        assert torch == tf == "-"  # the peers are left out of --quick
    assert "note: torch skipped" in res.stdout and "note: tf-keras skipped" in res.stdout


def test_predict_hooks_reach_a_callback_that_answers_them_dynamically():
    events = []

    class Recorder(keras.callbacks.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_predict"):
                return lambda *args: events.append(name)
            return super().__getattribute__(name)

    model = keras.Sequential([keras.layers.Dense(2, input_dim=3)])
    model.predict(np.ones((5, 3), np.float32), batch_size=2, verbose=0, callbacks=[Recorder()])
    assert events == ["on_predict_begin"] + ["on_predict_batch_begin", "on_predict_batch_end"] * 3 \
        + ["on_predict_end"]


def test_a_history_given_a_predict_hook_of_its_own_still_gets_it():
    # the History predict adds is answered from its class; one that was given a hook is asked
    events = []
    history = keras.callbacks.History()
    history.on_predict_end = lambda logs=None: events.append("end")
    model = keras.Sequential([keras.layers.Dense(2, input_dim=3)])
    model.predict(np.ones((5, 3), np.float32), verbose=0, callbacks=[history])
    assert events == ["end"]
    assert training._history_hooks() == {"on_train_begin", "on_epoch_end"}

