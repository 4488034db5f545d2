"""The compiled training plan (one C call per step or epoch) against the Python batch loop.

The plan must give bitwise the same weights, optimizer state and History as
the Python loop (``training.compile_step`` patched to return None), for every
configuration it accepts, and leave the others to that loop.
"""
import numpy as np
import pytest

import pymodel as keras
from pymodel import training
from pymodel._native import gemm
from pymodel._native import plan as native_plan
from pymodel.optimizers import legacy


def _data(n=11, features=5, classes=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(dtype)
    y = np.eye(classes, dtype=dtype)[rng.integers(0, classes, n)]
    return x, y


def _model(dropout=0.0, last="softmax", dtype="float32", hidden=7):
    layers = [keras.layers.Dense(hidden, activation="relu", input_dim=5, dtype=dtype)]
    if dropout:
        layers.append(keras.layers.Dropout(dropout, dtype=dtype))
    layers += [keras.layers.Dense(6, activation="tanh", dtype=dtype),
               keras.layers.Dense(3, activation=last, dtype=dtype)]
    return keras.Sequential(layers)


def _spy_on_compile_step(monkeypatch, fast: bool) -> list:
    """Patch ``training.compile_step`` (to None when not ``fast``); the returned list records,
    call by call, whether a compiled plan was handed out."""
    used, real = [], training.compile_step

    def spy(step):
        compiled = real(step) if fast else None
        used.append(compiled is not None)
        return compiled

    monkeypatch.setattr(training, "compile_step", spy)
    return used


def _fit(fast, make_optimizer, *, loss="categorical_crossentropy", dropout=0.0, last="softmax",
         dtype=np.float32, fit_kwargs=None, compile_kwargs=None, data=None, monkeypatch=None):
    """Weights, optimizer state, History and whether the plan ran."""
    np.random.seed(3)
    x, y = data if data is not None else _data(dtype=dtype)
    model = _model(dropout, last, np.dtype(dtype).name)
    model.compile(optimizer=make_optimizer(), loss=loss, **(compile_kwargs or {}))
    real = training.compile_step
    used = _spy_on_compile_step(monkeypatch, fast)
    history = model.fit(x, y, **{"epochs": 3, "verbose": 0, "batch_size": 4, **(fit_kwargs or {})})
    monkeypatch.setattr(training, "compile_step", real)
    state = model.optimizer.get_state()
    return model.get_weights(), state, history.history, all(used)


def _assert_same(fast, slow):
    (wa, sa, ha, used), (wb, sb, hb, _) = fast, slow
    assert used, "the compiled plan did not run"
    assert all(np.array_equal(a, b) for a, b in zip(wa, wb))
    assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert ha == hb


OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(learning_rate=0.1),
    "sgd_nesterov": lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "adagrad": lambda: keras.optimizers.Adagrad(learning_rate=0.1),
    "rmsprop": lambda: keras.optimizers.RMSprop(),
    "rmsprop_centered_momentum": lambda: keras.optimizers.RMSprop(momentum=0.5, centered=True),
    "adam": lambda: keras.optimizers.Adam(learning_rate=0.01),
    "adam_amsgrad_clipnorm": lambda: keras.optimizers.Adam(amsgrad=True, clipnorm=0.1),
    "adamax_global_clipnorm": lambda: keras.optimizers.Adamax(global_clipnorm=0.2),
    "sgd_clipvalue_weight_decay": lambda: keras.optimizers.SGD(0.1, clipvalue=0.01,
                                                               weight_decay=0.01),
    "legacy_rmsprop_decay": lambda: legacy.RMSprop(learning_rate=0.01, decay=0.1),
    "legacy_adagrad": lambda: legacy.Adagrad(learning_rate=0.1),
    "adadelta": lambda: keras.optimizers.Adadelta(learning_rate=1.0),
    "legacy_adadelta_decay": lambda: legacy.Adadelta(learning_rate=1.0, decay=0.1),
    "lion": lambda: keras.optimizers.Lion(learning_rate=0.01),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_plan_matches_the_python_loop_bitwise_for_each_optimizer(name, monkeypatch):
    make = OPTIMIZERS[name]
    _assert_same(_fit(True, make, monkeypatch=monkeypatch), _fit(False, make, monkeypatch=monkeypatch))


@pytest.mark.parametrize("batch_size", [1, 3, 4, 11, 32])
@pytest.mark.parametrize("shuffle", [True, False])
def test_plan_matches_across_batch_sizes_partial_batches_and_shuffling(batch_size, shuffle,
                                                                        monkeypatch):
    kwargs = {"batch_size": batch_size, "shuffle": shuffle}
    args = (OPTIMIZERS["adam"],)
    _assert_same(_fit(True, *args, fit_kwargs=kwargs, monkeypatch=monkeypatch),
                 _fit(False, *args, fit_kwargs=kwargs, monkeypatch=monkeypatch))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plan_matches_with_dropout_sample_weights_and_float64(dtype, monkeypatch):
    x, y = _data(dtype=dtype)
    weights = np.linspace(0.5, 2.0, len(x))
    kwargs = {"sample_weight": weights}
    args = (OPTIMIZERS["rmsprop"],)
    fast = _fit(True, *args, dropout=0.4, dtype=dtype, data=(x, y), fit_kwargs=kwargs,
                monkeypatch=monkeypatch)
    slow = _fit(False, *args, dropout=0.4, dtype=dtype, data=(x, y), fit_kwargs=kwargs,
                monkeypatch=monkeypatch)
    _assert_same(fast, slow)


@pytest.mark.parametrize("loss,last,targets", [
    ("mse", "sigmoid", "onehot"), ("binary_crossentropy", "sigmoid", "onehot"),
    ("sparse_categorical_crossentropy", "softmax", "labels"), ("huber", "linear", "onehot")])
def test_plan_matches_for_other_kernel_losses_and_the_logits_shortcut(loss, last, targets,
                                                                      monkeypatch):
    x, y = _data()
    if targets == "labels":
        y = np.argmax(y, axis=1).astype(np.float32)
    args = (OPTIMIZERS["sgd_nesterov"],)
    kw = {"loss": loss, "last": last, "data": (x, y), "monkeypatch": monkeypatch,
          "compile_kwargs": {"loss_weights": [0.5]}}
    _assert_same(_fit(True, *args, **kw), _fit(False, *args, **kw))


def test_plan_matches_per_batch_with_metrics_and_batch_callbacks(monkeypatch):
    seen = []
    callback = keras.callbacks.LambdaCallback(on_batch_end=lambda b, logs: seen.append(logs["loss"]))
    kw = {"compile_kwargs": {"metrics": ["accuracy"]}, "monkeypatch": monkeypatch,
          "fit_kwargs": {"callbacks": [callback], "validation_split": 0.25}}
    fast = _fit(True, OPTIMIZERS["adam"], **kw)
    fast_seen, seen[:] = list(seen), []
    slow = _fit(False, OPTIMIZERS["adam"], **kw)
    _assert_same(fast, slow)
    assert fast_seen == seen and len(seen) == 3 * 2
    assert "accuracy" in fast[2] and "val_loss" in fast[2]


def test_plan_results_are_bitwise_equal_for_one_and_two_threads(monkeypatch):
    before = gemm.get_num_threads()
    try:
        runs = []
        for threads in (1, 2):
            gemm.set_num_threads(threads)
            x, y = _data(n=70, features=5)
            runs.append(_fit(True, OPTIMIZERS["adam"], dropout=0.2, data=(x, y),
                             fit_kwargs={"batch_size": 32}, monkeypatch=monkeypatch))
    finally:
        gemm.set_num_threads(before)
    _assert_same(*runs)


def test_configurations_the_plan_does_not_cover_use_the_python_loop(monkeypatch):
    nadam = _fit(True, lambda: keras.optimizers.Nadam(), monkeypatch=monkeypatch)
    assert not nadam[3]
    np.random.seed(0)
    model = keras.Sequential([keras.layers.Dense(4, input_dim=5, kernel_regularizer="l2"),
                              keras.layers.Dense(3)])
    model.layers[0].trainable = False  # its penalty counts, but the plan updates trainable weights
    model.compile("sgd", "mse")
    assert training.compile_step(model._step(4, (5,), (3,))) is None
    model = keras.Sequential([keras.layers.Dense(3, input_dim=5)])
    model.compile("sgd", lambda y_true, y_pred: keras.backend.mean((y_true - y_pred) ** 2, axis=-1))
    assert training.compile_step(model._step(4, (5,), (3,))) is None


def test_bad_sparse_labels_are_refused_before_training():
    x, _ = _data()
    model = _model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"must be integers in \[0, 3\).*y\[0\]=7"):
        model.fit(x, np.full(len(x), 7.0, np.float32), verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_keyboard_interrupt_between_batches_leaves_weights_of_completed_steps(monkeypatch):
    """Ctrl-C lands between C calls: weights and iterations agree on the last finished step."""
    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 2:
                raise KeyboardInterrupt

    np.random.seed(5)
    x, y = _data()
    model = _model()
    model.compile(OPTIMIZERS["adam"](), "categorical_crossentropy")
    start = model.get_weights()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False, callbacks=[Interrupt()])
    assert int(model.optimizer.iterations) == 2
    np.random.seed(5)
    reference = _model()
    reference.set_weights(start)
    reference.compile(OPTIMIZERS["adam"](), "categorical_crossentropy")
    monkeypatch.setattr(training, "compile_step", lambda step: None)
    reference.fit(x[:8], y[:8], batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), reference.get_weights()))


def test_loss_sum_adds_in_double_left_to_right_with_optional_weights():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        values = rng.random(1001).astype(dtype)
        weights = rng.random(1001).astype(dtype)
        expected, weighted = 0.0, 0.0
        for v, w in zip(values.tolist(), weights.tolist()):
            expected += v
            weighted += v * w
        before = values.copy()
        assert native_plan.loss_sum(values) == expected
        assert native_plan.loss_sum(values, weights) == weighted
        assert np.array_equal(values, before)
    with pytest.raises(TypeError):
        native_plan.loss_sum(values, weights.astype(np.float32))


def test_plan_bind_refuses_data_that_does_not_match_the_plan(monkeypatch):
    np.random.seed(0)
    x, y = _data()
    model = _model()
    model.compile("sgd", "categorical_crossentropy")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    step = model._step(4, (5,), (3,))
    compiled = training.compile_step(step)
    with pytest.raises(ValueError, match="do not match the plan"):
        compiled.bind(x[:, :4].copy(), y, None, None)
    with pytest.raises(TypeError):
        compiled.bind(x.astype(np.float64), y, None, None)
    with pytest.raises(TypeError):
        compiled.bind(x, y, None, np.arange(len(x), dtype=np.int32))


def _trained_plan():
    """(model, its compiled plan at batch size 4, x, y, the weights) after one epoch."""
    np.random.seed(0)
    x, y = _data()
    model = _model()
    model.compile("adam", "categorical_crossentropy")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    compiled = training.compile_step(model._step(4, (5,), (3,)))
    return model, compiled, x, y, [w.copy() for w in model.get_weights()]


def test_plan_refuses_an_order_out_of_range_in_any_batch_before_taking_a_step():
    model, compiled, x, y, before = _trained_plan()
    order = np.arange(len(x), dtype=np.int64)
    order[9] = len(x)  # in the third batch; the first two are gathered and valid
    compiled.bind(x, y, None, order)
    with pytest.raises(Exception, match="pm_plan_train"):
        compiled.train(0, 3)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_plan_is_reused_across_fits_and_rebuilt_when_the_optimizer_changes(monkeypatch):
    def train(fast):
        np.random.seed(3)
        x, y = _data()
        model = _model(dropout=0.3)
        model.compile(keras.optimizers.SGD(0.1, momentum=0.5), "categorical_crossentropy")
        if not fast:
            monkeypatch.setattr(training, "compile_step", lambda step: None)
        losses = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history["loss"]
        model.optimizer.momentum = 0.9
        losses += model.fit(x, y, batch_size=4, epochs=2, verbose=0).history["loss"]
        model.layers[1].rate = 0.1
        losses += model.fit(x, y, batch_size=4, epochs=2, verbose=0).history["loss"]
        monkeypatch.undo()
        return model.get_weights(), losses

    (wa, la), (wb, lb) = train(True), train(False)
    assert la == lb and all(np.array_equal(a, b) for a, b in zip(wa, wb))


def test_plan_matches_without_bias_with_a_frozen_layer_and_rank_one_targets(monkeypatch):
    def train(fast):
        np.random.seed(4)
        rng = np.random.default_rng(1)
        x = rng.standard_normal((9, 5)).astype(np.float32)
        y = rng.standard_normal(9).astype(np.float32)
        model = keras.Sequential([keras.layers.Dense(6, activation="elu", use_bias=False,
                                                     input_dim=5),
                                  keras.layers.Dense(4, activation="swish"),
                                  keras.layers.Dense(1)])
        model.layers[1].trainable = False
        model.compile(keras.optimizers.Adam(0.01), "mae")
        used = _spy_on_compile_step(monkeypatch, fast)
        losses = model.fit(x, y, batch_size=4, epochs=3, verbose=0).history["loss"]
        monkeypatch.undo()
        return model.get_weights(), losses, used

    (wa, la, used), (wb, lb, _) = train(True), train(False)
    assert used == [True] and la == lb  # the plan ran, and agrees
    assert all(np.array_equal(a, b) for a, b in zip(wa, wb))


@pytest.mark.parametrize("name", ["sgd", "adam_amsgrad_clipnorm", "adamax_global_clipnorm"])
def test_plan_matches_the_python_loop_with_weight_regularizers(name, monkeypatch):
    """Penalties join the loss and their gradients the gradients before clipping, as in Python."""
    def train(fast):
        np.random.seed(5)
        x, y = _data(n=10)
        model = keras.Sequential([
            keras.layers.Dense(7, activation="relu", input_dim=5,
                               kernel_regularizer=keras.regularizers.l1_l2(l1=0.01, l2=0.02),
                               bias_regularizer="l2"),
            keras.layers.Dense(6, activation="tanh"),
            keras.layers.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.L1(0.03))])
        model.compile(OPTIMIZERS[name](), "categorical_crossentropy")
        used = _spy_on_compile_step(monkeypatch, fast)
        history = model.fit(x, y, batch_size=4, epochs=3, verbose=0).history
        monkeypatch.undo()
        return model.get_weights(), history, used, model.evaluate(x, y, verbose=0)

    (wa, ha, used, ea), (wb, hb, _, eb) = train(True), train(False)
    assert used == [True] and ha == hb and ea == eb
    assert all(np.array_equal(a, b) for a, b in zip(wa, wb))
    # the penalty is in the reported loss: a model without it reports less
    np.random.seed(5)
    x, y = _data(n=10)
    plain = keras.Sequential([keras.layers.Dense(7, activation="relu", input_dim=5),
                              keras.layers.Dense(6, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax")])
    plain.compile(OPTIMIZERS[name](), "categorical_crossentropy")
    assert plain.fit(x, y, batch_size=4, epochs=1, verbose=0).history["loss"][0] < ha["loss"][0]


def _stack(name):
    """(layers, input shape, loss) of models with Activation, Flatten and Reshape layers."""
    L = keras.layers
    stacks = {
        "activation layers, softmax last": (
            [L.Dense(7, input_shape=(5,)), L.Activation("relu"), L.Dense(6),
             L.Activation("tanh"), L.Dropout(0.3), L.Dense(3), L.Activation("softmax")],
            (5,), "categorical_crossentropy"),
        "sigmoid last, binary crossentropy": (
            [L.Dense(6, activation="elu", input_shape=(5,)), L.Dense(3), L.Activation("sigmoid")],
            (5,), "binary_crossentropy"),
        "softmax last, squared error": (
            [L.Dense(6, input_shape=(5,)), L.Activation("swish"), L.Dense(3),
             L.Activation("softmax")], (5,), "mse"),
        "activation first": (
            [L.Activation("tanh", input_shape=(5,)), L.Dense(4, activation="relu"),
             L.Dense(3, activation="softmax")], (5,), "categorical_crossentropy"),
        "flatten and reshape": (
            [L.Flatten(input_shape=(2, 3)), L.Dense(8, activation="relu"), L.Reshape((2, 4)),
             L.Dense(5, activation="relu"), L.Flatten(), L.Dense(3, activation="softmax")],
            (2, 3), "categorical_crossentropy"),
    }
    return stacks[name]


@pytest.mark.parametrize("name", ["activation layers, softmax last",
                                  "sigmoid last, binary crossentropy", "softmax last, squared error",
                                  "activation first", "flatten and reshape"])
def test_plan_matches_the_python_loop_with_activation_flatten_and_reshape_layers(name,
                                                                               monkeypatch):
    def train(fast):
        layers, shape, loss = _stack(name)
        keras.utils.set_random_seed(6)
        rng = np.random.default_rng(2)
        x = rng.standard_normal((10,) + shape).astype(np.float32)
        y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 10)]
        model = keras.Sequential(layers)
        model.compile(keras.optimizers.Adam(0.01), loss, metrics=["accuracy"])
        used = _spy_on_compile_step(monkeypatch, fast)
        history = model.fit(x, y, batch_size=4, epochs=3, verbose=0).history
        per_batch = model.train_on_batch(x[:4], y[:4], return_dict=True)
        monkeypatch.undo()
        return model.get_weights(), history, per_batch, used

    (wa, ha, ba, used), (wb, hb, bb, _) = train(True), train(False)
    assert used and all(used) and ha == hb and ba == bb
    assert all(np.array_equal(a, b) for a, b in zip(wa, wb))


def test_plan_optimizer_step_split_over_threads_matches_the_python_loop(monkeypatch):
    """Over 65,536 parameters the plan spreads the update over threads: same bits."""
    before = gemm.get_num_threads()
    try:
        runs = []
        for threads, fast in ((2, True), (1, True), (2, False)):
            gemm.set_num_threads(threads)
            np.random.seed(2)
            x, y = _data(n=40, features=300)
            model = keras.Sequential([keras.layers.Dense(230, activation="relu", input_dim=300),
                                      keras.layers.Dense(3, activation="softmax")])
            model.compile(keras.optimizers.Adam(0.01), "categorical_crossentropy")
            if not fast:
                monkeypatch.setattr(training, "compile_step", lambda step: None)
            history = model.fit(x, y, batch_size=16, epochs=2, verbose=0).history
            monkeypatch.undo()
            runs.append((model.get_weights(), history))
    finally:
        gemm.set_num_threads(before)
    for weights, history in runs[1:]:
        assert history == runs[0][1]
        assert all(np.array_equal(a, b) for a, b in zip(weights, runs[0][0]))


# ---------------------------------------------------------------- epochs in one call
class _EpochWatcher(keras.callbacks.Callback):
    """Looks between epochs, so fit must train them one at a time."""

    def on_epoch_end(self, epoch, logs=None):
        self.last = epoch


def _spy_on_train_epochs(monkeypatch) -> list:
    """Patch ``CompiledStep.train_epochs``; the list records each call's epoch count."""
    calls, real = [], training.CompiledStep.train_epochs

    def spy(self, count, generator):
        calls.append(count)
        return real(self, count, generator)

    monkeypatch.setattr(training.CompiledStep, "train_epochs", spy)
    return calls


def _fit_epochs(callbacks, dtype=np.float32, **fit_kwargs):
    np.random.seed(11)
    x, y = _data(dtype=dtype)
    model = _model(dtype=np.dtype(dtype).name)
    model.compile(optimizer=OPTIMIZERS["adam"](), loss="categorical_crossentropy")
    history = model.fit(x, y, **{"epochs": 7, "verbose": 0, "batch_size": 4, "callbacks": callbacks,
                                 **fit_kwargs})
    return model.get_weights(), model.optimizer.get_state(), history.history, history.epoch


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fit_kwargs", [{}, {"shuffle": False}, {"initial_epoch": 3},
                                        {"sample_weight": np.linspace(0.5, 2.0, 11)}])
def test_tiny_epochs_run_in_one_call_and_match_fitting_them_one_by_one(dtype, fit_kwargs,
                                                                       monkeypatch):
    calls = _spy_on_train_epochs(monkeypatch)
    weights, state, history, epochs = _fit_epochs(None, dtype, **fit_kwargs)
    assert calls == [7 - fit_kwargs.get("initial_epoch", 0)]
    calls.clear()
    watcher = _EpochWatcher()
    ref_weights, ref_state, ref_history, ref_epochs = _fit_epochs([watcher], dtype, **fit_kwargs)
    assert calls == [] and watcher.last == 6
    assert all(np.array_equal(a, b) for a, b in zip(weights, ref_weights))
    assert all(np.array_equal(state[k], ref_state[k]) for k in ref_state)
    first = fit_kwargs.get("initial_epoch", 0)
    assert history == ref_history and epochs == ref_epochs == list(range(first, 7))


@pytest.mark.parametrize("callbacks,fit_kwargs", [
    ([keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: None)], {}),
    ([type("MyHistory", (keras.callbacks.History,), {})()], {}),
    (None, {"validation_split": 0.25}),
])
def test_epochs_run_one_call_each_when_something_looks_between_them(callbacks, fit_kwargs,
                                                                     monkeypatch):
    calls = _spy_on_train_epochs(monkeypatch)
    _fit_epochs(callbacks, **fit_kwargs)
    assert calls == []


def test_epochs_in_one_call_are_bounded_by_the_samples_they_shuffle(monkeypatch):
    calls = _spy_on_train_epochs(monkeypatch)
    monkeypatch.setattr(training, "EPOCH_GROUP_SAMPLES", 11 * 3)
    _, _, history, _ = _fit_epochs(None)
    assert calls == [3, 3, 1] and len(history["loss"]) == 7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_epoch_losses_add_up_as_the_tracker_does(dtype):
    rng = np.random.default_rng(4)
    losses = rng.random((6, 3)) * 10.0 ** rng.integers(-8, 8, (6, 3))
    losses[1, 0], losses[2, 2], losses[3, 1] = 1e39, np.nan, 3.4e38  # float32 overflow, NaN
    rows = [4, 4, 3]
    got = training.epoch_losses(losses, rows, np.dtype(dtype))
    for epoch, row in enumerate(losses):
        tracker = training.Tracker([])
        for value, count in zip(row.tolist(), rows):
            tracker.add_loss(value, count, np.dtype(dtype))
        want = tracker.logs()["loss"]
        assert got[epoch] == want or (np.isnan(want) and np.isnan(got[epoch]))


def test_ctrl_c_during_epochs_in_one_call_waits_for_their_history(monkeypatch):
    """The records of the epochs a call trained are written before KeyboardInterrupt."""
    import os
    import signal

    real = native_plan.TrainingPlan.train_epochs

    def press_ctrl_c(self, *args):
        real(self, *args)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(native_plan.TrainingPlan, "train_epochs", press_ctrl_c)
    np.random.seed(11)
    x, y = _data()
    model = _model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=5, batch_size=11, verbose=0)
    assert model.history.epoch == [0, 1, 2, 3, 4] and int(model.optimizer.iterations) == 5


def test_plan_refuses_an_order_out_of_range_in_any_epoch_before_taking_a_step():
    model, compiled, x, y, before = _trained_plan()
    compiled.bind(x, y, None, np.arange(len(x), dtype=np.int64))
    orders = np.tile(np.arange(len(x), dtype=np.int64), (3, 1))
    orders[2, 5] = -1  # in the last epoch
    losses = np.zeros((3, 3))
    with pytest.raises(Exception, match="pm_plan_train_epochs"):
        compiled.cplan.train_epochs(orders, 0.1, losses)
    with pytest.raises(ValueError, match="orders must have shape"):
        compiled.cplan.train_epochs(orders[:, :5].copy(), 0.1, losses)
    with pytest.raises(ValueError, match="losses must have shape"):
        compiled.cplan.train_epochs(orders, 0.1, np.zeros((3, 2)))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
