"""tacotron.audio: loading, resampling, trimming, spectrogram shapes and safe log compression."""

import io

import numpy as np
import pytest
import soundfile as sf

from tacotron import audio
from tests.corpus_factory import speech

CONFIG = audio.AudioConfig()


def encode(samples: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> io.BytesIO:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, subtype=subtype, format=fmt)
    buffer.seek(0)
    return buffer


def test_defaults_follow_the_8khz_design():
    assert (CONFIG.sample_rate, CONFIG.win_length, CONFIG.hop_length) == (8000, 400, 100)
    assert (CONFIG.n_fft, CONFIG.num_freq, CONFIG.num_mels, CONFIG.mel_fmax) == (512, 257, 80, 4000.0)


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
def test_resample_keeps_duration_and_pitch(rate):
    seconds = 1.5
    t = np.arange(int(seconds * rate)) / rate
    wav = audio.read_audio(encode(0.5 * np.sin(2 * np.pi * 440 * t), rate), CONFIG)
    assert wav.dtype == np.float32
    assert abs(len(wav) - seconds * 8000) <= 2
    spectrum = np.abs(np.fft.rfft(wav))
    assert abs(np.argmax(spectrum) * 8000 / len(wav) - 440) < 2


@pytest.mark.parametrize("subtype,fmt,channels", [
    ("PCM_16", "WAV", 1), ("PCM_24", "WAV", 2), ("FLOAT", "WAV", 3), ("PCM_U8", "WAV", 1), ("PCM_16", "FLAC", 2)])
def test_reads_formats_and_downmixes(subtype, fmt, channels):
    wav = audio.read_audio(encode(speech(1.0, 16000, 1, channels), 16000, subtype, fmt), CONFIG)
    assert wav.ndim == 1 and abs(len(wav) - 8000 - 0.4 * 8000) <= 2


@pytest.mark.parametrize("subtype,fmt", [("VORBIS", "OGG"), ("OPUS", "OGG"), ("MPEG_LAYER_III", "MP3")])
def test_reads_lossy_formats(subtype, fmt):
    # Common Voice ships MP3, other corpora OGG: libsndfile decodes both. Lossy encoders may pad the ends a little.
    wav = audio.read_audio(encode(speech(1.0, 16000, 1, 2), 16000, subtype, fmt), CONFIG)
    assert wav.ndim == 1 and abs(len(wav) - 8000 - 0.4 * 8000) <= 0.1 * 8000
    assert -30 < audio.speech_level_dbfs(wav, CONFIG) < -5


@pytest.mark.parametrize("payload,reason", [
    (b"", "empty_file"),
    (b"RIFF....WAVEfmt garbage" * 3, "unreadable_audio"),
])
def test_bad_bytes_raise_audio_error(payload, reason):
    with pytest.raises(audio.AudioError) as e:
        audio.read_audio(io.BytesIO(payload), CONFIG)
    assert e.value.reason == reason


def test_header_only_nan_and_silence_are_rejected():
    cases = {
        "no_samples": encode(np.zeros(0, np.float32), 16000),
        "silent": encode(np.zeros(1000, np.float32), 16000),
        "non_finite_samples": encode(np.array([0.1, np.nan, np.inf, 0.2], np.float32), 16000, "FLOAT"),
    }
    for reason, buffer in cases.items():
        with pytest.raises(audio.AudioError) as e:
            audio.read_audio(buffer, CONFIG)
        assert e.value.reason == reason


def test_trim_removes_leading_and_trailing_silence():
    wav = audio.resample(speech(1.0, 8000, 3), 8000, CONFIG)  # 0.2 s quiet on each side
    trimmed = audio.trim_silence(wav, CONFIG)
    # The quiet margins go; a second of speech stays, less the weakest sounds at its edges (40 dB under its peak).
    assert 0.8 * 8000 <= len(trimmed) <= 1.15 * 8000


def test_spectrogram_shapes_and_finite_log_floor():
    wav = audio.resample(speech(1.0, 8000, 2), 8000, CONFIG)
    mel, linear = audio.spectrograms(wav, CONFIG)
    frames = 1 + len(wav) // CONFIG.hop_length
    assert mel.shape == (frames, 80) and linear.shape == (frames, 257)
    assert mel.dtype == linear.dtype == np.float32
    silent_mel, silent_linear = audio.spectrograms(np.zeros(800, np.float32), CONFIG)
    for spec in (mel, linear, silent_mel, silent_linear):
        assert np.all(np.isfinite(spec))
        assert spec.min() >= CONFIG.log_floor_value - 1e-4
    assert np.allclose(silent_mel, CONFIG.log_floor_value)


def test_log_compress_is_floored_and_invertible():
    x = np.array([0.0, 1e-12, 1e-5, 0.5, 3.0], np.float32)
    logged = audio.log_compress(x, CONFIG)
    assert np.all(np.isfinite(logged))
    assert logged[0] == logged[1] == np.float32(CONFIG.log_floor_value)
    np.testing.assert_allclose(audio.log_decompress(logged, CONFIG)[2:], x[2:], rtol=1e-5)


def test_speech_level_tells_speech_from_dither_and_hiss():
    rng = np.random.default_rng(0)
    voiced = audio.resample(speech(1.0, 8000, 1), 8000, CONFIG)
    dither = rng.integers(-1, 2, 8000) / 32768
    hiss = 10 ** (-65 / 20) * rng.standard_normal(8000)
    full_scale_sine = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    assert -25 < audio.speech_level_dbfs(voiced, CONFIG) < -5
    assert audio.speech_level_dbfs(dither, CONFIG) < -85
    assert -68 < audio.speech_level_dbfs(hiss, CONFIG) < -62
    assert abs(audio.speech_level_dbfs(full_scale_sine, CONFIG) - 20 * np.log10(np.sqrt(0.5))) < 0.1
    # Shorter than one analysis frame: measured, not an error.
    assert np.isfinite(audio.speech_level_dbfs(np.full(3, 0.5), CONFIG))


def test_clipped_fraction_counts_runs_at_full_scale_only():
    x = np.array([0, 1, 1, 1, 0.5, -1, -1, 0.2, -1, -1, -1, -1], np.float32)
    # Runs of 3+ at the limit: three samples at +1 and four at -1; the pair at -1 is a peak, not clipping.
    assert audio.clipped_fraction(x) == 7 / 12
    assert audio.clipped_fraction(np.stack([x, np.zeros_like(x)], axis=1)) == 7 / 24
    eight_bit_max = np.full(10, 127 / 128, np.float32)
    assert audio.clipped_fraction(eight_bit_max) == 1.0
    assert audio.clipped_fraction(0.5 * np.sin(np.arange(1000))) == 0.0


def test_num_frames_is_the_stft_frame_count():
    for n in (1, 99, 100, 101, 399, 400, 8000, 12345):
        wav = np.random.default_rng(n).uniform(-0.5, 0.5, n).astype(np.float32)
        assert audio.num_frames(n, CONFIG) == len(audio.stft_magnitude(wav, CONFIG)), n
