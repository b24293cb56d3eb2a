"""Model pieces in-process: layer shapes, loss masking, schedules, alignment scores, skipping bad steps, overfitting."""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
import pytest

from tacotron import alignment, dataset, losses
from tacotron.attention import LocationSensitiveAttention, make_attention
from tacotron.config import LossConfig, TacotronConfig
from tacotron.decoder import AttentionDecoder
from tacotron.lr_schedule import WarmupDecay, scaled_learning_rate
from tacotron.model import Tacotron
from tacotron.modules import CBHG, Highway, Prenet, bidirectional_gru
from tacotron.optimizers import make_optimizer

TINY = TacotronConfig(
    vocab_size=40, embedding_dim=16, encoder_prenet_units=(16, 8), encoder_conv_bank_k=3, encoder_channels=8,
    encoder_highway_layers=1, reduction_factor=4, decoder_prenet_units=(16, 8), attention_units=16,
    attention_rnn_units=32, location_filters=4, location_kernel_size=5, decoder_rnn_units=32, decoder_rnn_layers=2,
    post_conv_bank_k=3, post_channels=8, post_projection_channels=16, post_highway_layers=1,
)
N, T_IN, T_OUT = 3, 11, 24


def batch(t_in: int = T_IN, t_out: int = T_OUT, seed: int = 0) -> dict:
    """A padded batch; padding beyond each length holds garbage, which masking must make irrelevant."""
    rng = np.random.default_rng(seed)
    text_length = np.array([11, 7, 9], np.int32)
    n_frames = np.array([24, 13, 18], np.int32)
    text_ids = rng.integers(1, TINY.vocab_size, (N, t_in)).astype(np.int32)
    text_ids[np.arange(t_in)[None, :] >= text_length[:, None]] = 0
    return {
        "text_ids": text_ids,
        "text_length": text_length,
        "mel": rng.normal(size=(N, t_out, TINY.num_mels)).astype(np.float32),
        "linear": rng.normal(size=(N, t_out, TINY.num_freq)).astype(np.float32),
        "n_frames": n_frames,
    }


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


def test_attention_registry_names_the_choices():
    with pytest.raises(ValueError, match="location_sensitive"):
        make_attention("gmm", units=4)


def test_padded_text_gets_no_attention():
    out = Tacotron(TINY)(batch(), training=False)
    alignments = keras.ops.convert_to_numpy(out["alignments"])
    assert np.all(alignments[1, :, 7:] < 1e-6)  # utterance 1 has 7 characters


def test_padding_does_not_change_the_loss():
    # No dropout, inference-mode batch norm: the same utterances must give the same loss however they are padded.
    config = dataclasses.replace(TINY, decoder_prenet_dropout=0.0)
    model = Tacotron(config, LossConfig(guided_attention_weight=1.0))
    short = batch()
    long = batch(t_in=T_IN + 5, t_out=T_OUT + 8, seed=1)
    for name in ("text_ids",):
        long[name][:, :T_IN] = short[name]
    for name in ("mel", "linear"):
        long[name][:, :T_OUT] = short[name]
    parts_short = model.loss_parts(short, model(short, training=False))
    parts_long = model.loss_parts(long, model(long, training=False))
    for name in parts_short:
        np.testing.assert_allclose(float(parts_short[name]), float(parts_long[name]), rtol=1e-4, err_msg=name)


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


def test_alignment_scores_tell_diagonal_from_uniform_and_stuck():
    steps, chars = 20, 10
    diagonal = np.zeros((1, steps, chars), np.float32)
    diagonal[0, np.arange(steps), np.arange(steps) * chars // steps] = 1.0
    uniform = np.full((1, steps, chars), 1.0 / chars, np.float32)
    stuck = np.zeros((1, steps, chars), np.float32)
    stuck[0, :, 0] = 1.0
    lengths, text = np.array([steps]), np.array([chars])

    def score(a):
        return float(alignment.focus(a, lengths)[0]), float(alignment.diagonality(a, lengths, text)[0])

    assert score(diagonal) == pytest.approx((1.0, 1.0))
    focus, diag = score(uniform)
    assert focus == pytest.approx(0.1) and diag < 0.5
    focus, diag = score(stuck)
    assert focus == 1.0 and diag < 0.35  # only the first steps, where the diagonal passes character 0
    assert float(alignment.alignment_score(diagonal, lengths, text)[0]) > 0.9
    assert float(alignment.alignment_score(uniform, lengths, text)[0]) < 0.1


def test_guided_attention_penalizes_off_diagonal_mass():
    steps, chars = 8, 8
    diagonal = np.eye(steps, chars, dtype=np.float32)[None]
    anti = diagonal[:, ::-1]
    lengths, text = np.array([steps]), np.array([chars])
    assert float(losses.guided_attention_loss(diagonal, lengths, text, 0.2)) < 0.05
    assert float(losses.guided_attention_loss(anti, lengths, text, 0.2)) > 0.5


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


@pytest.mark.slow  # 300 training steps on preprocessed data
def test_tiny_model_overfits_four_utterances(sample_data):
    info = dataset.inspect_data(str(sample_data))
    buckets = dataset.make_buckets(info.n_frames["train"], info.text_lengths["train"], 1, 4)
    four = next(iter(dataset.make_dataset(info, "train", 4, buckets, shuffle_buffer=0)))
    frames = int(np.ceil(int(max(four["n_frames"])) / 4) * 4)
    four = {k: v.numpy() for k, v in four.items()}
    four.update(mel=four["mel"][:, :frames], linear=four["linear"][:, :frames],
                text_ids=four["text_ids"][:, : int(max(four["text_length"]))])
    config = dataclasses.replace(TINY, vocab_size=info.vocab_size, embedding_dim=32, decoder_rnn_units=64,
                                 attention_rnn_units=64, decoder_prenet_dropout=0.0, post_channels=32,
                                 post_projection_channels=64)
    model = Tacotron(config, LossConfig())
    model(four, training=False)
    model.compile(optimizer=make_optimizer("adam", WarmupDecay(5e-3, 10, "constant"), 1.0, 1))
    spectral = []
    for _ in range(300):
        logs = model.train_on_batch(four, return_dict=True)
        model.reset_metrics()
        spectral.append(logs["mel_loss"] + logs["linear_loss"])
    first, last = spectral[0], float(np.mean(spectral[-5:]))
    assert last < first / 4, f"spectrogram L1 fell only from {first:.3f} to {last:.3f}"


def test_buckets_pad_as_little_as_possible():
    import itertools

    rng = np.random.default_rng(0)
    for _ in range(50):
        lengths = rng.integers(1, 60, size=rng.integers(1, 25))
        count = int(rng.integers(1, 5))
        buckets = dataset.make_buckets(lengths, lengths, count, 4)
        rounded = np.ceil(lengths / 4).astype(int) * 4

        def padded(bounds, rounded=rounded) -> int:
            return sum(min(b for b in bounds if b >= v) for v in rounded)

        candidates = np.unique(rounded)
        best = min(
            padded(combo)
            for k in range(1, count + 1)
            for combo in itertools.combinations(candidates, k)
            if combo[-1] == candidates[-1]
        )
        assert len(buckets.frames) <= count and padded(buckets.frames) == best
    # One long clip no longer stretches a bucket shared by shorter ones.
    lengths = np.array([100] * 30 + [120] * 30 + [160] * 30 + [336])
    assert dataset.make_buckets(lengths, lengths, 4, 4).frames == (100, 120, 160, 336)


def test_dropout_seed_state_travels_with_the_weights(tmp_path):
    model = Tacotron(TINY)
    model(batch(), training=True)  # draws pre-net dropout: the seed states move on from their initial values
    path = str(tmp_path / "ckpt.weights.h5")
    model.save_weights(path)
    restored = Tacotron(TINY)
    restored(batch(), training=False)
    restored.load_weights(path)
    pairs = ((model.decoder, restored.decoder), (model.decoder.prenet, restored.decoder.prenet),
             (model.encoder_prenet, restored.encoder_prenet))
    for trained, loaded in pairs:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.seed.state.value),
                                      keras.ops.convert_to_numpy(trained.seed.state.value))
    assert not np.array_equal(keras.ops.convert_to_numpy(model.decoder.seed.state.value),
                              keras.ops.convert_to_numpy(Tacotron(TINY).decoder.seed.state.value))
