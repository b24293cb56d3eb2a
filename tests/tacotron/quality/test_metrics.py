"""tacotron.quality.metrics judged on real recordings: sentence identification, global variance, spectral detail."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.ndimage

from tacotron import audio
from tacotron.audio import vocoder
from tacotron.quality import metrics
from tests.conftest import REPO

CONFIG = audio.AudioConfig()
CLIPS = 12


@pytest.fixture(scope="module")
def recordings() -> list[tuple[np.ndarray, np.ndarray]]:
    """(log mel, log linear) of the first CLIPS clips of the bundled corpus, loaded as the preprocessing job does."""
    corpus = REPO / "data" / "sample_corpus"
    clips = []
    for line in (corpus / "metadata.csv").read_text().splitlines()[:CLIPS]:
        wav = audio.trim_silence(audio.read_audio(str(corpus / "wavs" / f"{line.split('|')[0]}.flac")))
        clips.append(audio.spectrograms(wav, CONFIG))
    return clips


def resynthesized_mel(log_linear: np.ndarray) -> np.ndarray:
    """The log mel of a recording after the product's Griffin-Lim: what a perfect model's audio would give."""
    wav = vocoder.griffin_lim(audio.log_decompress(log_linear)[None], CONFIG, n_iter=30, power=1.5)
    wav = vocoder.deemphasis(wav, CONFIG)
    return audio.spectrograms(np.asarray(keras.ops.convert_to_numpy(wav))[0], CONFIG)[0]


@pytest.mark.slow  # Griffin-Lim over 16 recordings
def test_resynthesized_recordings_are_identified(recordings):
    recorded = [mel for mel, _ in recordings]
    result = metrics.sentence_identification([resynthesized_mel(linear) for _, linear in recordings], recorded)
    assert result["available"] and result["utterances"] == CLIPS and result["chance"] == pytest.approx(1 / CLIPS)
    assert result["accuracy"] >= 0.9, result
    assert result["median_margin"] > 1.0
    assert all(row["margin"] > 1.0 for row in result["per_utterance"] if row["correct"])


def test_shuffled_or_noise_predictions_score_near_chance(recordings):
    recorded = [mel for mel, _ in recordings]
    # Each "prediction" is another sentence's recording: fluent speech, the wrong words.
    shuffled = metrics.sentence_identification(recorded[1:] + recorded[:1], recorded)
    assert shuffled["correct"] == 0 and shuffled["median_margin"] < 1.0
    rng = np.random.default_rng(0)
    mean = np.mean(np.concatenate(recorded), axis=0)
    noise = [mean + rng.normal(0, 1.0, mel.shape).astype(np.float32) for mel in recorded]
    result = metrics.sentence_identification(noise, recorded)
    assert result["correct"] <= 3, result  # chance is 1 of 12
    # One mumble for every text (what a model that ignores its text produces) can only be right once.
    same = metrics.sentence_identification([recorded[0]] * CLIPS, recorded)
    assert same["correct"] <= 1


def test_identification_with_fewer_than_two_utterances_is_not_available(recordings):
    mel = recordings[0][0]
    result = metrics.sentence_identification([mel], [mel])
    assert result == {"available": False, "reason": "needs at least 2 utterances to tell apart, the split has 1"}


def test_identification_samples_distractors_when_there_are_many(recordings):
    recorded = [mel for mel, _ in recordings]
    result = metrics.sentence_identification(recorded, recorded, max_candidates=4)
    assert result["accuracy"] == 1.0 and result["chance"] == pytest.approx(0.25)
    assert {row["candidates"] for row in result["per_utterance"]} == {4}


def test_global_variance_and_spectral_detail_see_smoothing(recordings):
    mel = recordings[0][0]
    assert metrics.global_variance_ratio(mel, mel) == pytest.approx(1.0)
    smoothed = scipy.ndimage.uniform_filter(mel, size=(5, 5))
    assert metrics.global_variance_ratio(mel, smoothed) < 0.9
    assert metrics.spectral_detail(smoothed) < 0.8 * metrics.spectral_detail(mel)


CONFIG = audio.AudioConfig()


def chirp(seconds: float = 1.5) -> np.ndarray:
    t = np.arange(int(seconds * CONFIG.sample_rate)) / CONFIG.sample_rate
    return (0.5 * np.sin(2 * np.pi * (200 + 300 * t) * t) + 0.2 * np.sin(2 * np.pi * 900 * t)).astype(np.float32)


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
