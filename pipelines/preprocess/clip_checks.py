"""The thresholds a clip must meet to be trained on (flags of the preprocessing job, recorded in report.json), and
the corpus's own speaking-rate band. docs/PREPROCESSING.md shows the measurements each threshold rests on."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tacotron import audio

# A measured clip's trimmed 8 kHz samples, until its spectrograms replace them.
WAV = "wav"
# Fewer frames than this cannot be split into decoder steps meaningfully.
MIN_FRAMES = 4
# 1.4826 * MAD estimates the standard deviation of normally distributed values.
MAD_TO_STD = 1.4826
# Fewer kept clips than this give no stable median rate: the band is left open (the absolute limits still hold).
MIN_CLIPS_FOR_BAND = 10


@dataclasses.dataclass(frozen=True)
class ClipChecks:
    """What a clip must measure to be trained on; each is a flag of the job and is recorded in report.json."""

    max_seconds: float = 5.0
    # Speech level (95th percentile of frame RMS): speech read for TTS sits around -30 to -15 dBFS; dither, hiss
    # and muted inputs sit below -60.
    min_speech_dbfs: float = -50.0
    # Characters of the normalized transcript per second of speech (audio.speech_seconds: pauses left out). Read
    # sentences run at 13-26 here, one-word clips at 8-33; outside these limits the transcript is not this clip's.
    min_chars_per_second: float = 5.0
    max_chars_per_second: float = 45.0
    # Within those limits, a clip this many robust standard deviations from the corpus median rate is rejected too;
    # the band widens for texts shorter than the corpus's median (their rate is a weaker estimate).
    rate_outlier_k: float = 5.0
    # The longest sound (audio.longest_sound_seconds): 0.16 s or more in speech, under 0.07 s for clicks.
    min_sound_seconds: float = 0.1
    # Spectral flatness (audio.spectral_measures): 0.006 or more in speech, 0.00001 or less for hum, tones, beeps.
    min_spectral_flatness: float = 0.001
    # Spectral change (audio.spectral_measures): 3.0 dB or more in speech, 1.5 or less for steady noise.
    min_spectral_change_db: float = 2.0
    # Share of samples in runs at full scale above which a clip is rejected as clipped; below it, counted as a warning.
    max_clipped_fraction: float = 0.01


def trimmed_wav(samples: np.ndarray, rate: int, config: audio.AudioConfig) -> np.ndarray:
    """A decoded clip as the model hears it: mono, at 8 kHz, silence trimmed (what `measure_clip` keeps as WAV).
    audio.AudioError when the samples cannot be made mono."""
    return audio.trim_silence(audio.to_mono(samples, rate, config), config)


def measure_clip(transcript: str, samples: np.ndarray, rate: int, checks: ClipChecks,
                 config: audio.AudioConfig) -> dict[str, Any] | tuple:
    """One decoded clip against the checks that need only itself and its normalized transcript: its trimmed 8 kHz
    samples (`wav`) and measures, or (reason, detail[, fields for the rejected record]) of the first check it fails.
    The Beam job and benchmarks/preprocess.py both judge clips with this. audio.AudioError when the samples cannot be
    made mono."""
    # On the file's own samples: resampling rounds off the flat tops that mark clipping.
    clipped = audio.clipped_fraction(samples)
    wav = audio.to_mono(samples, rate, config)
    if len(wav) < MIN_FRAMES * config.hop_length:
        return "too_short", f"only {len(samples)} sample(s) at {rate} Hz, under {MIN_FRAMES} frames"
    level = audio.speech_level_dbfs(wav, config)
    if level < checks.min_speech_dbfs:
        return "silent", (f"speech level {level:.1f} dBFS (95th percentile of frame RMS), under "
                          f"--min_speech_dbfs {checks.min_speech_dbfs:g}")
    if clipped > checks.max_clipped_fraction:
        return "clipped", (f"{100 * clipped:.2f}% of samples in runs at full scale, over "
                           f"--max_clipped_fraction {checks.max_clipped_fraction:g}")
    wav = audio.trim_silence(wav, config)
    seconds = len(wav) / config.sample_rate
    if seconds > checks.max_seconds:
        return "too_long", f"{seconds:.2f} s after trimming silence, over the limit of {checks.max_seconds} s"
    if audio.num_frames(len(wav), config) < MIN_FRAMES:
        return "too_short", f"{seconds:.3f} s after trimming silence, under {MIN_FRAMES} frames"
    sound = audio.longest_sound_seconds(wav, config)
    if sound < checks.min_sound_seconds:
        return "clicks", (f"the longest sound lasts {sound:.3f} s, under --min_sound_seconds "
                          f"{checks.min_sound_seconds:g}: clicks or pops, not speech")
    spectrum = audio.spectral_measures(wav, config)
    if spectrum["spectral_flatness"] < checks.min_spectral_flatness:
        return "tonal", (f"spectral flatness {spectrum['spectral_flatness']:.5f}, under --min_spectral_flatness "
                         f"{checks.min_spectral_flatness:g}: a few pure frequencies (hum, a tone, beeps), not speech")
    if spectrum["spectral_change_db"] < checks.min_spectral_change_db:
        return "steady_signal", (f"the spectrum keeps one shape (changes {spectrum['spectral_change_db']:.2f} dB, "
                                 f"under --min_spectral_change_db {checks.min_spectral_change_db:g}): steady noise, "
                                 "not speech")
    speaking = max(audio.speech_seconds(wav, config), config.hop_length / config.sample_rate)
    chars_per_second = len(transcript) / speaking
    if not checks.min_chars_per_second <= chars_per_second <= checks.max_chars_per_second:
        return "implausible_rate", (
            f"{chars_per_second:.1f} characters/s ({len(transcript)} characters in {speaking:.2f} s of speech), "
            f"outside --min_chars_per_second {checks.min_chars_per_second:g} .. --max_chars_per_second "
            f"{checks.max_chars_per_second:g}"), {
            "measured_rate": round(chars_per_second, 2),
            "expected_rate": [checks.min_chars_per_second, checks.max_chars_per_second]}
    return {WAV: wav, "seconds": seconds, "speech_seconds": speaking, "chars_per_second": chars_per_second,
            "speech_dbfs": level, "clipped_fraction": clipped, "longest_sound_seconds": sound, **spectrum}


def rate_band(clips: list[tuple[float, int]], k: float) -> dict[str, float | int | None]:
    """The corpus's plausible speaking rates, from (rate, characters) of every clip: median +- k robust standard
    deviations, the spread measured for a text of the corpus's median length.

    A short text's rate is a weaker estimate (see `expected_rates`), so each clip's distance from the median is
    scaled by sqrt(characters / median characters) (up to 1) before the MAD is taken: one-word clips widen their own
    band, not everyone's. The spread is at least 5% of the median, so that a corpus of near-identical rates does not
    reject ordinary variation. With fewer than MIN_CLIPS_FOR_BAND clips the band is open.
    """
    if len(clips) < MIN_CLIPS_FOR_BAND:
        return {"clips": len(clips), "median": None, "spread": None, "median_characters": None, "k": k,
                "low": None, "high": None,
                "open_because": f"{len(clips)} clip(s), under {MIN_CLIPS_FOR_BAND} for a stable median"}
    rates = np.asarray([rate for rate, _ in clips], np.float64)
    characters = np.asarray([chars for _, chars in clips], np.float64)
    median, typical = float(np.median(rates)), float(np.median(characters))
    scaled = (rates - median) * np.minimum(1.0, np.sqrt(characters / typical))
    spread = max(MAD_TO_STD * float(np.median(np.abs(scaled))), 0.05 * median)
    # low and high: the band for a text of the median length (expected_rates widens it for shorter ones).
    return {"clips": len(rates), "median": median, "spread": spread, "k": k, "low": median - k * spread,
            "high": median + k * spread, "median_characters": typical}


def expected_rates(band: dict[str, Any], characters: int) -> tuple[float, float] | None:
    """The rates a clip of `characters` may have in this corpus, or None when the band is open.

    A rate over n characters averages n characters' durations, so its spread grows as 1/sqrt(n) for texts shorter
    than the median; a one-word clip gets a band about three times as wide as a sentence's.
    """
    if band["median"] is None:
        return None
    widen = max(1.0, float(np.sqrt(band["median_characters"] / max(characters, 1))))
    half = band["k"] * band["spread"] * widen
    return band["median"] - half, band["median"] + half
