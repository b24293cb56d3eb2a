"""Clips per second of the Beam preprocessing job (DirectRunner, 1 and 2 workers) against a plain Python loop.

Both sides do the same job from the same corpus: normalize text, load/resample/trim audio, log mel + linear
spectrograms, per-bin statistics and character vocabulary over the corpus, normalized GZIP TFRecords. Each side is
timed as a whole process (imports included), as a user would run it.

    python benchmarks/preprocess.py [--clips 1200]
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample_corpus"
RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"


def make_corpus(root: pathlib.Path, clips: int) -> pathlib.Path:
    """The bundled corpus repeated under new ids until it holds `clips` rows."""
    rows = (SAMPLE / "metadata.csv").read_text(encoding="utf-8").splitlines()
    (root / "wavs").mkdir(parents=True)
    lines = []
    for i in range(clips):
        clip_id, rest = rows[i % len(rows)].split("|", 1)
        new_id = f"{clip_id}_{i // len(rows)}"
        os.link(SAMPLE / "wavs" / f"{clip_id}.flac", root / "wavs" / f"{new_id}.flac")
        lines.append(f"{new_id}|{rest}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def plain_loop(corpus: pathlib.Path, output: pathlib.Path, max_seconds: float = 5.0) -> int:
    """The whole job as one single-process loop with librosa/NumPy: returns the number of clips written."""
    import numpy as np
    import tensorflow as tf

    from tacotron import audio, features, text

    config = audio.AudioConfig()
    kept = []
    for line in (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines():
        clip_id, raw, normalized = line.split("|")
        transcript = text.normalize_text(normalized or raw)
        wav = audio.trim_silence(audio.read_audio(str(corpus / "wavs" / f"{clip_id}.flac"), config), config)
        if transcript and len(wav) / config.sample_rate <= max_seconds:
            kept.append((clip_id, transcript, *audio.spectrograms(wav, config)))
    stats = {}
    for index, name in ((2, features.MEL), (3, features.LINEAR)):
        frames = np.concatenate([clip[index] for clip in kept]).astype(np.float64)
        stats[name] = (frames.mean(axis=0), np.maximum(frames.std(axis=0), 1e-3))
    counts = collections.Counter(c for clip in kept for c in clip[1])
    vocabulary = {c: i + 1 for i, (c, _) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}
    output.mkdir(parents=True)
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    with tf.io.TFRecordWriter(str(output / f"train-00000-of-00001{features.TFRECORD_SUFFIX}"), options) as writer:
        for clip_id, transcript, mel, linear in kept:
            mel_mean, mel_std = stats[features.MEL]
            linear_mean, linear_std = stats[features.LINEAR]
            ids = [vocabulary[c] for c in transcript]
            feature = {
                features.ID: tf.train.Feature(bytes_list=tf.train.BytesList(value=[clip_id.encode()])),
                features.TEXT: tf.train.Feature(bytes_list=tf.train.BytesList(value=[transcript.encode()])),
                features.TEXT_IDS: tf.train.Feature(int64_list=tf.train.Int64List(value=ids)),
                features.TEXT_LENGTH: tf.train.Feature(int64_list=tf.train.Int64List(value=[len(ids)])),
                features.MEL: tf.train.Feature(float_list=tf.train.FloatList(
                    value=((mel - mel_mean) / mel_std).astype(np.float32).ravel().tolist())),
                features.LINEAR: tf.train.Feature(float_list=tf.train.FloatList(
                    value=((linear - linear_mean) / linear_std).astype(np.float32).ravel().tolist())),
                features.N_FRAMES: tf.train.Feature(int64_list=tf.train.Int64List(value=[len(mel)])),
            }
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return len(kept)


def timed(command: list[str]) -> float:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"benchmark step failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1200)
    parser.add_argument("--plain_loop", nargs=2, metavar=("CORPUS", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_loop:
        print(plain_loop(pathlib.Path(args.plain_loop[0]), pathlib.Path(args.plain_loop[1])))
        return
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-preprocess-"))
    try:
        corpus = make_corpus(work / "corpus", args.clips)
        seconds = {
            "plain_loop": timed([sys.executable, __file__, "--plain_loop", str(corpus), str(work / "plain")]),
            "beam_1_worker": timed([sys.executable, "-m", "pipelines.preprocess", "--corpus", str(corpus),
                                    "--output", str(work / "beam1")]),
            "beam_2_workers": timed([sys.executable, "-m", "pipelines.preprocess", "--corpus", str(corpus),
                                     "--output", str(work / "beam2"), "--direct_running_mode",
                                     "multi_processing", "--direct_num_workers", "2"]),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    clips_per_second = {k: args.clips / v for k, v in seconds.items()}
    result = {
        "benchmark": "preprocess",
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
                   f"{platform.python_version()}",
        "clips": args.clips,
        "seconds": seconds,
        "clips_per_second": clips_per_second,
        "ratio_1_worker": clips_per_second["beam_1_worker"] / clips_per_second["plain_loop"],
        "ratio_2_workers": clips_per_second["beam_2_workers"] / clips_per_second["plain_loop"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "preprocess.json").write_text(json.dumps(result, indent=2) + "\n")
    line = (f"| {result['date']} | preprocess | {result['machine']} | {args.clips} clips: plain loop "
            f"{clips_per_second['plain_loop']:.1f} clips/s, Beam 1 worker {clips_per_second['beam_1_worker']:.1f} "
            f"({result['ratio_1_worker']:.2f}x), Beam 2 workers {clips_per_second['beam_2_workers']:.1f} "
            f"({result['ratio_2_workers']:.2f}x) | `python benchmarks/preprocess.py --clips {args.clips}` |\n")
    with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
        f.write(line)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
