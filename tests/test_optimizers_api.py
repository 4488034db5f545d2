"""Optimizers: tf-keras golden trajectories, learning-rate handling, config, state and resuming."""
import numpy as np
import pytest

import pymodel as keras
from pymodel import backend, layers, optimizers

W0 = [1.0, 2.0, -3.0]
GRADS = [[.5, -1, 2], [-.3, .2, 1], [1, 1, -1]]
GOLDEN = [  # KERAS2.md section 6, measured with tf-keras 2.15
    (lambda: optimizers.SGD(), [0.98800004, 1.9979999, -3.02]),
    (lambda: optimizers.SGD(0.1, momentum=.9), [0.8215, 2.133, -3.632]),
    (lambda: optimizers.SGD(0.1, .9, nesterov=True), [0.71935, 2.0997, -3.7688]),
    (lambda: optimizers.Adagrad(0.1), [0.877378, 2.0082557, -3.102565]),
    (lambda: optimizers.RMSprop(0.01), [0.95736766, 2.0018246, -3.032419]),
    (lambda: optimizers.RMSprop(0.01, momentum=.5, centered=True), [0.9376839, 2.0249214, -3.068343]),
    (lambda: optimizers.Adam(0.01), [0.9818203, 2.0134547, -3.0232887]),
    (lambda: optimizers.Adam(0.01, weight_decay=.1), [0.9788452, 2.0074356, -3.0142684]),
    (lambda: optimizers.Adam(0.01, clipnorm=1.0), [0.9870824, 2.0098455, -3.0244472]),
    (lambda: optimizers.Adam(0.01, clipvalue=.6), [0.98247087, 2.0118468, -3.0226197]),
]


def run(optimizer, steps=3):
    w = np.array(W0, np.float32)
    for g in GRADS[:steps]:
        optimizer.apply_gradients([(np.array(g, np.float32), w)])
    return w


@pytest.mark.parametrize("make, expected", GOLDEN)
def test_three_steps_land_on_tf_keras_golden_weights(make, expected):
    np.testing.assert_allclose(run(make()), expected, rtol=2e-6, atol=1e-6)


def test_legacy_adagrad_and_rmsprop_put_epsilon_outside_the_root():
    a = optimizers.legacy.Adagrad(0.1, initial_accumulator_value=0.0, epsilon=0.5)
    w = run(a, steps=1)
    g = np.array(GRADS[0])
    np.testing.assert_allclose(w, np.array(W0) - 0.1 * g / (np.abs(g) + 0.5), rtol=1e-6)
    assert not np.allclose(run(optimizers.Adagrad(0.1, 0.0, epsilon=0.5), steps=1), w)
    # Keras 2.10 reports the numbers as given until a step makes them float32 variables
    sgd = optimizers.legacy.SGD(0.1, momentum=0.9, decay=0.5)
    assert sgd.get_config() == {
        "name": "SGD", "learning_rate": 0.1, "decay": 0.5, "momentum": 0.9, "nesterov": False}
    w = np.ones(2, np.float32)
    sgd.apply_gradients([(np.ones(2, np.float32), w)])
    assert sgd.get_config() == {"name": "SGD", "learning_rate": float(np.float32(0.1)),
                                "decay": 0.5, "momentum": float(np.float32(0.9)),
                                "nesterov": False}


def test_get_resolves_names_and_rejects_unknown_ones():
    assert type(optimizers.get("sgd")).__name__ == "SGD"
    assert isinstance(optimizers.get("Adam"), optimizers.Adam)
    assert isinstance(optimizers.get("nadam"), optimizers.Nadam)
    with pytest.raises(ValueError, match="^Unknown optimizer: 'foo'"):
        optimizers.get("foo")
    with pytest.raises(ValueError, match="At most one of `clipnorm` and `global_clipnorm`"):
        optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match="decay is deprecated in the new TF-Keras optimizer"):
        optimizers.SGD(decay=0.1)


def test_adam_config_has_tf_keras_keys():
    assert optimizers.Adam().get_config() == {
        "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
        "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
        "ema_overwrite_frequency": None, "jit_compile": False, "is_legacy_optimizer": False,
        "learning_rate": pytest.approx(0.001), "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": False}
    clone = optimizers.deserialize(optimizers.serialize(optimizers.RMSprop(0.05, rho=0.8)))
    assert isinstance(clone, optimizers.RMSprop) and clone.rho == 0.8


def test_learning_rate_is_settable_through_attribute_alias_and_backend():
    opt = optimizers.SGD(learning_rate=0.5)
    assert float(opt.learning_rate) == 0.5 and opt.lr is opt.learning_rate
    opt.learning_rate = 0.25
    assert backend.get_value(opt.learning_rate) == np.float32(0.25)
    backend.set_value(opt.lr, 0.125)
    assert float(opt.learning_rate) == 0.125
    np.testing.assert_allclose(run(opt, steps=1), np.array(W0) - 0.125 * np.array(GRADS[0]),
                               rtol=1e-6)
    assert int(opt.iterations) == 1 and opt.iterations.numpy() == 1


def test_a_schedule_object_sets_the_rate_per_step():
    class Halving:
        def __call__(self, step):
            return 1.0 / 2 ** int(step)

        def get_config(self):
            return {}

    opt = optimizers.SGD(learning_rate=Halving())
    w = run(opt, steps=2)
    expected = np.array(W0) - 1.0 * np.array(GRADS[0]) - 0.5 * np.array(GRADS[1])
    np.testing.assert_allclose(w, expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adam", "adamax", "nadam"])
def test_state_round_trip_resumes_training_exactly(name):
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)

    def model(weights=None):
        keras.backend.clear_session()
        np.random.seed(0)
        m = keras.models.Sequential([layers.Dense(4, activation="tanh", input_dim=3),
                                     layers.Dense(1)])
        if weights is not None:
            m.set_weights(weights)
        m.compile(optimizer=optimizers.get(name), loss="mse")
        return m

    straight = model()
    straight.fit(x, y, batch_size=4, epochs=4, shuffle=False, verbose=0)
    first = model()
    first.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    state = first.optimizer.get_state()
    assert list(state)[0] == "iterations" and int(state["iterations"]) == 8
    resumed = model(first.get_weights())
    resumed.compile_from_config(first.get_compile_config())
    resumed.optimizer.set_state(state)
    resumed.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        assert np.array_equal(a, b)


def test_compile_config_round_trips_optimizer_loss_and_metrics():
    model = keras.models.Sequential([layers.Dense(1, input_dim=2)])
    model.compile(optimizer=optimizers.Adam(0.01, beta_1=0.8), loss="binary_crossentropy",
                  metrics=["accuracy"])
    config = model.get_compile_config()
    assert config["optimizer"]["class_name"] == "Adam" and config["loss"] == "binary_crossentropy"
    other = keras.models.Sequential([layers.Dense(1, input_dim=2)])
    other.compile_from_config(config)
    assert other.optimizer.beta_1 == 0.8 and other.loss == "binary_crossentropy"
    assert other.get_compile_config() == config


def test_keras_schedules_drive_the_rate_and_survive_the_config():
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = optimizers.SGD(learning_rate=schedule)
    w = run(opt, steps=2)
    expected = np.array(W0) - 0.1 * np.array(GRADS[0]) - 0.05 * np.array(GRADS[1])
    np.testing.assert_allclose(w, expected, rtol=1e-6)
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "ExponentialDecay"
    clone = optimizers.SGD.from_config(config)
    assert isinstance(clone.learning_rate, optimizers.schedules.ExponentialDecay)
