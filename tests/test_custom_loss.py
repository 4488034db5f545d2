"""Custom Python losses and metrics: trained through central differences or a given gradient."""
import numpy as np
import pytest

import pymodel as keras

X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
Y = np.array([[0], [1], [1], [0]])


def xor_model(loss, seed=42, metrics=None):
    np.random.seed(seed)
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(4, input_dim=3, activation="sigmoid"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1), loss=loss, metrics=metrics)
    return model


def my_squared_error(y_true, y_pred):
    return np.mean(np.square(y_pred - y_true), axis=-1)


def test_custom_python_loss_trains_the_xor_network():
    model = xor_model(my_squared_error)
    history = model.fit(X, Y, epochs=1500, verbose=0)
    assert np.round(model.predict(X, verbose=0)).ravel().tolist() == [0, 1, 1, 0]
    assert history.history["loss"][-1] < 0.02


def test_custom_loss_by_central_differences_follows_the_builtin_trajectory():
    custom = xor_model(my_squared_error)
    builtin = xor_model("mean_squared_error")
    h1 = custom.fit(X, Y, epochs=50, verbose=0)
    h2 = builtin.fit(X, Y, epochs=50, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_central_differences_match_the_analytic_gradient_in_float64():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    loss = keras.losses.LossFunctionWrapper(lambda t, p: np.mean(np.sin(p) * t + p ** 4, -1))
    grad = loss.gradient(y_true, y_pred, alpha=0.5)
    expected = 0.5 * (np.cos(y_pred) * y_true + 4 * y_pred ** 3) / 3
    np.testing.assert_allclose(grad, expected, rtol=1e-8, atol=1e-10)


def test_central_differences_stack_the_perturbed_batches_into_one_call(monkeypatch):
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    batches = []

    def fn(t, p):
        batches.append(len(p))
        return np.mean(np.exp(p) * t, axis=-1)

    loss = keras.losses.LossFunctionWrapper(fn)
    grad = loss.gradient(y_true, y_pred)
    assert batches == [2 * 4 * 6]  # + and - copies of every column, all rows, in one batch
    np.testing.assert_allclose(grad, np.exp(y_pred) * y_true / 4, rtol=1e-8)
    # One column per call (a small stacking limit) gives the same bits.
    monkeypatch.setattr(keras.losses, "_STACKED_ELEMENTS", 1)
    batches.clear()
    np.testing.assert_array_equal(loss.gradient(y_true, y_pred), grad)
    assert batches == [2 * 6] * 4


def test_central_differences_of_a_loss_on_3d_outputs_with_sparse_labels():
    rng = np.random.default_rng(3)
    labels, y_pred = rng.integers(0, 3, size=5), rng.normal(size=(5, 2, 3))

    def fn(t, p):  # per sample: mean over timesteps of the labelled channel, squared
        return np.mean(p[np.arange(len(p)), :, t.astype(int)] ** 2, axis=-1)

    grad = keras.losses.LossFunctionWrapper(fn).gradient(labels, y_pred)
    expected = np.zeros_like(y_pred)
    expected[np.arange(5), :, labels] = y_pred[np.arange(5), :, labels]  # d/dp of p^2 / 2
    np.testing.assert_allclose(grad, expected, rtol=1e-7, atol=1e-10)


def test_a_loss_returning_one_scalar_gets_the_gradient_of_that_scalar():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    loss = keras.losses.LossFunctionWrapper(lambda t, p: np.sum((p - t) ** 2))
    rows = y_pred.shape[0]
    grad = loss.gradient(y_true, y_pred, alpha=1.0 / rows)
    np.testing.assert_allclose(grad, 2 * (y_pred - y_true), rtol=1e-7)
    assert loss(y_true, y_pred) == pytest.approx(np.sum((y_pred - y_true) ** 2))


def test_a_gradient_attribute_replaces_finite_differences():
    calls = []

    def loss(y_true, y_pred):
        calls.append(1)
        return np.mean(np.square(y_pred - y_true), axis=-1)

    loss.gradient = lambda y_true, y_pred: 2 * (y_pred - y_true) / y_pred.shape[-1]
    model = xor_model(loss)
    model.fit(X, Y, epochs=3, verbose=0)
    assert len(calls) == 3  # one value per batch; no extra calls for the gradient


def test_custom_metric_function_is_reported_under_its_name():
    def doubled_error(y_true, y_pred):
        return 2 * np.abs(y_true - y_pred).mean(-1)

    model = xor_model("mse", metrics=["mae", doubled_error])
    history = model.fit(X, Y, epochs=2, verbose=0)
    assert list(history.history) == ["loss", "mae", "doubled_error"]
    np.testing.assert_allclose(history.history["doubled_error"],
                               2 * np.array(history.history["mae"]), rtol=1e-6)


def test_a_loss_written_with_keras_backend_ops_trains():
    K = keras.backend

    def backend_mse(y_true, y_pred):
        return K.mean(K.square(y_pred - y_true), axis=-1)

    custom, builtin = xor_model(backend_mse), xor_model("mse")
    h1 = custom.fit(X, Y, epochs=20, verbose=0)
    h2 = builtin.fit(X, Y, epochs=20, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)
    y_true, y_pred = K.variable([[0.0, 1.0]]), K.variable([[0.5, 0.5]])
    assert K.eval(keras.losses.mean_squared_error(y_true, y_pred)).tolist() == [0.25]
