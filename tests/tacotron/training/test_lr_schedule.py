"""tacotron.training.lr_schedule: learning-rate scaling with the batch size, warmup then decay."""

from __future__ import annotations

import math

import pytest

from tacotron.training.lr_schedule import WarmupDecay, scaled_learning_rate


@pytest.mark.parametrize(
    ("rule", "expected"), [("linear", 8e-3), ("sqrt", 1e-3 * math.sqrt(8)), ("none", 1e-3)]
)
def test_learning_rate_scaling_rules(rule, expected):
    assert scaled_learning_rate(1e-3, 32, 256, rule) == pytest.approx(expected)


def test_unknown_scaling_rule_is_rejected():
    with pytest.raises(ValueError, match="linear"):
        scaled_learning_rate(1e-3, 32, 256, "cubic")


def test_warmup_then_decay():
    schedule = WarmupDecay(peak=1e-2, warmup_steps=10, decay="cosine", decay_steps=100, min_lr=1e-4)
    lr = [float(schedule(step)) for step in (0, 4, 9, 10, 60, 110, 500)]
    assert lr[0] == pytest.approx(1e-3)  # first update: 1/10 of the peak
    assert lr[1] == pytest.approx(5e-3)
    assert lr[2] == pytest.approx(1e-2)  # warmup ends at the peak
    assert lr[2] >= lr[3] > lr[4] > lr[5]
    assert lr[4] == pytest.approx(1e-4 + 0.5 * (1e-2 - 1e-4) * (1 + math.cos(math.pi * 0.51)), rel=1e-4)
    assert lr[5] == pytest.approx(1e-4) and lr[6] == pytest.approx(1e-4)
    constant = WarmupDecay(peak=1e-3, warmup_steps=0, decay="constant")
    assert float(constant(0)) == pytest.approx(1e-3) and float(constant(10**6)) == pytest.approx(1e-3)
    assert WarmupDecay.from_config(schedule.get_config()).get_config() == schedule.get_config()
