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


def test_run_local_in_the_image_mounts_every_path_a_task_reads_or_writes_at_its_own_path(tmp_path):
    # `run-local --image`: kfp.local's DockerRunner mounts the pipeline root; the corpus, the held-out set, the
    # checkpoints and the serving folder must mean the same path inside, writable by the image's user where written.
    from pipelines.kubeflow.cli import image_runner

    corpus, held_out = tmp_path / "corpus", tmp_path / "held_out"
    corpus.mkdir()
    held_out.mkdir()
    workdir = tmp_path / "work"
    runner = image_runner({"corpus": str(corpus), "held_out": str(held_out)}, workdir)
    mounts = {m["Target"]: (m["Source"], m["ReadOnly"]) for m in runner.container_run_args["mounts"]}
    assert mounts == {str(corpus): (str(corpus), True), str(held_out): (str(held_out), True),
                      str(workdir / "checkpoints"): (str(workdir / "checkpoints"), False),
                      str(workdir / "serving"): (str(workdir / "serving"), False)}
    for name in ("pipeline_root", "checkpoints", "serving"):
        assert (workdir / name).stat().st_mode & 0o777 == 0o777
    assert [m["Target"] for m in image_runner({"corpus": str(corpus), "held_out": ""}, workdir)
            .container_run_args["mounts"]][0] == str(corpus)
