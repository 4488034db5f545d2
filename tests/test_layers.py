"""Layers: Keras 2 arguments, errors, names, weights, configs and forward values."""
import numpy as np
import pytest

import pymodel as keras
from pymodel import layers


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()


def test_automatic_names_count_per_class_and_explicit_names_take_no_number():
    names = [layers.Dense(1).name, layers.Dense(1).name, layers.Dense(1, name="dense_5").name,
             layers.Dense(1).name, layers.Dropout(0.1).name, layers.Activation("relu").name,
             layers.Flatten().name]
    assert names == ["dense", "dense_1", "dense_5", "dense_2", "dropout", "activation", "flatten"]
    keras.backend.clear_session()
    assert layers.Dense(1).name == "dense"
    assert keras.models.Sequential().name == "sequential"


def test_input_layers_are_named_from_one():
    assert [layers.InputLayer(input_shape=(2,)).name, layers.Input(shape=(3,)).name] == \
        ["input_1", "input_2"]


def test_unknown_keyword_argument_raises_keras_type_error():
    with pytest.raises(TypeError) as info:
        layers.Dense(3, foo=1)
    assert info.value.args == ("Keyword argument not understood:", "foo")


@pytest.mark.parametrize("make, message", [
    (lambda: layers.Dense(-3), "Received an invalid value for `units`, expected a positive "
                               "integer. Received: units=-3"),
    (lambda: layers.Activation("foo"), "Unknown activation function 'foo' cannot be deserialized."),
    (lambda: layers.Dropout(1.5), "Invalid value 1.5 received for `rate`, expected a value "
                                  "between 0 and 1."),
    (lambda: layers.InputLayer(input_shape=(2,), batch_input_shape=(None, 2)),
     "Only provide the input_shape OR batch_input_shape argument to InputLayer, not both at the "
     "same time."),
    (lambda: layers.Input(), "Please provide to Input a `shape` or a `tensor` or a `type_spec` "
                             "argument. Note that `shape` does not include the batch dimension."),
])
def test_bad_arguments_raise_keras_value_errors(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == message


def test_shape_keywords_become_batch_input_shape():
    assert layers.Dense(2, input_dim=3)._batch_input_shape == (None, 3)
    assert layers.Dense(2, input_shape=(4,), batch_size=8)._batch_input_shape == (8, 4)
    assert layers.Dense(2, input_shape=(4,), batch_input_shape=(2, 5))._batch_input_shape == (2, 5)


def test_dense_computes_activation_of_x_w_plus_b_on_the_last_axis():
    dense = layers.Dense(3, activation="tanh")
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    y = dense(x)
    kernel, bias = dense.get_weights()
    assert kernel.shape == (4, 3) and bias.shape == (3,)
    assert y.shape == (2, 5, 3) and y.dtype == np.float32
    np.testing.assert_allclose(y, np.tanh(np.tensordot(x, kernel, 1) + bias), rtol=1e-5, atol=1e-6)


def test_dense_weights_have_keras_names_and_count():
    dense = layers.Dense(4, use_bias=True)
    dense(np.zeros((1, 3)))
    assert [w.name for w in dense.weights] == ["dense/kernel:0", "dense/bias:0"]
    assert dense.count_params() == 16
    no_bias = layers.Dense(2, use_bias=False)
    no_bias(np.zeros((1, 3)))
    assert [w.name for w in no_bias.weights] == ["dense_1/kernel:0"]


def test_set_weights_checks_count_and_shapes_and_copies_in_place():
    dense = layers.Dense(2)
    dense(np.zeros((1, 3)))
    kernel = dense.weights[0]
    dense.set_weights([np.ones((3, 2)), np.full(2, 0.5)])
    assert dense.weights[0] is kernel and np.all(kernel == 1)
    with pytest.raises(ValueError, match=r"weight shape \(3, 2\) is not compatible"):
        dense.set_weights([np.ones((2, 2)), np.zeros(2)])
    with pytest.raises(ValueError, match="expecting 2 weights"):
        dense.set_weights([np.ones((3, 2))])
    returned = dense.get_weights()
    returned[0][...] = 7
    assert np.all(dense.get_weights()[0] == 1)


def test_non_trainable_layer_moves_its_weights():
    dense = layers.Dense(2, trainable=False)
    dense(np.zeros((1, 3)))
    assert dense.trainable_weights == [] and len(dense.non_trainable_weights) == 2


def test_dropout_is_inverted_while_training_and_identity_otherwise():
    dropout = layers.Dropout(0.5, seed=3)
    x = np.ones((50, 40), np.float32)
    y = dropout(x, training=True)
    assert set(np.unique(y)) == {0.0, 2.0}
    assert 0.4 < np.mean(y == 0) < 0.6
    assert np.array_equal(dropout(x, training=False), x)
    assert np.array_equal(layers.Dropout(0.5, seed=3)(x, training=True), y)


def test_flatten_reshapes_and_reports_channels_last():
    flatten = layers.Flatten()
    assert flatten(np.zeros((2, 3, 4))).shape == (2, 12)
    assert flatten.compute_output_shape((None, 3, 4)) == (None, 12)
    assert flatten.get_config()["data_format"] == "channels_last"


@pytest.mark.parametrize("layer", [
    lambda: layers.Dense(3, activation="relu", use_bias=False, input_dim=2,
                         kernel_initializer="he_normal",
                         kernel_regularizer=keras.regularizers.l2(0.1)),
    lambda: layers.Activation("softmax"),
    lambda: layers.Dropout(0.3, seed=5),
    lambda: layers.Flatten(),
    lambda: layers.InputLayer(input_shape=(3,)),
])
def test_layer_config_round_trips(layer):
    original = layer()
    config = original.get_config()
    clone = type(original).from_config(config)
    assert clone.get_config() == config
    assert layers.deserialize(layers.serialize(original)).get_config() == config


def test_dense_config_has_keras_keys_in_keras_order():
    config = layers.Dense(4, input_dim=3).get_config()
    assert list(config) == ["name", "trainable", "dtype", "batch_input_shape", "units",
                            "activation", "use_bias", "kernel_initializer", "bias_initializer",
                            "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                            "kernel_constraint", "bias_constraint"]
    assert config["activation"] == "linear"
    assert config["kernel_initializer"] == {"class_name": "GlorotUniform", "config": {"seed": None}}


def test_activation_functions_match_keras_values():
    x = np.array([[-3, -1, 0, 0.5, 1, 3, 7]], np.float32)
    a = keras.activations
    np.testing.assert_allclose(a.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-6)
    np.testing.assert_allclose(a.hard_sigmoid(x), [[0, .3, .5, .6, .7, 1, 1]], atol=1e-7)
    np.testing.assert_allclose(a.relu(x, alpha=.1, max_value=5, threshold=.5),
                               [[-.35, -.15, -.05, 0, 1, 3, 5]], atol=1e-6)
    np.testing.assert_allclose(a.get("leaky_relu")(x), [[-.6, -.2, 0, .5, 1, 3, 7]], atol=1e-6)
    np.testing.assert_allclose(a.softmax(np.array([[1., 2., 3.]])),
                               [[.09003057, .24472848, .6652409]], rtol=1e-6)
    with pytest.raises(ValueError, match="1D"):
        a.softmax(np.array([1.0, 2.0]))
    assert a.serialize(a.get("relu")) == "relu" and a.get(None) is a.linear
    assert a.deserialize("swish") is a.swish


def test_glorot_and_he_initializers_have_keras_statistics():
    rng = np.random.default_rng(0)
    w = keras.initializers.GlorotUniform()((400, 600), rng=rng)
    assert abs(w.max()) <= np.sqrt(6 / 1000) and abs(w.std() - 0.04473) < 1e-3
    w = keras.initializers.get("he_normal")((400, 600), rng=rng)
    assert abs(w.std() - 0.07055) < 2e-3 and abs(w).max() <= 2 * np.sqrt(2 / 400) / .8796 + 1e-6
    seeded = keras.initializers.RandomNormal(seed=3)
    assert np.array_equal(seeded((3, 3)), seeded((3, 3)))
    q = keras.initializers.Orthogonal()((5, 5), rng=rng)
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=1e-5)
