"""Synthesis quality metrics: sentence identification, over-smoothing, MCD-DTW, stop accuracy, length ratio."""

from __future__ import annotations

import math

import librosa
import numpy as np
import scipy.fft
import scipy.spatial.distance

# MCD in dB from natural-log cepstra (Kubichek 1993): (10 / ln 10) * sqrt(2 * sum_d (c_d - c'_d)^2).
_MCD_SCALE = 10.0 / math.log(10.0) * math.sqrt(2.0)


def mel_cepstrum(log_mel: np.ndarray, n_coefficients: int = 13) -> np.ndarray:
    """Log mel magnitudes [T, num_mels] -> cepstral coefficients 1..n [T, n] (c0, the frame energy, left out).

    Scaled as the inverse Fourier transform of the log amplitude spectrum (a DCT-II divided by 2 * num_mels), the
    convention of SPTK mel-cepstra that published MCD figures use.
    """
    log_mel = np.asarray(log_mel, np.float64)
    cepstrum = scipy.fft.dct(log_mel, type=2, axis=-1) / (2 * log_mel.shape[-1])
    return cepstrum[:, 1 : n_coefficients + 1]


def cepstral_dtw(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Euclidean distance along the DTW path between two cepstral sequences [T_a, D] and [T_b, D].

    DTW lets a prediction that speaks at a different pace be compared frame by frame with a recording.
    """
    if len(a) == 0 or len(b) == 0:
        raise ValueError("DTW needs at least one frame on each side")
    cost = scipy.spatial.distance.cdist(a, b, metric="euclidean")  # [T_a, T_b]
    _, path = librosa.sequence.dtw(C=cost, backtrack=True)
    return float(np.mean(cost[path[:, 0], path[:, 1]]))


def mcd_dtw(reference_log_mel: np.ndarray, predicted_log_mel: np.ndarray, n_coefficients: int = 13) -> float:
    """Mean mel cepstral distortion (dB) along the DTW path between two log mel spectrograms [T, num_mels].

    0 for identical inputs.
    """
    a = mel_cepstrum(reference_log_mel, n_coefficients)
    b = mel_cepstrum(predicted_log_mel, n_coefficients)
    return _MCD_SCALE * cepstral_dtw(a, b)


def sentence_identification(
    predicted_log_mels: list[np.ndarray],
    recorded_log_mels: list[np.ndarray],
    max_candidates: int = 64,
    n_coefficients: int = 13,
    seed: int = 0,
) -> dict:
    """Intelligibility without a recognizer: is each prediction nearer its own sentence's recording than any other's?

    Prediction i is compared by cepstral DTW with recording i and with the recordings of other sentences (all of
    them, or `max_candidates - 1` drawn at random when there are more). A model that mumbles, or that says the
    same thing whatever the text, lands near chance (1 / candidates); one that says the sentence lands near 1.
    Per utterance: `correct`, `nearest` (index of the nearest recording), and `margin` = distance to the nearest
    other recording over distance to its own (> 1 when identified; how clearly). The two lists must be in the
    same order and hold log mel spectrograms [T, num_mels] on the same scale.
    """
    n = len(recorded_log_mels)
    if len(predicted_log_mels) != n:
        raise ValueError(f"{len(predicted_log_mels)} predictions for {n} recordings")
    if n < 2:
        return {"available": False, "reason": f"needs at least 2 utterances to tell apart, the split has {n}"}
    predicted = [mel_cepstrum(m, n_coefficients) for m in predicted_log_mels]
    recorded = [mel_cepstrum(m, n_coefficients) for m in recorded_log_mels]
    rng = np.random.default_rng(seed)
    rows = []
    for i, prediction in enumerate(predicted):
        others = np.array([j for j in range(n) if j != i])
        if len(others) > max_candidates - 1:
            others = np.sort(rng.choice(others, max_candidates - 1, replace=False))
        own = cepstral_dtw(recorded[i], prediction)
        distances = np.array([cepstral_dtw(recorded[j], prediction) for j in others])
        nearest_other = int(np.argmin(distances))
        correct = own < distances[nearest_other]
        rows.append({
            "correct": bool(correct),
            "nearest": i if correct else int(others[nearest_other]),
            "margin": float(distances[nearest_other] / max(own, 1e-9)),
            "candidates": len(others) + 1,
        })
    candidates = float(np.mean([row["candidates"] for row in rows]))
    return {
        "available": True,
        "accuracy": float(np.mean([row["correct"] for row in rows])),
        "correct": int(sum(row["correct"] for row in rows)),
        "utterances": n,
        "chance": 1.0 / candidates,
        "median_margin": float(np.median([row["margin"] for row in rows])),
        "per_utterance": rows,
    }


def global_variance_ratio(reference_log_mel: np.ndarray, predicted_log_mel: np.ndarray) -> float:
    """Per-bin variance over time of the prediction over the recording's, averaged over bins (1.0: as lively as
    the recording; below 1: over-smoothed, the muffled sound of L1/L2-trained TTS; Toda et al. 2007)."""
    reference = np.var(np.asarray(reference_log_mel, np.float64), axis=0)  # [num_mels]
    predicted = np.var(np.asarray(predicted_log_mel, np.float64), axis=0)
    return float(np.mean(predicted / np.maximum(reference, 1e-8)))


def spectral_detail(log_mel: np.ndarray) -> float:
    """Mean absolute difference between neighbouring mel bins: harmonics and formants make it large, a blurred
    spectrogram small."""
    return float(np.mean(np.abs(np.diff(np.asarray(log_mel, np.float64), axis=-1))))


def stop_accuracy(stop_logits: np.ndarray, n_frames: int, reduction_factor: int, threshold: float = 0.5) -> float:
    """Share of an utterance's decoder steps whose stop decision is right (teacher-forced logits [T_dec]).

    The target is "go on" before the step that emits the last real frame and "stop" from there.
    """
    steps = -(-int(n_frames) // reduction_factor)
    says_stop = 1.0 / (1.0 + np.exp(-np.asarray(stop_logits[:steps], np.float64))) > threshold
    target = np.arange(steps) >= steps - 1
    return float(np.mean(says_stop == target))


def length_ratio(predicted_frames: int, true_frames: int) -> float:
    """Decoded length over the recording's: 1.0 is right; far above means decoding did not stop."""
    return float(predicted_frames) / max(int(true_frames), 1)
