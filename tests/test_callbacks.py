"""Callbacks against tf-keras 2.21 on scripted runs (tests/fixtures/callbacks, recorded by its record.py)."""
import importlib.util
import io
import json
import pathlib
import sys
import types

import numpy as np
import pytest

from pymodel import callbacks

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "callbacks"
_spec = importlib.util.spec_from_file_location("callback_scenarios", FIXTURES / "scenarios.py")
scenarios = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scenarios)
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())

IMPL = types.SimpleNamespace(
    callbacks=callbacks,
    make_optimizer=lambda lr: types.SimpleNamespace(learning_rate=lr),
    # tf-keras keeps the rate in a float32 variable; compare what it would hold.
    get_lr=lambda opt: float(np.float32(opt.learning_rate)),
    decorate=lambda model: None,
)


def play(name, tmp_path, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    result = scenarios.play(scenarios.SCENARIOS[name], IMPL, str(tmp_path))
    result["stdout"] = out.getvalue().replace(str(tmp_path), "TMP")
    return json.loads(json.dumps(result))  # same JSON round trip as the recording


def test_every_scenario_was_recorded():
    assert sorted(EXPECTED) == sorted(scenarios.SCENARIOS)


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_scripted_run_matches_tf_keras(name, tmp_path, monkeypatch):
    got, expected = play(name, tmp_path, monkeypatch), EXPECTED[name]
    for key in ("epochs", "restored", "saved", "history", "history_epoch", "files", "attrs", "lambda", "stdout"):
        assert got[key] == expected[key], key
