"""Beam steps that turn a corpus's rows (pipelines.preprocess.layouts) into raw features, with a dead-letter output
for rejects."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import threadpoolctl

from pipelines.preprocess.clip_checks import WAV, ClipChecks, expected_rates, measure_clip, trimmed_wav
from pipelines.preprocess.layouts import decode_text, rejection, undecodable
from tacotron import audio, features, storage, text
from tacotron.text import frontend

REJECTED = "rejected"


def read_audio(path: str) -> tuple[np.ndarray, int]:
    """A clip's samples and rate, read through tacotron.storage (a local path, gs:// or s3://)."""
    return audio.decode(io.BytesIO(storage.read_bytes(path)))


class KeepFirstOfId(beam.DoFn):
    """Of the rows sharing an id, keep the earliest line and reject the others."""

    def process(self, grouped: tuple[str, Iterable[dict[str, Any]]]) -> Iterator[Any]:
        record_id, rows = grouped
        first, *others = sorted(rows, key=lambda row: row["line"])
        for row in others:
            detail = f"line {row['line']} repeats the id first used on line {first['line']}"
            yield beam.pvalue.TaggedOutput(REJECTED, rejection(record_id, "duplicate_id", detail, row["line"]))
        yield first


class MeasureClip(beam.DoFn):
    """Row -> the trimmed 8 kHz clip and its measures (duration, speaking rate, speech level, clipped share, how
    speech-like it sounds), or a rejection by the `ClipChecks` that need only the clip itself."""

    def __init__(self, checks: ClipChecks, config: audio.AudioConfig):
        self._checks = checks
        self._config = config

    @staticmethod
    def _find_audio(candidates: list[str]) -> str | None:
        return next((path for path in candidates if storage.exists(path)), None)

    @staticmethod
    def _transcript(row: dict[str, Any]) -> str | tuple[str, str]:
        """The row's transcript, read from its file for the layouts that keep one per clip."""
        if "transcript_file" not in row:
            return row["transcript"]
        try:
            data = storage.read_bytes(row["transcript_file"])
        except storage.StorageError as e:
            return "unreadable_transcript", str(e)
        decoded = decode_text(data)
        if decoded is None:
            return "undecodable_text", f"{row['transcript_file']}: {undecodable(data)}"
        # A .lab or .txt beside a clip may wrap its one sentence over lines.
        return " ".join(decoded.split())

    def process(self, row: dict[str, Any]) -> Iterator[Any]:
        record_id, line = row["id"], row["line"]
        outcome = self._measure(row)
        if isinstance(outcome, tuple):
            reason, detail, *extra = outcome
            beam.metrics.Metrics.counter("preprocess", f"rejected_{reason}").inc()
            record = {**rejection(record_id, reason, detail, line), **(extra[0] if extra else {})}
            yield beam.pvalue.TaggedOutput(REJECTED, record)
            return
        beam.metrics.Metrics.counter("preprocess", "kept").inc()
        yield outcome

    def _measure(self, row: dict[str, Any]) -> dict[str, Any] | tuple[str, str]:
        config, checks = self._config, self._checks
        original = self._transcript(row)
        if isinstance(original, tuple):
            return original
        transcript = text.normalize_text(original)
        if not transcript:
            return "empty_transcript", f"nothing to speak after normalization of {original[:120]!r}"
        # Both frontends' symbols: the records serve a model of either kind (tacotron.features).
        symbols = {name: frontend.Frontend(name).symbol_string(transcript) for name in frontend.FRONTENDS}
        if not symbols[frontend.PHONEMES]:
            return "empty_phonemes", f"espeak-ng gives no phonemes for {transcript[:120]!r}"
        path = self._find_audio(row["audio"])
        if path is None:
            where = ", ".join(row["audio"][:3]) + (" ..." if len(row["audio"]) > 3 else "")
            return "missing_audio", f"no audio file for {row.get('source', row['id'])}" + (
                f" (looked for {where})" if where else "")
        try:
            samples, rate = read_audio(path)
            measured = measure_clip(transcript, samples, rate, checks, config)
        except audio.AudioError as e:
            return e.reason, f"{path}: {e.detail}", {"audio": path}
        if isinstance(measured, tuple):
            reason, detail, *extra = measured
            return reason, detail, {**(extra or [{}])[0], "audio": path}
        # The measures, not the samples: until the corpus's speaking-rate band is known every kept clip waits between
        # stages, held by the runner; a few numbers each keep that flat in corpus size. The samples are read again
        # after it (ComputeSpectrograms).
        return {
            features.ID: row["id"],
            features.TEXT: transcript,
            features.CHARACTERS: symbols[frontend.CHARACTERS],
            features.PHONEMES: symbols[frontend.PHONEMES],
            "line": row["line"],
            "audio": path,
            **{name: value for name, value in measured.items() if name != WAV},
        }


class ComputeSpectrograms(beam.DoFn):
    """A measured clip -> the same clip with the raw features (tacotron.features.RAW_FEATURES), from its audio read
    again, decoded and trimmed as MeasureClip did. Side inputs, if any, are not read: they only hold the step back
    until they exist."""

    def __init__(self, config: audio.AudioConfig):
        self._config = config

    def setup(self) -> None:
        # One BLAS thread per worker: the work per clip is small matrices (the mel projection), and parallelism comes
        # from the runner's workers. OpenBLAS's own threads on top of them oversubscribe the cores; on 2 busy cores
        # one [241, 257] x [257, 80] product took 2.8 ms with 2 threads against 0.07 ms with 1.
        threadpoolctl.threadpool_limits(limits=1, user_api="blas")

    def process(self, clip: dict[str, Any], *after) -> Iterator[dict[str, Any]]:  # noqa: ANN002  (Beam reads a hint as a type check)
        samples, rate = read_audio(clip["audio"])
        wav = trimmed_wav(samples, rate, self._config)  # [T * hop]
        mel, linear = audio.spectrograms(wav, self._config)  # [T, num_mels], [T, num_freq]
        yield {**clip, features.MEL: mel.reshape(-1), features.LINEAR: linear.reshape(-1),
               features.N_FRAMES: np.int64(len(mel))}


class RejectRateOutliers(beam.DoFn):
    """Clips whose speaking rate lies outside the corpus's band for their text length (`clip_checks.rate_band`, a
    side input) go to REJECTED, with the rates expected and measured."""

    def process(self, clip: dict[str, Any], band: dict[str, Any]) -> Iterator[Any]:
        rate, characters = clip["chars_per_second"], len(clip[features.TEXT])
        expected = expected_rates(band, characters)
        if expected is not None and not expected[0] <= rate <= expected[1]:
            detail = (f"{rate:.1f} characters/s, outside the {expected[0]:.1f} .. {expected[1]:.1f} expected in this "
                      f"corpus for {characters} characters (median {band['median']:.1f} +- {band['k']:g} x robust "
                      f"std {band['spread']:.2f}, widened for texts under {band['median_characters']:.0f} characters)")
            beam.metrics.Metrics.counter("preprocess", "rejected_implausible_rate").inc()
            record = rejection(clip[features.ID], "implausible_rate", detail, clip["line"])
            yield beam.pvalue.TaggedOutput(REJECTED, {**record, "measured_rate": round(rate, 2),
                                                      "expected_rate": [round(expected[0], 2), round(expected[1], 2)]})
            return
        yield clip


def split_of(record_id: str, eval_fraction: float) -> str:
    """Deterministic split from a hash of the id: stable across runs, runners and corpus order."""
    bucket = int.from_bytes(hashlib.sha256(record_id.encode("utf-8")).digest()[:8], "big") / 2.0**64
    return features.EVAL_PREFIX if bucket < eval_fraction else features.TRAIN_PREFIX
