"""Synthesis pieces in-process: Griffin-Lim, MCD-DTW, free-running decoding limits, text preparation, the gate."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from tacotron import audio, gate, metrics, vocoder
from tacotron.config import SynthesisConfig, TacotronConfig
from tacotron.frontend import Frontend
from tacotron.inference import TextError, compiled, prepare_text, split_text, text_batch
from tacotron.model import Tacotron
from tacotron.modules import hashed_dropout_mask
from tacotron.text import normalize_text

TINY = TacotronConfig(
    vocab_size=40, embedding_dim=16, encoder_prenet_units=(16, 8), encoder_conv_bank_k=3, encoder_channels=8,
    encoder_highway_layers=1, reduction_factor=4, decoder_prenet_units=(16, 8), attention_units=16,
    attention_rnn_units=32, location_filters=4, location_kernel_size=5, decoder_rnn_units=32, decoder_rnn_layers=1,
    post_conv_bank_k=3, post_channels=8, post_projection_channels=16, post_highway_layers=1,
)
CONFIG = audio.AudioConfig()


def chirp(seconds: float = 1.5) -> np.ndarray:
    t = np.arange(int(seconds * CONFIG.sample_rate)) / CONFIG.sample_rate
    return (0.5 * np.sin(2 * np.pi * (200 + 300 * t) * t) + 0.2 * np.sin(2 * np.pi * 900 * t)).astype(np.float32)


def spectral_convergence(wav: np.ndarray, magnitude: np.ndarray) -> float:
    """||S - |STFT(wav)||| / ||S||: 0 when the waveform has exactly the target magnitudes."""
    rebuilt = audio.stft_magnitude(wav, CONFIG)[: len(magnitude)]
    target = magnitude[: len(rebuilt)]
    return float(np.linalg.norm(rebuilt - target) / np.linalg.norm(target))


def test_griffin_lim_recovers_a_known_signal():
    magnitude = audio.stft_magnitude(chirp(), CONFIG)  # [T, num_freq], of the pre-emphasized signal
    wav = np.asarray(keras.ops.convert_to_numpy(vocoder.griffin_lim(magnitude[None], CONFIG, n_iter=60, power=1.0)))[0]
    assert wav.shape == ((len(magnitude) - 1) * CONFIG.hop_length,)
    assert spectral_convergence(wav, magnitude) < 0.1
    # More iterations, closer; and a random waveform is nowhere near.
    few = np.asarray(keras.ops.convert_to_numpy(vocoder.griffin_lim(magnitude[None], CONFIG, n_iter=2, power=1.0)))[0]
    assert spectral_convergence(wav, magnitude) < spectral_convergence(few, magnitude)
    noise = np.random.default_rng(0).normal(scale=0.3, size=wav.shape).astype(np.float32)
    assert spectral_convergence(noise, magnitude) > 0.5


def test_waveforms_undo_normalization_and_log():
    """Normalized log spectrogram -> audio with the original's loudness; frames past a length become silence."""
    _, linear = audio.spectrograms(chirp(1.0), CONFIG)  # [T, F] log magnitudes
    mean, std = linear.mean(axis=0), linear.std(axis=0) + 1e-3
    normalized = ((linear - mean) / std)[None]
    wav, lengths = vocoder.waveforms(normalized, np.array([len(linear)]), mean, std, CONFIG, n_iter=30, power=1.0)
    wav = np.asarray(keras.ops.convert_to_numpy(wav))[0]
    assert int(np.asarray(lengths)[0]) == (len(linear) - 1) * CONFIG.hop_length
    original = chirp(1.0)
    assert np.sqrt(np.mean(wav**2)) == pytest.approx(np.sqrt(np.mean(original**2)), rel=0.25)
    half = len(linear) // 2
    cut, _ = vocoder.waveforms(normalized, np.array([half]), mean, std, CONFIG, n_iter=5, power=1.0)
    tail = np.asarray(keras.ops.convert_to_numpy(cut))[0, (half + 2) * CONFIG.hop_length :]
    assert np.abs(tail).max() < 1e-2


def test_mcd_dtw_is_zero_for_identical_and_grows_with_noise():
    log_mel, _ = audio.spectrograms(chirp(), CONFIG)
    assert metrics.mcd_dtw(log_mel, log_mel) == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(0)
    small = metrics.mcd_dtw(log_mel, log_mel + rng.normal(scale=0.1, size=log_mel.shape))
    large = metrics.mcd_dtw(log_mel, log_mel + rng.normal(scale=1.0, size=log_mel.shape))
    assert 0 < small < large
    # DTW: the same utterance spoken slower (every frame twice) is still a near-perfect match.
    assert metrics.mcd_dtw(log_mel, np.repeat(log_mel, 2, axis=0)) == pytest.approx(0.0, abs=1e-9)


def test_stop_accuracy_and_length_ratio():
    logits = np.array([-5.0, -5.0, -5.0, 5.0, 5.0])  # says stop from step 3
    assert metrics.stop_accuracy(logits, n_frames=16, reduction_factor=4) == 1.0  # 4 steps, last one stops
    assert metrics.stop_accuracy(logits, n_frames=20, reduction_factor=4) == pytest.approx(0.8)  # step 3 early
    assert metrics.length_ratio(200, 100) == 2.0


def build(stop_bias: float) -> Tacotron:
    model = Tacotron(TINY)
    model(model.dummy_inputs(), training=False)
    kernel, bias = model.decoder.stop_projection.weights
    kernel.assign(np.zeros(kernel.shape, np.float32))
    bias.assign(np.full(bias.shape, stop_bias, np.float32))
    return model


def ids_and_lengths():
    ids = np.random.default_rng(1).integers(1, TINY.vocab_size, (2, 10)).astype(np.int32)
    ids[1, 6:] = 0
    return ids, np.array([10, 6], np.int32)


def decode(model: Tacotron, ids, lengths, synthesis: SynthesisConfig) -> dict:
    """The decoder compiled as the synthesizer runs it (one XLA program instead of hundreds of eager ops)."""
    run = compiled(lambda i, n: model.infer_frames(i, n, synthesis), model.variables)
    return {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in run(ids, lengths).items()}


def test_decoding_stops_at_the_length_limit_when_the_stop_token_never_fires():
    synthesis = SynthesisConfig(max_frames_per_char=3.0, min_frames=4)
    ids, lengths = ids_and_lengths()
    out = decode(build(stop_bias=-30.0), ids, lengths, synthesis)
    limits = np.ceil((lengths * 3.0 + 4) / TINY.reduction_factor).astype(int) * TINY.reduction_factor
    np.testing.assert_array_equal(out["n_frames"], limits)
    np.testing.assert_array_equal(out["stopped"], [False, False])
    # The buffers are sized from the padded text width.
    assert out["mel"].shape[1] == synthesis.max_steps(ids.shape[1], TINY.reduction_factor) * TINY.reduction_factor


def test_decoding_stops_when_the_stop_token_fires():
    out = decode(build(stop_bias=30.0), *ids_and_lengths(), SynthesisConfig())
    np.testing.assert_array_equal(out["n_frames"], [TINY.reduction_factor] * 2)
    np.testing.assert_array_equal(out["stopped"], [True, True])


def test_inference_is_repeatable_and_padding_free():
    model = build(stop_bias=-30.0)
    ids, lengths = ids_and_lengths()
    synthesis = SynthesisConfig(max_frames_per_char=2.0, min_frames=4)
    first = decode(model, ids, lengths, synthesis)
    again = decode(model, ids, lengths, synthesis)
    np.testing.assert_array_equal(first["mel"], again["mel"])
    # Extra text padding (as the synthesizer adds to reuse compiled programs) changes nothing.
    padded = decode(model, np.pad(ids, ((0, 0), (0, 6))), lengths, synthesis)
    t = first["mel"].shape[1]
    np.testing.assert_allclose(padded["mel"][:, :t], first["mel"], atol=1e-5)
    # Pre-net dropout stays on: another seed, other audio.
    other = decode(model, ids, lengths, dataclasses.replace(synthesis, seed=7))
    assert not np.allclose(other["mel"], first["mel"])


def test_hashed_dropout_mask_keeps_the_expected_share():
    mask = np.asarray(hashed_dropout_mask(3, 64, 128, 0.5, seed=1234))
    assert set(np.unique(mask)) == {0.0, 2.0}
    assert np.mean(mask > 0) == pytest.approx(0.5, abs=0.03)
    assert not np.array_equal(mask, np.asarray(hashed_dropout_mask(4, 64, 128, 0.5, seed=1234)))


@pytest.mark.filterwarnings("ignore:dropped what cannot be read")
def test_text_preparation_rejects_unspeakable_text_and_splits_long_text():
    for bad in ("", "   ", "?!...", "😀😀", "中文"):
        with pytest.raises(TextError, match="nothing to say"):
            prepare_text(bad, 200)
    long = " ".join(f"Sentence number {i} is here." for i in range(300))  # about 9,000 characters
    chunks = prepare_text(long, 200)
    # Whole sentences packed up to the limit, none cut inside a sentence.
    total = len(normalize_text(long))
    assert total / 200 <= len(chunks) <= total / 150
    assert all(0 < len(c) <= 200 and c.endswith(".") for c in chunks)
    assert " ".join(chunks) == normalize_text(long)
    one_long_sentence = "word " * 500
    assert all(len(c) <= 200 for c in split_text(one_long_sentence.strip(), 200))
    # Text that fits stays one chunk, initials and all, as it would be one training clip.
    assert split_text("j. r. smith met dr. who. then he left.", 200) == ["j. r. smith met dr. who. then he left."]
    ids, lengths = text_batch(["ab", "abc"], ("a", "b", "c"), Frontend("characters"))
    np.testing.assert_array_equal(ids, [[1, 2, 0], [1, 2, 3]])
    np.testing.assert_array_equal(lengths, [2, 3])


def evaluation(mcd: float, failure: float, score: float, loss: float) -> dict:
    return {
        "free_running": {"mcd_dtw_db": mcd, "failure_rate": failure, "alignment_score": score,
                         "sentence_identification": 1.0, "length_ratio": 1.0},
        "teacher_forced": {"loss": loss},
    }


def test_gate_thresholds_and_baseline():
    good = evaluation(mcd=6.0, failure=0.0, score=0.6, loss=1.0)
    assert gate.check(good, gate.Thresholds(max_failure_rate=0.1, max_mcd=8.0, min_alignment_score=0.5)) == []
    reasons = gate.check(good, gate.Thresholds(max_mcd=5.0, min_alignment_score=0.7))
    assert len(reasons) == 2 and "mcd_dtw_db" in reasons[0] and "alignment_score" in reasons[1]
    # Against a baseline: within the allowed regression passes, beyond it fails and says which metric.
    assert gate.check(evaluation(6.2, 0.0, 0.6, 1.0), gate.Thresholds(max_regression=0.05), good) == []
    reasons = gate.check(evaluation(7.0, 0.2, 0.6, 1.0), gate.Thresholds(max_regression=0.05), good)
    assert any("mcd_dtw_db" in r for r in reasons) and any("failure_rate" in r for r in reasons)
    with pytest.raises(ValueError, match="not a tacotron-evaluate"):
        gate.check({"free_running": {}}, gate.Thresholds(max_mcd=1.0))
