"""`python -m pipelines.preprocess`: a speech corpus -> normalized 8 kHz spectrogram TFRecords (Beam + TFT).

The corpus may be in LJSpeech, VCTK, LibriTTS, folder-of-clips or CSV/TSV (Common Voice) layout
(pipelines.preprocess.layouts); --format chooses one when detection cannot.

Every run writes into a staging folder under --output and only replaces the previous outputs once the whole job
has succeeded, so a failed run never leaves a half-written or doubled set of shards behind.
"""

from __future__ import annotations

import argparse
import fnmatch
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from typing import Any

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.preprocess import layouts, runners
from pipelines.preprocess.clip_checks import ClipChecks
from tacotron import storage
from tacotron.cli import SIGTERM_EXIT, add_verbose, fail, framework_logs, stops_on_sigterm


class UsageError(Exception):
    """A bad command line or missing input: reported in one line, exit code 2."""


PROG = "python -m pipelines.preprocess"
# A flag for each field of ClipChecks, which holds its default (the job builds its ClipChecks from these flags).
CHECK_FLAGS = {
    "max_seconds": "reject clips longer than this after trimming silence",
    "min_speech_dbfs": "reject clips whose speech level (95th percentile of frame RMS) is lower (silent)",
    "min_chars_per_second": "reject clips spoken slower than this (implausible_rate)",
    "max_chars_per_second": "reject clips spoken faster than this (implausible_rate)",
    "rate_outlier_k": "also reject rates this many robust standard deviations from the corpus median",
    "max_clipped_fraction": "reject clips with more of their samples in runs at full scale (clipped)",
    "min_sound_seconds": "reject clips whose longest sound is shorter: clicks or pops, no syllable (clicks)",
    "min_spectral_flatness": "reject clips whose spectrum is flatter than this nowhere: hum, tones, beeps (tonal)",
    "min_spectral_change_db": "reject clips whose spectral shape changes less: steady noise (steady_signal)",
}


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__.splitlines()[0],
        epilog="Other flags are Beam pipeline options (--runner, --direct_num_workers, Dataflow/Flink flags).")
    parser.add_argument("--corpus", required=True,
                        help="corpus folder, or a .csv/.tsv table of clips (Common Voice's validated.tsv)")
    parser.add_argument("--format", default=layouts.AUTO, choices=(layouts.AUTO, *layouts.FORMATS),
                        help="corpus layout (default: detected)")
    parser.add_argument("--text", default=layouts.ORIGINAL, choices=(layouts.ORIGINAL, layouts.NORMALIZED),
                        help="which transcript to read where the corpus has two (LJSpeech, LibriTTS, CSV): the "
                             "original text (default; it goes through the same normalizer as text at synthesis) "
                             "or the corpus's own normalized one")
    parser.add_argument("--speaker", default=None,
                        help="the one speaker to read from a corpus of several (VCTK, LibriTTS, Common Voice)")
    parser.add_argument("--output", required=True, help="folder for TFRecords, TFT output and reports")
    parser.add_argument("--eval_fraction", type=float, default=0.05, help="share of ids in the eval split")
    checks = ClipChecks()
    for name, help_text in CHECK_FLAGS.items():
        parser.add_argument(f"--{name}", type=float, default=getattr(checks, name), help=help_text)
    add_verbose(parser)
    args, beam_args = parser.parse_known_args(argv)
    if not args.max_seconds > 0:
        raise UsageError(f"--max_seconds must be positive, got {args.max_seconds}")
    if not 0 <= args.min_chars_per_second < args.max_chars_per_second:
        raise UsageError(f"--min_chars_per_second {args.min_chars_per_second:g} and --max_chars_per_second "
                         f"{args.max_chars_per_second:g}: need 0 <= min < max")
    if not args.rate_outlier_k > 0:
        raise UsageError(f"--rate_outlier_k must be positive, got {args.rate_outlier_k:g}")
    for flag in ("min_sound_seconds", "min_spectral_flatness", "min_spectral_change_db"):
        if getattr(args, flag) < 0:
            raise UsageError(f"--{flag} must be >= 0 (0 switches the check off), got {getattr(args, flag):g}")
    if not 0 <= args.max_clipped_fraction <= 1:
        raise UsageError(f"--max_clipped_fraction must be in [0, 1], got {args.max_clipped_fraction:g}")
    if not 0.0 <= args.eval_fraction < 1.0:
        raise UsageError(f"--eval_fraction must be in [0, 1), got {args.eval_fraction}")
    return args, beam_args


def beam_options(beam_args: list[str]) -> PipelineOptions:
    options = PipelineOptions(beam_args)
    try:
        runners.check_runner(options)
    except runners.RunnerError as e:
        raise UsageError(str(e)) from None
    # Beam would log and drop unknown flags; we name them in our one-line error instead.
    logging.getLogger("apache_beam.options.pipeline_options").setLevel(logging.ERROR)
    known = options.get_all_options()
    unknown = [k for k in options.get_all_options(retain_unknown_options=True) if k not in known]
    if unknown:
        raise UsageError(f"unknown option(s): {', '.join('--' + k for k in unknown)}")
    return options


def list_corpus(args: argparse.Namespace) -> layouts.Listing:
    """The corpus's rows in its layout; a layout that cannot be read is a UsageError."""
    try:
        return layouts.list_corpus(args.corpus, args.format, args.text, args.speaker)
    except layouts.LayoutError as e:
        raise UsageError(str(e)) from None


def run(args: argparse.Namespace, beam_args: list[str]) -> dict[str, Any]:
    """Run the job on a parsed command line; returns report.json's content."""
    options = beam_options(beam_args)
    if args.output.startswith("s3://") and not runners.runs_here(options):
        raise UsageError(f"--output {args.output}: a distributed runner's workers write through TensorFlow's "
                         "filesystems, which have no s3://; use gs:// or a local runner")
    # Beam's own filesystems write a distributed runner's outputs, with clients built from the pipeline options.
    FileSystems.set_options(options)
    try:
        storage.check_writable(args.output)
    except storage.StorageError as e:
        raise UsageError(str(e)) from None
    listing = list_corpus(args)
    # TensorFlow is imported only once the command line is known to be good: a typo fails in a second.
    from pipelines.preprocess import graph

    if not storage.is_url(args.output) or not runners.runs_here(options):
        return graph.run(args, options, listing)
    # On a local runner the job writes into a local folder, published through tacotron.storage when it has
    # succeeded: one client, with our retries and timeouts, carries every byte to the store. (TFT writes its
    # transform graph through TensorFlow's filesystems, which have no s3://, and whose gs:// reaches only Google's
    # endpoint, never an emulator.) A distributed runner's workers write straight to a gs:// --output.
    with tempfile.TemporaryDirectory(prefix="preprocess-") as local:
        report = graph.run(argparse.Namespace(**{**vars(args), "output": local}), options, listing)
        publish_outputs(local, args.output, graph.OUTPUT_PATTERNS)
    return report


def publish_outputs(local: str, output: str, owned: Sequence[str]) -> None:
    """Upload a finished run's outputs to an object store folder, replacing the previous run's (only the names this
    job owns). The completion marker goes first and comes back last: a reader never takes a mix of two runs."""
    marker = storage.join(output, storage.COMPLETE_MARKER)
    storage.remove(marker)
    new = set(os.listdir(local))
    for name in storage.listdir(output):
        if name not in new and any(fnmatch.fnmatch(name, pattern) for pattern in owned):
            storage.remove_tree(storage.join(output, name))
    for name in sorted(new):
        source, target = os.path.join(local, name), storage.join(output, name)
        if os.path.isdir(source):
            storage.remove_tree(target)
            storage.upload_folder(source, target)
        else:
            storage.copy_file(source, target)
    storage.write_text(marker, "")


# Causes that are the disk's or the store's, not the job's: reported in one line, exit 1 (a retry may succeed).
STORAGE_FAULTS = ("No space left on device", "Disk quota exceeded", "Read-only file system", "Permission denied")


def storage_fault(error: BaseException, output: str) -> str | None:
    """The line naming the path and the cause of an error that is a storage fault, however deeply Beam and
    TensorFlow wrapped it (a worker's exception reaches here as text inside a RuntimeError); None otherwise. A cause
    that names no path (an OSError from a write) is the output folder's, and the Beam step it came from is said."""
    while error is not None:
        for line in reversed(str(error).splitlines()):
            if any(fault in line for fault in STORAGE_FAULTS):
                step = re.search(r" \[while running '([^']+)'\]", line)
                line = re.sub(r"\[Errno \d+\] ", "", line.replace(step.group(0), "") if step else line)
                # "tensorflow...ResourceExhaustedError: PATH; No space left on device" -> "PATH: No space ..."
                line = line.split("Error: ", 1)[-1].strip().replace("; ", ": ")
                if "/" not in line.split(": ")[0]:
                    line = f"{output}: {line}"
                return f"{line} (in {step.group(1)})" if step else line
        error = error.__cause__ or error.__context__
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0: written; 1: the disk or the store failed (a retry may succeed; the previous output is kept);
    2: bad input."""
    logging.getLogger().setLevel(logging.WARNING)
    try:
        args, beam_args = parse_args(argv)
    except UsageError as e:
        return fail(PROG, e, 2)
    with framework_logs(PROG, args.verbose), stops_on_sigterm(PROG) as sigterm:
        try:
            report = run(args, beam_args)
        except UsageError as e:
            return fail(PROG, e, 2)
        except storage.StorageError as e:
            return fail(PROG, e, 1)
        except Exception as e:
            if sigterm.received:  # Beam wraps the handler's SystemExit in its own error
                return SIGTERM_EXIT
            fault = storage_fault(e, args.output)
            if fault is None:
                raise
            return fail(PROG, f"{fault} (the previous output is kept)", 1, raised=e)
    written, layout = report["written"], report["layout"]
    speaker = f", speaker {layout['speaker']}" if layout["speaker"] else ""
    not_read = "".join(f"; not read: {count} {what}" for what, count in layout["not_read"].items() if count)
    print(f"read a {layout['format']} corpus ({report['input_records']} records{speaker}){not_read}")
    reasons = ", ".join(f"{k} {v}" for k, v in report["rejected"].items()) or "none"
    print(f"wrote {written['train']} train and {written['eval']} eval clips "
          f"({report['hours_kept'] * 60:.1f} min of audio); rejected {report['rejected_total']} ({reasons})")
    return 0

