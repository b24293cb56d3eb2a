"""The quality metrics judged on real recordings: sentence identification, global variance, spectral detail, gate."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.ndimage

from tacotron import audio, gate, metrics, vocoder

from .conftest import REPO

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


def evaluation(identified: float, length_ratio: float, failure: float = 0.0, count: int = 16) -> dict:
    """A metrics.json as tacotron-evaluate writes it, reduced to what the gate and the verdict read."""
    return {
        "free_running": {"sentence_identification": identified, "length_ratio": length_ratio,
                         "failure_rate": failure, "mcd_dtw_db": 5.0, "alignment_score": 0.6},
        "teacher_forced": {"loss": 1.0},
        "sentence_identification": {"available": True, "accuracy": identified, "correct": round(identified * count),
                                    "utterances": count, "chance": 1 / count},
    }


def test_default_gate_refuses_mumbling_and_half_length_models_and_passes_a_speaking_one():
    # The two models of the issue: aligned but mumbling (2/16 recognizable), and stopping at half length.
    mumbling = gate.check(evaluation(2 / 16, 0.99), gate.Thresholds())
    assert len(mumbling) == 1 and "sentence_identification" in mumbling[0]
    half = gate.check(evaluation(16 / 16, 0.50), gate.Thresholds())
    assert len(half) == 1 and "length_ratio" in half[0] and "below the minimum" in half[0]
    rambling = gate.check(evaluation(16 / 16, 1.6), gate.Thresholds())
    assert len(rambling) == 1 and "above the maximum" in rambling[0]
    assert gate.check(evaluation(16 / 16, 1.02), gate.Thresholds()) == []
    assert gate.verdict(evaluation(16 / 16, 1.02)) == (True, "speaks: 16/16 sentences recognizable (chance 6%)")
    speaks, sentence = gate.verdict(evaluation(2 / 16, 0.5, failure=0.125))
    assert not speaks and sentence == (
        "does not speak yet: only 2/16 sentences recognizable (chance 6%); 2 decode(s) never stopped; "
        "decodes are 0.50x the recorded length"
    )


def test_gate_says_why_when_identification_is_not_available():
    metrics_json = evaluation(1.0, 1.0)
    metrics_json["free_running"]["sentence_identification"] = None
    metrics_json["sentence_identification"] = {"available": False, "reason": "needs at least 2 utterances"}
    reasons = gate.check(metrics_json, gate.Thresholds())
    assert reasons == ["free_running.sentence_identification is not available (needs at least 2 utterances)"]
    assert gate.check(metrics_json, gate.Thresholds(min_sentence_identification=None)) == []
    assert gate.verdict(metrics_json) == (False, "cannot tell whether it speaks: needs at least 2 utterances")


def test_training_curves_draw_training_rows_and_quality_events_apart():
    from tacotron import report
    from tacotron.training_log import TrainingLog

    assert report.training_curves(TrainingLog(())) is None
    assert report.training_curves(TrainingLog(({"event": "first_step", "step": 1},))) is None
    rows = [{"step": s, "loss": 2.0 / s, "alignment_score": 0.5} for s in (25, 50, 75)]
    rows.append({"event": "quality", "step": 50, "sentence_identification": 0.5, "alignment_score": 0.1})
    png = report.training_curves(TrainingLog(tuple(rows)))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import io

    from PIL import Image

    three_panels = Image.open(io.BytesIO(png)).height
    two_panels = Image.open(io.BytesIO(report.training_curves(TrainingLog(tuple(rows[:3]))))).height
    assert three_panels > 1.3 * two_panels
