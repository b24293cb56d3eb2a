"""Spectrogram -> waveform: undo normalization and log compression, Griffin-Lim, de-emphasis (keras.ops, batched)."""

from __future__ import annotations

import numpy as np
import scipy.signal
from keras import ops

from tacotron.audio import AudioConfig

# The de-emphasis filter 1 / (1 - a z^-1) as a truncated impulse response a^k: at a = 0.97 the taps left out
# beyond 512 are below 2e-7 of the first. A convolution, unlike a recursive filter, runs as one op in any graph.
_DEEMPHASIS_TAPS = 512
FRAME_MULTIPLE = 32
_EDGE_FRAMES = 4


def denormalize(spectrogram, mean: np.ndarray, std: np.ndarray, config: AudioConfig = AudioConfig()):
    """Normalized log spectrogram [N, T, bins] -> magnitudes [N, T, bins] (the TFT normalization, then the log)."""
    log_magnitude = ops.cast(spectrogram, "float32") * np.asarray(std, np.float32) + np.asarray(mean, np.float32)
    return ops.exp(ops.maximum(log_magnitude, config.log_floor_value))


def griffin_lim(magnitude, config: AudioConfig = AudioConfig(), n_iter: int = 60, power: float = 1.5, momentum=0.99):
    """Linear magnitudes [N, T, num_freq] -> waveforms [N, (T - 1) * hop] at config.sample_rate.

    Fast Griffin-Lim (Perraudin et al. 2013, as librosa does it): phase estimates from alternating projections,
    with momentum. `power` > 1 sharpens harmonics before phase recovery (Tacotron section 4).
    """
    stft_args = dict(
        sequence_length=config.win_length, sequence_stride=config.hop_length, fft_length=config.n_fft, center=True
    )
    target = ops.power(ops.cast(magnitude, "float32"), power)  # [N, T, F]
    # Silent frames on both sides, cut off at the end, so that the edges of the signal, where the window sum is
    # small and backends round differently, stay out of the audio.
    target = ops.pad(target, ((0, 0), (_EDGE_FRAMES, _EDGE_FRAMES), (0, 0)))  # [N, T + 2 * edge, F]
    length = (ops.shape(target)[1] - 1) * config.hop_length

    def to_wave(re, im):
        return istft(target * re, target * im, length, config)  # [N, samples]

    def unit(re, im):
        norm = ops.sqrt(re * re + im * im) + 1e-8
        return re / norm, im / norm

    def body(_, state):
        re, im, prev_re, prev_im = state
        rebuilt_re, rebuilt_im = ops.stft(to_wave(re, im), **stft_args)  # [N, T, F] each
        # Momentum: push the estimate further along the direction it just moved in.
        push = momentum / (1 + momentum)
        re, im = unit(rebuilt_re - push * prev_re, rebuilt_im - push * prev_im)
        return re, im, rebuilt_re, rebuilt_im

    zeros = ops.zeros_like(target)
    # Zero phase to start: deterministic, so in-process and exported synthesis give the same audio.
    re, im, _, _ = ops.fori_loop(0, n_iter, body, (ops.ones_like(target), zeros, zeros, zeros))
    edge = _EDGE_FRAMES * config.hop_length
    wav = to_wave(re, im)[:, edge : length - edge]  # [N, (T - 1) * hop]
    return deemphasis(wav, config)


def istft(re, im, length, config: AudioConfig = AudioConfig()):
    """Inverse of keras.ops.stft (hann window, centred): [N, T, F] real and imaginary parts -> [N, length].

    Overlap-add written with reshapes and pads: Keras's istft measured 20x slower on JAX (it is most of
    Griffin-Lim's time) and mis-scales the first samples on TensorFlow.
    """
    n_fft, hop, win = config.n_fft, config.hop_length, config.win_length
    window = np.zeros(n_fft, np.float32)
    offset = (n_fft - win) // 2
    window[offset : offset + win] = scipy.signal.get_window("hann", win)  # as keras.ops.stft pads it
    k = -(-n_fft // hop)  # hops spanned by one frame
    frames = ops.irfft((re, im), fft_length=n_fft) * window  # [N, T, n_fft]

    def overlap_add(x):  # [N, T, n_fft] -> [N, (T + k - 1) * hop]
        x = ops.pad(x, ((0, 0), (0, 0), (0, k * hop - n_fft)))
        n, t = ops.shape(x)[0], ops.shape(x)[1]
        chunks = ops.reshape(x, (n, t, k, hop))
        blocks = sum(ops.pad(chunks[:, :, j], ((0, 0), (j, k - 1 - j), (0, 0))) for j in range(k))  # [N, T+k-1, hop]
        return ops.reshape(blocks, (n, -1))

    signal = overlap_add(frames)
    weight = overlap_add(ops.ones_like(frames[:1]) * (window * window))  # [1, samples]: the window sum
    signal = signal / ops.where(weight > 1e-8, weight, 1.0)
    return signal[:, n_fft // 2 : n_fft // 2 + length]


def deemphasis(wav, config: AudioConfig = AudioConfig()):
    """Undo the pre-emphasis applied before the STFT in preprocessing: [N, samples] -> [N, samples]."""
    taps = config.preemphasis ** np.arange(_DEEMPHASIS_TAPS, dtype=np.float32)
    # Causal filter as a correlation: pad the past with zeros and flip the taps.
    kernel = ops.convert_to_tensor(taps[::-1].reshape(-1, 1, 1).copy())  # [taps, 1, 1]
    padded = ops.pad(ops.cast(wav, "float32")[..., None], ((0, 0), (_DEEMPHASIS_TAPS - 1, 0), (0, 0)))
    return ops.conv(padded, kernel, padding="valid")[..., 0]


def waveforms(linear, n_frames, mean: np.ndarray, std: np.ndarray, config: AudioConfig = AudioConfig(),
              n_iter: int = 60, power: float = 1.5):
    """Normalized log linear spectrograms [N, T, F] with lengths [N] -> (waveforms [N, samples] in [-1, 1],
    lengths [N] in samples). Frames past each length become silence before phase recovery."""
    # Silence up to a multiple of FRAME_MULTIPLE frames. Where the spectrogram ends changes how Griffin-Lim settles
    # the last frames, so every caller (in-process, batched, exported) must end it at the same place; it also
    # limits how many shapes a compiled program sees.
    t = ops.shape(linear)[1]
    linear = ops.pad(linear, ((0, 0), (0, (FRAME_MULTIPLE - t % FRAME_MULTIPLE) % FRAME_MULTIPLE), (0, 0)))
    magnitude = denormalize(linear, mean, std, config)  # [N, T, F]
    real = ops.arange(ops.shape(magnitude)[1])[None, :, None] < ops.cast(n_frames, "int32")[:, None, None]
    magnitude = ops.where(real, magnitude, config.log_floor)
    wav = ops.clip(griffin_lim(magnitude, config, n_iter, power), -1.0, 1.0)
    lengths = ops.maximum(ops.cast(n_frames, "int32") - 1, 0) * config.hop_length
    return wav, lengths
