"""The thresholds a clip must meet to be trained on: flags of the preprocessing job, recorded in report.json."""

from __future__ import annotations

import dataclasses


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
