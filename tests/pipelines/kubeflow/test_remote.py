"""`python -m pipelines.kubeflow submit|schedule` against a loopback fake of the Kubeflow Pipelines v2beta1 API.

The real CLI runs as a subprocess with the real `kfp.Client`; the fake server (tests/kfp_server.py) records what
a cluster would have received. Each subprocess imports kfp (about a second or two).
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.kfp_server import API, FakeKfpServer

PROG = "python -m pipelines.kubeflow"
IMAGE = "registry.example/tacotron:test"


@pytest.fixture
def kfp_server():
    with FakeKfpServer() as server:
        yield server


@pytest.fixture
def home(tmp_path) -> pathlib.Path:
    """An empty HOME, so that no ~/.config/kfp/context.json or kubeconfig of this machine takes part."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def cli(home: pathlib.Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KF_PIPELINES_") and k not in ("KFP_TOKEN", "KUBECONFIG")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", HOME=str(home), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "pipelines.kubeflow", *argv], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def only(requests: list) -> object:
    assert len(requests) == 1, requests
    return requests[0]


def assert_one_line_error(result: subprocess.CompletedProcess, command: str, *fragments: str) -> None:
    """Exit 2, no traceback, and the error is the only line on stderr (kfp.Client's warnings stay off it)."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{PROG} {command}: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def train_spec(pipeline_spec: dict) -> tuple[dict, dict]:
    """(the train task in the root DAG, the train executor's container)."""
    return pipeline_spec["root"]["dag"]["tasks"]["train"], pipeline_spec["deploymentSpec"]["executors"]["exec-train"][
        "container"]


def test_submit_creates_experiment_and_run(kfp_server, home):
    result = cli(home, "submit", "--host", kfp_server.url, "--experiment", "exp1", "--image", IMAGE,
                 "--run_name", "nightly", "--param", "corpus=gs://bucket/corpus", "--param", "steps=1000",
                 "--param", "gin_files=large_batch")
    assert result.returncode == 0, result.stderr
    # The console shows the command's own lines only (kfp.Client's FutureWarning and the like stay off it).
    assert result.stderr == "", result.stderr

    # kfp.Client: healthz at construction, then get-or-create the experiment by display name.
    assert kfp_server.requests_to("GET", f"{API}/healthz")
    lookup = only(kfp_server.requests_to("GET", f"{API}/experiments"))
    assert '"stringValue": "exp1"' in lookup.query["filter"][0]
    assert only(kfp_server.requests_to("POST", f"{API}/experiments")).body["display_name"] == "exp1"
    (experiment_id,) = kfp_server.experiments

    run = only(kfp_server.requests_to("POST", f"{API}/runs")).body
    assert run["experiment_id"] == experiment_id
    assert run["display_name"] == "nightly"
    # Runtime parameters as the API takes them (a JSON Struct): typed values, only those given.
    assert run["runtime_config"]["parameters"] == {"corpus": "gs://bucket/corpus", "steps": 1000,
                                                   "gin_files": "large_batch"}
    # The inline pipeline spec: the pipeline, its parameters, the train task on accelerators in the given image.
    spec = run["pipeline_spec"]
    assert spec["pipelineInfo"]["name"] == "tacotron-8khz"
    declared = spec["root"]["inputDefinitions"]["parameters"]
    assert declared["accelerator_type"]["defaultValue"] == "nvidia.com/gpu"
    assert declared["steps"]["parameterType"] == "NUMBER_INTEGER"
    task, container = train_spec(spec)
    assert task["inputs"]["parameters"]["pipelinechannel--accelerator_type"] == {
        "componentInputParameter": "accelerator_type"}
    assert task["retryPolicy"]["maxRetryCount"] == 3
    accelerator = container["resources"]["accelerator"]
    # The train task's requests are the train-requests task's answer for the run's train_nodes.
    assert "accelerator_type" in accelerator["resourceType"]
    assert "train-requests-accelerator_count" in accelerator["resourceCount"]
    assert "train-requests-memory" in container["resources"]["resourceMemoryRequest"]
    assert {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()} == {IMAGE}

    (run_id,) = kfp_server.runs
    assert f"submitted run {run_id} to {kfp_server.url}" in result.stdout


def test_schedule_create_list_disable(kfp_server, home):
    created = cli(home, "schedule", "--host", kfp_server.url, "--cron", "0 0 3 * * 0", "--max_concurrency", "1",
                  "--param", "corpus=gs://b/c", "--param", "max_failure_rate=0.1")
    assert created.returncode == 0, created.stderr
    assert only(kfp_server.requests_to("POST", f"{API}/experiments")).body["display_name"] == "tacotron"
    job = only(kfp_server.requests_to("POST", f"{API}/recurringruns")).body
    assert job["trigger"] == {"cron_schedule": {"cron": "0 0 3 * * 0"}}
    assert str(job["max_concurrency"]) == "1"  # int64: kfp sends a number, the API also takes "1"
    assert job["mode"] == "ENABLE"
    assert job["display_name"] == "tacotron-retrain"
    assert job["experiment_id"] in kfp_server.experiments
    assert job["runtime_config"]["parameters"] == {"corpus": "gs://b/c", "max_failure_rate": 0.1}
    assert job["pipeline_spec"]["pipelineInfo"]["name"] == "tacotron-8khz"
    assert "accelerator" in train_spec(job["pipeline_spec"])[1]["resources"]
    assert not kfp_server.requests_to("POST", f"{API}/runs")
    (job_id,) = kfp_server.recurring_runs
    assert job_id in created.stdout and "0 0 3 * * 0" in created.stdout

    listed = cli(home, "schedule", "--host", kfp_server.url, "--list")
    assert listed.returncode == 0, listed.stderr
    assert only(kfp_server.requests_to("GET", f"{API}/recurringruns")).query["page_size"] == ["100"]
    assert listed.stdout.split() == [job_id, "tacotron-retrain", "ENABLED", "0", "0", "3", "*", "*", "0"]

    disabled = cli(home, "schedule", "--host", kfp_server.url, "--disable", job_id)
    assert disabled.returncode == 0, disabled.stderr
    only(kfp_server.requests_to("POST", f"{API}/recurringruns/{job_id}:disable"))
    assert kfp_server.recurring_runs[job_id]["status"] == "DISABLED"
    assert f"disabled recurring run {job_id}" in disabled.stdout


def test_schedule_keeps_per_task_caching(kfp_server, home):
    """A scheduled retrain must fingerprint the corpus every time (caching off for that task), or new recordings
    never reach preprocessing: the recurring run must not override the compiled per-task caching options."""
    result = cli(home, "schedule", "--host", kfp_server.url, "--cron", "0 0 3 * * 0", "--param", "corpus=gs://b/c")
    assert result.returncode == 0, result.stderr
    tasks = only(kfp_server.requests_to("POST", f"{API}/recurringruns")).body["pipeline_spec"]["root"]["dag"]["tasks"]
    assert tasks["preprocess"]["cachingOptions"].get("enableCache") is True
    assert not tasks["fingerprint-corpus"]["cachingOptions"].get("enableCache")
    assert not tasks["train"]["cachingOptions"].get("enableCache")


BAD_INPUT = {
    "unknown parameter": (["submit", "--param", "corpus=gs://b/c", "--param", "nope=1"],
                          ["unknown pipeline parameter 'nope'"]),
    "bad type": (["submit", "--param", "corpus=gs://b/c", "--param", "steps=abc"], ["steps", "'abc'"]),
    "missing corpus": (["submit", "--param", "steps=10"], ["corpus"]),
    "bad cron": (["schedule", "--cron", "every sunday", "--param", "corpus=gs://b/c"], ["'every sunday'"]),
    "schedule bad type": (["schedule", "--cron", "0 0 3 * * 0", "--param", "corpus=gs://b/c",
                           "--param", "max_mcd=low"], ["max_mcd"]),
}


@pytest.mark.parametrize("argv, fragments", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_one_line_and_submits_nothing(kfp_server, home, argv, fragments):
    result = cli(home, *argv, "--host", kfp_server.url)
    # No run, recurring run or experiment is created; in fact the input is checked before the host is contacted.
    assert not kfp_server.creating_requests()
    assert not [r for r in kfp_server.requests if r.method != "GET"]
    assert_one_line_error(result, argv[0], *fragments)
    assert kfp_server.requests == []


def test_unreachable_host(home):
    host = f"http://127.0.0.1:{closed_port()}"
    result = cli(home, "submit", "--host", host, "--param", "corpus=gs://b/c")
    assert_one_line_error(result, "submit", f"cannot reach {host}", "Connection refused")


def test_unknown_recurring_run_id(kfp_server, home):
    result = cli(home, "schedule", "--host", kfp_server.url, "--disable", "no-such-job")
    only(kfp_server.requests_to("POST", f"{API}/recurringruns/no-such-job:disable"))
    assert_one_line_error(result, "schedule", "answered: HTTP 404")


def test_rejected_credentials_fail_fast(home):
    """A cluster that answers 401 (a wrong --token): one line within seconds, not kfp.Client's five healthz
    attempts five seconds apart with a logged traceback each."""
    with FakeKfpServer(fail_status=401) as server:
        result = cli(home, "submit", "--host", server.url, "--param", "corpus=gs://b/c", timeout=12)
        assert not server.creating_requests()
    assert_one_line_error(result, "submit", "answered: HTTP 401")
