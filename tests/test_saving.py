"""Model files: atomic writes, clear errors for bad files, exact save/load and resumed training."""
import io
import json
import zipfile

import numpy as np
import pytest

from pymodel import saving
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
