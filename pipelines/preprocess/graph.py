"""The preprocessing job's Beam graph: rows -> validated clips -> TFT analysis -> normalized TFRecords."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import sys
import uuid
import zlib
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import apache_beam as beam  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_transform.beam as tft_beam  # noqa: E402
from apache_beam.internal.cloudpickle import cloudpickle  # noqa: E402
from apache_beam.io import fileio  # noqa: E402
from apache_beam.io.filesystems import FileSystems  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402
from apache_beam.options.value_provider import StaticValueProvider  # noqa: E402
from tensorflow_transform.tf_metadata import schema_utils  # noqa: E402
from tfx_bsl.coders import example_coder  # noqa: E402
from tfx_bsl.tfxio import tensor_adapter, tensor_representation_util  # noqa: E402

from pipelines.preprocess import clip_checks, corpus, data_report, layouts, preprocessing, tfrecord_sink  # noqa: E402
from pipelines.preprocess.clip_checks import ClipChecks  # noqa: E402
from tacotron import features
from tacotron.audio import AudioConfig  # noqa: E402
from tacotron.text import frontend  # noqa: E402

REPORT_HTML = "report.html"
# Aim for shards of roughly 100 MB (a 5 s clip is about 0.5 MB of float spectrograms).
CLIPS_PER_SHARD = 200
# Names this job owns in --output; only these are replaced on a rerun.
OUTPUT_PATTERNS = (f"{features.TRAIN_PREFIX}-*", f"{features.EVAL_PREFIX}-*", "rejected-*", features.REPORT_FILE,
                   REPORT_HTML, features.NORMALIZATION_FILE, features.FRONTEND_FILE, "transform_fn",
                   "transformed_metadata")


def write_report(counts: list[tuple[tuple[str, str], float]], folder: str, settings: dict[str, Any],
                 rate_band: dict[str, Any], kept: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> None:
    """report.json from the outcome counts; report.html from it, every kept clip's measures and every rejection."""
    by_kind: dict[str, dict[str, float]] = {}
    for (kind, key), value in counts:
        by_kind.setdefault(kind, {})[key] = value
    written = {split: int(by_kind.get("written", {}).get(split, 0))
               for split in (features.TRAIN_PREFIX, features.EVAL_PREFIX)}
    per_reason = {reason: int(n) for reason, n in sorted(by_kind.get("rejected", {}).items())}
    report = {
        "input_records": settings["input_records"],
        "written": written,
        "rejected": per_reason,
        "rejected_total": sum(per_reason.values()),
        "hours_kept": by_kind.get("seconds", {}).get("kept", 0.0) / 3600.0,
        # Kept clips with some clipping, under the rejection threshold.
        "warnings": {"clipped": int(by_kind.get("warning", {}).get("clipped", 0))},
        "speaking_rate_band": rate_band,
        "settings": settings["features"],
        "frontends": settings["frontends"],
        "layout": settings["layout"],
    }
    with FileSystems.create(FileSystems.join(folder, features.REPORT_FILE)) as f:
        f.write((json.dumps(report, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    with FileSystems.create(FileSystems.join(folder, REPORT_HTML)) as f:
        f.write(data_report.render_html(report, kept, rejected))


def build_pipeline(p: beam.Pipeline, listing: layouts.Listing, args: argparse.Namespace, staging: str,
                   config: AudioConfig) -> None:
    """Wire the job: rows -> validated clips -> TFT analysis -> normalized TFRecords, rejects, report."""
    checks = ClipChecks(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ClipChecks)})
    settings = {
        "input_records": listing.input_records,
        "layout": listing.summary(),
        "features": {**config.to_dict(), **dataclasses.asdict(checks), "eval_fraction": args.eval_fraction},
        "frontends": {name: frontend.Frontend(name).describe() for name in frontend.FRONTENDS},
    }
    # The corpus's rows, and what its listing rejected already (malformed lines, clips without a transcript).
    rows = p | "ListedRows" >> beam.Create(listing.rows)
    listed_rejected = p | "ListingRejected" >> beam.Create(listing.rejected)
    # Keep the first row of each id.
    unique = (rows | "KeyById" >> beam.Map(lambda row: (row["id"], row)) | "GroupById" >> beam.GroupByKey()
              | "KeepFirstOfId" >> beam.ParDo(corpus.KeepFirstOfId()).with_outputs(corpus.REJECTED, main="rows"))
    # Load, resample, trim and measure every clip; silent, clipped, too long or short, or absurdly paced are rejected.
    computed = unique.rows | "MeasureClips" >> beam.ParDo(
        corpus.MeasureClip(checks, config)).with_outputs(corpus.REJECTED, main="clips")
    # The corpus's own speaking-rate band; one float per clip meets in one place (2.4 MB for 300k clips).
    rate_band = (computed.clips | "Rates" >> beam.Map(lambda clip: (clip["chars_per_second"], len(clip[features.TEXT])))
                 | "AllRates" >> beam.combiners.ToList()
                 | "RateBand" >> beam.Map(clip_checks.rate_band, checks.rate_outlier_k))
    paced = computed.clips | "RejectRateOutliers" >> beam.ParDo(
        corpus.RejectRateOutliers(), beam.pvalue.AsSingleton(rate_band)).with_outputs(corpus.REJECTED, main="clips")
    # The clips that passed every check, with their split: measures only, a few numbers per clip.
    clips = paced.clips | "AssignSplit" >> beam.Map(
        lambda clip: {**clip, "split": corpus.split_of(clip[features.ID], args.eval_fraction)})
    rejected = (listed_rejected, unique[corpus.REJECTED], computed[corpus.REJECTED],
                paced[corpus.REJECTED]) | "AllRejected" >> beam.Flatten()

    # Write every rejected record with its reason.
    _ = (rejected | "RejectedToJson" >> beam.Map(lambda r: json.dumps(r, sort_keys=True))
         | "WriteRejected" >> beam.io.WriteToText(FileSystems.join(staging, "rejected"),
                                                  file_name_suffix=".jsonl", num_shards=1))

    # Analyze the whole kept corpus with TFT: per-bin mean/std and the character vocabulary.
    raw_schema = schema_utils.schema_from_feature_spec(features.feature_spec(features.RAW_FEATURES))
    adapter_config = tensor_adapter.TensorAdapterConfig(
        example_coder.ExamplesToRecordBatchDecoder(raw_schema.SerializeToString()).ArrowSchema(),
        tensor_representation_util.InferTensorRepresentationsFromSchema(raw_schema))
    def spectrogram_batches(step: str, selected: beam.PCollection, *after: Any) -> beam.PCollection:
        """The clips with their spectrograms, as the Arrow batches TFT reads."""
        return (selected | f"{step}Spectrograms" >> beam.ParDo(corpus.ComputeSpectrograms(config), *after)
                | f"{step}Batch" >> beam.BatchElements(max_batch_size=32)
                | f"{step}ToArrow" >> beam.Map(to_record_batch, adapter_config.arrow_schema))

    # Analyzed together, both splits in one collection: a runner keeps what a Flatten gathers in memory, whole.
    transform_fn = (spectrogram_batches("Analysis", clips), adapter_config) | (
        "Analyze" >> tft_beam.AnalyzeDataset(preprocessing.make_preprocessing_fn(config)))
    _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(staging)
    # The transform's spectrograms are computed again, after the analysis (its transform_fn, a side input, holds the
    # step back): one pass holding the corpus's spectrograms between the two would grow with the corpus
    # (docs/BENCHMARKS.md: 17.8 GB at 13,100 clips), two passes over the audio stay flat.
    analyzed = beam.pvalue.AsSingleton(transform_fn[0])
    arrow = {split: spectrogram_batches(f"Transform{split}", clips | f"Select{split}" >> beam.Filter(
        lambda clip, s=split: clip["split"] == s), analyzed) for split in (features.TRAIN_PREFIX, features.EVAL_PREFIX)}

    # Normalize each split and write it as sharded GZIP TFRecords.
    expected = settings["input_records"]
    for split, share in ((features.TRAIN_PREFIX, 1.0 - args.eval_fraction),
                         (features.EVAL_PREFIX, args.eval_fraction)):
        transformed, transformed_metadata = ((arrow[split], adapter_config), transform_fn) | (
            f"Transform{split}" >> tft_beam.TransformDataset(output_record_batches=True))
        shards = max(1, math.ceil(expected * share / CLIPS_PER_SHARD))
        _ = (transformed | f"Encode{split}" >> beam.ParDo(EncodeExamples(transformed_metadata.schema))
             | f"Write{split}" >> fileio.WriteToFiles(
                 staging, destination=functools.partial(shard_of, split, shards),
                 temp_directory=StaticValueProvider(str, FileSystems.join(staging, "tmp")),
                 sink=lambda _: tfrecord_sink.GzipTFRecordFileSink(), file_naming=shard_file_name,
                 max_writers_per_bundle=shards))

    # Count outcomes and kept audio into report.json; report.html also shows each kept clip's measures (a few
    # numbers and the transcript per clip meet in one place, as the rates do) and every rejected record.
    kept = clips | "KeptMeasures" >> beam.Map(
        lambda c: {"id": c[features.ID], "text": c[features.TEXT], "audio": c["audio"], **{
            key: c[key] for key, _, _ in data_report.MEASURES}})
    _ = ((rejected | "CountRejected" >> beam.Map(lambda r: (("rejected", r["reason"]), 1)),
          clips | "CountWritten" >> beam.Map(lambda c: (("written", c["split"]), 1)),
          clips | "CountSeconds" >> beam.Map(lambda c: (("seconds", "kept"), c["seconds"])),
          clips | "CountClipped" >> beam.Map(lambda c: (("warning", "clipped"), int(c["clipped_fraction"] > 0))))
         | "AllCounts" >> beam.Flatten() | "Sum" >> beam.CombinePerKey(sum)
         | "Gather" >> beam.combiners.ToList()
         | "WriteReport" >> beam.Map(write_report, staging, settings, beam.pvalue.AsSingleton(rate_band),
                                     beam.pvalue.AsList(kept), beam.pvalue.AsList(rejected)))


def shard_of(split: str, shards: int, record: bytes) -> str:
    """The shard a serialized example goes to, from a checksum of its bytes: the same in every run and runner."""
    return f"{split}-{zlib.crc32(record) % shards:05d}-of-{shards:05d}"


def shard_file_name(window: Any, pane: Any, index: int | None, total: int | None, compression: Any,
                    destination: str) -> str:
    """A shard's file: its name and, where several bundles wrote to it (a multi-worker runner), which part."""
    return f"{destination}{f'-{index}' if total and total > 1 else ''}{features.TFRECORD_SUFFIX}"


def to_record_batch(clips: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """Clips -> the Arrow layout TFT reads (one list column per raw feature), without a Python loop per value."""
    columns = {}
    for feature in features.RAW_FEATURES:
        rows = [np.atleast_1d(clip[feature.name]) for clip in clips]
        offsets = pa.array(np.cumsum([0] + [len(row) for row in rows]), pa.int64())
        if feature.dtype == "string":
            values = pa.array([v.encode("utf-8") for row in rows for v in row], pa.large_binary())
        else:
            values = pa.array(np.concatenate(rows).astype(feature.dtype))
        columns[feature.name] = pa.LargeListArray.from_arrays(offsets, values)
    return pa.RecordBatch.from_arrays([columns[name] for name in schema.names], schema=schema)


class EncodeExamples(beam.DoFn):
    """Arrow record batches -> serialized tf.Examples in C++ (encoding floats one by one in Python is slow)."""

    def __init__(self, schema: Any):
        self._schema = schema

    def setup(self) -> None:
        self._encoder = example_coder.RecordBatchToExamplesEncoder(self._schema)

    def process(self, batch_and_passthrough: tuple[Any, Any]) -> list[bytes]:
        return self._encoder.encode(batch_and_passthrough[0])


def replace_outputs(staging: str, output: str) -> None:
    """Delete the previous run's outputs (only names this job owns), then move the staged ones into place."""
    for pattern in OUTPUT_PATTERNS:
        for old in tf.io.gfile.glob(FileSystems.join(output, pattern)):
            if tf.io.gfile.isdir(old):
                tf.io.gfile.rmtree(old)
            else:
                tf.io.gfile.remove(old)
    for name in tf.io.gfile.listdir(staging):
        name = name.rstrip("/")
        tf.io.gfile.rename(FileSystems.join(staging, name), FileSystems.join(output, name))
    tf.io.gfile.rmtree(staging)


def run(args: argparse.Namespace, options: PipelineOptions, listing: layouts.Listing) -> dict[str, Any]:
    """Run the job into a staging folder, then swap its outputs in; returns report.json's content."""
    config = AudioConfig()
    tf.io.gfile.makedirs(args.output)
    staging = FileSystems.join(args.output, f".staging-{uuid.uuid4().hex[:12]}")
    # Ship the `pipelines` steps inside the job (by value), so workers on Dataflow, Flink or the DirectRunner's
    # subprocesses only need `tacotron` and the requirements installed.
    for module in (clip_checks, corpus, data_report, layouts, tfrecord_sink, sys.modules[__name__]):
        cloudpickle.register_pickle_by_value(module)
    try:
        with beam.Pipeline(options=options) as p, tft_beam.Context(
                temp_dir=FileSystems.join(staging, "tmp"), force_tf_compat_v1=False):
            build_pipeline(p, listing, args, staging, config)
        tf.io.gfile.rmtree(FileSystems.join(staging, "tmp"))
        preprocessing.write_json(FileSystems.join(staging, features.NORMALIZATION_FILE),
                                 preprocessing.normalization_stats(staging, config))
        # Which G2P made the phoneme ids: a model trained on them records it, and refuses another one at serving time.
        preprocessing.write_json(FileSystems.join(staging, features.FRONTEND_FILE),
                                 {name: frontend.Frontend(name).describe() for name in frontend.FRONTENDS})
        replace_outputs(staging, args.output)
    finally:
        if tf.io.gfile.exists(staging):
            tf.io.gfile.rmtree(staging)
    with FileSystems.open(FileSystems.join(args.output, features.REPORT_FILE)) as f:
        return json.loads(f.read())
