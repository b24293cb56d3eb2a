"""run-local end to end, then tacotron-evaluate, -gate, -export and -synthesize as users run them, on its outputs: a
briefly trained tiny model, its evaluation and its export pushed to the loopback object store."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tacotron import storage
from tests.conftest import held_out_subset

REPO = pathlib.Path(__file__).resolve().parents[1]
# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow
# Short decoding and few Griffin-Lim iterations: an untrained model never stops, so it decodes to the limit.
QUICK = [
    "--gin_param", "SynthesisConfig.max_frames_per_char = 4.0",
    "--gin_param", "SynthesisConfig.griffin_lim_iters = 8",
]


def env(**extra: str) -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def run(module: str, *args: str, timeout: int = 600, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=REPO, env=env(**extra_env),
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess, prog: str) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(prog)]
    assert len(lines) == 1, result.stderr[-2000:]
    return lines[0]


@pytest.fixture(scope="module")
def model_dir(pipeline_run) -> pathlib.Path:
    """The pipeline's trained model (two steps: untrained, but every file a training run leaves)."""
    return pipeline_run["model_dir"]


@pytest.fixture(scope="module")
def evaluation(pipeline_run) -> pathlib.Path:
    """The pipeline's evaluate task output: tacotron-evaluate's folder."""
    return pipeline_run["evaluation"]


def test_run_local_shows_one_line_per_task_and_a_summary(pipeline_run):
    """What a person sees: a line per task with its time, then where things are; no task output, no TF noise."""
    shown = pipeline_run["result"].stdout.splitlines()
    for task in ("fingerprint-corpus", "preprocess", "train", "evaluate", "gate", "export"):
        assert any(line.strip().startswith("\u2713 " + task + " ") and " done in " in line for line in shown), task
    for key in ("data report: ", "report: ", "verdict: ", "quality: step 2, ", "exported model: ", "logs: "):
        assert any(line.startswith(key) for line in shown), key
    assert len(shown) < 25 and not pipeline_run["result"].stderr.strip(), pipeline_run["result"].stdout
    logs = pipeline_run["workdir"] / "logs"
    assert "tacotron-train" in (logs / "train.log").read_text() or "step 2/2" in (logs / "train.log").read_text()
    assert "Executing task" in (logs / "pipeline.log").read_text()
    assert pipeline_run["report"].name == "report.html"


def test_run_local_runs_the_whole_pipeline(pipeline_run):
    """conftest's `pipeline_run`: run-local on a few clips, two training steps, asserted here stage by stage."""
    workdir = pipeline_run["workdir"]
    assert pipeline_run["report"].is_file()
    assert "Tacotron evaluation: step 2" in pipeline_run["report"].read_text()
    assert json.loads((pipeline_run["data"] / "report.json").read_text())["written"]["train"] >= 2
    # The preprocess task's data report is its own HTML artifact.
    assert "Preprocessing data report" in pipeline_run["data_report"].read_text()
    metrics = json.loads((pipeline_run["evaluation"] / "metrics.json").read_text())
    assert metrics["step"] == 2 and metrics["utterances"] >= 1
    # Checkpoints in the persistent folder on the store, keyed by the run; the exported model pushed there with its
    # metrics, complete; the gate compared with the model promoted before.
    store = pipeline_run["store"]
    (run_key,) = storage.listdir(f"{store}/checkpoints")
    assert "ckpt-00000002.json" in storage.listdir(f"{store}/checkpoints/{run_key}/checkpoints")
    assert pipeline_run["exported_url"] == f"{store}/serving/2" and storage.is_complete(f"{store}/serving/2")
    # The Model artifact holds what evaluation and export need, not the other checkpoints or caches.
    artifact = pipeline_run["model_dir"]
    assert sorted(p.name for p in artifact.iterdir()) == [
        "assets", "checkpoints", "config.gin", "metrics.jsonl"]
    assert sorted(p.name for p in (artifact / "checkpoints").iterdir()) == [
        "ckpt-00000002.json", "ckpt-00000002.weights.h5"]
    exported = pipeline_run["exported"]
    assert json.loads((exported / "metrics.json").read_text())["step"] == 2
    # Each task's output is in its own log file; the gate's says what it compared with.
    log = (workdir / "logs" / "gate.log").read_text()
    assert f"gate: baseline {store}/serving/1/metrics.json" in log and "gate: passed" in log
    assert not (workdir / "s3:").exists() and not (REPO / "s3:").exists()
    load = subprocess.run(
        [sys.executable, "-c", "import sys, tensorflow as tf; m = tf.saved_model.load(sys.argv[1]); "
         "print(sorted(m.signatures))", str(exported)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert load.returncode == 0 and "serving_default" in load.stdout, load.stderr[-2000:]


def test_evaluate_writes_metrics_report_and_media(evaluation, pipeline_run):
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert metrics["step"] == 2 and metrics["split"] == "eval"
    report = json.loads((pipeline_run["data"] / "report.json").read_text())
    assert metrics["utterances"] == report["written"]["eval"] == len(metrics["per_utterance"]) > 0
    assert set(metrics["teacher_forced"]) == {"loss", "mel_loss", "linear_loss", "stop_loss", "attention_loss",
                                              "stop_accuracy", "text_swap_mel_loss", "text_reliance"}
    free = metrics["free_running"]
    assert set(free) == {"sentence_identification", "gv_ratio", "spectral_detail_ratio", "mcd_dtw_db", "diagonality",
                         "focus", "alignment_score", "length_ratio", "failure_rate"}
    found = metrics["sentence_identification"]
    if metrics["utterances"] >= 2:
        assert found["utterances"] == metrics["utterances"] and found["chance"] == 1 / metrics["utterances"]
        assert found["griffin_lim_ceiling"]["utterances"] == metrics["utterances"]
        assert metrics["verdict"].startswith("does not speak yet")  # two training steps
    else:
        assert not found["available"] and "needs at least 2 utterances" in found["reason"]
        assert free.pop("sentence_identification") is None
        assert metrics["verdict"].startswith("cannot tell whether it speaks")
    assert all(np.isfinite(v) for v in free.values() if v is not None)
    assert free["mcd_dtw_db"] > 0 and 0 <= free["failure_rate"] <= 1 and 0 <= free["diagonality"] <= 1
    assert metrics["config"]["synthesis"]["griffin_lim_iters"] == 4
    page = (evaluation / "report.html").read_text()
    for row in metrics["per_utterance"]:
        stem = evaluation / "utterances" / row["id"]
        for suffix in (".png", "_predicted.wav", "_recorded_griffin_lim.wav"):
            assert (stem.parent / (stem.name + suffix)).stat().st_size > 0
        wav, rate = sf.read(stem.parent / (stem.name + "_predicted.wav"))
        assert rate == 8000 and len(wav) > 0
        assert row["id"] in page
        assert metrics["utterances"] < 2 or (row["identified"] in (True, False) and row["margin"] > 0)
    assert metrics["verdict"] in page and "Does it say the sentence?" in page and "Training curves" in page
    assert (evaluation / "training_curves.png").stat().st_size > 0
    # Self-contained: every image and audio clip is inline (one figure per utterance, and the training curves).
    assert page.count("src='data:image/png;base64,") == metrics["utterances"] + 1
    assert page.count("src='data:audio/wav;base64,") == 2 * metrics["utterances"]
    assert "src='utterances/" not in page


def test_gate_command_against_thresholds_and_a_baseline(evaluation):
    output = evaluation
    metrics = output / "metrics.json"
    # By default the gate asks for a model that speaks, and names each check it fails.
    free = json.loads(metrics.read_text())["free_running"]
    identified = free["sentence_identification"]  # None when the eval split is too small to tell sentences apart
    failing = [name for name, bad in (("sentence_identification", identified is None or identified < 0.9),
                                      ("length_ratio", not 0.8 <= free["length_ratio"] <= 1.25)) if bad]
    assert failing, "two training steps cannot speak"
    refused = run("tacotron.cli.gate", "--metrics", metrics)
    assert refused.returncode == 1 and all(f"free_running.{name}" in refused.stderr for name in failing)
    if identified is None:
        assert "sentence_identification is not available (needs at least 2 utterances" in refused.stderr
    speaking_checks_off = ["--min_sentence_identification", "0", "--min_length_ratio", "0", "--max_length_ratio", "0"]
    passed = run("tacotron.cli.gate", "--metrics", metrics, "--baseline", metrics, "--max_failure_rate", "1.0",
                 *speaking_checks_off)
    assert passed.returncode == 0 and "passed" in passed.stdout
    failed = run("tacotron.cli.gate", "--metrics", metrics, "--max_mcd", "0.5", "--min_alignment_score", "1.01",
                 *speaking_checks_off)
    assert failed.returncode == 1 and "mcd_dtw_db" in failed.stderr and "alignment_score" in failed.stderr
    bad = run("tacotron.cli.gate", "--metrics", output / "report.html")
    assert "is not JSON" in one_line_error(bad, "tacotron-gate")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_report_renders_its_images_in_headless_chromium(evaluation, tmp_path):
    output = evaluation
    shot = tmp_path / "report.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}", "--window-size=1200,3200",
         (output / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.exists(), "chromium wrote no screenshot"
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)
    # Text and tables are black, white and greys (audio controls too); only the plots' purple-green-yellow colour map
    # gives saturated pixels, so they show that the embedded images decoded and rendered.
    saturated = (pixels.max(axis=1) - pixels.min(axis=1)) > 60
    assert saturated.mean() > 0.02, f"only {saturated.mean():.2%} of the page shows plot colours"
    # The verdict comes first, on its red (does not speak) banner, then the intelligibility table and the curves.
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", (output / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    headings = [dom.find(text) for text in ("id=\"verdict\"", "Does it say the sentence?", "Training curves",
                                            "Utterances")]
    assert -1 not in headings and headings == sorted(headings), headings
    assert "speak" in dom and "alt=\"training curves\"" in dom
    banner = pixels.reshape(np.asarray(Image.open(shot)).shape[:2] + (3,))[:400]
    assert (np.abs(banner - np.array([251, 229, 229])).sum(axis=-1) < 12).mean() > 0.01, "no verdict banner"


@pytest.fixture(scope="module")
def exported(pipeline_run) -> pathlib.Path:
    """The pipeline's export task output, pushed to serving_dir/<step> (default synthesis settings)."""
    assert pipeline_run["exported"] is not None, "the pipeline's gate did not pass"
    return pipeline_run["exported"]


SERVE = """
import json, sys
# The TF Serving contract: TensorFlow alone, no G2P and no tacotron (importing them would fail here).
for blocked in ("tacotron", "phonemizer", "espeakng_loader"):
    sys.modules[blocked] = None
import numpy as np
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
request = json.loads(sys.argv[2])
by_symbols = model.signatures["serving_default"](symbols=tf.constant(request["symbols"]))
by_ids = model.signatures["synthesize_ids"](ids=tf.constant(request["ids"], tf.int32),
                                            lengths=tf.constant(request["lengths"], tf.int32))
np.save(sys.argv[3], by_ids["waveform"].numpy())
np.save(sys.argv[4], by_ids["length"].numpy())
try:
    model.signatures["serving_default"](symbols=tf.constant([" ".join(["a"] * 1500)]))
    refused = ""
except tf.errors.InvalidArgumentError as e:
    refused = e.message
print(json.dumps({"refused": refused, "same": bool(np.array_equal(by_symbols["length"].numpy(),
                                                                 by_ids["length"].numpy())
                                                  and np.allclose(by_symbols["waveform"].numpy(),
                                                                  by_ids["waveform"].numpy(), atol=1e-5))}))
"""


IN_PROCESS = """
import json, sys
import numpy as np
from tacotron.frontend import Frontend
from tacotron.inference import Synthesizer, text_batch
from tacotron.model_dir import load_model
loaded = load_model(sys.argv[1])
synthesizer = Synthesizer(loaded)
out = synthesizer.infer(*text_batch(json.loads(sys.argv[2]), loaded.vocabulary, Frontend(loaded.config.frontend)))
np.savez(sys.argv[3], *synthesizer.vocode(out["linear"], out["n_frames"]))
"""


def test_export_serves_ids_and_symbols_without_g2p_and_matches_in_process_synthesis(exported, model_dir, tmp_path):
    from tacotron.export import load_exported
    from tacotron.frontend import symbols_to_ids
    from tacotron.inference import text_batch
    from tacotron.text import normalize_text

    texts = [normalize_text("Hello world."), normalize_text("Good morning, how are you today?")]
    python_path = load_exported(str(exported))
    info = python_path.info
    assert info["frontend"] == python_path.frontend.describe() and info["frontend"]["frontend"] == "phonemes"
    symbols = python_path.symbols(texts)
    ids, lengths = text_batch(texts, tuple(info["vocabulary"]), python_path.frontend)
    assert [symbols_to_ids(s.split(), info["vocabulary"]) for s in symbols] == [
        row[:n].tolist() for row, n in zip(ids, lengths, strict=True)]
    request = {"symbols": symbols, "ids": ids.tolist(), "lengths": lengths.tolist()}
    result = subprocess.run(
        [sys.executable, "-c", SERVE, str(exported), json.dumps(request), str(tmp_path / "w.npy"),
         str(tmp_path / "n.npy")],
        cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["same"], "the symbols and the ids signatures disagree"
    assert "split the text into sentences" in report["refused"]
    served, lengths = np.load(tmp_path / "w.npy"), np.load(tmp_path / "n.npy")

    # In-process synthesis (padded to reuse compiled programs) on the SavedModel's backend. The two-step model is
    # untrained, and its free-running decoder amplifies rounding differences over hundreds of steps: measured up
    # to 3% here, and 11% since the post-net's GRU runs both directions in one scan (the graph and eager programs
    # round differently), against 1e-5 (same backend) and 8e-5 (JAX vs TensorFlow) for the 400-step tiny model.
    # Different weights or pre-net noise give differences of the order of the signal itself.
    result = subprocess.run([sys.executable, "-c", IN_PROCESS, str(model_dir), json.dumps(texts),
                             str(tmp_path / "ours.npz")], cwd=REPO, env=env(KERAS_BACKEND="tensorflow"),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ours = np.load(tmp_path / "ours.npz")
    for row in range(len(texts)):
        wav = ours[f"arr_{row}"]
        assert len(wav) == lengths[row] > 0
        reference = served[row, : lengths[row]]
        # Same weights and pre-net noise: the same audio up to that amplified rounding.
        assert np.linalg.norm(wav - reference) / np.linalg.norm(reference) < 0.15


def test_an_export_from_another_g2p_is_refused_naming_both(exported, tmp_path):
    import shutil as sh

    from tacotron.export import EXPORT_INFO

    copy = tmp_path / "export"
    sh.copytree(exported, copy)
    info = json.loads((copy / EXPORT_INFO).read_text())
    info["frontend"]["espeak_version"] = "1.49.0"
    (copy / EXPORT_INFO).write_text(json.dumps(info))
    line = one_line_error(run("tacotron.cli.synthesize", "--model", copy, "--text", "hello", "--output",
                              tmp_path / "out.wav"), "tacotron-synthesize")
    assert "espeak_version 1.49.0" in line and "espeak_version 1.52" in line
    assert not (tmp_path / "out.wav").exists()


def test_synthesize_from_saved_model_and_from_model_dir(exported, model_dir, tmp_path):
    out_wav = tmp_path / "hello.wav"
    result = run("tacotron.cli.synthesize", "--model", exported, "--text", "Hello, Dr. Smith! It's 5 o'clock.",
                 "--output", out_wav)
    assert result.returncode == 0, result.stderr[-3000:]
    wav, rate = sf.read(out_wav)
    assert rate == 8000 and wav.ndim == 1 and len(wav) > 0
    lines = tmp_path / "lines.txt"
    lines.write_text("First line.\n\nSecond line, a little longer.\n")
    folder = tmp_path / "many"
    # A stop threshold above 1 never fires: each line decodes to its length limit, so the longer line is longer.
    never_stop = ["--gin_param", "SynthesisConfig.stop_threshold = 1.01"]
    result = run("tacotron.cli.synthesize", "--model", model_dir, "--text_file", lines, "--output", folder, *QUICK,
                 *never_stop)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in folder.iterdir()) == ["0001.wav", "0002.wav"]
    assert sf.info(folder / "0002.wav").duration > sf.info(folder / "0001.wav").duration * 1.5


@pytest.mark.parametrize(
    "text, message",
    [("", "is empty"), ("?!...", "nothing to say"), ("😀 🎉", "nothing to say"), ("中文", "nothing to say"),
     ("x" * 100_001, "most accepted")],
)
def test_synthesize_refuses_unspeakable_text_without_writing(model_dir, tmp_path, text, message):
    from tacotron.cli import synthesize

    out_wav = tmp_path / "out.wav"
    assert synthesize.main(["--model", str(model_dir), "--text", text, "--output", str(out_wav)]) == 2
    assert not out_wav.exists() and list(tmp_path.iterdir()) == []


def test_evaluation_on_held_out_sentences_of_unseen_words(pipeline_run, model_dir, tmp_path):
    # The pipeline's evaluate task measured the held-out set it was given.
    output = pipeline_run["evaluation"]
    assert "held-out sentences recognizable" in pipeline_run["result"].stdout
    measured = json.loads((output / "metrics.json").read_text())["held_out"]
    assert measured["identification"]["utterances"] == 3 and 0 <= measured["minimal_pairs"]["accuracy"] <= 1
    # The recordings through the same Griffin-Lim tell each sentence from its one-word twin.
    assert measured["minimal_pairs"]["griffin_lim_ceiling"]["accuracy"] == 1.0
    assert "held-out sentences of words the corpus never had" in (output / "report.html").read_text()
    held_out = held_out_subset(tmp_path / "held_out", 3)
    (held_out / "pairs.csv").unlink()
    line = one_line_error(run("tacotron.cli.evaluate", "--data", pipeline_run["data"], "--model_dir", model_dir,
                              "--output", tmp_path / "again", "--held_out", held_out, *QUICK), "tacotron-evaluate")
    assert "has no pairs.csv" in line


def test_bad_model_paths_and_files_are_one_line_errors(sample_data, tmp_path):
    not_a_model = tmp_path / "not_a_model"
    not_a_model.mkdir()
    (not_a_model / "notes.txt").write_text("hello")
    out_wav = tmp_path / "out.wav"
    line = one_line_error(
        run("tacotron.cli.synthesize", "--model", not_a_model, "--text", "hello", "--output", out_wav),
        "tacotron-synthesize")
    assert "not a tacotron-train model_dir" in line and not out_wav.exists()
    line = one_line_error(run("tacotron.cli.export", "--model_dir", tmp_path / "missing", "--output", tmp_path / "sm"),
                          "tacotron-export")
    assert "is not a directory" in line and not (tmp_path / "sm").exists()
    line = one_line_error(
        run("tacotron.cli.evaluate", "--data", sample_data, "--model_dir", not_a_model, "--output", tmp_path / "ev"),
        "tacotron-evaluate",
    )
    assert "not a tacotron-train model_dir" in line


def test_text_file_with_an_unspeakable_line_writes_nothing(model_dir, tmp_path):
    from tacotron.cli import synthesize

    lines = tmp_path / "lines.txt"
    lines.write_text("A fine sentence.\n!!!\n")
    folder = tmp_path / "out"
    assert synthesize.main(["--model", str(model_dir), "--text_file", str(lines), "--output", str(folder)]) == 2
    assert not folder.exists()


def test_synthesize_from_the_model_the_pipeline_pushed_to_the_store(pipeline_run, tmp_path):
    """run-local pushed its SavedModel to serving_dir on the loopback S3 server; read there, spoken there."""
    exported = pipeline_run["exported_url"]
    assert exported.startswith("s3://") and storage.is_complete(exported)
    wav = f"{pipeline_run['store']}/hello.wav"
    result = run("tacotron.cli.synthesize", "--model", exported, "--text", "Hello there.", "--output", wav)
    assert result.returncode == 0, result.stderr[-3000:]
    assert storage.read_bytes(wav)[:4] == b"RIFF"
    assert not (REPO / "s3:").exists()
