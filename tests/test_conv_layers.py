"""Convolution, pooling and reshaping layers: Keras's shapes, configs, names and errors; exact gradients.

Gradients are checked in float64 through the training plan: ``train_on_batch``
with ``SGD(learning_rate=0)`` fills every layer's gradients, which must equal
central finite differences of ``test_on_batch``. Each layer under test sits
after a layer with weights, so its backward pass (dx) is exercised too.
"""
import json
import pathlib

import numpy as np
import pytest
import gradcheck
from pymodel_process import run_pymodel

import pymodel as keras

L = keras.layers
RNG = np.random.default_rng(11)


@pytest.fixture
def float64():
    keras.backend.set_floatx("float64")
    yield
    keras.backend.set_floatx("float32")


def assert_gradients_match(model, x, loss="mse", y=None):
    np.random.seed(0)
    y = RNG.normal(size=(x.shape[0],) + tuple(model.output_shape[1:])) if y is None else y
    gradcheck.assert_gradients_match(model, x, y, loss)


def conv2d_front(shape=(6, 7, 2), filters=2):
    return L.Conv2D(filters, 2, activation="tanh", input_shape=shape)


def conv1d_front(shape=(9, 2), filters=3):
    return L.Conv1D(filters, 2, activation="tanh", input_shape=shape)


GRADIENT_CASES = {
    "Conv2D valid, rectangular kernel": lambda: [
        L.Conv2D(3, (2, 3), activation="tanh", input_shape=(5, 6, 2)), L.Flatten(), L.Dense(2)],
    "Conv2D same, strides 2, regularized": lambda: [
        conv2d_front(), L.Conv2D(3, 3, strides=2, padding="same", kernel_regularizer="l2",
                                 bias_regularizer=keras.regularizers.l1(0.01),
                                 activity_regularizer=keras.regularizers.l2(0.01)),
        L.Flatten(), L.Dense(2)],
    "Conv2D same, dilation 2, no bias, sigmoid": lambda: [
        conv2d_front(), L.Conv2D(2, 2, dilation_rate=2, padding="same", use_bias=False,
                                 activation="sigmoid"), L.Flatten(), L.Dense(2)],
    "Conv1D causal, dilation 2": lambda: [
        conv1d_front(), L.Conv1D(2, 3, padding="causal", dilation_rate=2, activation="elu"),
        L.Flatten(), L.Dense(2)],
    "Conv1D same, strides 2": lambda: [
        conv1d_front(), L.Conv1D(2, 3, strides=2, padding="same"), L.Flatten(), L.Dense(1)],
    "MaxPooling2D same": lambda: [conv2d_front(), L.MaxPooling2D(padding="same"), L.Flatten(), L.Dense(2)],
    "AveragePooling2D same, strides (1, 2)": lambda: [
        conv2d_front(), L.AveragePooling2D((2, 3), strides=(1, 2), padding="same"), L.Flatten(), L.Dense(2)],
    "MaxPooling1D strides 1": lambda: [conv1d_front(), L.MaxPooling1D(3, strides=1), L.Flatten(), L.Dense(2)],
    "AveragePooling1D same": lambda: [conv1d_front(), L.AveragePooling1D(padding="same"), L.Flatten(), L.Dense(2)],
    "GlobalMaxPooling2D": lambda: [conv2d_front(filters=3), L.GlobalMaxPooling2D(), L.Dense(2)],
    "GlobalAveragePooling2D keepdims": lambda: [
        conv2d_front(filters=3), L.GlobalAveragePooling2D(keepdims=True), L.Flatten(), L.Dense(2)],
    "GlobalMaxPooling1D keepdims": lambda: [
        conv1d_front(), L.GlobalMaxPooling1D(keepdims=True), L.Flatten(), L.Dense(2)],
    "GlobalAveragePooling1D": lambda: [conv1d_front(), L.GlobalAveragePooling1D(), L.Dense(2)],
    "Reshape with -1": lambda: [
        L.Dense(12, activation="tanh", input_dim=4), L.Reshape((3, -1, 2)), L.Conv2D(2, 2), L.Flatten(),
        L.Dense(2)],
    "ZeroPadding2D asymmetric": lambda: [
        conv2d_front(), L.ZeroPadding2D(((1, 2), (0, 1))), L.Conv2D(2, 3, activation="tanh"), L.Flatten(),
        L.Dense(2)],
}


@pytest.mark.parametrize("case", GRADIENT_CASES)
def test_layer_gradient_through_the_training_plan_matches_finite_differences(case, float64):
    np.random.seed(1)
    model = keras.models.Sequential(GRADIENT_CASES[case]())
    in_shape = model.layers[0]._batch_input_shape[1:]
    assert_gradients_match(model, RNG.normal(size=(5,) + in_shape))


def test_softmax_head_after_convolution_takes_the_logits_path_and_matches(float64):
    np.random.seed(2)
    model = keras.models.Sequential([conv1d_front(), L.MaxPooling1D(), L.Conv1D(3, 2),
                                     L.GlobalAveragePooling1D(), L.Dense(3, activation="softmax")])
    assert_gradients_match(model, RNG.normal(size=(6, 9, 2)), "sparse_categorical_crossentropy",
                           np.array([0, 2, 1, 1, 0, 2]))


def test_conv2d_with_softmax_output_uses_its_pre_activation_as_logits(float64):
    np.random.seed(3)
    model = keras.models.Sequential([L.Conv2D(3, 3, input_shape=(3, 3, 2)), L.Flatten(),
                                     L.Activation("linear"), L.Reshape((1, 1, 3)),
                                     L.Conv2D(4, 1, activation="softmax")])
    assert model.layers[-1].output_activation() == "softmax"
    y = np.eye(4)[[0, 3, 1, 2]].reshape(4, 1, 1, 4)
    assert_gradients_match(model, RNG.normal(size=(4, 3, 3, 2)), "categorical_crossentropy", y)


def numpy_conv2d(x, k, b, strides, pads):
    """float64 reference: zero-pad (top, bottom, left, right), then correlate."""
    (sh, sw), (t, bo, le, r) = strides, pads
    xp = np.pad(x, ((0, 0), (t, bo), (le, r), (0, 0)))
    kh, kw = k.shape[:2]
    oh, ow = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    out = np.empty((x.shape[0], oh, ow, k.shape[3]))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            out[:, i, j] = np.tensordot(win, k, axes=([1, 2, 3], [0, 1, 2])) + b
    return out


def test_conv2d_same_puts_the_odd_extra_pad_at_the_end_as_tensorflow_does(float64):
    layer = L.Conv2D(3, (4, 3), strides=(2, 2), padding="same")
    x = RNG.normal(size=(2, 7, 6, 2))
    x_before = x.copy()
    y = layer(x)
    k, b = layer.get_weights()
    # rows: out 4, total pad (4-1)*2+4-7 = 3 -> 1 before, 2 after; cols: out 3, (3-1)*2+3-6 = 1 -> 0, 1.
    np.testing.assert_allclose(y, numpy_conv2d(x, k, b, (2, 2), (1, 2, 0, 1)), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(x, x_before)


def test_pooling_forward_matches_numpy_windows(float64):
    x = RNG.normal(size=(2, 5, 5, 3))
    np.testing.assert_allclose(L.MaxPooling2D()(x), x[:, :4, :4].reshape(2, 2, 2, 2, 2, 3).max(axis=(2, 4)))
    # 'same' with a 5-wide input and pool 2: the last window holds one real cell; the mean counts only it.
    avg = L.AveragePooling2D(padding="same")(x)
    assert avg.shape == (2, 3, 3, 3)
    np.testing.assert_allclose(avg[:, 2, 2], x[:, 4, 4], rtol=1e-12)
    np.testing.assert_allclose(avg[:, 0, 0], x[:, :2, :2].mean(axis=(1, 2)), rtol=1e-12)


def test_reshape_and_zero_padding_forward_match_numpy():
    x = RNG.normal(size=(3, 24)).astype(np.float32)
    np.testing.assert_array_equal(L.Reshape((2, -1, 3))(x), x.reshape(3, 2, 4, 3))
    img = RNG.normal(size=(2, 3, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(L.ZeroPadding2D(((1, 0), (2, 1)))(img),
                                  np.pad(img, ((0, 0), (1, 0), (2, 1), (0, 0))))


# Keras 2.12's get_config for default-constructed layers (tf-keras 2.21 output minus the 2.13+ keys).
GLOROT = {"class_name": "GlorotUniform", "config": {"seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}
CONV_REST = {"groups": 1, "activation": "linear", "use_bias": True, "kernel_initializer": GLOROT,
             "bias_initializer": ZEROS, "kernel_regularizer": None, "bias_regularizer": None,
             "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
BASE = {"trainable": True, "dtype": "float32"}
KERAS_CONFIGS = [
    (lambda: L.Conv2D(4, 3, input_shape=(8, 8, 1)),
     {"name": "conv2d", **BASE, "batch_input_shape": [None, 8, 8, 1], "filters": 4, "kernel_size": [3, 3],
      "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1],
      **CONV_REST}),
    (lambda: L.Conv1D(3, 2, input_shape=(10, 2)),
     {"name": "conv1d", **BASE, "batch_input_shape": [None, 10, 2], "filters": 3, "kernel_size": [2],
      "strides": [1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1], **CONV_REST}),
    (lambda: L.MaxPooling2D(),
     {"name": "max_pooling2d", **BASE, "pool_size": [2, 2], "padding": "valid", "strides": [2, 2],
      "data_format": "channels_last"}),
    (lambda: L.AveragePooling2D(),
     {"name": "average_pooling2d", **BASE, "pool_size": [2, 2], "padding": "valid", "strides": [2, 2],
      "data_format": "channels_last"}),
    (lambda: L.MaxPooling1D(),
     {"name": "max_pooling1d", **BASE, "strides": [2], "pool_size": [2], "padding": "valid",
      "data_format": "channels_last"}),
    (lambda: L.AveragePooling1D(),
     {"name": "average_pooling1d", **BASE, "strides": [2], "pool_size": [2], "padding": "valid",
      "data_format": "channels_last"}),
    (lambda: L.GlobalAveragePooling2D(),
     {"name": "global_average_pooling2d", **BASE, "data_format": "channels_last", "keepdims": False}),
    (lambda: L.GlobalMaxPooling2D(),
     {"name": "global_max_pooling2d", **BASE, "data_format": "channels_last", "keepdims": False}),
    (lambda: L.GlobalAveragePooling1D(),
     {"name": "global_average_pooling1d", **BASE, "data_format": "channels_last", "keepdims": False}),
    (lambda: L.GlobalMaxPooling1D(keepdims=True),
     {"name": "global_max_pooling1d", **BASE, "data_format": "channels_last", "keepdims": True}),
    (lambda: L.Reshape((8, 8, 1)), {"name": "reshape", **BASE, "target_shape": [8, 8, 1]}),
    (lambda: L.ZeroPadding2D(),
     {"name": "zero_padding2d", **BASE, "padding": [[1, 1], [1, 1]], "data_format": "channels_last"}),
    (lambda: L.Conv2D(2, (3, 3), padding="same", strides=2),
     {"name": "conv2d_1", **BASE, "filters": 2, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
      "data_format": "channels_last", "dilation_rate": [1, 1], **CONV_REST}),
]


def test_default_configs_and_automatic_names_are_keras_ones():
    keras.backend.clear_session()
    for make, expected in KERAS_CONFIGS:
        layer = make()
        assert json.loads(json.dumps(layer.get_config())) == expected
        assert list(layer.get_config()) == list(expected)  # same key order as Keras writes


def test_every_new_layer_round_trips_through_its_config():
    keras.backend.clear_session()
    for make, _ in KERAS_CONFIGS:
        layer = make()
        config = json.loads(json.dumps(layer.get_config()))
        again = keras.layers.deserialize({"class_name": type(layer).__name__, "config": config})
        assert json.loads(json.dumps(again.get_config())) == config


def test_weight_shapes_and_parameter_counts_are_keras_ones():
    keras.backend.clear_session()
    model = keras.models.Sequential([L.Conv2D(6, 5, input_shape=(28, 28, 3)), L.MaxPooling2D(),
                                     L.Conv2D(16, (3, 2), use_bias=False)])
    assert [w.shape for w in model.get_weights()] == [(5, 5, 3, 6), (6,), (3, 2, 6, 16)]
    assert [layer.count_params() for layer in model.layers] == [456, 0, 576]
    assert model.output_shape == (None, 10, 11, 16)
    assert [w.name for w in model.weights][:2] == ["conv2d/kernel:0", "conv2d/bias:0"]
    conv1 = keras.models.Sequential([L.Conv1D(4, 3, input_shape=(10, 6))])
    assert [w.shape for w in conv1.get_weights()] == [(3, 6, 4), (4,)]


def test_conv_kernel_initializer_fans_use_the_receptive_field():
    np.random.seed(0)
    layer = L.Conv2D(64, 5, kernel_initializer="glorot_uniform")
    layer(np.zeros((1, 9, 9, 32), np.float32))
    kernel = layer.get_weights()[0]
    limit = np.sqrt(6 / (25 * 32 + 25 * 64))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.99 * limit
    he = L.Conv1D(200, 4, kernel_initializer="he_uniform")
    he(np.zeros((1, 6, 50), np.float32))
    assert np.abs(he.get_weights()[0]).max() == pytest.approx(np.sqrt(6 / (4 * 50)), rel=0.02)


KERAS_ERRORS = [
    (lambda: L.Conv2D(2, 3, strides=2, dilation_rate=2),
     ("`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: strides=(2, 2) and "
     "dilation_rate=(2, 2)")),
    (lambda: L.Conv1D(2, 3, padding="causal", strides=2, dilation_rate=2),
     ("`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: strides=(2,) and "
     "dilation_rate=(2,)")),
    (lambda: L.Conv2D(0, 3),
     "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0."),
    (lambda: L.Conv2D(2, 0),
     ("The `kernel_size` argument must be a tuple of 2 integers. Received: 0 including {0} that does not "
     "satisfy the requirement `> 0`.")),
    (lambda: L.Conv2D(2, (2, 2, 2)),
     "The `kernel_size` argument must be a tuple of 2 integers. Received: (2, 2, 2)"),
    (lambda: L.Conv1D(2, 3, padding="causal2"),
     ('The `padding` argument must be a list/tuple or one of "valid", "same" (or "causal", only for '
     "`Conv1D). Received: causal2")),
    (lambda: L.Conv2D(2, 3, padding="causal"),
     "Causal padding is only supported for `Conv1D`and `SeparableConv1D`."),
    (lambda: L.Conv2D(2, 3, strides=0), "The argument `strides` cannot contains 0(s). Received: (0, 0)"),
    (lambda: L.MaxPooling2D(0),
     ("The `pool_size` argument must be a tuple of 2 integers. Received: 0 including {0} that does not "
     "satisfy the requirement `> 0`.")),
    (lambda: L.ZeroPadding2D((1, 2, 3)), "`padding` should have two elements. Received: (1, 2, 3)."),
    (lambda: keras.models.Sequential([L.Conv2D(2, 5, input_shape=(3, 3, 1), name="c")]),
     ("One of the dimensions in the output is <= 0 due to downsampling in c. Consider increasing the input "
     "size. Received input shape [None, 3, 3, 1] which would produce output shape with a zero or negative "
     "value in a dimension.")),
    (lambda: keras.models.Sequential([L.Reshape((5, 5), input_shape=(8,))]),
     "total size of new array must be unchanged, input_shape = [8], output_shape = [5, 5]"),
    (lambda: keras.models.Sequential([L.Conv2D(2, 3, input_shape=(8, 8), name="c")]),
     ('Input 0 of layer "c" is incompatible with the layer: expected min_ndim=4, found ndim=3. '
     "Full shape received: (None, 8, 8)")),
]


@pytest.mark.parametrize("make, message", KERAS_ERRORS)
def test_bad_arguments_raise_keras_errors(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == message


def test_pooling_larger_than_its_input_is_refused_naming_layer_and_shapes():
    with pytest.raises(ValueError, match=r"\(2, 2\).*\(None, 1, 5, 3\).*'pool'"):
        keras.models.Sequential([L.MaxPooling2D(input_shape=(1, 5, 3), name="pool")])


def test_training_reuses_the_plan_buffers_across_batches():
    np.random.seed(4)
    model = keras.models.Sequential([L.Conv2D(2, 3, activation="relu", input_shape=(6, 6, 1)),
                                     L.MaxPooling2D(), L.Flatten(), L.Dense(2)])
    model.compile("sgd", "mse")
    x, y = RNG.normal(size=(10, 6, 6, 1)), RNG.normal(size=(10, 2))
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    step = model._step(4, x.shape[1:], y.shape[1:])
    arrays = [v for buf in step.plan._full for v in buf.values() if isinstance(v, np.ndarray)]
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=True)
    assert model._step(4, x.shape[1:], y.shape[1:]) is step
    assert [v for buf in step.plan._full for v in buf.values() if isinstance(v, np.ndarray)] == arrays
    assert np.shares_memory(step.plan.outputs[0], step.plan._full[0]["y"])
    assert np.shares_memory(step.plan.outputs[1], step.plan._full[1]["y"])


# ---------------------------------------------------------------- JSON specs

def conv_spec(layers):
    return {"format": "pymodel.spec/1", "model": {"layers": layers}}


def test_spec_compiler_infers_convolution_and_pooling_shapes():
    from pymodel import compiler
    graph = compiler.build_graph(conv_spec([
        {"type": "Reshape", "target_shape": [8, 8, 1], "input_shape": [64]},
        {"type": "ZeroPadding2D", "padding": [[1, 0], [2, 1]]},
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPooling2D"},
        {"type": "Conv2D", "filters": 6, "kernel_size": [3, 3], "padding": "same", "strides": 2},
        {"type": "GlobalAveragePooling2D", "keepdims": True},
        {"type": "Flatten"}, {"type": "Dense", "units": 10, "activation": "softmax"}]))
    assert [n.out_shape for n in graph.nodes] == [(8, 8, 1), (9, 11, 1), (7, 9, 4), (3, 4, 4), (2, 2, 6),
                                                 (1, 1, 6), (6,), (10,)]
    assert [n.name for n in graph.nodes][:5] == ["reshape", "zero_padding2d", "conv2d", "max_pooling2d",
                                                 "conv2d_1"]
    graph = compiler.build_graph(conv_spec([
        {"type": "Conv1D", "filters": 3, "kernel_size": 3, "padding": "causal", "input_shape": [10, 2]},
        {"type": "AveragePooling1D", "padding": "same", "pool_size": 3}, {"type": "GlobalMaxPooling1D"}]))
    assert [n.out_shape for n in graph.nodes] == [(10, 3), (4, 3), (3,)]


def test_spec_with_a_kernel_larger_than_its_input_fails_naming_the_layer_and_shapes():
    from pymodel import compiler
    from pymodel.spec import SpecError
    spec = conv_spec([{"type": "Conv2D", "filters": 2, "kernel_size": 3, "input_shape": [6, 6, 1]},
                      {"type": "MaxPooling2D", "pool_size": 2},
                      {"type": "Conv2D", "filters": 2, "kernel_size": 3}])
    with pytest.raises(SpecError) as info:
        compiler.build_graph(spec)
    text = str(info.value)
    assert "/model/layers/2" in text and "'conv2d_1' (Conv2D)" in text and "(None, 2, 2, 2)" in text
    assert "kernel_size=(3, 3)" in text


def test_schema_rejects_bad_convolution_arguments_at_their_path():
    from pymodel.spec import SpecError, validate
    for layer, where in [({"type": "Conv2D", "filters": 0, "kernel_size": 3, "input_shape": [5, 5, 1]}, "filters"),
                         ({"type": "Conv2D", "filters": 2, "kernel_size": [3, 3, 3], "input_shape": [5, 5, 1]},
                          "kernel_size"),
                         ({"type": "MaxPooling2D", "padding": "full", "input_shape": [5, 5, 1]}, "padding"),
                         ({"type": "Conv2D", "filters": 2, "input_shape": [5, 5, 1]}, "kernel_size")]:
        with pytest.raises(SpecError) as info:
            validate(conv_spec([layer]))
        assert where in str(info.value)


def test_keras_to_json_documents_with_convolutions_load_as_specs():
    from pymodel import compiler
    fixtures = pathlib.Path(__file__).parent / "fixtures" / "keras_cnn"
    for path in sorted(fixtures.glob("*.json")):
        case = json.loads(path.read_text())
        keras.backend.clear_session()
        spec = {"format": "pymodel.spec/1", "model": json.loads(case["expected"]["to_json"])}
        model = compiler.from_spec(spec)
        assert [w.shape for w in model.get_weights()] == [np.shape(w) for w in case["initial_weights"]]
        model.set_weights([np.asarray(w, np.float32) for w in case["initial_weights"]])
        np.testing.assert_allclose(model.predict(np.asarray(case["X"], np.float32), verbose=0),
                                   case["expected"]["predictions_initial"], rtol=1e-4, atol=1e-5)


def test_digits_cnn_example_reaches_95_percent_on_held_out_digits_through_the_cli(tmp_path, monkeypatch):
    # One thread: the tiny GEMMs of this network gain nothing from a second one on a shared machine.
    monkeypatch.setenv("PYMODEL_NUM_THREADS", "1")
    spec = pathlib.Path(__file__).parent.parent / "examples" / "digits_cnn.json"
    res = run_pymodel("run", spec, "--output-dir", tmp_path, "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.95
    predictions = np.loadtxt(tmp_path / "predictions.csv", delimiter=",", skiprows=1)
    labels = np.loadtxt(spec.parent / "data" / "digits" / "test.csv", delimiter=",", skiprows=1)[:, -1]
    assert predictions.shape == (len(labels), 10)
    assert np.mean(predictions.argmax(axis=1) == labels) == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)


def test_convolutional_model_saves_loads_and_keeps_training(tmp_path):
    np.random.seed(6)
    model = keras.models.Sequential([L.Reshape((6, 6, 1), input_shape=(36,)), L.ZeroPadding2D(),
                                     L.Conv2D(3, 3, activation="relu"), L.MaxPooling2D(),
                                     L.GlobalAveragePooling2D(), L.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = RNG.random((8, 36)).astype(np.float32), RNG.integers(0, 2, 8)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "cnn.pmz")
    again = keras.models.load_model(tmp_path / "cnn.pmz")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert again.to_json() == model.to_json()
    again.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(again.get_weights()[0], model.get_weights()[0])


def test_model_from_json_rebuilds_keras_convolutional_documents():
    path = pathlib.Path(__file__).parent / "fixtures" / "keras_cnn" / "cnn2d_reshape_pad_flatten.json"
    case = json.loads(path.read_text())
    keras.backend.clear_session()
    model = keras.models.model_from_json(case["expected"]["to_json"])
    assert [type(layer).__name__ for layer in model.layers] == [e["class"] for e in case["model"]["layers"]]
    assert model.output_shape == (None, 2)
    theirs = json.loads(case["expected"]["to_json"])
    ours = json.loads(model.to_json())
    assert ours["config"] == theirs["config"]


def test_conv_and_pool_steps_give_the_same_bits_on_one_or_two_threads():
    from pymodel._native import gemm
    np.random.seed(8)
    model = keras.models.Sequential([L.Conv2D(6, 5, activation="relu", input_shape=(28, 28, 1)),
                                     L.MaxPooling2D(), L.Conv2D(4, 3), L.Flatten(), L.Dense(3)])
    model.compile("sgd", "mse")
    x, y = RNG.random((16, 28, 28, 1)).astype(np.float32), RNG.normal(size=(16, 3))
    start, threads = model.get_weights(), gemm.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            gemm.set_num_threads(n)
            model.set_weights(start)
            model.train_on_batch(x, y)
            results.append([model.predict(x, verbose=0)] + model.get_weights())
    finally:
        gemm.set_num_threads(threads)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
