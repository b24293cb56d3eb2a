"""tacotron-gate as users run it, on the pipeline run's evaluation (conftest's pipeline_run)."""

from __future__ import annotations

import json

import pytest

from tests.commands import one_line_error, run

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow


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
