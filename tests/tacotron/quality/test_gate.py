"""The gate judges alike wherever it runs: tacotron-gate, the gate component, and the pipeline's defaults."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

from tacotron.quality import gate


def metrics(identified: float = 1.0, length_ratio: float = 1.0, failure: float = 0.0, mcd: float = 5.0) -> dict:
    return {"free_running": {"sentence_identification": identified, "length_ratio": length_ratio,
                             "failure_rate": failure, "mcd_dtw_db": mcd, "alignment_score": 0.6},
            "teacher_forced": {"loss": 1.0}}


CASES = {
    "speaks": metrics(),
    "mumbles": metrics(identified=0.5),
    "stops early": metrics(length_ratio=0.6),
    "rambles": metrics(length_ratio=1.4),
    "never stops": metrics(failure=0.5),
    "on the bar": metrics(identified=0.9, length_ratio=0.8, failure=0.25),
}


def pipeline_defaults() -> dict[str, float]:
    from pipelines.kubeflow.pipeline import create_pipeline

    parameters = create_pipeline().pipeline_spec.root.input_definitions.parameters
    return {name: parameters[name].default_value.number_value for name in gate.Thresholds().flat()}


@pytest.mark.parametrize("case", CASES)
def test_cli_component_and_pipeline_defaults_reach_one_verdict(case, tmp_path):
    from components.gate import gate as gate_component

    evaluation = tmp_path / "evaluation"
    evaluation.mkdir()
    (evaluation / gate.METRICS_FILE).write_text(json.dumps(CASES[case]))
    expected = gate.check(CASES[case], gate.Thresholds())

    cli = subprocess.run([sys.executable, "-m", "tacotron.cli.gate", "--metrics", str(evaluation / gate.METRICS_FILE)],
                         capture_output=True, text=True)
    verdict = types.SimpleNamespace(path=str(tmp_path / "verdict"))
    passed = gate_component(types.SimpleNamespace(path=str(evaluation)), verdict, baseline_metrics="", serving_dir="",
                            **pipeline_defaults())
    written = gate.read_verdict(f"{verdict.path}/{gate.VERDICT_FILE}")

    assert (cli.returncode == 0) == passed == written["passed"] == (not expected), (case, cli.stderr, written)
    assert written["reasons"] == expected
    assert (case == "speaks" or case == "on the bar") == passed


def test_flat_settings_round_trip_and_zero_switches_a_limit_off():
    defaults = gate.Thresholds()
    assert gate.Thresholds.from_flat(**defaults.flat()) == defaults
    off = gate.Thresholds.from_flat(min_sentence_identification=0, max_failure_rate=0)
    assert off.min_sentence_identification is None and off.max_failure_rate is None
    assert gate.check(metrics(identified=0.0, failure=1.0), off) == []
    with pytest.raises(ValueError, match="max_mcd must be >= 0"):
        gate.Thresholds.from_flat(max_mcd=-1)
    with pytest.raises(ValueError, match="unknown gate setting"):
        gate.Thresholds.from_flat(max_mcd_db=1)


def scored(mcd: float, failure: float, score: float, loss: float) -> dict:
    return {
        "free_running": {"mcd_dtw_db": mcd, "failure_rate": failure, "alignment_score": score,
                         "sentence_identification": 1.0, "length_ratio": 1.0},
        "teacher_forced": {"loss": loss},
    }


def test_gate_thresholds_and_baseline():
    good = scored(mcd=6.0, failure=0.0, score=0.6, loss=1.0)
    assert gate.check(good, gate.Thresholds(max_failure_rate=0.1, max_mcd=8.0, min_alignment_score=0.5)) == []
    reasons = gate.check(good, gate.Thresholds(max_mcd=5.0, min_alignment_score=0.7))
    assert len(reasons) == 2 and "mcd_dtw_db" in reasons[0] and "alignment_score" in reasons[1]
    # Against a baseline: within the allowed regression passes, beyond it fails and says which metric.
    assert gate.check(scored(6.2, 0.0, 0.6, 1.0), gate.Thresholds(max_regression=0.05), good) == []
    reasons = gate.check(scored(7.0, 0.2, 0.6, 1.0), gate.Thresholds(max_regression=0.05), good)
    assert any("mcd_dtw_db" in r for r in reasons) and any("failure_rate" in r for r in reasons)
    with pytest.raises(ValueError, match="not a tacotron-evaluate"):
        gate.check({"free_running": {}}, gate.Thresholds(max_mcd=1.0))


def evaluation(identified: float, length_ratio: float, failure: float = 0.0, count: int = 16) -> dict:
    """A metrics.json as tacotron-evaluate writes it, reduced to what the gate and the verdict read."""
    return {
        "free_running": {"sentence_identification": identified, "length_ratio": length_ratio,
                         "failure_rate": failure, "mcd_dtw_db": 5.0, "alignment_score": 0.6},
        "teacher_forced": {"loss": 1.0},
        "sentence_identification": {"available": True, "accuracy": identified, "correct": round(identified * count),
                                    "utterances": count, "chance": 1 / count},
    }


def test_default_gate_refuses_mumbling_and_half_length_models_and_passes_a_speaking_one():
    # The two models of the issue: aligned but mumbling (2/16 recognizable), and stopping at half length.
    mumbling = gate.check(evaluation(2 / 16, 0.99), gate.Thresholds())
    assert len(mumbling) == 1 and "sentence_identification" in mumbling[0]
    half = gate.check(evaluation(16 / 16, 0.50), gate.Thresholds())
    assert len(half) == 1 and "length_ratio" in half[0] and "below the minimum" in half[0]
    rambling = gate.check(evaluation(16 / 16, 1.6), gate.Thresholds())
    assert len(rambling) == 1 and "above the maximum" in rambling[0]
    assert gate.check(evaluation(16 / 16, 1.02), gate.Thresholds()) == []
    assert gate.verdict(evaluation(16 / 16, 1.02)) == (True, "speaks: 16/16 sentences recognizable (chance 6%)")
    speaks, sentence = gate.verdict(evaluation(2 / 16, 0.5, failure=0.125))
    assert not speaks and sentence == (
        "does not speak yet: only 2/16 sentences recognizable (chance 6%); 2 decode(s) never stopped; "
        "decodes are 0.50x the recorded length"
    )


def test_gate_says_why_when_identification_is_not_available():
    metrics_json = evaluation(1.0, 1.0)
    metrics_json["free_running"]["sentence_identification"] = None
    metrics_json["sentence_identification"] = {"available": False, "reason": "needs at least 2 utterances"}
    reasons = gate.check(metrics_json, gate.Thresholds())
    assert reasons == ["free_running.sentence_identification is not available (needs at least 2 utterances)"]
    assert gate.check(metrics_json, gate.Thresholds(min_sentence_identification=None)) == []
    assert gate.verdict(metrics_json) == (False, "cannot tell whether it speaks: needs at least 2 utterances")
