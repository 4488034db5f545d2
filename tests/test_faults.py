"""Faults during training and saving: NaN losses, Ctrl-C, exceptions in user code, SIGKILL mid-save, two threads.

After any of them the model is consistent: every weight comes from the same
completed step, which the tests check bitwise against a model trained for
exactly that many steps.
"""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import pymodel as keras
from pymodel import callbacks, layers, utils
from pymodel_process import pymodel_env

N, FEATURES = 64, 8
RNG = np.random.default_rng(0)
X = RNG.normal(size=(N, FEATURES)).astype("float32")
Y = (X[:, :1] > 0).astype("float32")



def make_model(seed=3, loss="binary_crossentropy", optimizer="adam", width=16):
    utils.set_random_seed(seed)
    m = keras.Sequential([layers.Dense(width, activation="relu", input_shape=(FEATURES,)),
                          layers.Dropout(0.25), layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer, loss)
    return m


def trained(steps: int, **kwargs):
    """Weights after exactly ``steps`` full-batch steps (one step per epoch, no shuffling)."""
    m = make_model(**kwargs)
    m.fit(X, Y, batch_size=N, epochs=steps, shuffle=False, verbose=0)
    return m.get_weights()


def assert_weights_equal(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------- NaN and inf
def test_a_nan_loss_is_recorded_in_history_and_warned_about():
    m = make_model(optimizer=keras.optimizers.SGD(learning_rate=1e30))
    with pytest.warns(RuntimeWarning, match="TerminateOnNaN"):
        history = m.fit(X, Y * 1e20, batch_size=16, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3
    assert not np.isfinite(history.history["loss"][-1])


def test_terminate_on_nan_stops_fit_at_the_first_bad_batch_without_warning():
    m = make_model(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=1e30))
    seen = []
    watch = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: seen.append(logs["loss"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        history = m.fit(X, Y * 1e20, batch_size=16, epochs=5, verbose=0,
                        callbacks=[callbacks.TerminateOnNaN(), watch])
    assert not np.isfinite(seen[-1]) and all(np.isfinite(seen[:-1]))
    assert len(seen) < 5 * 4
    assert m.history is history and len(history.epoch) == 1


# ---------------------------------------------------------------- Ctrl-C and exceptions
class Boom(Exception):
    pass


def interrupt_at(step: int, error=KeyboardInterrupt):
    def on_batch_end(batch, logs):
        if on_batch_end.model.optimizer.iterations.numpy() == step:
            raise error("stop here")
    return on_batch_end


@pytest.mark.parametrize("error", [KeyboardInterrupt, Boom])
def test_an_interrupt_from_a_callback_at_a_batch_boundary_leaves_the_last_step_whole(error):
    m = make_model()
    hook = interrupt_at(5, error)
    cb = callbacks.LambdaCallback(on_batch_end=hook)
    hook.model = m
    with pytest.raises(error, match="stop here") as info:
        m.fit(X, Y, batch_size=N, epochs=10, shuffle=False, verbose=0, callbacks=[cb])
    assert any(entry.name == "on_batch_end" for entry in info.traceback)
    assert int(m.optimizer.iterations.numpy()) == 5
    assert_weights_equal(m.get_weights(), trained(5))
    assert m.history is not None and m.history.history["loss"] and len(m.history.epoch) == 4


def test_an_exception_in_a_custom_loss_propagates_with_its_traceback_and_changes_nothing():
    def fragile_loss(y_true, y_pred):
        if m.optimizer.iterations.numpy() == 3:  # during the fourth step, before its update
            raise Boom("the loss failed")
        return keras.backend.mean(keras.backend.square(y_true - y_pred), axis=-1)

    m = make_model(loss=fragile_loss)
    with pytest.raises(Boom, match="the loss failed") as info:
        m.fit(X, Y, batch_size=N, epochs=10, shuffle=False, verbose=0)
    assert any(entry.name == "fragile_loss" for entry in info.traceback)
    assert int(m.optimizer.iterations.numpy()) == 3
    reference = make_model(loss=lambda t, p: keras.backend.mean(keras.backend.square(t - p), -1))
    reference.fit(X, Y, batch_size=N, epochs=3, shuffle=False, verbose=0)
    assert_weights_equal(m.get_weights(), reference.get_weights())


def test_sigint_during_a_step_is_delivered_after_the_step_completes():
    def loss_that_presses_ctrl_c(y_true, y_pred):
        if m.optimizer.iterations.numpy() == 2:  # during the third step, before its update
            os.kill(os.getpid(), signal.SIGINT)
        return keras.backend.mean(keras.backend.square(y_true - y_pred), axis=-1)

    m = make_model(loss=loss_that_presses_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, Y, batch_size=N, epochs=10, shuffle=False, verbose=0)
    assert int(m.optimizer.iterations.numpy()) == 3
    reference = make_model(loss=lambda t, p: keras.backend.mean(keras.backend.square(t - p), -1))
    reference.fit(X, Y, batch_size=N, epochs=3, shuffle=False, verbose=0)
    assert_weights_equal(m.get_weights(), reference.get_weights())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


CHILD_FIT = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, sys.argv[1])
    import test_faults as t
    m = t.make_model(width=256)
    try:
        print("ready", flush=True)
        m.fit(t.X, t.Y, batch_size=t.N, epochs=10**6, shuffle=False, verbose=0)
    except KeyboardInterrupt:
        np.savez(sys.argv[2], steps=int(m.optimizer.iterations.numpy()),
                 epochs=len(m.history.epoch), *m.get_weights())
""")


def test_sigint_delivered_to_a_process_mid_fit_leaves_weights_from_one_completed_step(tmp_path):
    out = tmp_path / "state.npz"
    tests = os.path.dirname(__file__)
    with subprocess.Popen([sys.executable, "-c", CHILD_FIT, tests, str(out)], cwd=tmp_path,
                          env=pymodel_env(), stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.4)
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=60) == 0
    state = np.load(out)
    steps = int(state["steps"])
    assert steps > 0 and int(state["epochs"]) in (steps, steps - 1)
    weights = [state[f"arr_{i}"] for i in range(4)]
    assert_weights_equal(weights, trained(steps, width=256))


# ---------------------------------------------------------------- SIGKILL during save
CHILD_SAVE = textwrap.dedent("""
    import sys, numpy as np
    import pymodel as keras
    m = keras.Sequential([keras.layers.Dense(512, input_shape=(1024,)), keras.layers.Dense(4)])
    m.compile("adam", "mse")
    i = 0
    while True:
        m.set_weights([np.full(w.shape, i, w.dtype) for w in m.get_weights()])
        m.save(sys.argv[1])
        i += 1
        if i == 1:
            print("saved", flush=True)
""")


def test_sigkill_during_save_leaves_the_previous_file_loadable(tmp_path):
    path = tmp_path / "model.pmz"
    for delay in (0.05, 0.13, 0.29):
        with subprocess.Popen([sys.executable, "-c", CHILD_SAVE, str(path)], cwd=tmp_path,
                              env=pymodel_env(), stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout.readline().strip() == "saved"
            time.sleep(delay)
            child.kill()
        loaded = keras.models.load_model(path)
        weights = loaded.get_weights()
        assert len(weights) == 4
        assert all(np.all(w == weights[0].flat[0]) for w in weights)


# ---------------------------------------------------------------- two threads
def _train(m, results, key):
    history = m.fit(X, Y, batch_size=8, epochs=6, verbose=0)
    results[key] = (history.history["loss"], m.get_weights(), m.predict(X, verbose=0))


def test_two_models_trained_in_two_threads_match_training_them_one_after_the_other():
    def models():
        return make_model(seed=11, width=64), make_model(seed=12, width=48, optimizer="rmsprop")

    alone = {}
    a, b = models()
    _train(a, alone, "a")
    _train(b, alone, "b")
    together = {}
    a, b = models()
    threads = [threading.Thread(target=_train, args=(m, together, k)) for m, k in ((a, "a"), (b, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for key in ("a", "b"):
        loss, weights, pred = together[key]
        assert loss == alone[key][0]
        assert_weights_equal(weights, alone[key][1])
        np.testing.assert_array_equal(pred, alone[key][2])


# ---------------------------------------------------------------- tampered files
def _saved(tmp_path):
    m = keras.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dropout(0.5), layers.Dense(1)])
    m.compile("adam", "mse")
    m.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    path = tmp_path / "model.pmz"
    m.save(path)
    return path


def _rewrite(path, change):
    """Rewrite the zip at ``path`` with ``change(members)`` applied to its {name: bytes}."""
    import zipfile
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    change(members)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _config(change):
    def edit(members):
        import json
        config = json.loads(members["config.json"])
        change(config)
        members["config.json"] = json.dumps(config).encode()
    return edit


def _npz(name, arrays, allow_pickle=False):
    def edit(members):
        import io
        buf = io.BytesIO()
        np.savez(buf, allow_pickle=allow_pickle, **arrays) if allow_pickle else np.savez(buf, **arrays)
        members[name] = buf.getvalue()
    return edit


TAMPERED = {
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
                  "corrupt or truncated"),
    "empty": (lambda p: p.write_bytes(b""), "not a pymodel model file"),
    "random bytes": (lambda p: p.write_bytes(np.random.default_rng(0).bytes(4096)),
                     "not a pymodel model file"),
    "a future format": (lambda p: _rewrite(p, _config(lambda c: c.update(format="pymodel.model/9"))),
                        "unsupported model file format"),
    "config not JSON": (lambda p: _rewrite(p, lambda m: m.update({"config.json": b"{nope"})),
                        "not valid JSON"),
    "no weights": (lambda p: _rewrite(p, lambda m: m.pop("weights.npz")), "has no"),
    "pickled weights": (lambda p: _rewrite(p, _npz("weights.npz", {"000000": np.array([{"a": 1}])},
                                                   allow_pickle=True)), "weights.npz"),
    "a weight of the wrong shape": (
        lambda p: _rewrite(p, _npz("weights.npz", {f"{i:06d}": np.ones(2) for i in range(4)})),
        "has shape (2,)"),
    "a missing weight": (lambda p: _rewrite(p, _npz("weights.npz", {"000000": np.ones((2, 3))})),
                         "holds 1 weight arrays"),
    "complex weights": (
        lambda p: _rewrite(p, _npz("weights.npz", {"000000": np.ones((2, 3), complex),
                                                   "000001": np.ones(3), "000002": np.ones((3, 1)),
                                                   "000003": np.ones(1)})), "complex"),
    "optimizer state of the wrong shape": (
        lambda p: _rewrite(p, _npz("optimizer.npz", {"iterations": np.array(1),
                                                     **{f"m/{i}": np.ones(7) for i in range(4)},
                                                     **{f"v/{i}": np.ones(7) for i in range(4)}})),
        "optimizer state"),
    "optimizer state without iterations": (
        lambda p: _rewrite(p, _npz("optimizer.npz", {"m/0": np.ones(1)})), "optimizer state"),
    "a bad random state": (lambda p: _rewrite(p, _config(lambda c: c.update(rng_state={"x": 1}))),
                           "random states"),
    "a layer config that needs more memory than the machine has": (
        lambda p: _rewrite(p, _config(lambda c: c["model_config"]["config"]["layers"][1]["config"]
                                      .update(units=10**12))), "cannot be rebuilt"),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_loading_a_tampered_model_file_raises_model_file_error(tmp_path, name):
    from pymodel.saving import ModelFileError
    path = _saved(tmp_path)
    tamper, words = TAMPERED[name]
    tamper(path)
    with pytest.raises(ModelFileError) as info:
        keras.models.load_model(path)
    assert str(path) in str(info.value) and words in str(info.value), str(info.value)


def test_data_files_are_never_unpickled_nor_trusted_for_their_size(tmp_path):
    from numpy.lib import format as npy_format
    from pymodel import data
    from pymodel.spec import SpecError
    np.save(tmp_path / "objects.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    with open(tmp_path / "huge.npy", "wb") as f:  # the header claims 80 GB; the file holds 64 bytes
        npy_format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False,
                                              "shape": (10**10,)})
        f.write(bytes(64))
    np.savez(tmp_path / "mixed.npz", x=np.ones(2))
    for source, words in [("objects.npy", "Python objects"), ("huge.npy", "greater than"),
                          ({"path": "mixed.npz", "key": "y"}, "no array 'y'")]:
        with pytest.raises(SpecError, match="/data/train/x") as info:
            data.load_array(source, tmp_path, ["data", "train", "x"])
        assert words in str(info.value)


def test_sigint_during_train_on_batch_is_delivered_after_the_update():
    def loss_that_presses_ctrl_c(y_true, y_pred):
        if m.optimizer.iterations.numpy() == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return keras.backend.mean(keras.backend.square(y_true - y_pred), axis=-1)

    m = make_model(loss=loss_that_presses_ctrl_c)
    m.train_on_batch(X, Y)
    with pytest.raises(KeyboardInterrupt):
        m.train_on_batch(X, Y)
    assert int(m.optimizer.iterations.numpy()) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    m.train_on_batch(X, Y)  # nothing stale is left pending
