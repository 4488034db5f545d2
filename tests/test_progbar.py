"""Progbar against tf-keras 2.21's recorded output (tests/fixtures/progbar, see its README)."""
import importlib.util
import io
import json
import os
import pathlib
import sys
import types

import numpy as np
import pytest
from terminal import on_terminal, use_ticking_clock

import pymodel.progbar as progbar_module
from pymodel.callbacks import CallbackList
from pymodel.progbar import Progbar, format_eta, format_time, format_value

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "progbar"
_spec = importlib.util.spec_from_file_location("progbar_scenarios", FIXTURES / "scenarios.py")
scenarios = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scenarios)
NAMES = sorted(scenarios.SCENARIOS)


@pytest.fixture
def impl(monkeypatch):
    """pymodel's classes with the same fake clock the recording gave tf-keras."""
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    now = [0.0]
    monkeypatch.setattr(progbar_module, "time", types.SimpleNamespace(time=lambda: now[0]))
    return types.SimpleNamespace(Progbar=Progbar, CallbackList=CallbackList,
                                 set_time=lambda t: now.__setitem__(0, t))


@pytest.mark.parametrize("name", NAMES)
def test_terminal_output_is_byte_identical_to_tf_keras(name, impl):
    written = on_terminal(lambda: scenarios.play(scenarios.SCENARIOS[name], impl))
    assert written == (FIXTURES / f"{name}.tty").read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_piped_output_is_the_tf_keras_terminal_screen_without_control_characters(name, impl, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    scenarios.play(scenarios.SCENARIOS[name], impl)
    text = out.getvalue()
    assert "\b" not in text and "\r" not in text
    assert text == (FIXTURES / f"{name}.screen").read_text()


REAL_RUNS = sorted(p.name[: -len(".hooks.json")] for p in FIXTURES.glob("fit_real_*.hooks.json"))


def real_run_ops(name):
    """The hooks a real tf-keras fit/evaluate/predict called, as scenario operations."""
    ops = []
    for entry in json.loads((FIXTURES / f"{name}.hooks.json").read_text()):
        if entry[0] == "params":
            ops.append(("callbacks", entry[1], []))
        else:
            hook, index, logs = entry
            ops.append(("hook", hook, *([] if index is None else [index]), logs))
    return ops


@pytest.fixture
def ticking_impl(impl, monkeypatch):
    """As `impl`, with the recording's clock: each reading advances by clock_tick seconds."""
    use_ticking_clock(monkeypatch,
                      json.loads((FIXTURES / f"{REAL_RUNS[0]}.case.json").read_text())["clock_tick"])
    return impl


@pytest.mark.parametrize("name", REAL_RUNS)
def test_hooks_of_a_real_tf_keras_fit_print_the_same_bytes_on_a_terminal(name, ticking_impl):
    written = on_terminal(lambda: scenarios.play(real_run_ops(name), ticking_impl))
    assert written == (FIXTURES / f"{name}.tty").read_bytes()


@pytest.mark.parametrize("name", REAL_RUNS)
def test_hooks_of_a_real_tf_keras_fit_print_the_final_screen_when_piped(name, ticking_impl, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    scenarios.play(real_run_ops(name), ticking_impl)
    assert out.getvalue() == (FIXTURES / f"{name}.screen").read_text()


def test_tf_keras_itself_writes_redraws_into_pipes():
    # The recording shows why piped output needs care: tf-keras sends the same bytes.
    assert b"\b" in (FIXTURES / "fit_verbose1.pipe").read_bytes()
    assert (FIXTURES / "fit_verbose1.pipe").read_bytes() == (FIXTURES / "fit_verbose1.tty").read_bytes()


@pytest.mark.parametrize("name", [n for n in NAMES if (FIXTURES / f"{n}.history.json").exists()])
def test_history_recorded_alongside_the_bar_matches_tf_keras(name, impl, monkeypatch):
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    model = scenarios.play(scenarios.SCENARIOS[name], impl)
    expected = json.loads((FIXTURES / f"{name}.history.json").read_text())
    assert model.history.history == expected["history"]
    assert list(model.history.history) == list(expected["history"])
    assert model.history.epoch == expected["epoch"]
    assert model.history.params == expected["params"]
    assert all(type(v) is float for values in model.history.history.values() for v in values)


def test_values_use_four_decimals_or_scientific_notation_when_tiny():
    assert format_value(0.25) == "0.2500"
    assert format_value(-12.5) == "-12.5000"
    assert format_value(0.001) == "1.0000e-03"
    assert format_value(0.0) == "0.0000e+00"
    assert format_value(-0.5, signed=True) == "-5.0000e-01"  # tf-keras's verbose=2 test


def test_step_times_use_seconds_milliseconds_or_microseconds():
    assert format_time(0, "step") == " 0s/step"
    assert format_time(2.4, "step") == " 2s/step"
    assert format_time(0.0034, "step") == " 3ms/step"
    assert format_time(0.00025, "sample") == " 250us/sample"


def test_eta_uses_seconds_then_minutes_then_hours():
    assert format_eta(59.9) == "59s"
    assert format_eta(125) == "2:05"
    assert format_eta(3725) == "1:02:05"


def test_clock_argument_drives_the_timings(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    times = iter([10.0, 12.0, 14.0])
    bar = Progbar(2, clock=lambda: next(times), dynamic_display=False)
    bar.update(1, [("loss", 0.5)])
    bar.update(2, [("loss", 0.5)])
    assert out.getvalue() == "2/2 [==============================] - 4s 2s/step - loss: 0.5000\n"


def test_dynamic_display_follows_whether_stdout_is_a_terminal(monkeypatch):
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert Progbar(3)._dynamic_display is False
    master, slave = os.openpty()
    try:
        with open(slave, "w", closefd=False) as term:
            monkeypatch.setattr(sys, "stdout", term)
            assert Progbar(3)._dynamic_display is True
    finally:
        os.close(slave)
        os.close(master)


def test_verbose_zero_writes_nothing(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    bar = Progbar(2, verbose=0, dynamic_display=True)
    bar.update(1, [("loss", 1.0)])
    bar.update(2, [("loss", 1.0)])
    assert out.getvalue() == ""


def test_array_values_are_shown_as_their_mean(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    bar = Progbar(1, clock=lambda: 0.0, dynamic_display=False)
    bar.update(1, [("loss", np.array([0.25, 0.75]))])
    assert out.getvalue().endswith(" - loss: 0.5000\n")
