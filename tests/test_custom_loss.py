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
