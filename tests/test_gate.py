"""The gate judges alike wherever it runs: tacotron-gate, the gate component, and the pipeline's defaults."""

import json
import subprocess
import sys
import types

import pytest

from tacotron import gate


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
