"""Model files: atomic writes, clear errors for bad files, exact save/load and resumed training."""
import io
import json
import zipfile

import numpy as np
import pytest

import pymodel as keras
from pymodel import saving
from pymodel.models import load_model
from pymodel.saving import ModelFileError



def test_atomic_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    saving.atomic_write(path, lambda f: f.write(b"new contents"))
    assert path.read_bytes() == b"new contents"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_atomic_write_that_fails_keeps_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def fail(f):
        f.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        saving.atomic_write(path, fail)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def model_file(tmp_path, config=None, members=None):
    path = tmp_path / "m.pmz"
    buf = io.BytesIO()
    np.savez(buf, **{"000000": np.ones((2, 2))})
    members = members if members is not None else {
        "config.json": json.dumps(config if config is not None else {"format": "other/1"}),
        "weights.npz": buf.getvalue()}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize("content, problem", [
    (b"plain text, not a zip", "not a pymodel model file"),
    (b"PK\x03\x04truncated", "not a pymodel model file"),
])
def test_loading_a_non_zip_names_the_file_and_the_problem(tmp_path, content, problem):
    path = tmp_path / "m.pmz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        saving.load_model(path)
    assert str(path) in str(info.value) and problem in str(info.value)
    assert isinstance(info.value, ValueError)


def test_loading_a_foreign_zip_says_what_is_missing(tmp_path):
    path = model_file(tmp_path, members={"readme.txt": "hello"})
    with pytest.raises(ModelFileError, match="has no config.json"):
        saving.load_model(path)


def test_loading_another_format_version_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match="unsupported model file format 'other/1'"):
        saving.load_model(model_file(tmp_path))


def test_loading_a_missing_file_names_it(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        saving.load_model(tmp_path / "absent.pmz")


def test_a_truncated_model_file_is_reported_as_corrupt(tmp_path):
    path = model_file(tmp_path, config={"format": saving.MODEL_FORMAT})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError) as info:
        saving.load_model(path)
    assert "corrupt or truncated" in str(info.value)


# -- with a real model ---------------------------------------------------------------------------


def data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]
    return x, y


def make_model(dropout=False):
    keras.utils.set_random_seed(5)
    layers = [keras.layers.Dense(8, activation="relu", input_dim=3)]
    if dropout:
        layers.append(keras.layers.Dropout(0.3))
    layers.append(keras.layers.Dense(3, activation="softmax"))
    model = keras.Sequential(layers, name="net")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_save_then_load_gives_identical_predictions_and_config(tmp_path):
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.pmz")
    loaded = load_model(tmp_path / "m.pmz")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_config() == model.get_config()
    assert loaded.get_compile_config()["optimizer"] == model.get_compile_config()["optimizer"]
    assert [p.name for p in tmp_path.iterdir()] == ["m.pmz"]


@pytest.mark.parametrize("shuffle, dropout", [(False, False), (True, False), (True, True)])
def test_continuing_fit_after_load_matches_never_stopping_bitwise(tmp_path, shuffle, dropout):
    x, y = data()
    first = make_model(dropout)
    first.fit(x, y, epochs=2, batch_size=6, shuffle=shuffle, verbose=0)
    first.save(tmp_path / "half.pmz")
    resumed = load_model(tmp_path / "half.pmz")
    resumed.fit(x, y, epochs=2, batch_size=6, shuffle=shuffle, verbose=0)
    first.fit(x, y, epochs=2, batch_size=6, shuffle=shuffle, verbose=0)  # the run that never stopped

    for a, b in zip(first.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.optimizer.iterations) == int(first.optimizer.iterations) == 16


def test_without_shuffling_two_fits_around_a_save_equal_one_long_fit(tmp_path):
    x, y = data()
    straight = make_model()
    straight.fit(x, y, epochs=4, batch_size=6, shuffle=False, verbose=0)
    first = make_model()
    first.fit(x, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    first.save(tmp_path / "half.pmz")
    resumed = load_model(tmp_path / "half.pmz")
    resumed.fit(x, y, epochs=2, batch_size=6, shuffle=False, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_round_trip_through_npz_and_mismatches_are_refused(tmp_path):
    x, _ = data()
    model = make_model()
    model.save_weights(tmp_path / "w.npz")
    other = make_model()
    other.set_weights([w + 1 for w in other.get_weights()])
    other.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))

    wider = keras.Sequential([keras.layers.Dense(9, input_dim=3), keras.layers.Dense(3)])
    with pytest.raises(ModelFileError, match=r"weight 0 has shape \(3, 8\) but the model expects \(3, 9\)"):
        wider.load_weights(tmp_path / "w.npz")
    deeper = keras.Sequential([keras.layers.Dense(8, input_dim=3), keras.layers.Dense(3), keras.layers.Dense(1)])
    with pytest.raises(ModelFileError, match="holds 4 weight arrays but the model has 6"):
        deeper.load_weights(tmp_path / "w.npz")


def test_save_does_not_replace_an_existing_file_unless_asked(tmp_path):
    path = tmp_path / "m.pmz"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        make_model().save(path, overwrite=False)
    assert path.read_bytes() == b"precious"


def test_model_file_holds_config_weights_and_optimizer_state(tmp_path):
    model = make_model()
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.pmz")
    with zipfile.ZipFile(tmp_path / "m.pmz") as z:
        assert sorted(z.namelist()) == ["config.json", "optimizer.npz", "weights.npz"]
        config = json.loads(z.read("config.json"))
        with np.load(io.BytesIO(z.read("optimizer.npz")), allow_pickle=False) as opt:
            assert int(opt["iterations"]) == 1
    assert config["format"] == saving.MODEL_FORMAT
    assert config["model_config"]["class_name"] == "Sequential"
    assert config["compile_config"]["loss"] == "categorical_crossentropy"
