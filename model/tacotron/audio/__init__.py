"""Audio at 8 kHz: load, resample, trim, spectrograms, safe log compression and their inverses."""

from __future__ import annotations

import dataclasses
import functools
import io
import math
from typing import BinaryIO

import librosa
import numpy as np
import scipy.signal
import soundfile as sf
import soxr


@dataclasses.dataclass(frozen=True)
class AudioConfig:
    """Every audio setting, shared by preprocessing, training and synthesis."""

    sample_rate: int = 8000
    frame_length_ms: float = 50.0
    frame_shift_ms: float = 12.5
    num_mels: int = 80
    mel_fmin: float = 0.0
    mel_fmax: float = 4000.0
    preemphasis: float = 0.97
    # Floor on magnitudes before the log: log(1e-5) = -11.5 bounds every value, so an all-zero frame
    # (or padding) can never become -inf and poison the normalization statistics or the loss.
    log_floor: float = 1e-5
    trim_top_db: float = 40.0
    resample_quality: str = "VHQ"

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.frame_length_ms / 1000.0))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.frame_shift_ms / 1000.0))

    @property
    def n_fft(self) -> int:
        return 1 << math.ceil(math.log2(self.win_length))

    @property
    def num_freq(self) -> int:
        """Linear-spectrogram bins: all the FFT's non-negative frequencies."""
        return self.n_fft // 2 + 1

    @property
    def log_floor_value(self) -> float:
        """The value padding takes in the log domain."""
        return math.log(self.log_floor)

    def to_dict(self) -> dict:
        settings = dataclasses.asdict(self)
        settings.update(win_length=self.win_length, hop_length=self.hop_length, n_fft=self.n_fft,
                        num_freq=self.num_freq, log_floor_value=self.log_floor_value)
        return settings


class AudioError(ValueError):
    """A clip that cannot become training data; `reason` is a stable machine-readable key."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decode(source: str | BinaryIO) -> tuple[np.ndarray, int]:
    """Decode any file libsndfile reads: float32 samples [n, channels] at the file's own rate, and that rate.

    Raises AudioError for empty, corrupt, header-only or non-finite audio.
    """
    if isinstance(source, str):
        with open(source, "rb") as f:
            data = f.read()
    else:
        data = source.read()
    if not data:
        raise AudioError("empty_file", "the file has zero bytes")
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as e:
        # LibsndfileError's message names the in-memory buffer; its error_string is the useful part.
        raise AudioError("unreadable_audio", getattr(e, "error_string", None) or str(e) or type(e).__name__) from e
    if samples.shape[0] == 0:
        raise AudioError("no_samples", f"the header is valid but holds no samples ({rate} Hz)")
    if not np.all(np.isfinite(samples)):
        bad = int(np.size(samples) - np.count_nonzero(np.isfinite(samples)))
        raise AudioError("non_finite_samples", f"{bad} NaN or infinite samples")
    return samples, rate


def to_mono(samples: np.ndarray, rate: int, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Decoded samples [n, channels] -> mono float32 at `config.sample_rate`; AudioError when every sample is zero."""
    mono = samples.mean(axis=1)
    if not np.any(mono):
        raise AudioError("silent", "every sample is zero")
    return resample(mono, rate, config)


def read_audio(source: str | BinaryIO, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Decode any file libsndfile reads to mono float32 at `config.sample_rate` (AudioError as `decode`, `to_mono`)."""
    return to_mono(*decode(source), config)


def resample(wav: np.ndarray, rate: int, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Band-limited resampling to `config.sample_rate` with libsoxr."""
    if rate == config.sample_rate:
        return wav.astype(np.float32, copy=False)
    return soxr.resample(wav, rate, config.sample_rate, quality=config.resample_quality).astype(np.float32)


def trim_silence(wav: np.ndarray, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Cut leading and trailing audio quieter than `trim_top_db` below the clip's peak."""
    trimmed, _ = librosa.effects.trim(wav, top_db=config.trim_top_db, frame_length=config.win_length,
                                      hop_length=config.hop_length)
    return trimmed


def stft_magnitude(wav: np.ndarray, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Magnitude STFT of the pre-emphasized signal, frames first: [T, num_freq]."""
    emphasized = scipy.signal.lfilter([1.0, -config.preemphasis], [1.0], wav)
    spec = librosa.stft(emphasized.astype(np.float32), n_fft=config.n_fft, hop_length=config.hop_length,
                        win_length=config.win_length, window="hann", center=True)
    return np.abs(spec).T.astype(np.float32)


def num_frames(num_samples: int, config: AudioConfig = AudioConfig()) -> int:
    """Frames `stft_magnitude` gives for a clip of `num_samples` (centered frames: one per hop, plus one)."""
    return 1 + num_samples // config.hop_length


@functools.lru_cache(maxsize=8)
def mel_basis(config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Mel filterbank [num_mels, num_freq] (Slaney-style, area-normalized)."""
    return librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.num_mels,
                               fmin=config.mel_fmin, fmax=config.mel_fmax).astype(np.float32)


def log_compress(magnitude: np.ndarray, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Natural log with a floor: finite for every finite input, zeros included."""
    return np.log(np.maximum(magnitude, config.log_floor)).astype(np.float32)


def log_decompress(log_magnitude: np.ndarray, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Inverse of `log_compress` (values at the floor come back as the floor)."""
    return np.exp(np.maximum(log_magnitude, config.log_floor_value)).astype(np.float32)


def spectrograms(wav: np.ndarray, config: AudioConfig = AudioConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Log mel [T, num_mels] and log linear [T, num_freq] spectrograms of one clip."""
    magnitude = stft_magnitude(wav, config)  # [T, num_freq]
    mel = magnitude @ mel_basis(config).T  # [T, num_mels]
    return log_compress(mel, config), log_compress(magnitude, config)


def speech_level_dbfs(wav: np.ndarray, config: AudioConfig = AudioConfig()) -> float:
    """How loud the clip's speech is: the 95th percentile of frame RMS, in dB relative to a full-scale amplitude.

    Speech fills well over 5% of any clip worth keeping, so this is its active level; dither, hiss or a muted
    input stay at their noise floor (-90 dBFS for +-1 LSB of 16 bits).
    """
    return float(20.0 * np.log10(max(float(np.percentile(frame_rms(wav, config), 95)), 1e-10)))


def frame_rms(wav: np.ndarray, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Each frame's RMS (frames of `win_length`, uncentered; a clip shorter than one frame is padded): [frames]."""
    padded = np.pad(wav, (0, max(0, config.win_length - len(wav))))
    return librosa.feature.rms(y=padded, frame_length=config.win_length, hop_length=config.hop_length,
                               center=False)[0]


def frame_levels_db(wav: np.ndarray, config: AudioConfig = AudioConfig()) -> np.ndarray:
    """Each frame's RMS in dB relative to a full-scale amplitude: [frames]."""
    return 20.0 * np.log10(np.maximum(frame_rms(wav, config), 1e-10))


def speech_seconds(wav: np.ndarray, config: AudioConfig = AudioConfig(), within_db: float = 25.0) -> float:
    """How long the clip speaks: the frames within `within_db` of its speech level (`speech_level_dbfs`).

    Pauses between and around words drop out, so a one-word clip's rate is judged on the word, not on its silences.
    """
    levels = frame_levels_db(wav, config)
    level = float(np.percentile(levels, 95))
    return float(np.count_nonzero(levels >= level - within_db)) * config.hop_length / config.sample_rate


def longest_sound_seconds(wav: np.ndarray, config: AudioConfig = AudioConfig(), within_db: float = 15.0) -> float:
    """The longest run of frames within `within_db` of the loudest one: a syllable's nucleus in speech (0.16 s or
    more in every bundled clip), a single frame's worth around each click."""
    levels = frame_levels_db(wav, config)
    loud = (levels >= levels.max() - within_db).astype(np.int8)
    edges = np.diff(np.pad(loud, 1))
    runs = np.nonzero(edges == -1)[0] - np.nonzero(edges == 1)[0]
    return float(runs.max(initial=0)) * config.hop_length / config.sample_rate


def spectral_measures(wav: np.ndarray, config: AudioConfig = AudioConfig(), segment_frames: int = 4,
                      range_db: float = 40.0, active_db: float = 30.0) -> dict[str, float]:
    """How speech-like a clip's spectrum is: its change over time and its flatness, from one STFT of the
    pre-emphasized clip in 50 ms frames every 25 ms (half the spectrogram's frames: these measures need no finer
    time).

    - `spectral_change_db`: speech moves from sound to sound, while steady noise keeps one spectral shape whatever
      its level does. The mel power spectrum is averaged over segments of `segment_frames` frames (100 ms, half
      overlapping); each segment's shape is its log spectrum less its own mean (loudness does not count), with
      values more than `range_db` under its own peak raised to that floor (window leakage does not count either).
      The measure is the 90th percentile, over the segments within `active_db` of the loudest, of the mean absolute
      distance in dB from the median shape.
    - `spectral_flatness`: the median, over frames within `active_db` of the loudest, of the spectral flatness
      (geometric over arithmetic mean of the power spectrum). Hum, tones and beeps put their energy in a few pure
      frequencies (flatness near 0); speech, even a vowel, spreads it over its harmonics and formants.
    """
    emphasized = scipy.signal.lfilter([1.0, -config.preemphasis], [1.0], wav).astype(np.float32)
    spectrum = librosa.stft(emphasized, n_fft=config.n_fft, hop_length=config.win_length // 2,
                            win_length=config.win_length, window="hann", center=True)
    power_spectrum = np.maximum(np.abs(spectrum.T) ** 2, 1e-10)  # [T, num_freq]
    energy = 10.0 * np.log10(power_spectrum.sum(axis=1))  # [T]
    active_frames = energy >= energy.max() - active_db
    # librosa.feature.spectral_flatness's definition, in NumPy: librosa's first call costs 1.8 s of lazy imports,
    # in every worker process.
    flatness = np.exp(np.log(power_spectrum).mean(axis=1)) / power_spectrum.mean(axis=1)  # [T]
    power = (np.sqrt(power_spectrum) @ mel_basis(config).T) ** 2  # [T, num_mels]
    if len(power) >= segment_frames:
        cumulative = np.cumsum(np.pad(power, ((1, 0), (0, 0))), axis=0)
        power = (cumulative[segment_frames:] - cumulative[:-segment_frames])[:: segment_frames // 2] / segment_frames
    db = 10.0 * np.log10(np.maximum(power, 1e-20))  # [S, num_mels]
    db = np.maximum(db, db.max(axis=1, keepdims=True) - range_db)
    level = db.mean(axis=1)  # [S]
    active = level >= level.max() - active_db
    shape = db[active] - level[active, None]
    return {"spectral_change_db": float(np.percentile(np.abs(shape - np.median(shape, axis=0)).mean(axis=1), 90)),
            "spectral_flatness": float(np.median(flatness[active_frames]))}

def clipped_fraction(samples: np.ndarray, min_run: int = 3, full_scale: float = 0.99) -> float:
    """Share of the samples (all channels) in runs of at least `min_run` consecutive samples at full scale.

    A run of equal-sign samples at the limit is what a clipping converter writes; single peaks that touch it are not.
    `full_scale` sits below 1.0 because 8-bit audio's largest positive value is 127/128.
    """
    if samples.ndim == 1:
        samples = samples[:, None]
    in_runs = 0
    for sign in (1.0, -1.0):
        at_limit = (sign * samples >= full_scale).astype(np.int8)  # [n, channels]
        edges = np.diff(np.pad(at_limit, ((1, 1), (0, 0))), axis=0)
        starts, ends = np.nonzero(edges.T == 1), np.nonzero(edges.T == -1)
        lengths = ends[1] - starts[1]  # both in (channel, sample) order, one end per start
        in_runs += int(lengths[lengths >= min_run].sum())
    return in_runs / samples.size if samples.size else 0.0


def wav_bytes(wav: np.ndarray, sample_rate: int) -> bytes:
    """A waveform in [-1, 1] as a 16-bit PCM WAV file's bytes (clipped, never wrapped)."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wav, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()
