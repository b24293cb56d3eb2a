"""`python -m pipelines.kubeflow run-local` end to end (conftest's pipeline_run): its console and every task's
output."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tacotron import storage
from tests.conftest import REPO

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow


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


@pytest.fixture(scope="module")
def exported(pipeline_run) -> pathlib.Path:
    """The pipeline's export task output, pushed to serving_dir/<step> (default synthesis settings)."""
    assert pipeline_run["exported"] is not None, "the pipeline's gate did not pass"
    return pipeline_run["exported"]
