"""`python -m pipelines.kubeflow run-local`'s bad parameters: one line, nothing run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def kubeflow(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.kubeflow", *map(str, args)], cwd=REPO,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--param", "nope=1"], "unknown pipeline parameter 'nope'"),
        (["--param", "steps=many"], "--param steps='many': not a valid"),
        (["--param", "steps"], "expected name=value"),
        (["--param", "train_backend=torch"], "choose one of jax, tensorflow"),
        (["--corpus", "/nonexistent/corpus"], "--corpus: corpus folder not found"),
        (["--param", "corpus_format=vctk"], "holds no clips in the vctk layout"),
    ],
)
def test_run_local_rejects_bad_parameters_in_one_line(args, message, tmp_path):
    result = kubeflow("run-local", "--workdir", tmp_path / "work", *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("python -m pipelines.kubeflow run-local: error:")
    assert message in result.stderr and not (tmp_path / "work" / "pipeline_root").exists()
