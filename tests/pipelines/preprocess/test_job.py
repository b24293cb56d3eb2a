"""The Beam + TFT preprocessing job end to end: real DirectRunner, real TFT, real files, run as users run it."""

from __future__ import annotations

import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tacotron import audio, features
from tacotron.text import frontend
from tacotron.text.frontend import Frontend, symbols_to_ids
from tests import adversarial_corpus
from tests.conftest import REPO
from tests.corpus_factory import BAD_RECORDS, CHARS_PER_SECOND, GOOD_CLIPS, write_corpus

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow
CONFIG = audio.AudioConfig()
# With these ids, a 0.5 share puts good03, good06 and good09 in eval: both splits are exercised.
EVAL_FRACTION = "0.5"


def preprocess(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "pipelines.preprocess", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def read_split(output: pathlib.Path, split: str) -> list[dict]:
    import tensorflow as tf

    files = sorted(glob.glob(str(output / f"{split}-*{features.TFRECORD_SUFFIX}")))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").map(features.parse_example)
    return [{k: v.numpy() for k, v in example.items()} for example in dataset]


def raw_features(corpus: pathlib.Path, clip_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The same features computed directly with tacotron.audio, outside Beam."""
    path = next(p for p in (corpus / "wavs").glob(f"{clip_id}.*"))
    with open(path, "rb") as f:
        wav = audio.trim_silence(audio.read_audio(f, CONFIG), CONFIG)
    return audio.spectrograms(wav, CONFIG)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    corpus = write_corpus(tmp_path_factory.mktemp("corpus"))
    output = tmp_path_factory.mktemp("out")
    (output / "notes.txt").write_text("a user's own file, not ours to delete")
    result = preprocess("--corpus", str(corpus), "--output", str(output), "--eval_fraction", EVAL_FRACTION)
    assert result.returncode == 0, result.stderr[-3000:]
    return corpus, output, result


def test_every_bad_record_is_rejected_with_its_reason(job):
    _, output, _ = job
    rejected = [json.loads(line) for f in glob.glob(str(output / "rejected-*.jsonl")) for line in open(f)]
    got = sorted((r["reason"], r["id"]) for r in rejected if r["reason"] != "malformed_line")
    assert got == sorted((reason, i) for reason, i in BAD_RECORDS if reason != "malformed_line")
    assert len(rejected) == len(BAD_RECORDS)
    detail = {r["id"]: r["detail"] for r in rejected if r["reason"] != "duplicate_id"}
    assert all(r["detail"] for r in rejected)
    assert "0x" not in detail["corrupt"]
    assert "line 1" in next(r["detail"] for r in rejected if r["reason"] == "duplicate_id")
    # Each new check names the value it measured and the flag it was held to.
    for clip_id in ("dither", "hiss", "mutedchannel"):
        level = float(detail[clip_id].split("speech level ")[1].split(" dBFS")[0])
        assert level < -60 and "--min_speech_dbfs -50" in detail[clip_id], detail[clip_id]
    assert "% of samples in runs at full scale" in detail["clipped"]
    assert "--max_chars_per_second 45" in detail["toofast"] and "--min_chars_per_second 5" in detail["tooslow"]
    outlier = float(detail["rateoutlier"].split(" characters/s")[0])
    assert 25 < outlier < 45 and "expected in this corpus" in detail["rateoutlier"], detail["rateoutlier"]


def test_report_counts_every_input_record(job):
    _, output, stdout = job
    report = json.loads((output / "report.json").read_text())
    assert report["input_records"] == len(GOOD_CLIPS) + len(BAD_RECORDS)
    assert sum(report["written"].values()) == len(GOOD_CLIPS)
    assert report["written"] == {"train": 7, "eval": 3}
    expected = {}
    for reason, _ in BAD_RECORDS:
        expected[reason] = expected.get(reason, 0) + 1
    assert report["rejected"] == expected
    settings = report["settings"]
    assert settings["sample_rate"] == 8000 and settings["max_seconds"] == 5.0
    assert (settings["min_speech_dbfs"], settings["min_chars_per_second"], settings["max_chars_per_second"],
            settings["rate_outlier_k"], settings["max_clipped_fraction"]) == (-50.0, 5.0, 45.0, 5.0, 0.01)
    band = report["speaking_rate_band"]
    # The corpus's own band, around its clips' rate: speech seconds leave pauses out, so rates run above the pace the
    # clips were cut to, and the band is far tighter than the absolute limits.
    assert band["clips"] == len(GOOD_CLIPS) + 1 and CHARS_PER_SECOND < band["median"] < 1.5 * CHARS_PER_SECOND
    assert band["low"] < band["median"] < band["high"] < 30
    assert report["warnings"] == {"clipped": 1}  # MILDLY_CLIPPED
    assert 0 < report["hours_kept"] * 3600 < 5.0 * len(GOOD_CLIPS)
    assert "wrote 7 train and 3 eval clips" in stdout.stdout


def test_tfrecords_parse_with_the_schema(job):
    corpus, output, _ = job
    examples = read_split(output, "train") + read_split(output, "eval")
    assert sorted(e[features.ID].decode() for e in examples) == sorted(c[0] for c in GOOD_CLIPS)
    assert {e[features.ID].decode() for e in read_split(output, "eval")} == {"good03", "good06", "good09"}
    vocabularies = {name: [line.rstrip("\n") for line in open(output / "transform_fn/assets" / name)]
                    for name in frontend.FRONTENDS}
    for e in examples:
        n = int(e[features.N_FRAMES])
        assert e[features.MEL].shape == (n, CONFIG.num_mels) and e[features.LINEAR].shape == (n, CONFIG.num_freq)
        assert n * CONFIG.hop_length / CONFIG.sample_rate <= 5.0 + 0.05
        assert np.all(np.isfinite(e[features.MEL])) and np.all(np.isfinite(e[features.LINEAR]))
        text = e[features.TEXT].decode()
        assert text == text.lower()
        for name, (symbols_name, ids_name, length_name) in features.FRONTEND_FEATURES.items():
            symbols = Frontend(name).symbols(text)
            assert e[symbols_name].decode() == " ".join(symbols)
            assert len(e[ids_name]) == e[length_name] == len(symbols)
            assert symbols_to_ids(symbols, vocabularies[name]) == e[ids_name].tolist()


def test_tft_statistics_match_numpy(job):
    corpus, output, _ = job
    frames = {c[0]: raw_features(corpus, c[0]) for c in GOOD_CLIPS}
    stats = json.loads((output / features.NORMALIZATION_FILE).read_text())
    for index, name in enumerate((features.MEL, features.LINEAR)):
        everything = np.concatenate([pair[index] for pair in frames.values()]).astype(np.float64)
        np.testing.assert_allclose(stats[f"{name}_mean"], everything.mean(axis=0), rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(stats[f"{name}_std"], np.maximum(everything.std(axis=0), 1e-3),
                                   rtol=1e-3, atol=1e-3)
    # The stored values are exactly (x - mean) / std of the features tacotron.audio computes.
    for e in read_split(output, "train"):
        mel, _ = frames[e[features.ID].decode()]
        restored = e[features.MEL] * np.array(stats["mel_std"]) + np.array(stats["mel_mean"])
        np.testing.assert_allclose(restored, mel, atol=2e-3)


def test_rerun_replaces_outputs_without_duplicates(job):
    corpus, output, _ = job
    before = sorted(p.name for p in output.iterdir())
    first_ids = sorted(e[features.ID] for e in read_split(output, "train"))
    result = preprocess("--corpus", str(corpus), "--output", str(output), "--eval_fraction", EVAL_FRACTION)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in output.iterdir()) == before
    assert sorted(e[features.ID] for e in read_split(output, "train")) == first_ids
    assert (output / "notes.txt").exists()
    assert not list(output.glob(".staging-*"))


def test_two_worker_direct_runner_gives_the_same_records(job, tmp_path):
    corpus, output, _ = job
    result = preprocess("--corpus", str(corpus), "--output", str(tmp_path), "--eval_fraction", EVAL_FRACTION,
                        "--direct_running_mode", "multi_processing", "--direct_num_workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    single = {e[features.ID]: e for e in read_split(output, "train")}
    for e in read_split(tmp_path, "train"):
        np.testing.assert_allclose(e[features.MEL], single[e[features.ID]][features.MEL], atol=1e-4)
    assert len(single) == len(read_split(tmp_path, "train"))


@pytest.mark.parametrize("make_args,message", [
    (lambda tmp: ["--corpus", str(tmp / "nope"), "--output", str(tmp / "out")], "corpus folder not found"),
    (lambda tmp: ["--corpus", str(tmp), "--output", str(tmp / "out")], "corpus folder is empty"),
    (lambda tmp: ["--corpus", str(tmp), "--output", str(tmp / "out"), "--format", "ljspeech"], "no metadata.csv"),
    (lambda tmp: ["--corpus", str(tmp), "--output", str(tmp / "out"), "--min_spectral_flatness", "-1"],
     "--min_spectral_flatness must be >= 0"),
    (lambda tmp: ["--corpus", str(tmp), "--output", str(tmp / "out"), "--max_seconds", "-1"], "--max_seconds"),
    (lambda tmp: ["--corpus", str(tmp), "--output", str(tmp / "out"), "--no_such_option", "3"],
     "unknown option(s): --no_such_option"),
])
def test_bad_command_lines_stop_with_one_line(tmp_path, make_args, message, capsys):
    # In this process: each check comes before the job is built, so no process start-up is needed.
    from pipelines.preprocess.cli import main

    code, stderr = main(make_args(tmp_path)), capsys.readouterr().err
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_data_report_opens_in_headless_chromium_and_shows_its_histograms(job, tmp_path):
    _, output, _ = job
    page = output / "report.html"
    shot = tmp_path / "report.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,1600", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.exists(), "chromium wrote no screenshot"
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)
    # Tables and text are greys; only the histograms' bars are this teal, so they show the embedded image rendered.
    teal = (np.abs(pixels - np.array([0x2A, 0x9D, 0x8F])).sum(axis=1) < 40).mean()
    assert teal > 0.005, f"only {teal:.2%} of the page shows histogram bars"
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert "alt=\"histograms of the kept clips\"" in dom
    # Every rejected record is listed with its reason, and the extremes tables name kept clips with transcripts.
    for reason, clip_id in BAD_RECORDS:
        assert reason in dom and (clip_id in dom or reason == "malformed_line"), (reason, clip_id)
    assert "most extreme kept clips by speaking rate" in dom and "pack my box with five dozen liquor jugs" in dom


def test_shard_writer_writes_what_tensorflow_writes(tmp_path):
    """The ISA-L sink's framing is TensorFlow's byte for byte, and its gzip stream reads back in TensorFlow."""
    import gzip

    import tensorflow as tf

    from pipelines.preprocess import tfrecord_sink

    records = [b"", b"x", os.urandom(100_000), b"tacotron" * 1000]
    with tf.io.TFRecordWriter(str(tmp_path / "tf.tfrecord")) as writer:
        for record in records:
            writer.write(record)
    assert b"".join(tfrecord_sink.tfrecord(r) for r in records) == (tmp_path / "tf.tfrecord").read_bytes()

    sink = tfrecord_sink.GzipTFRecordFileSink()
    with open(tmp_path / "ours.tfrecord.gz", "wb") as f:  # as fileio.WriteToFiles drives a sink
        sink.open(f)
        for record in records:
            sink.write(record)
        sink.flush()
    compressed = (tmp_path / "ours.tfrecord.gz").read_bytes()
    assert gzip.decompress(compressed) == (tmp_path / "tf.tfrecord").read_bytes()
    read = tf.data.TFRecordDataset(str(tmp_path / "ours.tfrecord.gz"), compression_type="GZIP")
    assert [r.numpy() for r in read] == records


@pytest.mark.parametrize(("seed", "layout"), [(1, "vctk"), (2, "common_voice")])
def test_a_users_vctk_folder_or_common_voice_tsv_keeps_speech_and_rejects_non_speech(seed, layout, tmp_path):
    clips = adversarial_corpus.generate(seed)
    if layout == "vctk":
        corpus = adversarial_corpus.write_vctk(tmp_path / "VCTK", clips, speaker="p900")
        # A second speaker: the job needs to be told which voice to learn (the command's one line: test_layouts).
        adversarial_corpus.write_vctk(tmp_path / "VCTK", clips[:2], speaker="p901")
        args, prefix = ["--speaker", "p900"], "p900_"
    else:
        corpus, args, prefix = adversarial_corpus.write_common_voice(tmp_path / "cv", clips), [], "common_voice_en_"
    output = tmp_path / "out"
    result = preprocess("--corpus", str(corpus), "--output", str(output), *args)
    assert result.returncode == 0, result.stderr[-3000:]
    examples = read_split(output, "train") + read_split(output, "eval")
    written = {e[features.ID].decode().removeprefix(prefix) for e in examples}
    rejected = {r["id"].removeprefix(prefix): r
                for f in glob.glob(str(output / "rejected-*.jsonl")) for r in map(json.loads, open(f))}
    good = {c.id for c in clips if c.expected is None}
    assert written == good, (good - written, {i: rejected[i]["detail"] for i in good - written if i in rejected})
    assert {i: r["reason"] for i, r in rejected.items()} == {c.id: c.expected for c in clips if c.expected}
    report = json.loads((output / "report.json").read_text())
    assert report["layout"]["format"] == ("vctk" if layout == "vctk" else "csv")
    assert report["rejected"]["steady_signal"] == sum(1 for c in clips if c.expected == "steady_signal")
    assert "read a " + report["layout"]["format"] + " corpus" in result.stdout
    if layout == "vctk":
        assert report["layout"]["not_read"] == {"other speakers' clips": 2} and report["layout"]["speaker"] == "p900"
    page = (output / "report.html").read_text()
    # The report names each reason with its count, plays the rejected clips and the extremes of the kept ones.
    assert "rejected: steady_signal" in page and "rejected: clicks" in page and "<audio controls" in page
