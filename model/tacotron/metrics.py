"""Synthesis quality metrics: mel cepstral distortion after DTW, stop-token accuracy, decode-length ratio."""

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


def mcd_dtw(reference_log_mel: np.ndarray, predicted_log_mel: np.ndarray, n_coefficients: int = 13) -> float:
    """Mean mel cepstral distortion (dB) along the DTW path between two log mel spectrograms [T, num_mels].

    DTW lets a prediction that speaks at a different pace be compared frame by frame with the recording.
    0 for identical inputs.
    """
    a = mel_cepstrum(reference_log_mel, n_coefficients)
    b = mel_cepstrum(predicted_log_mel, n_coefficients)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("MCD needs at least one frame on each side")
    cost = scipy.spatial.distance.cdist(a, b, metric="euclidean")  # [T_a, T_b]
    _, path = librosa.sequence.dtw(C=cost, backtrack=True)
    per_frame = _MCD_SCALE * np.sqrt(np.sum((a[path[:, 0]] - b[path[:, 1]]) ** 2, axis=-1))
    return float(np.mean(per_frame))


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
