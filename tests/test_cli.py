"""The command line: help on every command, exit codes, errors one per line without tracebacks."""
import json
import pathlib

import numpy as np
import pytest

from pymodel import cli
from pymodel_process import run_pymodel

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
XOR = {"format": "pymodel.spec/1", "name": "xor", "seed": 1,
       "model": {"layers": [{"type": "Dense", "units": 4, "activation": "sigmoid", "input_dim": 3},
                            {"type": "Dense", "units": 1, "activation": "sigmoid"}]},
       "compile": {"optimizer": {"type": "SGD", "learning_rate": 1.0}, "loss": "mse"},
       "data": {"train": {"x": [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], "y": [[0], [1], [1], [0]]}},
       "fit": {"epochs": 5, "batch_size": 4, "verbose": 0}, "outputs": {"plot": False}}



def write(tmp_path, spec, name="spec.json"):
    path = tmp_path / name
    path.write_text(json.dumps(spec))
    return path


@pytest.mark.parametrize("command", [[], ["run"], ["validate"], ["summary"], ["predict"], ["plot"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(command + ["--help"])
    assert info.value.code == 0
    assert "usage: pymodel" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["run"])
    assert info.value.code == 2


def test_validate_reports_every_error_one_per_line(tmp_path, capsys):
    bad = json.loads(json.dumps(XOR))
    bad["model"]["layers"][0]["units"] = 0
    bad["model"]["layers"][1]["activation"] = "sigmoidd"
    bad["fit"]["epochs"] = -1
    assert cli.main(["validate", str(write(tmp_path, bad))]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["/fit/epochs: -1 is less than the minimum of 1",
                   "/model/layers/0/units: 0 is less than the minimum of 1",
                   "/model/layers/1/activation: unknown activation 'sigmoidd'; did you mean 'sigmoid'?"]


def test_validate_of_a_missing_file_exits_2_without_traceback(tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert "cannot read spec file" in err and "Traceback" not in err


def test_validate_runs_as_a_module_in_a_subprocess(tmp_path):
    ok = run_pymodel("validate", EXAMPLES / "xor.json", cwd=tmp_path)
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = dict(XOR, fit={"epochs": 0})
    res = run_pymodel("validate", write(tmp_path, bad), cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.strip() == "/fit/epochs: 0 is less than the minimum of 1"


def test_run_refuses_to_overwrite_an_existing_output(tmp_path, capsys):
    spec = write(tmp_path, XOR)
    (tmp_path / "history.json").write_text("keep me")
    assert cli.main(["run", str(spec)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "history.json").read_text() == "keep me"


def test_run_refuses_custom_code_without_allow_import(tmp_path, capsys):
    spec = write(tmp_path, dict(XOR, compile={"loss": "os:system"}))
    assert cli.main(["run", str(spec), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("/compile/loss: ") and "--allow-import" in err
    assert not (tmp_path / "out").exists()


def test_run_rejects_mismatched_data_before_training(tmp_path, capsys):
    spec = dict(XOR, data={"train": {"x": [[0, 0], [1, 1]], "y": [[0], [1]]}})
    assert cli.main(["run", str(write(tmp_path, spec)), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("/data/train/x: ") and "(None, 3)" in err and "(None, 2)" in err
    assert not (tmp_path / "out").exists()


def test_plot_without_matplotlib_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_plotter", lambda: None)
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"loss": [1.0, 0.5]}))
    assert cli.main(["plot", str(history), "-o", str(tmp_path / "c.png")]) == 1
    assert capsys.readouterr().err.strip() == cli.PLOT_HINT
    assert "pip install 'pymodel[plot]'" in cli.PLOT_HINT


def test_plot_of_something_that_is_not_a_history_exits_2(tmp_path, capsys):
    bad = tmp_path / "h.json"
    bad.write_text("[1, 2]")
    assert cli.main(["plot", str(bad), "-o", str(tmp_path / "c.png")]) == 2
    assert "expected an object" in capsys.readouterr().err


def test_predict_with_a_foreign_file_is_a_one_line_error(tmp_path, capsys):
    foreign = tmp_path / "model.pmz"
    foreign.write_text("not a zip")
    inputs = tmp_path / "x.csv"
    inputs.write_text("a,b,c\n0,0,1\n")
    assert cli.main(["predict", str(foreign), str(inputs), "-o", str(tmp_path / "p.csv")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(foreign) in err and "not a pymodel model file" in err


# -- with training ---------------------------------------------------------------------------------



def test_run_json_prints_only_a_machine_readable_result(tmp_path, capsys):
    spec = write(tmp_path, dict(XOR, outputs={"model": "xor.pmz", "plot": False}))
    assert cli.main(["run", str(spec), "--json", "--epochs", "3", "--output-dir", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["epochs"] == 3 and set(result["history"]) == {"loss"}
    assert set(result["outputs"]) == {"history", "metrics", "model"}
    assert json.loads((tmp_path / "out" / "history.json").read_text())["loss"][-1] == result["history"]["loss"]
    assert "Total params: 21" in err


def test_run_prints_summary_and_metrics_and_overwrites_only_when_asked(tmp_path, capsys):
    spec = write(tmp_path, XOR)
    assert cli.main(["run", str(spec)]) == 0
    out = capsys.readouterr().out
    assert 'Model: "xor"' in out and "train: loss: " in out and "wrote history:" in out
    assert cli.main(["run", str(spec)]) == 2
    capsys.readouterr()
    assert cli.main(["run", str(spec), "--overwrite", "--quiet", "--seed", "3"]) == 0
    assert capsys.readouterr() == ("", "")


def test_run_with_the_same_seed_is_reproducible(tmp_path):
    spec = write(tmp_path, XOR)
    for out in ("a", "b"):
        assert cli.main(["run", str(spec), "--quiet", "--output-dir", str(tmp_path / out)]) == 0
    assert (tmp_path / "a" / "history.json").read_text() == (tmp_path / "b" / "history.json").read_text()


def test_run_without_a_plotter_says_how_to_get_one(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_plotter", lambda: None)
    assert cli.main(["run", str(write(tmp_path, dict(XOR, outputs={})))]) == 0
    assert cli.PLOT_HINT in capsys.readouterr().err.splitlines()


def test_summary_prints_the_keras_table(capsys):
    assert cli.main(["summary", str(EXAMPLES / "blobs.json")]) == 0
    out = capsys.readouterr().out
    assert " dense (Dense)               (None, 16)                80        " in out
    assert "Total params: 131" in out


def test_predict_reads_and_writes_npy_and_csv(tmp_path, capsys):
    spec = write(tmp_path, dict(XOR, outputs={"model": "m.pmz", "plot": False}))
    assert cli.main(["run", str(spec), "--quiet"]) == 0
    x = np.array([[0, 0, 1], [1, 1, 1]], dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "x.csv").write_text("a,b,c\n0,0,1\n1,1,1\n")
    assert cli.main(["predict", str(tmp_path / "m.pmz"), str(tmp_path / "x.npy"), "-o", str(tmp_path / "p.npy")]) == 0
    assert cli.main(["predict", str(tmp_path / "m.pmz"), str(tmp_path / "x.csv"), "-o", str(tmp_path / "p.csv")]) == 0
    from_npy = np.load(tmp_path / "p.npy")
    from_csv = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1).reshape(-1, 1)
    expected = keras_predict(tmp_path / "m.pmz", x)
    np.testing.assert_array_equal(from_npy, expected)
    np.testing.assert_allclose(from_csv, expected, rtol=1e-7)
    assert cli.main(["predict", str(tmp_path / "m.pmz"), str(tmp_path / "x.npy"), "-o", str(tmp_path / "p.npy")]) == 2
    assert "already exists" in capsys.readouterr().err


def keras_predict(path, x):
    from pymodel.models import load_model
    return load_model(path).predict(x, verbose=0)


def test_spec_warnings_go_to_stderr(tmp_path, capsys):
    spec = dict(XOR, model={"layers": [{"type": "Dense", "units": 2, "activation": "softmax", "input_dim": 3}]},
                compile={"loss": "binary_crossentropy"},
                data={"train": {"x": XOR["data"]["train"]["x"], "y": [[1, 0], [0, 1], [0, 1], [1, 0]]}})
    assert cli.main(["validate", str(write(tmp_path, spec))]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: /compile/loss: binary_crossentropy on a softmax of width 2")


def test_run_draws_the_learning_curve_next_to_the_history_when_it_can(tmp_path, capsys):
    assert cli.main(["run", str(write(tmp_path, dict(XOR, outputs={})))]) == 0
    err = capsys.readouterr().err
    if cli._plotter() is None:
        assert cli.PLOT_HINT in err.splitlines()
    else:
        assert (tmp_path / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_command_draws_a_png_from_a_history_json(tmp_path, capsys):
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.4]}))
    code = cli.main(["plot", str(history), "-o", str(tmp_path / "curve.png")])
    if cli._plotter() is None:
        assert code == 1 and capsys.readouterr().err.strip() == cli.PLOT_HINT
    else:
        assert code == 0 and (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_summary_takes_the_input_size_from_the_data_when_no_layer_declares_it(tmp_path, capsys):
    spec = dict(XOR, model={"layers": [{"type": "Dense", "units": 2}, {"type": "Dense", "units": 1}]})
    assert cli.main(["summary", str(write(tmp_path, spec))]) == 0
    out = capsys.readouterr().out
    assert " dense (Dense)               (None, 2)                 8         " in out
    assert "Total params: 11" in out
