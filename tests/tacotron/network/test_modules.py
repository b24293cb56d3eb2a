"""tacotron.network.modules: the building blocks' shapes, and the fast paths against the layers they replace."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tacotron.network.attention import LocationSensitiveAttention
from tacotron.network.decoder import AttentionDecoder
from tacotron.network.model import Tacotron
from tacotron.network.modules import CBHG, Highway, Prenet, bidirectional_gru, hashed_dropout_mask
from tests.tiny_model import T_IN, T_OUT, TINY, N, batch


def test_layer_shapes():
    x = np.zeros((N, T_IN, 16), np.float32)
    mask = np.ones((N, T_IN), bool)
    assert tuple(Prenet((16, 8))(x, training=True).shape) == (N, T_IN, 8)
    assert tuple(Highway(16)(x).shape) == (N, T_IN, 16)
    assert tuple(CBHG(3, 8, (8, 16), 2, 8)(x, mask).shape) == (N, T_IN, 16)

    memory = np.random.default_rng(0).normal(size=(N, T_IN, 16)).astype(np.float32)
    attention = LocationSensitiveAttention(units=16, filters=4, kernel_size=5)
    attention.build(memory.shape, (N, 32))
    keys = attention.prepare(memory)
    aligned, cumulative = attention(np.zeros((N, 32), np.float32), keys, np.zeros((N, T_IN), np.float32), mask * 1.0)
    assert tuple(keys.shape) == (N, T_IN, 16) and tuple(aligned.shape) == (N, T_IN)
    np.testing.assert_allclose(np.sum(aligned, -1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(cumulative, aligned)

    decoder = AttentionDecoder(TINY)
    decoder.build(memory.shape)
    frames, stop, alignments = decoder(memory, mask, np.zeros((N, 6, TINY.num_mels), np.float32), np.ones((N, 6)))
    assert tuple(frames.shape) == (N, 6 * TINY.reduction_factor, TINY.num_mels)
    assert tuple(stop.shape) == (N, 6) and tuple(alignments.shape) == (N, 6, T_IN)

    out = Tacotron(TINY)(batch(), training=False)
    assert tuple(out["mel"].shape) == (N, T_OUT, TINY.num_mels)
    assert tuple(out["linear"].shape) == (N, T_OUT, TINY.num_freq)
    assert tuple(out["stop_logits"].shape) == (N, T_OUT // TINY.reduction_factor)
    assert tuple(out["alignments"].shape) == (N, T_OUT // TINY.reduction_factor, T_IN)


def test_fast_paths_compute_the_layers_they_replace():
    # Teacher forcing, the fused bidirectional GRU and the location features are computed by parts for speed
    # (docs/BENCHMARKS.md); each must equal the plain computation with the same weights.
    rng = np.random.default_rng(0)
    memory = rng.normal(size=(N, T_IN, 16)).astype(np.float32)
    mask = batch()["text_ids"] > 0
    decoder = AttentionDecoder(TINY)
    decoder.build(memory.shape)
    frames = rng.normal(size=(N, 6, TINY.num_mels)).astype(np.float32)
    state = np.array(decoder.seed.state.value)
    fast = decoder(memory, mask, frames, None)
    decoder.seed.state.assign(state)
    stepwise = decoder(memory, mask, frames, np.ones((N, 6), np.float32))
    for a, b in zip(fast, stepwise, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-5)

    cbhg = CBHG(3, 8, (8, 16), 2, 8)
    cbhg.build((N, T_IN, 16))
    x = rng.normal(size=(N, T_IN, 8)).astype(np.float32)
    keras_gru = keras.ops.convert_to_numpy(cbhg.gru(x, mask=mask)) * mask[..., None]
    fused = keras.ops.convert_to_numpy(bidirectional_gru(cbhg.gru, x, mask)) * mask[..., None]
    np.testing.assert_allclose(fused, keras_gru, atol=1e-5)

    attention = decoder.attention
    cumulative = rng.uniform(size=(N, T_IN)).astype(np.float32)
    layers = attention.location_layer(attention.location_conv(cumulative[..., None]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(attention._location_features(cumulative)),
                               keras.ops.convert_to_numpy(layers), atol=1e-5)


def test_hashed_dropout_mask_keeps_the_expected_share():
    mask = np.asarray(hashed_dropout_mask(3, 64, 128, 0.5, seed=1234))
    assert set(np.unique(mask)) == {0.0, 2.0}
    assert np.mean(mask > 0) == pytest.approx(0.5, abs=0.03)
    assert not np.array_equal(mask, np.asarray(hashed_dropout_mask(4, 64, 128, 0.5, seed=1234)))
