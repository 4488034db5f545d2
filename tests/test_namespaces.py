"""``import pymodel as keras`` exposes Keras 2's namespaces and the names Keras code uses."""
import numpy as np
import pytest

import pymodel as keras


@pytest.mark.parametrize("path", [
    "models.Sequential", "models.model_from_json", "layers.Dense", "layers.Activation",
    "layers.Dropout", "layers.Flatten", "layers.InputLayer", "layers.Input",
    "activations.get", "activations.serialize", "activations.deserialize", "activations.relu",
    "losses.MeanSquaredError", "losses.get", "losses.mean_squared_error",
    "losses.categorical_crossentropy", "losses.binary_crossentropy",
    "metrics.accuracy", "metrics.binary_accuracy", "metrics.categorical_accuracy",
    "metrics.sparse_categorical_accuracy", "metrics.mae", "metrics.mse",
    "metrics.BinaryAccuracy", "metrics.MeanAbsoluteError",
    "optimizers.SGD", "optimizers.Adagrad", "optimizers.RMSprop", "optimizers.Adam",
    "optimizers.Adamax", "optimizers.Nadam", "optimizers.get", "optimizers.legacy.Adam",
    "optimizers.schedules.ExponentialDecay",
    "initializers.glorot_uniform", "initializers.glorot_normal", "initializers.he_normal",
    "initializers.he_uniform", "initializers.lecun_normal", "initializers.lecun_uniform",
    "initializers.random_normal", "initializers.random_uniform",
    "initializers.truncated_normal", "initializers.zeros", "initializers.ones",
    "initializers.constant", "initializers.orthogonal",
    "regularizers.l1", "regularizers.l2", "regularizers.l1_l2",
    "callbacks.Callback", "callbacks.History", "callbacks.CallbackList",
    "backend.clear_session", "backend.floatx", "backend.set_floatx", "backend.epsilon",
    "backend.get_value", "backend.set_value", "utils.set_random_seed", "utils.Progbar",
    "set_num_threads", "get_num_threads",
])
def test_keras_name_is_available(path):
    obj = keras
    for part in path.split("."):
        obj = getattr(obj, part)
    assert callable(obj)


def test_thread_count_is_settable_from_the_top_level():
    before = keras.get_num_threads()
    keras.set_num_threads(1)
    assert keras.get_num_threads() == 1
    keras.set_num_threads(before)


def test_floatx_and_epsilon_defaults_are_keras_ones():
    assert keras.backend.floatx() == "float32" and keras.backend.epsilon() == 1e-7
    with pytest.raises(ValueError):
        keras.backend.set_floatx("float16")


def test_regularizers_compute_keras_penalties():
    w = np.array([[1.0, -2.0]], np.float32)
    assert keras.regularizers.l1_l2(0.1, 0.2)(w) == pytest.approx(0.1 * 3 + 0.2 * 5)
    # tf-keras stores the factors in floatx: 0.01 reads back as float32(0.01)
    assert keras.regularizers.get("l2").get_config() == {"l2": float(np.float32(0.01))}
    assert keras.regularizers.get("l1_l2").get_config() == {"l1": float(np.float32(0.01)),
                                                             "l2": float(np.float32(0.01))}


def test_only_one_clipping_branch_applies():
    w1, w2 = np.array([3.0, 4.0], np.float32), np.array([3.0, 4.0], np.float32)
    keras.optimizers.SGD(1.0, clipnorm=1.0, clipvalue=0.1).apply_gradients(
        [(np.array([3.0, 4.0], np.float32), w1)])
    np.testing.assert_allclose(w1, [3 - 0.6, 4 - 0.8], rtol=1e-6)
    keras.optimizers.SGD(1.0, global_clipnorm=5.0).apply_gradients(
        [(np.array([30.0, 40.0], np.float32), w2)])
    np.testing.assert_allclose(w2, [0.0, 0.0], atol=1e-6)


def test_loss_weights_scale_the_loss():
    np.random.seed(0)
    model = keras.models.Sequential([keras.layers.Dense(1, input_dim=2)])
    x, y = np.ones((4, 2)), np.zeros((4, 1))
    model.compile(optimizer="sgd", loss="mse")
    plain = model.evaluate(x, y, verbose=0)
    model.compile(optimizer="sgd", loss="mse", loss_weights=[2.0])
    assert model.evaluate(x, y, verbose=0) == pytest.approx(2 * plain)


def test_results_answer_numpy_like_keras_tensors():
    assert keras.losses.mean_squared_error([[0., 1.]], [[1., 1.]]).numpy().tolist() == [0.5]
    assert float(keras.losses.MeanSquaredError()([[0., 1.]], [[1., 1.]]).numpy()) == 0.5
    assert keras.metrics.binary_accuracy([[1.0]], [[0.7]]).numpy().tolist() == [1.0]
    assert keras.activations.sigmoid(np.zeros((1, 2))).numpy().tolist() == [[0.5, 0.5]]


def test_to_categorical_one_hot_encodes_labels():
    np.testing.assert_array_equal(keras.utils.to_categorical([0, 2, 1]),
                                  [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert keras.utils.to_categorical(np.array([[1], [0]]), num_classes=3).shape == (2, 3)
