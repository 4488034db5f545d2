"""Sequential: structure errors, fit/evaluate/predict semantics, callbacks, numerics, reproducibility."""
import math

import numpy as np
import pytest

import pymodel as keras
from pymodel import layers

X10 = np.arange(30, dtype=np.float32).reshape(10, 3) / 30
Y10 = np.linspace(-1, 1, 10, dtype=np.float32).reshape(10, 1)


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()


def small_model(lr=0.1, metrics=None, loss="mse", seed=0):
    np.random.seed(seed)
    model = keras.models.Sequential([layers.Dense(4, activation="tanh", input_dim=3),
                                     layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss=loss, metrics=metrics)
    return model


# ---------------------------------------------------------------- structure
def test_add_refuses_non_layers_and_duplicate_names():
    model = keras.models.Sequential()
    with pytest.raises(TypeError, match="The added layer must be an instance of class Layer"):
        model.add("dense")
    model.add(layers.Dense(2, name="a", input_dim=2))
    with pytest.raises(ValueError) as info:
        model.add(layers.Dense(2, name="a"))
    assert str(info.value) == (
        'All layers added to a Sequential model should have unique names. Name "a" is already '
        "the name of a layer in this model. Update the `name` argument to pass a unique name.")


def test_pop_build_and_fit_errors_match_keras():
    model = keras.models.Sequential()
    with pytest.raises(TypeError, match="^There are no layers in the model.$"):
        model.pop()
    model.add(layers.Dense(2))
    with pytest.raises(ValueError, match="^You must provide an `input_shape` argument.$"):
        model.build()
    with pytest.raises(RuntimeError) as info:
        model.fit(X10, Y10)
    assert str(info.value) == ("You must compile your model before training/testing. Use "
                               "`model.compile(optimizer, loss)`.")


def test_model_with_input_shape_is_built_at_once_and_deferred_otherwise():
    built = keras.models.Sequential([layers.Dense(2, input_dim=3)])
    assert built.built and built.count_params() == 8
    deferred = keras.models.Sequential([layers.Dense(2)])
    assert not deferred.built
    deferred.build((None, 4))
    assert deferred.built and deferred.count_params() == 10
    deferred.pop()
    assert not deferred.built and deferred.layers == []


def test_input_layer_sets_shape_and_is_not_listed_in_layers():
    model = keras.models.Sequential([layers.Input(shape=(3,)), layers.Dense(2)])
    assert model.built and [type(l).__name__ for l in model.layers] == ["Dense"]
    assert model.get_config()["layers"][0]["class_name"] == "InputLayer"


def test_input_shape_mismatch_and_sample_count_mismatch_raise_keras_messages():
    model = small_model()
    with pytest.raises(ValueError) as info:
        model.predict(np.zeros((2, 4)))
    assert str(info.value).endswith('Input 0 of layer "sequential" is incompatible with the '
                                    "layer: expected shape=(None, 3), found shape=(None, 4)")
    with pytest.raises(ValueError, match="Make sure all arrays contain the same number of samples"):
        model.fit(X10, Y10[:5], verbose=0)


# ---------------------------------------------------------------- fit semantics
def test_history_params_epochs_and_keys_follow_keras():
    model = small_model(metrics=["mae"])
    history = model.fit(X10, Y10, batch_size=4, epochs=3, verbose=0, validation_split=0.2,
                        initial_epoch=1)
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 2}
    assert history.epoch == [1, 2]
    assert list(history.history) == ["loss", "mae", "val_loss", "val_mae"]
    assert all(isinstance(v, float) for v in history.history["loss"])
    assert model.history is history


def test_default_batch_size_is_32_and_the_last_batch_is_partial():
    x = np.zeros((70, 3), np.float32)
    y = np.zeros((70, 1), np.float32)
    sizes = []

    class Sizes(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            sizes.append(batch)

    history = small_model().fit(x, y, verbose=0, callbacks=[Sizes()])
    assert history.params["steps"] == 3 == math.ceil(70 / 32) and sizes == [0, 1, 2]


def test_validation_split_takes_the_last_samples_before_shuffling():
    model = small_model(lr=0.0)
    history = model.fit(X10, Y10, epochs=1, batch_size=3, validation_split=0.2, verbose=0)
    expected_val = model.evaluate(X10[8:], Y10[8:], verbose=0)
    expected_train = model.evaluate(X10[:8], Y10[:8], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(expected_val, rel=1e-6)
    assert history.history["loss"][0] == pytest.approx(expected_train, rel=1e-6)
    with pytest.raises(ValueError, match="not sufficient to split"):
        model.fit(X10[:1], Y10[:1], validation_split=0.5, verbose=0)


def test_epoch_loss_is_the_batch_size_weighted_mean_of_batch_losses():
    model = small_model(lr=0.0)
    batch_losses = [model.test_on_batch(X10[i:i + 4], Y10[i:i + 4]) for i in (0, 4, 8)]
    history = model.fit(X10, Y10, batch_size=4, shuffle=False, verbose=0)
    expected = (4 * batch_losses[0] + 4 * batch_losses[1] + 2 * batch_losses[2]) / 10
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-6)


def test_validation_data_gives_val_entries():
    model = small_model(metrics=["mse"])
    history = model.fit(X10, Y10, epochs=2, verbose=0, validation_data=(X10[:4], Y10[:4]))
    assert len(history.history["val_loss"]) == 2
    assert history.history["val_mse"] == pytest.approx(history.history["val_loss"], rel=1e-6)


def test_callback_hooks_run_in_tf_keras_order_and_stop_training_ends_fit():
    events = []

    class Recorder(keras.callbacks.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                return lambda *args: events.append((name, args[0] if args and not
                                                    isinstance(args[0], dict) else None))
            return super().__getattribute__(name)

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            assert "val_loss" in logs and "loss" in logs
            if epoch == 1:
                self.model.stop_training = True

    model = small_model()
    history = model.fit(X10, Y10, batch_size=8, epochs=5, verbose=0,
                        validation_data=(X10, Y10), callbacks=[Recorder(), Stop()])
    names = [e[0] for e in events]
    assert names[:8] == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin",
                         "on_train_batch_end", "on_train_batch_begin", "on_train_batch_end",
                         "on_test_begin", "on_test_batch_begin"]
    assert names[-1] == "on_train_end" and names.count("on_epoch_end") == 2
    assert history.epoch == [0, 1]


def test_sample_weight_uses_sum_over_batch_size():
    a = np.array([[0, 1, 2], [1, 1, 1]], np.float32)
    b = np.array([[.5, 3, 2], [0, 0, 0]], np.float32)
    mse = keras.losses.MeanSquaredError()
    assert mse(a, b, sample_weight=[1, 0]) == pytest.approx(0.7083333, rel=1e-6)
    assert mse(a, b) == pytest.approx(1.2083333, rel=1e-6)
    assert keras.losses.Huber()(a, b) == pytest.approx(0.52083337, rel=1e-6)
    assert keras.losses.MeanAbsoluteError()(a, b) == pytest.approx(0.9166666, rel=1e-6)


def test_crossentropy_golden_values_match_keras():
    bce = keras.losses.BinaryCrossentropy()([[1.], [0.]], [[0.], [1.]])
    cce = keras.losses.CategoricalCrossentropy()([[0., 1.]], [[1., 0.]])
    assert bce == pytest.approx(15.379093, rel=1e-5)
    assert cce == pytest.approx(16.118095, rel=1e-5)


def test_sigmoid_output_with_crossentropy_uses_the_logits_like_keras():
    model = keras.models.Sequential([layers.Dense(1, activation="sigmoid", input_dim=1)])
    model.set_weights([np.array([[40.0]]), np.array([0.0])])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    assert model.evaluate(np.array([[1.0]]), np.array([[0.0]]), verbose=0) == pytest.approx(40.0)
    assert keras.losses.BinaryCrossentropy()(np.array([[0.0]]), model.predict(
        np.array([[1.0]]), verbose=0)) == pytest.approx(15.333, rel=1e-3)


def test_accuracy_resolves_to_binary_sparse_or_categorical_like_keras():
    from pymodel.metrics import resolve
    assert resolve("accuracy", (4, 1), (None, 1)).fn.__name__ == "binary_accuracy"
    assert resolve("acc", (4,), (None, 3)).fn.__name__ == "sparse_categorical_accuracy"
    assert resolve("accuracy", (4, 1), (None, 3)).fn.__name__ == "sparse_categorical_accuracy"
    assert resolve("accuracy", (4, 3), (None, 3)).fn.__name__ == "categorical_accuracy"
    assert resolve("acc", (4, 3), (None, 3)).name == "acc"


def test_regularization_loss_is_added_to_the_reported_loss():
    np.random.seed(1)
    model = keras.models.Sequential([layers.Dense(2, input_dim=3,
                                                  kernel_regularizer=keras.regularizers.l2(0.5))])
    model.compile(optimizer="sgd", loss="mse")
    plain = keras.losses.MeanSquaredError()(Y10.repeat(2, 1), model.predict(X10, verbose=0))
    penalty = 0.5 * np.sum(model.get_weights()[0].astype(np.float64) ** 2)
    assert model.evaluate(X10, Y10.repeat(2, 1), verbose=0) == pytest.approx(plain + penalty,
                                                                             rel=1e-5)


def test_class_weight_scales_the_loss_per_class():
    y = (np.arange(10) % 2).reshape(10, 1).astype(np.float32)
    a = small_model(lr=0.0)
    weighted = a.fit(X10, y, epochs=1, shuffle=False, verbose=0, class_weight={0: 1.0, 1: 0.0})
    b = small_model(lr=0.0)
    sw = (y.ravel() == 0).astype(np.float32)
    expected = b.fit(X10, y, epochs=1, shuffle=False, verbose=0, sample_weight=sw)
    assert weighted.history["loss"] == pytest.approx(expected.history["loss"], rel=1e-6)


# ---------------------------------------------------------------- evaluate / predict
def test_evaluate_returns_float_list_or_dict():
    model = small_model(metrics=["mae", "mse"])
    loss = model.evaluate(X10, Y10, verbose=0, return_dict=True)
    assert list(loss) == ["loss", "mae", "mse"]
    values = model.evaluate(X10, Y10, verbose=0)
    assert values == pytest.approx(list(loss.values()))
    assert isinstance(small_model().evaluate(X10, Y10, verbose=0), float)


def test_predict_batches_match_one_call_and_model_call():
    model = small_model()
    whole = model.predict(X10, verbose=0)
    assert whole.dtype == np.float32 and whole.shape == (10, 1)
    assert np.array_equal(model.predict(X10, batch_size=3, verbose=0), whole)
    assert np.array_equal(model(X10), whole)
    assert np.array_equal(model.predict_on_batch(X10), whole)


def test_train_and_test_on_batch_return_loss_and_metrics():
    model = small_model(metrics=["mae"])
    loss, mae = model.test_on_batch(X10, Y10)
    assert loss == pytest.approx(model.evaluate(X10, Y10, verbose=0)[0], rel=1e-6)
    logs = model.train_on_batch(X10, Y10, return_dict=True)
    assert list(logs) == ["loss", "mae"] and logs["loss"] == pytest.approx(loss, rel=1e-6)
    assert model.optimizer.iterations.numpy() == 1


def test_float64_models_train_and_predict_in_float64():
    keras.backend.set_floatx("float64")
    try:
        model = small_model()
        model.fit(X10, Y10, epochs=2, verbose=0)
        assert model.predict(X10, verbose=0).dtype == np.float64
        assert all(w.dtype == np.float64 for w in model.get_weights())
    finally:
        keras.backend.set_floatx("float32")


# ---------------------------------------------------------------- reproducibility
def test_seeding_numpy_makes_building_and_fitting_bitwise_reproducible():
    runs = []
    for _ in range(2):
        np.random.seed(42)
        model = keras.models.Sequential([layers.Dense(8, activation="relu", input_dim=3),
                                         layers.Dropout(0.3), layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(X10, Y10, batch_size=4, epochs=3, verbose=0)
        runs.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_set_random_seed_overrides_and_different_seeds_differ():
    def weights(seed):
        keras.utils.set_random_seed(seed)
        return keras.models.Sequential([layers.Dense(3, input_dim=2)]).get_weights()[0]

    assert np.array_equal(weights(1), weights(1))
    assert not np.array_equal(weights(1), weights(2))
    keras.utils._SEED[0] = None


def test_plans_reuse_buffers_across_epochs_including_the_partial_batch():
    model = small_model()
    model.fit(X10, Y10, batch_size=4, epochs=1, verbose=0)
    step = next(iter(model._steps.values()))
    buffers = [id(a) for buf in step.plan._full for a in buf.values()]
    views = dict(step.plan._views)
    model.fit(X10, Y10, batch_size=4, epochs=2, verbose=0)
    assert next(iter(model._steps.values())) is step
    assert [id(a) for buf in step.plan._full for a in buf.values()] == buffers
    assert set(views) == {4, 2} and step.plan._views[2] is views[2]


def test_training_allocates_no_batch_sized_arrays_after_the_first_epoch():
    import tracemalloc
    rng = np.random.default_rng(0)
    x = rng.random((2048, 128), dtype=np.float32)
    y = np.eye(8, dtype=np.float32)[rng.integers(0, 8, 2048)]
    np.random.seed(0)
    model = keras.models.Sequential([layers.Dense(128, activation="relu", input_dim=128),
                                     layers.Dropout(0.2), layers.Dense(8, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x, y, batch_size=300, epochs=1, verbose=0)  # plans for 300 and the last 248
    tracemalloc.start()
    model.fit(x, y, batch_size=300, epochs=2, verbose=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    batch_activation = 300 * 128 * 4
    assert peak < batch_activation / 4
