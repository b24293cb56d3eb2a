"""tacotron.training.optimizers: Adam and LAMB with their errors, and a non-finite step left unapplied."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from tacotron.config import LossConfig, TacotronConfig
from tacotron.network.model import Tacotron
from tacotron.training.lr_schedule import WarmupDecay
from tacotron.training.optimizers import make_optimizer
from tests.tiny_model import TINY, batch


def test_optimizers_and_their_errors():
    schedule = WarmupDecay(1e-3, 10)
    assert isinstance(make_optimizer("lamb", schedule, 1.0, 1).inner_optimizer, keras.optimizers.Lamb)
    adam = make_optimizer("adam", schedule, 1.0, 4).inner_optimizer
    assert isinstance(adam, keras.optimizers.Adam) and adam.gradient_accumulation_steps == 4
    with pytest.raises(ValueError, match="adam or lamb"):
        make_optimizer("sgd", schedule, 1.0, 1)


def compiled(config: TacotronConfig, learning_rate: float = 1e-3) -> Tacotron:
    model = Tacotron(config, LossConfig(guided_attention_weight=1.0))
    model(batch(), training=False)
    model.compile(optimizer=make_optimizer("adam", WarmupDecay(learning_rate, 0, "constant"), 1.0, 1))
    return model


def test_a_non_finite_step_is_not_applied():
    model = compiled(TINY)
    model.train_on_batch(batch())
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    poisoned = batch()
    poisoned["mel"][0, 0, 0] = np.nan
    logs = model.train_on_batch(poisoned, return_dict=True)
    assert logs["bad_steps"] == 1.0
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    logs = model.train_on_batch(batch(), return_dict=True)  # and training goes on
    assert math.isfinite(logs["loss"])
    now = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, now, strict=True))
