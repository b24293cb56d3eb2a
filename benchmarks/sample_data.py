"""The benchmarks' data: the bundled corpus, preprocessed on first use."""

from __future__ import annotations

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample_corpus"


def ensure_data(data: pathlib.Path, corpus: pathlib.Path = SAMPLE) -> None:
    """The benchmark runs on the bundled corpus (or `corpus`): preprocess it into `data` when that folder is missing."""
    if data.exists():
        return
    print(f"{data} is missing: preprocessing {corpus} into it", flush=True)
    command = [sys.executable, "-m", "pipelines.preprocess", "--corpus", str(corpus), "--output", str(data)]
    if subprocess.run(command, cwd=REPO).returncode != 0:
        sys.exit(f"preprocessing failed: {' '.join(command)}")
