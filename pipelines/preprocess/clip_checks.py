"""The thresholds a clip must meet to be trained on (flags of the preprocessing job, recorded in report.json), and
the corpus's own speaking-rate band."""

from __future__ import annotations

import dataclasses

import numpy as np

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
