"""Bad input through the Python API and the command line: the right exception and a message that says what is wrong.

Each row of a table is one mistake a user can make; the test asserts the
exception type and the key words of its message (Keras's wording where tf-keras
has one, KERAS2.md sections 2 and 4).
"""
import json

import numpy as np
import pytest

import pymodel as keras
from pymodel import layers
from pymodel.errors import ResourceLimitError
from pymodel_process import run_pymodel

X = np.arange(12, dtype="float32").reshape(4, 3) / 10
Y = np.array([[0.], [1.], [1.], [0.]], dtype="float32")


def model(units=1, activation=None, loss="mse", compiled=True, metrics=None):
    m = keras.Sequential([layers.Dense(units, activation=activation, input_shape=(3,))])
    if compiled:
        m.compile("sgd", loss, metrics=metrics)
    return m


def classifier(loss):
    return model(3, "softmax", loss)


def fit(**kwargs):
    args = {"x": X, "y": Y, "verbose": 0, **kwargs}
    return lambda: model().fit(**args)


def with_value(shape, index, value):
    a = np.ones(shape)
    a[index] = value
    return a


BAD = {
    # name: (call, exception type, words the message must contain)
    "x and y sample counts differ": (fit(y=Y[:3]), ValueError,
                                     ["x sizes: 4", "y sizes: 3", "same number of samples"]),
    "sample_weight count differs": (fit(sample_weight=np.ones(3)), ValueError,
                                    ["sample_weight sizes: 3", "same number of samples"]),
    "feature count differs from the first layer": (
        fit(x=np.ones((4, 5))), ValueError,
        ['Input 0 of layer "sequential', "expected shape=(None, 3)", "found shape=(None, 5)"]),
    "x has the wrong rank": (fit(x=np.ones((4, 3, 2))), ValueError,
                             ["expected shape=(None, 3)", "found shape=(None, 3, 2)"]),
    "y has more columns than outputs": (fit(y=np.ones((4, 2))), ValueError,
                                        ["`y`", "expected shape=(None, 1)", "found shape=(None, 2)"]),
    "one-hot width differs from the outputs": (
        lambda: classifier("categorical_crossentropy").fit(X, np.eye(4), verbose=0), ValueError,
        ["4 columns", "3 outputs", "one-hot"]),
    "sparse label above the class count": (
        lambda: classifier("sparse_categorical_crossentropy").fit(X, [0, 1, 3, 2], verbose=0),
        ValueError, ["[0, 3)", "y[2]=3"]),
    "negative sparse label": (
        lambda: classifier("sparse_categorical_crossentropy").evaluate(X, [0, -1, 1, 2], verbose=0),
        ValueError, ["[0, 3)", "y[1]=-1"]),
    "fractional sparse label": (
        lambda: classifier("sparse_categorical_crossentropy").train_on_batch(X, [0, 1, 1.5, 2]),
        ValueError, ["integers", "y[2]=1.5"]),
    "object dtype": (fit(x=np.array([[1, 2, None]] * 4, dtype=object)), TypeError,
                     ["`x`", "Python objects", "dtype=object"]),
    "string dtype": (fit(x=np.array([["a", "b", "c"]] * 4)), TypeError, ["`x`", "strings"]),
    "complex dtype": (fit(y=Y + 1j), TypeError, ["`y`", "complex"]),
    "NaN in x": (fit(x=with_value((4, 3), (2, 1), np.nan)), ValueError,
                 ["`x`", "nan", "index [2, 1]"]),
    "inf in y": (fit(y=with_value((4, 1), (3, 0), np.inf)), ValueError, ["`y`", "inf", "[3, 0]"]),
    "NaN in sample_weight": (fit(sample_weight=with_value(4, 1, np.nan)), ValueError,
                             ["`sample_weight`", "[1]"]),
    "-inf in validation data": (
        fit(validation_data=(with_value((2, 3), (1, 2), -np.inf), Y[:2])), ValueError,
        ["`x_val`", "-inf", "[1, 2]"]),
    "NaN in predict input": (lambda: model().predict(with_value((2, 3), (0, 0), np.nan)),
                             ValueError, ["`x`", "nan", "[0, 0]"]),
    "empty x in fit": (fit(x=np.ones((0, 3)), y=np.ones((0, 1))), ValueError,
                       ["`x` is empty", "shape=(0, 3)"]),
    "empty x in predict": (lambda: model().predict(np.ones((0, 3))), ValueError, ["empty"]),
    "empty x in evaluate": (lambda: model().evaluate(np.ones((0, 3)), np.ones((0, 1))),
                            ValueError, ["empty"]),
    "ragged list": (fit(x=[[1, 2, 3], [1, 2]], y=[[1], [0]]), ValueError,
                    ["`x`", "rectangular"]),
    "x is None": (fit(x=None), ValueError, ["`x`: None"]),
    "batch_size 0": (fit(batch_size=0), ValueError, ["`batch_size`", "positive", "batch_size=0"]),
    "negative batch_size": (lambda: model().predict(X, batch_size=-2), ValueError,
                            ["batch_size=-2"]),
    "negative batch_size in evaluate": (lambda: model().evaluate(X, Y, batch_size=-1), ValueError,
                                        ["batch_size=-1"]),
    "fractional batch_size": (fit(batch_size=2.5), TypeError, ["`batch_size`", "integer"]),
    "negative epochs": (fit(epochs=-1), ValueError, ["`epochs`", "epochs=-1"]),
    "validation_split of 1": (fit(validation_split=1.0), ValueError,
                              ["`validation_split`", "[0, 1)", "validation_split=1.0"]),
    "negative validation_split": (fit(validation_split=-0.1), ValueError, ["[0, 1)"]),
    "validation_data of one array": (fit(validation_data=X), ValueError, ["`validation_data`"]),
    "validation_freq 0": (fit(validation_split=0.5, validation_freq=0), ValueError,
                          ["`validation_freq`", "validation_freq=0"]),
    "validation_batch_size 0": (fit(validation_split=0.5, validation_batch_size=0), ValueError,
                                ["`validation_batch_size`", "positive"]),
    "negative steps in predict": (lambda: model().predict(X, steps=-1), ValueError,
                                  ["`steps`", "steps=-1"]),
    "class_weight not a dict": (fit(class_weight=[1.0, 2.0]), TypeError, ["`class_weight`", "dict"]),
    "float64 beyond float32's range": (lambda: model().predict(np.full((2, 3), 1e300)), ValueError,
                                       ["`x`", "range of float32", "given as float64"]),
    "unknown optimizer": (lambda: model(compiled=False).compile("adamm", "mse"), ValueError,
                          ["Unknown optimizer: 'adamm'", "Did you mean 'Adam'?"]),
    "misspelt optimizer": (lambda: model(compiled=False).compile("adma", "mse"), ValueError,
                           ["Unknown optimizer: 'adma'", "Did you mean 'Adam'?"]),
    "unknown loss": (lambda: model(loss="mean_squared_eror").fit(X, Y, verbose=0), ValueError,
                     ["Unknown loss function", "Did you mean 'mean_squared_error'?"]),
    "unknown metric": (lambda: model(metrics=["accuracyy"]).fit(X, Y, verbose=0), ValueError,
                       ["Unknown metric function", "Did you mean 'accuracy'?"]),
    "unknown activation": (lambda: layers.Dense(2, activation="rleu"), ValueError,
                           ["Unknown activation function 'rleu'", "Did you mean 'relu'?"]),
    "unknown initializer": (lambda: layers.Dense(2, kernel_initializer="glorot_unifrom"),
                            ValueError, ["Unknown initializer", "Did you mean 'glorot_uniform'?"]),
    "set_weights with too few arrays": (lambda: model().set_weights([np.ones((3, 1))]),
                                        ValueError, ["length 1", "expecting 2 weights"]),
    "set_weights with a wrong shape": (
        lambda: model().set_weights([np.ones((3, 2)), np.ones(1)]), ValueError,
        ["(3, 1)", "(3, 2)", "not compatible"]),
    "fit before compile": (lambda: model(compiled=False).fit(X, Y, verbose=0), RuntimeError,
                           ["You must compile your model before training/testing"]),
    "summary before the model is built": (lambda: keras.Sequential([layers.Dense(2)]).summary(),
                                          ValueError, ["has not yet been built"]),
    "predict with no layers": (lambda: keras.Sequential().predict(X), ValueError, ["no layers"]),
    "weights larger than memory": (
        lambda: keras.Sequential([layers.Dense(10**9, input_shape=(10**6,))]),
        ResourceLimitError, ["(1000000, 1000000000)", "8,000,000,000,000,000 bytes",
                             "more than this machine's memory"]),
    "a batch larger than memory": (
        lambda: keras.Sequential([layers.Dense(10**5, input_shape=(1,))]).predict(
            np.broadcast_to(np.float32(1), (10**7, 1)), batch_size=10**7, verbose=0),
        ResourceLimitError, ["A batch of 10,000,000 samples", "bytes"]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_raises_a_clear_error(name):
    call, error, words = BAD[name]
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, (ValueError, TypeError, RuntimeError))
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_memory_refusal_is_also_a_memory_error():
    with pytest.raises(MemoryError):
        BAD["weights larger than memory"][0]()


def test_a_failed_set_weights_changes_no_weight():
    m = keras.Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
    before = m.get_weights()
    with pytest.raises(ValueError):
        m.set_weights([np.zeros((3, 2)), np.zeros(2), np.zeros((5, 1)), np.zeros(1)])
    for old, new in zip(before, m.get_weights()):
        np.testing.assert_array_equal(old, new)


ODD_BUT_FINE = {
    "Fortran order": np.asfortranarray(X),
    "non-contiguous": np.repeat(X, 2, axis=1)[:, ::2],
    "negative strides": X[::-1][::-1],
    "read-only": np.frombuffer(X.tobytes(), dtype="float32").reshape(4, 3),
    "integers": (X * 10).astype(np.int64),
    "booleans": X > 0.5,
    "float16": X.astype(np.float16),
    "nested lists": X.tolist(),
    "tuples": tuple(map(tuple, X.tolist())),
}


@pytest.mark.parametrize("name", sorted(ODD_BUT_FINE))
def test_unusual_layouts_and_dtypes_are_copied_or_cast_as_keras_does(name):
    x = ODD_BUT_FINE[name]
    reference = model()
    m = model()
    m.set_weights(reference.get_weights())
    expected = reference.predict(np.array(x, dtype="float32"), verbose=0)
    np.testing.assert_array_equal(m.predict(x, verbose=0), expected)
    history = m.fit(x, Y.tolist(), epochs=1, batch_size=2, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    if isinstance(x, np.ndarray):
        assert not x.flags.writeable or np.array_equal(x, ODD_BUT_FINE[name])


def test_read_only_input_is_never_written():
    x = np.array(X)
    x.setflags(write=False)
    m = model()
    m.fit(x, Y, epochs=2, batch_size=3, verbose=0)
    np.testing.assert_array_equal(x, X)


# ---------------------------------------------------------------- the command line
SPEC = {"format": "pymodel.spec/1", "name": "bad", "seed": 1,
        "model": {"layers": [{"type": "Dense", "units": 3, "activation": "softmax", "input_dim": 2}]},
        "compile": {"optimizer": "sgd", "loss": "sparse_categorical_crossentropy"},
        "data": {"train": {"x": [[0, 0], [0, 1], [1, 0], [1, 1]], "y": [0, 1, 2, 1]}},
        "fit": {"epochs": 1, "batch_size": 2, "verbose": 0}, "outputs": {"plot": False}}


def _spec(change):
    spec = json.loads(json.dumps(SPEC))
    change(spec)
    return spec


def _set(path, value):
    def change(spec):
        node = spec
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _data_file(name, array):
    def change(spec, tmp_path=None):
        spec["data"]["train"]["x"] = name
    change.files = {name: array}
    return change


CLI_BAD = {
    # name: (change to the spec, exit code, words on stderr)
    "label out of range": (_set(["data", "train", "y"], [0, 1, 7, 1]), (1, 2), ["[0, 3)"]),
    "x and y sample counts differ": (_set(["data", "train", "y"], [0, 1]), (1, 2),
                                     ["samples"]),
    "unknown optimizer": (_set(["compile", "optimizer"], "adamm"), (2,), ["adam"]),
    "unknown activation": (_set(["model", "layers", 0, "activation"], "softmaxx"), (2,),
                           ["did you mean 'softmax'"]),
    "batch_size 0": (_set(["fit", "batch_size"], 0), (2,), ["/fit/batch_size"]),
    "function without --allow-import": (_set(["compile", "loss"], "os:system"), (2,),
                                        ["runs no code", "--allow-import"]),
    "NaN in a data file": (_data_file("x.npy", with_value((4, 2), (3, 1), np.nan)), (1, 2),
                           ["nan", "[3, 1]"]),
    "pickled objects in a data file": (_data_file("x.npy", np.array([[1, None]] * 4, object)),
                                       (1, 2), ["x.npy"]),
}


@pytest.mark.parametrize("name", sorted(CLI_BAD))
def test_bad_spec_fails_on_the_command_line_with_a_message_and_no_traceback(name, tmp_path):
    change, codes, words = CLI_BAD[name]
    spec = _spec(change)
    for file, array in getattr(change, "files", {}).items():
        np.save(tmp_path / file, array, allow_pickle=True)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    result = run_pymodel("run", "spec.json", cwd=tmp_path, timeout=120)
    assert result.returncode in codes, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word.lower() in result.stderr.lower(), (word, result.stderr)


# ---------------------------------------------------------------- a spec runs no code, paths, overwriting
def _write_spec(folder, spec):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").write_text(json.dumps(spec))
    return folder / "spec.json"


@pytest.mark.parametrize("where", [["compile", "loss"], ["compile", "metrics"]])
def test_a_spec_imports_nothing_without_allow_import(tmp_path, where):
    from pymodel import cli
    module = f"evil_{where[-1]}"  # a fresh name: the import is cached per process
    (tmp_path / f"{module}.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('ran').write_text('')\n"
        "def f(y_true, y_pred):\n    return (y_pred ** 2).mean(axis=-1)\n")
    spec = _spec(_set(where, f"{module}:f" if where[-1] == "loss" else [f"{module}:f"]))
    if where[-1] == "loss":  # a user loss gets one column per output
        spec["data"]["train"]["y"] = np.eye(3)[SPEC["data"]["train"]["y"]].tolist()
    path = _write_spec(tmp_path, spec)
    assert cli.main(["run", str(path), "--quiet"]) == 2
    assert not (tmp_path / "ran").exists()
    assert cli.main(["run", str(path), "--quiet", "--allow-import"]) == 0
    assert (tmp_path / "ran").exists()


@pytest.mark.parametrize("layer_type", ["deserialize", "Layer", "__class__", "np"])
def test_a_spec_cannot_name_anything_but_a_layer_class(tmp_path, layer_type, capsys):
    from pymodel import cli
    spec = _spec(_set(["model", "layers", 0, "type"], layer_type))
    assert cli.main(["validate", str(_write_spec(tmp_path, spec))]) == 2
    assert capsys.readouterr().err.startswith("/model/layers/0")


def test_spec_paths_resolve_next_to_the_spec_and_outputs_are_kept_unless_overwrite_is_asked(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    np.save(folder / "x.npy", np.array(SPEC["data"]["train"]["x"], dtype="float64"))
    spec = _spec(_set(["data", "train", "x"], "x.npy"))
    spec["outputs"] = {"plot": False, "history": "history.json"}
    path = _write_spec(folder, spec)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run_pymodel("run", path, "--quiet", cwd=elsewhere, timeout=120).returncode == 0
    assert (folder / "history.json").exists() and not list(elsewhere.iterdir())
    (folder / "history.json").write_text("keep me")
    result = run_pymodel("run", path, "--quiet", cwd=elsewhere, timeout=120)
    assert result.returncode == 2 and "already exists" in result.stderr
    assert (folder / "history.json").read_text() == "keep me"
    spec["outputs"]["overwrite"] = True
    _write_spec(folder, spec)
    assert run_pymodel("run", path, "--quiet", cwd=elsewhere, timeout=120).returncode == 0
    assert json.loads((folder / "history.json").read_text())["loss"]


def test_training_is_refused_when_weights_gradients_and_optimizer_slots_would_not_fit(monkeypatch):
    from pymodel import validation
    m = keras.Sequential([layers.Dense(512, input_shape=(512,))])  # 1 MiB of weights
    m.compile("adam", "mse")
    monkeypatch.setattr(validation, "memory_limit", lambda: 4 * 2**20)  # a 4 MiB machine
    with pytest.raises(ResourceLimitError, match="optimizer slots") as info:
        m.fit(np.ones((2, 512)), np.ones((2, 512)), verbose=0)
    assert "4.0 MiB" in str(info.value)
    assert m.optimizer.iterations.numpy() == 0
    m.compile("sgd", "mse")  # one slot: weights, gradients and momentum fit
    m.fit(np.ones((2, 512)), np.ones((2, 512)), verbose=0)
