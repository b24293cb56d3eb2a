"""A JAX cluster as Kubeflow Trainer's JAX runtime describes it: the environment read, the supervisor's one line for
however the training process ends, and a cluster that cannot form. Two processes training together are in
test_distribute.py."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import time

import pytest

from tacotron.cli import supervise
from tacotron.training import cluster
from tests.conftest import REPO
from tests.training import SMALL, TRAIN
from tests.training import env as training_env

VARIABLES = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")
CLUSTER = cluster.Cluster("localhost:1234", 2, 1)


def described(address: str = "pod-0.train:1234", processes: str = "2", process_id: str = "1") -> dict:
    return dict(zip(VARIABLES, (address, processes, process_id), strict=True))


def test_the_environment_describes_the_cluster():
    assert cluster.cluster_from({}) is None
    assert cluster.cluster_from({"PATH": "/bin"}) is None
    assert cluster.cluster_from(described()) == cluster.Cluster("pod-0.train:1234", 2, 1)
    assert str(cluster.cluster_from(described())) == "process 1 of 2 (coordinator pod-0.train:1234)"


@pytest.mark.parametrize(("variables", "message"), [
    ({"JAX_NUM_PROCESSES": "2"}, "JAX_COORDINATOR_ADDRESS, JAX_PROCESS_ID not set"),
    (described(processes="two"), "must be whole numbers"),
    (described(process_id="2"), "JAX_PROCESS_ID=2 is not one of the JAX_NUM_PROCESSES=2 processes (0 to 1)"),
    (described(process_id="-1"), "is not one of"),
    (described(address="pod-0"), "is not HOST:PORT"),
])
def test_a_cluster_described_wrongly_is_one_line(variables, message):
    with pytest.raises(cluster.ClusterSettingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cluster.cluster_from(variables)


def test_the_build_fingerprint_is_this_build():
    first = cluster.build_fingerprint()
    assert first.dtype.name == "uint32" and first.shape == (4,)
    assert (cluster.build_fingerprint() == first).all()


@pytest.mark.parametrize("code", [0, 1, 2, 143])
def test_an_exit_the_training_process_reported_passes_through(code, capfd):
    assert supervise.supervise("tacotron-train", "tests.tacotron.cluster_child", [str(code)], CLUSTER, None) == code
    captured = capfd.readouterr()
    assert captured.out.strip() == "child" and captured.err == ""


@pytest.mark.parametrize(("how", "what"), [
    ("joined-abort", "the cluster stopped: a process was lost or sent no heartbeat for "
                     f"{cluster.HEARTBEAT_TIMEOUT_S} s, and the JAX coordination service ended this one"),
    ("abort", "the cluster did not form within the join timeout (a coordinator that does not answer, or fewer "
              "processes than 2), and the JAX coordination service ended this one"),
])
def test_an_abort_by_the_coordination_service_is_one_line(how, what, capfd):
    code = supervise.supervise("tacotron-train", "tests.tacotron.cluster_child", [how], CLUSTER,
                               "/logs/tacotron-train.log")
    (line,) = capfd.readouterr().err.strip().splitlines()
    assert code == 1
    assert line == (f"tacotron-train: error: process 1 of 2 (coordinator localhost:1234): {what} "
                    "(details: /logs/tacotron-train.log)")


def test_sigterm_reaches_the_training_process(capfd):
    # Kubernetes stops a pod with SIGTERM to its command, the supervisor: the training process gets it (and saves a
    # checkpoint first, in tacotron-train).
    killer = subprocess.Popen(["sh", "-c", f"sleep 1.5; kill -TERM {os.getpid()}"])
    started = time.monotonic()
    code = supervise.supervise("tacotron-train", "tests.tacotron.cluster_child", ["term"], CLUSTER, None)
    killer.wait()
    assert code == 143 and time.monotonic() - started < 30
    assert capfd.readouterr().err == ""


def test_a_bad_cluster_description_stops_before_anything_starts(tmp_path):
    command = [*TRAIN, "--data", str(tmp_path / "data"), "--model_dir", str(tmp_path / "model")]
    result = subprocess.run(command, cwd=REPO, env=training_env(**described(process_id="5")), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == ("tacotron-train: error: JAX_PROCESS_ID=5 is not one of the "
                                     "JAX_NUM_PROCESSES=2 processes (0 to 1)")


@pytest.mark.slow
def test_an_unreachable_coordinator_is_one_line_and_writes_nothing(sample_data, tmp_path):
    # Process 1 of 2 whose coordinator never answers (a wrong process count reads the same: the others never come).
    with socket.socket() as closed:
        closed.bind(("localhost", 0))
        port = closed.getsockname()[1]
    command = [*TRAIN, "--data", str(sample_data), "--model_dir", str(tmp_path / "model"), *SMALL,
               "--join_timeout", "3"]
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300,
                            env=training_env(KERAS_BACKEND="jax", TACOTRON_LOG_DIR=str(tmp_path / "logs"),
                                             **described(f"localhost:{port}", "2", "1")))
    assert result.returncode == 1, result.stderr[-3000:]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"tacotron-train: error: process 1 of 2 (coordinator localhost:{port}): the cluster did "
                           "not form within"), line
    assert time.monotonic() - started < 120
    assert not (tmp_path / "model").exists()



@pytest.mark.slow
def test_processes_of_different_builds_stop_in_one_line_and_write_nothing(sample_data, tmp_path):
    # Process 1 runs a copy of the tacotron package with one line changed, as a node with another image would.
    import shutil

    import tacotron

    other = tmp_path / "other_build"
    shutil.copytree(pathlib.Path(tacotron.__file__).parent, other / "tacotron")
    with open(other / "tacotron" / "__init__.py", "a") as f:
        f.write("# another build\n")
    with socket.socket() as free:
        free.bind(("localhost", 0))
        port = free.getsockname()[1]
    command = [*TRAIN, "--data", str(sample_data), "--model_dir", str(tmp_path / "model"), *SMALL,
               "--join_timeout", "120"]
    processes = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=training_env(KERAS_BACKEND="jax", TACOTRON_LOG_DIR=str(tmp_path / f"logs{i}"),
                                                   **({"PYTHONPATH": str(other)} if i else {}),
                                                   **described(f"localhost:{port}", "2", str(i))))
                 for i in range(2)]
    for i, process in enumerate(processes):
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 1, stderr[-3000:]
        (line,) = stderr.strip().splitlines()
        assert line.startswith(f"tacotron-train: error: process {i} of 2 (coordinator localhost:{port}): processes "
                               "[1] run a different build than process 0"), line
    assert not (tmp_path / "model").exists()
