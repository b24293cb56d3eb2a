"""Gate component: passes (True) when the evaluation meets the thresholds and does not regress from the baseline."""

from kfp.dsl import Artifact, Input


def gate(
    evaluation: Input[Artifact],
    baseline_metrics: str = "",
    serving_dir: str = "",
    max_failure_rate: float = 1.0,
    max_mcd: float = 0.0,
    min_alignment_score: float = 0.0,
    max_regression: float = 0.05,
    min_sentence_identification: float = 0.9,
    min_length_ratio: float = 0.8,
    max_length_ratio: float = 1.25,
) -> bool:
    """baseline_metrics: metrics.json to compare with; "" = the promoted model's in serving_dir, found when the gate
    runs (a scheduled run compares with the model promoted last), or none. A limit of 0 is not checked."""
    import os

    from components.artifacts import promoted
    from tacotron import gate as gating

    thresholds = gating.Thresholds(
        max_failure_rate, max_mcd or None, min_alignment_score or None, max_regression,
        min_sentence_identification or None, min_length_ratio or None, max_length_ratio or None,
    )
    metrics = gating.read_metrics(os.path.join(evaluation.path, "metrics.json"))
    if not baseline_metrics and serving_dir:
        folder = promoted(serving_dir)
        baseline_metrics = f"{folder.rstrip('/')}/metrics.json" if folder else ""
    print(f"gate: baseline {baseline_metrics or 'none'}", flush=True)
    baseline = gating.read_metrics(baseline_metrics) if baseline_metrics else None
    reasons = gating.check(metrics, thresholds, baseline)
    print("gate: " + ("passed" if not reasons else "failed: " + "; ".join(reasons)), flush=True)
    return not reasons
