"""The whole-network gradient the trainer computes equals finite differences of the Keras loss.

float64 throughout. The gradient is read from the layers after ``train_on_batch``
with ``SGD(learning_rate=0)`` (weights unchanged); the reference perturbs every
weight by +-h and re-evaluates ``test_on_batch`` (the same loss, regularization
included). A trailing ``Dropout(0.0)`` hides the output activation, which turns
Keras's logits shortcut off and checks the clipped-probability path too.
"""
import numpy as np
import pytest

import pymodel as keras
import gradcheck

RNG = np.random.default_rng(7)
X = RNG.normal(size=(6, 4))
LABELS = np.array([0, 2, 1, 2, 0, 1])
ONE_HOT = np.eye(3)[LABELS]
BINARY = (RNG.random((6, 3)) > 0.5).astype(float)
REAL = RNG.normal(size=(6, 3))
POSITIVE = RNG.random((6, 3)) + 0.1

CASES = {  # loss: (output activation, targets, hide activation behind Dropout(0))
    "mean_squared_error": ("linear", REAL, False),
    "mean_absolute_error": ("linear", REAL, False),
    "mean_absolute_percentage_error": ("linear", REAL, False),
    "mean_squared_logarithmic_error": ("softplus", POSITIVE, False),
    "huber": ("linear", REAL, False),
    "log_cosh": ("linear", REAL, False),
    "binary_crossentropy": ("sigmoid", BINARY, False),
    "binary_crossentropy/clipped": ("sigmoid", BINARY, True),
    "categorical_crossentropy": ("softmax", ONE_HOT, False),
    "categorical_crossentropy/clipped": ("softmax", ONE_HOT, True),
    "sparse_categorical_crossentropy": ("softmax", LABELS, False),
    "sparse_categorical_crossentropy/clipped": ("softmax", LABELS, True),
    "hinge": ("tanh", BINARY, False),
    "squared_hinge": ("tanh", BINARY, False),
    "kl_divergence": ("softmax", ONE_HOT * 0.8 + 0.2 / 3, False),
    "poisson": ("softplus", POSITIVE, False),
    "categorical_hinge": ("linear", ONE_HOT, False),
}


@pytest.fixture(autouse=True)
def float64():
    keras.backend.set_floatx("float64")
    yield
    keras.backend.set_floatx("float32")


def network(activation, hide, regularize=False):
    np.random.seed(3)
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(5, activation="tanh", input_dim=4,
                                 kernel_regularizer=keras.regularizers.l2(0.01) if regularize
                                 else None))
    model.add(keras.layers.Dense(6, activation="softplus",
                                 activity_regularizer=keras.regularizers.l1_l2(0.01, 0.02)
                                 if regularize else None))
    model.add(keras.layers.Dense(3, activation=activation))
    if hide:
        model.add(keras.layers.Dropout(0.0))
    return model


def assert_gradients_match(model, loss, y, sample_weight=None, x=X):
    gradcheck.assert_gradients_match(model, x, y, loss, sample_weight)


@pytest.mark.parametrize("case", sorted(CASES))
def test_network_gradient_matches_finite_differences_for_every_loss(case):
    activation, y, hide = CASES[case]
    assert_gradients_match(network(activation, hide), case.split("/")[0], y)


def test_gradient_with_sample_weights_and_regularizers_matches_finite_differences():
    weights = np.array([1.0, 0.0, 2.0, 0.5, 1.0, 3.0])
    assert_gradients_match(network("softmax", False, regularize=True),
                           "categorical_crossentropy", ONE_HOT, sample_weight=weights)


def test_every_kernel_loss_has_a_gradient_case():
    kinds = {"mse", "mae", "mape", "msle", "huber", "log_cosh", "bce", "cce", "scce", "hinge",
             "squared_hinge", "kld", "poisson", "categorical_hinge"}
    covered = {keras.losses.to_loss_object(case.split("/")[0]).kind for case in CASES}
    assert covered == kinds


def test_gradient_through_rank3_dense_and_flatten_matches_finite_differences():
    np.random.seed(4)
    model = keras.models.Sequential([
        keras.layers.Dense(3, activation="elu", input_shape=(2, 4)),
        keras.layers.Activation("sigmoid"), keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax")])
    assert_gradients_match(model, "categorical_crossentropy", ONE_HOT,
                           x=RNG.normal(size=(6, 2, 4)))


@pytest.mark.parametrize("loss, y", [("categorical_crossentropy", ONE_HOT),
                                     ("sparse_categorical_crossentropy", LABELS)])
def test_softmax_activation_layer_output_takes_the_logits_path_and_matches(loss, y):
    np.random.seed(5)
    model = keras.models.Sequential([keras.layers.Dense(5, activation="tanh", input_dim=4),
                                     keras.layers.Dense(3), keras.layers.Activation("softmax")])
    assert model.layers[-1].output_activation() == "softmax"
    assert_gradients_match(model, loss, y)
