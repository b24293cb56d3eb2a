"""tacotron.audio.vocoder: Griffin-Lim recovers a known signal; waveforms undo normalization and log compression."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tacotron import audio
from tacotron.audio import vocoder

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
