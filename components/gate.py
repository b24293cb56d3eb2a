"""Gate component: passes (True) when the evaluation meets the thresholds and does not regress from the baseline."""

from kfp.dsl import Artifact, Input, Output


def gate(
    evaluation: Input[Artifact],
    verdict: Output[Artifact],
    baseline_metrics: str,
    serving_dir: str,
    max_failure_rate: float,
    max_mcd: float,
    min_alignment_score: float,
    max_regression: float,
    min_sentence_identification: float,
    min_length_ratio: float,
    max_length_ratio: float,
) -> bool:
    """baseline_metrics: metrics.json to compare with; "" = the promoted model's in serving_dir, found when the gate
    runs (a scheduled run compares with the model promoted last), or none. The limits are
    tacotron.quality.gate.Thresholds' flat values (0 = not checked); the pipeline passes every one, so no default lives
    here. The verdict is written to `verdict` (tacotron.quality.gate.VERDICT_FILE) for whoever orchestrates the run."""
    import os

    from components.artifacts import promoted
    from tacotron.quality import gate as gating

    thresholds = gating.Thresholds.from_flat(
        max_failure_rate=max_failure_rate, max_mcd=max_mcd, min_alignment_score=min_alignment_score,
        max_regression=max_regression, min_sentence_identification=min_sentence_identification,
        min_length_ratio=min_length_ratio, max_length_ratio=max_length_ratio,
    )
    metrics = gating.read_metrics(os.path.join(evaluation.path, gating.METRICS_FILE))
    if not baseline_metrics and serving_dir:
        folder = promoted(serving_dir)
        baseline_metrics = f"{folder.rstrip('/')}/{gating.METRICS_FILE}" if folder else ""
    print(f"gate: baseline {baseline_metrics or 'none'}", flush=True)
    baseline = gating.read_metrics(baseline_metrics) if baseline_metrics else None
    reasons = gating.check(metrics, thresholds, baseline)
    os.makedirs(verdict.path, exist_ok=True)
    gating.write_verdict(os.path.join(verdict.path, gating.VERDICT_FILE), reasons, baseline_metrics or None)
    print("gate: " + ("passed" if not reasons else "failed: " + "; ".join(reasons)), flush=True)
    return not reasons
