"""The thresholds a clip must meet to be trained on (flags of the preprocessing job, recorded in report.json), and
the corpus's own speaking-rate band."""

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


@dataclasses.dataclass(frozen=True)
class ClipChecks:
    """What a clip must measure to be trained on; each is a flag of the job and is recorded in report.json."""

    max_seconds: float = 5.0
    # Speech level (95th percentile of frame RMS): speech read for TTS sits around -30 to -15 dBFS; dither, hiss
    # and muted inputs sit below -60.
    min_speech_dbfs: float = -50.0
    # Characters of the normalized transcript per second of trimmed speech. Read speech runs at 11-23 here
    # (bundled and generated corpora) and about 15 in LJSpeech; outside these limits the transcript is not this clip's.
    min_chars_per_second: float = 5.0
    max_chars_per_second: float = 35.0
    # Within those limits, a clip this many robust standard deviations from the corpus median rate is rejected too.
    rate_outlier_k: float = 5.0
    # Share of samples in runs at full scale above which a clip is rejected as clipped; below it, counted as a warning.
    max_clipped_fraction: float = 0.01


def measure_clip(transcript: str, samples: np.ndarray, rate: int, checks: ClipChecks,
                 config: audio.AudioConfig) -> dict[str, Any] | tuple[str, str]:
    """One decoded clip against the checks that need only itself and its normalized transcript: its trimmed 8 kHz
    samples (`wav`) and measures, or (reason, detail) of the first check it fails. The Beam job and
    benchmarks/preprocess.py both judge clips with this. audio.AudioError when the samples cannot be made mono."""
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
    chars_per_second = len(transcript) / seconds
    if not checks.min_chars_per_second <= chars_per_second <= checks.max_chars_per_second:
        return "implausible_rate", (
            f"{chars_per_second:.1f} characters/s ({len(transcript)} characters in {seconds:.2f} s of speech), "
            f"outside --min_chars_per_second {checks.min_chars_per_second:g} .. --max_chars_per_second "
            f"{checks.max_chars_per_second:g}")
    return {WAV: wav, "seconds": seconds, "chars_per_second": chars_per_second, "speech_dbfs": level,
            "clipped_fraction": clipped}


def rate_band(rates: list[float], k: float) -> dict[str, float | int | None]:
    """The corpus's plausible speaking rates: median +- k robust standard deviations (from the MAD).

    The spread is at least 5% of the median, so that a corpus of near-identical rates does not reject ordinary
    variation. With no clips, the band is open.
    """
    if not rates:
        return {"clips": 0, "median": None, "spread": None, "low": None, "high": None, "k": k}
    values = np.asarray(rates, np.float64)
    median = float(np.median(values))
    spread = max(MAD_TO_STD * float(np.median(np.abs(values - median))), 0.05 * median)
    return {"clips": len(values), "median": median, "spread": spread, "low": median - k * spread,
            "high": median + k * spread, "k": k}
