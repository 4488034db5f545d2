"""Learning-rate schedules: formulas, and values/configs recorded from tf-keras 2.21 (tests/fixtures/schedules)."""
import json
import math
import pathlib

import numpy as np
import pytest

from pymodel import schedules

EXPECTED = json.loads((pathlib.Path(__file__).resolve().parent / "fixtures" / "schedules" / "expected.json").read_text())
CASES = sorted(EXPECTED["cases"])


def build(case):
    c = EXPECTED["cases"][case]
    return getattr(schedules, c["class_name"])(**c["kwargs"])


@pytest.mark.parametrize("case", CASES)
def test_values_match_tf_keras_to_float32_rounding(case):
    s = build(case)
    got = [s(step) for step in EXPECTED["steps"]]
    assert all(type(v) is float for v in got)
    # tf-keras computes in float32: agree to a few float32 ulps of the largest rate
    # (near the end of a cosine, 1 + cos(pi*x) cancels in float32).
    scale = max(EXPECTED["cases"][case]["values"])
    np.testing.assert_allclose(got, EXPECTED["cases"][case]["values"], rtol=3e-7, atol=scale * 2.5e-7)


@pytest.mark.parametrize("case", CASES)
def test_config_and_serialized_forms_match_tf_keras(case):
    s, c = build(case), EXPECTED["cases"][case]
    assert s.get_config() == c["config"]
    assert list(s.get_config()) == list(c["config"])
    assert schedules.serialize(s) == c["serialized"]
    assert schedules.serialize(s, use_legacy_format=True) == c["serialized_legacy"]


@pytest.mark.parametrize("case", CASES)
def test_deserialize_round_trips_both_forms(case):
    s, c = build(case), EXPECTED["cases"][case]
    for form in (c["serialized"], c["serialized_legacy"]):
        again = schedules.deserialize(form)
        assert type(again) is type(s)
        assert again.get_config() == s.get_config()
        assert [again(t) for t in EXPECTED["steps"]] == [s(t) for t in EXPECTED["steps"]]


def test_exponential_decay_follows_its_formula():
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(15) == pytest.approx(0.1 * 0.5 ** 1.5, rel=1e-15)
    assert schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)(15) == pytest.approx(0.05, rel=1e-15)


def test_inverse_time_decay_follows_its_formula():
    assert schedules.InverseTimeDecay(1.0, 4, 0.5)(6) == pytest.approx(1 / (1 + 0.5 * 1.5), rel=1e-15)
    assert schedules.InverseTimeDecay(1.0, 4, 0.5, staircase=True)(6) == pytest.approx(1 / 1.5, rel=1e-15)


def test_piecewise_constant_boundaries_belong_to_the_lower_interval():
    s = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.25])
    assert [s(t) for t in (0, 10, 11, 20, 21)] == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_cosine_decay_reaches_alpha_and_stays_there():
    s = schedules.CosineDecay(0.2, decay_steps=100, alpha=0.1)
    assert s(50) == pytest.approx(0.2 * (0.9 * 0.5 + 0.1), rel=1e-15)
    assert s(100) == s(1000) == pytest.approx(0.02, rel=1e-15)


def test_cosine_decay_warms_up_linearly_then_decays_from_the_target():
    s = schedules.CosineDecay(0.0, decay_steps=100, warmup_target=0.1, warmup_steps=10)
    assert s(5) == pytest.approx(0.05, rel=1e-15)
    assert s(60) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 0.5)), rel=1e-12)


def test_piecewise_constant_rejects_mismatched_lengths_like_tf_keras():
    with pytest.raises(ValueError) as e:
        schedules.PiecewiseConstantDecay([1, 2], [1.0])
    assert str(e.value) == EXPECTED["piecewise_error"]["message"]


def test_deserialize_of_an_unknown_class_names_it():
    with pytest.raises(ValueError) as e:
        schedules.deserialize({"class_name": "NoSuchDecay", "config": {}})
    assert EXPECTED["unknown_error"]["message"].startswith(str(e.value))


def test_deserialize_finds_custom_schedules_in_custom_objects():
    class Halving(schedules.LearningRateSchedule):
        def __init__(self, lr):
            self.lr = lr

        def __call__(self, step):
            return self.lr / 2 ** step

        def get_config(self):
            return {"lr": self.lr}

    config = schedules.serialize(Halving(1.0))
    assert config["registered_name"] == "Halving"
    assert schedules.deserialize(config, custom_objects={"Halving": Halving})(3) == 0.125


def test_base_schedule_asks_subclasses_to_override():
    with pytest.raises(NotImplementedError, match="must override `__call__"):
        schedules.LearningRateSchedule()(0)
