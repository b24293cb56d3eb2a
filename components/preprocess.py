"""Preprocess component: the Beam + TFT job (`python -m pipelines.preprocess`) into a Dataset artifact and its data
report (HTML)."""

from kfp.dsl import HTML, Dataset, Output


def preprocess(
    corpus: str,
    corpus_fingerprint: str,
    data: Output[Dataset],
    report: Output[HTML],
    corpus_format: str = "auto",
    speaker: str = "",
    max_seconds: float = 5.0,
    eval_fraction: float = 0.05,
    beam_options: str = "",
) -> None:
    """`corpus_fingerprint` is unused inside: it is there so the task's cache key changes with the recordings.
    `corpus_format` is the corpus layout (pipelines.preprocess.layouts; "auto" detects it), `speaker` the one to read
    from a corpus of several ("" for a single-speaker corpus). `beam_options` is a string of Beam flags, e.g.
    "--runner DataflowRunner --project P --region R"."""
    import json
    import os
    import shlex
    import shutil

    from pipelines.preprocess import cli as job
    from tacotron import features

    # --verbose: the task's log is where a cluster keeps the frameworks' logs too.
    argv = ["--verbose", "--corpus", corpus, "--format", corpus_format, "--output", data.path,
            "--max_seconds", str(max_seconds), "--eval_fraction", str(eval_fraction),
            *(["--speaker", speaker] if speaker else []), *shlex.split(beam_options)]
    code = job.main(argv)
    if code != 0:
        raise RuntimeError(f"python -m pipelines.preprocess exited with {code} (see the log above)")
    with open(os.path.join(data.path, features.REPORT_FILE)) as f:
        counts = json.load(f)
    data.metadata.update({"corpus": corpus, "fingerprint": corpus_fingerprint, "layout": counts["layout"],
                          "written": counts["written"],
                          "rejected": counts["rejected"], "hours": counts["hours_kept"],
                          "warnings": counts.get("warnings", {})})
    shutil.copyfile(os.path.join(data.path, "report.html"), report.path)
