"""Each example spec runs end to end through the CLI in a subprocess and reaches its stated quality."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from pymodel_process import run_pymodel

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


def run_example(name, out_dir, *extra):
    res = run_pymodel("run", EXAMPLES / f"{name}.json", "--output-dir", out_dir, "--json", *extra, cwd=out_dir)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_xor_example_learns_xor(tmp_path):
    result = run_example("xor", tmp_path)
    predictions = np.loadtxt(tmp_path / "predictions.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(np.round(predictions), [0, 1, 1, 0])
    assert result["outputs"]["model"] == str(tmp_path / "xor.pmz")
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["loss"]) == 1500 and history["loss"][-1] < history["loss"][0]


def test_classification_example_reaches_90_percent_on_held_out_data(tmp_path):
    result = run_example("blobs", tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == result["metrics"]
    assert metrics["validation"]["accuracy"] >= 0.9
    predictions = np.loadtxt(tmp_path / "predictions.csv", delimiter=",", skiprows=1)
    labels = np.loadtxt(EXAMPLES / "data" / "blobs_test.csv", delimiter=",", skiprows=1)[:, -1]
    assert predictions.shape == (len(labels), 3)
    assert np.mean(predictions.argmax(axis=1) == labels) >= 0.9


def test_regression_example_reaches_r2_of_0_9_on_held_out_data(tmp_path):
    result = run_example("regression", tmp_path)
    assert result["metrics"]["test"]["r2"] >= 0.9
    predictions = np.loadtxt(tmp_path / "predictions.csv", delimiter=",", skiprows=1)
    y = np.loadtxt(EXAMPLES / "data" / "regression_test.csv", delimiter=",", skiprows=1)[:, -1]
    r2 = 1 - ((y - predictions) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert r2 == pytest.approx(result["metrics"]["test"]["r2"], rel=1e-5)


def test_keras_to_json_example_trains_from_the_keras_document(tmp_path):
    result = run_example("keras_model", tmp_path)
    assert result["metrics"]["test"]["accuracy"] >= 0.9


def test_example_datasets_are_regenerated_identically(tmp_path):
    subprocess.run([sys.executable, str(EXAMPLES / "data" / "make_datasets.py"), str(tmp_path)], check=True)
    shipped = {p.name: p.read_bytes() for p in (EXAMPLES / "data").glob("*.csv")}
    regenerated = {p.name: p.read_bytes() for p in tmp_path.glob("*.csv")}
    assert shipped == regenerated and len(shipped) == 4
