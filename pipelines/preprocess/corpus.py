"""Beam steps that turn LJSpeech-layout metadata lines into raw features, with a dead-letter output for rejects."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import threadpoolctl
from apache_beam.io.filesystems import FileSystems

from pipelines.preprocess.clip_checks import WAV, ClipChecks, measure_clip
from tacotron import audio, features, frontend, text

METADATA = "metadata.csv"
REJECTED = "rejected"
AUDIO_EXTENSIONS = (".wav", ".flac")


def rejection(record_id: str, reason: str, detail: str, line: int | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": record_id, "reason": reason, "detail": detail}
    if line is not None:
        record["line"] = line
    return record


def unsafe_id_problem(record_id: str) -> str | None:
    """Why an id cannot name a file inside the corpus folder, or None when it can."""
    if record_id in (".", ".."):
        return "the id is a relative directory"
    if "/" in record_id or "\\" in record_id:
        return "the id contains a path separator and could escape the corpus folder"
    if ":" in record_id:
        return "the id contains ':' (a drive or URL scheme)"
    if any(ord(c) < 32 for c in record_id):
        return "the id contains control characters"
    return None


class ParseLine(beam.DoFn):
    """(line number, raw line) -> (id, {line, id, transcript}); malformed lines go to REJECTED."""

    def process(self, numbered: tuple[int, str]) -> Iterator[Any]:
        number, line = numbered
        line = line.lstrip("\ufeff").rstrip("\r\n")
        if not line.strip():
            return
        fields = line.split("|")
        record_id = fields[0].strip()
        if len(fields) not in (2, 3) or not record_id:
            detail = f"expected 'id|text|normalized_text', got {len(fields)} field(s): {line[:120]!r}"
            yield beam.pvalue.TaggedOutput(REJECTED, rejection(record_id, "malformed_line", detail, number))
            return
        problem = unsafe_id_problem(record_id)
        if problem:
            yield beam.pvalue.TaggedOutput(REJECTED, rejection(record_id, "unsafe_id", problem, number))
            return
        # LJSpeech's third column already has numbers spelled out; fall back to the raw text when it is empty.
        transcript = fields[2] if len(fields) == 3 and fields[2].strip() else fields[1]
        yield record_id, {"line": number, "id": record_id, "transcript": transcript}


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
    """Row -> the trimmed 8 kHz clip and its measures (duration, speaking rate, speech level, clipped share), or a
    rejection by the `ClipChecks` that need only the clip itself."""

    def __init__(self, corpus: str, checks: ClipChecks, config: audio.AudioConfig):
        self._wavs = FileSystems.join(corpus, "wavs")
        self._checks = checks
        self._config = config

    def _find_audio(self, record_id: str) -> str | None:
        for ext in AUDIO_EXTENSIONS:
            path = FileSystems.join(self._wavs, record_id + ext)
            if FileSystems.exists(path):
                return path
        return None

    def process(self, row: dict[str, Any]) -> Iterator[Any]:
        record_id, line = row["id"], row["line"]
        outcome = self._measure(row)
        if isinstance(outcome, tuple):
            reason, detail = outcome
            beam.metrics.Metrics.counter("preprocess", f"rejected_{reason}").inc()
            yield beam.pvalue.TaggedOutput(REJECTED, rejection(record_id, reason, detail, line))
            return
        beam.metrics.Metrics.counter("preprocess", "kept").inc()
        yield outcome

    def _measure(self, row: dict[str, Any]) -> dict[str, Any] | tuple[str, str]:
        config, checks = self._config, self._checks
        transcript = text.normalize_text(row["transcript"])
        if not transcript:
            return "empty_transcript", f"nothing to speak after normalization of {row['transcript'][:120]!r}"
        # Both frontends' symbols: the records serve a model of either kind (tacotron.features).
        symbols = {name: frontend.Frontend(name).symbol_string(transcript) for name in frontend.FRONTENDS}
        if not symbols[frontend.PHONEMES]:
            return "empty_phonemes", f"espeak-ng gives no phonemes for {transcript[:120]!r}"
        path = self._find_audio(row["id"])
        if path is None:
            return "missing_audio", f"no {' or '.join(row['id'] + e for e in AUDIO_EXTENSIONS)} in {self._wavs}"
        try:
            with FileSystems.open(path) as f:
                samples, rate = audio.decode(f)
            measured = measure_clip(transcript, samples, rate, checks, config)
        except audio.AudioError as e:
            return e.reason, f"{path}: {e.detail}"
        if isinstance(measured, tuple):
            return measured
        # The samples (WAV), not yet the spectrograms: until the corpus's speaking-rate band is known, every kept
        # clip waits between stages (crossing processes on a multi-worker runner), and [T] samples are 3.4x smaller
        # than [T, 80 + 257] spectrogram frames.
        return {
            features.ID: row["id"],
            features.TEXT: transcript,
            features.CHARACTERS: symbols[frontend.CHARACTERS],
            features.PHONEMES: symbols[frontend.PHONEMES],
            "line": row["line"],
            **measured,
        }


class ComputeSpectrograms(beam.DoFn):
    """Clip with its trimmed samples -> the same clip with the raw features (tacotron.features.RAW_FEATURES)."""

    def __init__(self, config: audio.AudioConfig):
        self._config = config

    def setup(self) -> None:
        # One BLAS thread per worker: the work per clip is small matrices (the mel projection), and parallelism comes
        # from the runner's workers. OpenBLAS's own threads on top of them oversubscribe the cores; on 2 busy cores
        # one [241, 257] x [257, 80] product took 2.8 ms with 2 threads against 0.07 ms with 1.
        threadpoolctl.threadpool_limits(limits=1, user_api="blas")

    def process(self, clip: dict[str, Any]) -> Iterator[dict[str, Any]]:
        mel, linear = audio.spectrograms(clip[WAV], self._config)  # [T, num_mels], [T, num_freq]
        measures = {name: value for name, value in clip.items() if name != WAV}
        yield {**measures, features.MEL: mel.reshape(-1), features.LINEAR: linear.reshape(-1),
               features.N_FRAMES: np.int64(len(mel))}


class RejectRateOutliers(beam.DoFn):
    """Clips whose speaking rate lies outside the corpus's band (`clip_checks.rate_band`, a side input) go to
    REJECTED."""

    def process(self, clip: dict[str, Any], band: dict[str, Any]) -> Iterator[Any]:
        rate = clip["chars_per_second"]
        if band["median"] is not None and not band["low"] <= rate <= band["high"]:
            detail = (f"{rate:.1f} characters/s, outside the corpus's {band['low']:.1f} .. {band['high']:.1f} "
                      f"(median {band['median']:.1f} +- {band['k']:g} x robust std {band['spread']:.2f})")
            beam.metrics.Metrics.counter("preprocess", "rejected_implausible_rate").inc()
            record = rejection(clip[features.ID], "implausible_rate", detail, clip["line"])
            yield beam.pvalue.TaggedOutput(REJECTED, record)
            return
        yield clip


def split_of(record_id: str, eval_fraction: float) -> str:
    """Deterministic split from a hash of the id: stable across runs, runners and corpus order."""
    bucket = int.from_bytes(hashlib.sha256(record_id.encode("utf-8")).digest()[:8], "big") / 2.0**64
    return features.EVAL_PREFIX if bucket < eval_fraction else features.TRAIN_PREFIX
