"""tacotron.network.losses: stop targets and masks, the weighted stop loss, guided attention."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from tacotron.network import losses


def test_stop_targets_and_masks():
    targets = keras.ops.convert_to_numpy(losses.stop_targets(np.array([8, 9]), 4, 4))
    np.testing.assert_array_equal(targets, [[0, 1, 1, 1], [0, 0, 1, 1]])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(losses.decoder_steps(np.array([8, 9]), 4)), [2, 3])
    mask = keras.ops.convert_to_numpy(losses.sequence_mask(np.array([1, 3]), 4))
    np.testing.assert_array_equal(mask, [[1, 0, 0, 0], [1, 1, 1, 0]])


def test_stop_loss_weights_positives():
    logits = np.zeros((1, 4), np.float32)
    targets = np.array([[0, 0, 0, 1]], np.float32)
    mask = np.ones((1, 4), np.float32)
    plain = float(losses.stop_loss(logits, targets, mask, 1.0))
    weighted = float(losses.stop_loss(logits, targets, mask, 5.0))
    assert plain == pytest.approx(math.log(2), rel=1e-5)
    assert weighted == pytest.approx(math.log(2) * (3 + 5) / 4, rel=1e-5)


def test_guided_attention_penalizes_off_diagonal_mass():
    steps, chars = 8, 8
    diagonal = np.eye(steps, chars, dtype=np.float32)[None]
    anti = diagonal[:, ::-1]
    lengths, text = np.array([steps]), np.array([chars])
    assert float(losses.guided_attention_loss(diagonal, lengths, text, 0.2)) < 0.05
    assert float(losses.guided_attention_loss(anti, lengths, text, 0.2)) > 0.5
