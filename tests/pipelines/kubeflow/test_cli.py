"""`python -m pipelines.kubeflow run-local`'s bad parameters and a container engine that refuses its containers: one
line, nothing run."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading

import pytest

from tests.conftest import REPO
from tests.kfp_server import send_json


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


# What podman 4.3.1 answered on a fresh machine when its default ulimits could not be applied (issue 37).
REFUSAL = ("runc: runc create failed: unable to start container process: error during container init: error setting "
           "rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied")


class RefusingEngine(http.server.BaseHTTPRequestHandler):
    """A Docker Engine API that has the image and refuses to create any container, as that podman did."""

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        path = self.path.split("?")[0]
        if path.endswith("/version"):
            send_json(self, 200, {"ApiVersion": "1.41", "Version": "4.3.1"})
        elif path.endswith("/info"):
            send_json(self, 200, {"SecurityOptions": []})
        elif "/images/" in path and path.endswith("/json"):  # the list, or one image
            image = {"Id": "sha256:" + "0" * 64, "RepoTags": ["localhost/tacotron:test"], "RepoDigests": []}
            send_json(self, 200, [image] if path.endswith("/images/json") else image)
        else:
            send_json(self, 404, {"message": f"no such thing: {path}"})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        send_json(self, 500, {"message": REFUSAL})

    def log_message(self, *args) -> None:
        pass


def test_a_container_the_engine_cannot_start_ends_run_local_in_one_line_naming_the_cause(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RefusingEngine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pipelines.kubeflow", "run-local", "--image", "localhost/tacotron:test",
             "--workdir", str(tmp_path / "work")], cwd=REPO, capture_output=True, text=True, timeout=300,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "DOCKER_HOST": f"tcp://127.0.0.1:{server.server_port}"})
    finally:
        server.shutdown()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("python -m pipelines.kubeflow run-local: error: a task's container of "
                           "localhost/tacotron:test did not start: ") and line.endswith(REFUSAL), line
