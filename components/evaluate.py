"""Evaluate component: `tacotron-evaluate` -> KFP Metrics, the HTML report, and the evaluation folder."""

from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Model, Output


def evaluate(
    data: Input[Dataset],
    model: Input[Model],
    metrics: Output[Metrics],
    report: Output[HTML],
    evaluation: Output[Artifact],
    gin_params: str = "",
    held_out: str = "",
) -> None:
    """gin_params: bindings separated by ";" (e.g. SynthesisConfig.griffin_lim_iters=30). held_out: a held-out set of
    sentences with words the corpus lacks (tacotron.quality.held_out), a folder the task can read; empty: none."""
    import os
    import shutil

    from components.artifacts import gin_flags
    from tacotron.cli import evaluate as command
    from tacotron.quality import gate

    # --verbose: the task's log is where a cluster keeps the frameworks' logs too.
    argv = ["--verbose", "--data", data.path, "--model_dir", model.path, "--output", evaluation.path,
            *gin_flags(gin_params),
            *(["--held_out", held_out] if held_out else [])]
    code = command.main(argv)
    if code != 0:
        raise RuntimeError(f"tacotron-evaluate exited with {code} (see the log above)")
    shutil.copyfile(os.path.join(evaluation.path, "report.html"), report.path)
    result = gate.read_metrics(os.path.join(evaluation.path, gate.METRICS_FILE))
    for section in ("free_running", "teacher_forced"):
        for name, value in result[section].items():
            if value is not None:  # not available (its reason is in metrics.json and the report)
                metrics.log_metric(f"{section}.{name}", value)
    metrics.log_metric("step", result["step"])
