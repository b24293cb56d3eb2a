"""The job on Beam's DaskRunner: a real 2-worker Dask cluster, the job's one-line refusal and what Beam's runner
does that the refusal names (pipelines.preprocess.runners.DASK_UNSUPPORTED)."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import REPO

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
# When one of these fails, Beam's DaskRunner has changed: run the job on it, compare its records with
# DirectRunner's, and lift or narrow the refusal.
CHANGED = "Beam's DaskRunner no longer does this: revisit pipelines.preprocess.runners.DASK_UNSUPPORTED"


def preprocess(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "pipelines.preprocess", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a local Dask cluster: a scheduler and 2 worker processes of 1 thread each."""
    from distributed import LocalCluster

    # The scheduler's HTTP routes on a free port: another cluster on this machine may hold Dask's 8787.
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address="127.0.0.1:0") as cluster:
        yield cluster.scheduler_address


def run_on_dask(scheduler: str, build) -> None:
    """Build a pipeline with `build(pipeline)` and run it to the end on the cluster with Beam's DaskRunner."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    pipeline = beam.Pipeline(options=PipelineOptions(["--runner", DASK_RUNNER, "--dask_client_address", scheduler]))
    build(pipeline)
    result = pipeline.run()
    try:
        result.wait_until_finish()
    finally:
        result.client.close()


def save_to(path: pathlib.Path):
    """A step that writes the list it gets to `path` as JSON (runs on a worker; the test reads it back)."""
    return lambda values: path.write_text(json.dumps(sorted(values)))


def test_an_s3_output_on_a_distributed_runner_stops_in_one_line_and_local_runners_stage_locally(tmp_path, capsys):
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.preprocess import runners
    from pipelines.preprocess.cli import main

    for runner in ([], ["--runner", "DirectRunner"], ["--runner", "direct"], ["--runner", "PrismRunner"]):
        assert runners.runs_here(PipelineOptions(runner)), runner
    for runner in ("DataflowRunner", "FlinkRunner"):
        assert not runners.runs_here(PipelineOptions(["--runner", runner]))
    code = main(["--corpus", str(tmp_path), "--output", "s3://tacotron/out", "--runner", "FlinkRunner"])
    [line] = capsys.readouterr().err.splitlines()
    assert code == 2 and "--output s3://tacotron/out: a distributed runner's workers write through" in line


@pytest.mark.slow
def test_the_job_stops_in_one_line_naming_what_daskrunner_cannot_run(scheduler, tmp_path):
    started = time.monotonic()
    result = preprocess("--corpus", str(tmp_path), "--output", str(tmp_path / "out"), "--runner", "DaskRunner",
                        "--dask_client_address", scheduler)
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("python -m pipelines.preprocess: error: --runner DaskRunner cannot run this job")
    for named in ("SplitHotCold", "ExtractOutputs", "MeasureClips", "finish_bundle", "BatchElements", "sinks"):
        assert named in line
    assert not (tmp_path / "out").exists()
    # Refused before TensorFlow is imported or the corpus is read.
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("runner_args,message", [
    (["--dask_client_address", "FREE_PORT", "--dask_connection_timeout", "2"],
     "--dask_client_address FREE_PORT: no Dask scheduler answers there (nothing in 2 s)"),
    (["--dask_client_address", "nowhere:::"], "--dask_client_address nowhere:::: invalid address"),
])
def test_a_dask_scheduler_that_does_not_answer_stops_in_one_line(tmp_path, capsys, runner_args, message):
    # In this process, as the job's other command-line checks: each comes before the job is built.
    from pipelines.preprocess.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    runner_args = [arg.replace("FREE_PORT", free) for arg in runner_args]
    code = main(["--corpus", str(tmp_path), "--output", str(tmp_path / "out"), "--runner", "DaskRunner",
                 *runner_args])
    [line] = capsys.readouterr().err.splitlines()
    assert code == 2
    assert line.startswith(f"python -m pipelines.preprocess: error: {message.replace('FREE_PORT', free)}")


def test_a_runner_beam_does_not_have_stops_in_one_line(tmp_path, capsys):
    from pipelines.preprocess.cli import main

    code = main(["--corpus", str(tmp_path), "--output", str(tmp_path / "out"), "--runner", "NoSuchRunner"])
    [line] = capsys.readouterr().err.splitlines()
    assert code == 2
    assert line.startswith("python -m pipelines.preprocess: error: --runner NoSuchRunner: Beam has no runner of "
                           "that name (it has DataflowRunner, ")


@pytest.mark.slow
def test_daskrunner_sends_every_output_of_a_multi_output_pardo_to_each_output(scheduler, tmp_path):
    import apache_beam as beam

    def build(p):
        parts = (p | beam.Create(range(6))
                 | beam.FlatMap(lambda n: [n if n % 2 == 0 else beam.pvalue.TaggedOutput("odd", n)])
                 .with_outputs("odd", main="even"))
        _ = parts.odd | beam.combiners.ToList() | beam.Map(save_to(tmp_path / "odd.json"))

    run_on_dask(scheduler, build)
    assert json.loads((tmp_path / "odd.json").read_text()) == [0, 1, 2, 3, 4, 5], CHANGED


@pytest.mark.slow
def test_daskrunner_drops_what_batchelements_emits_in_finish_bundle(scheduler, tmp_path):
    import apache_beam as beam

    def build(p):
        _ = (p | beam.Create(range(5)) | beam.BatchElements(min_batch_size=2, max_batch_size=2)
             | beam.combiners.ToList() | beam.Map(save_to(tmp_path / "batches.json")))

    run_on_dask(scheduler, build)
    # The last, short batch [4] leaves in finish_bundle.
    assert json.loads((tmp_path / "batches.json").read_text()) == [[0, 1], [2, 3]], CHANGED


@pytest.mark.slow
def test_daskrunner_computes_only_the_last_sink(scheduler, tmp_path):
    import apache_beam as beam

    def build(p):
        numbers = p | beam.Create(range(3))
        _ = numbers | "First" >> beam.combiners.ToList() | "SaveFirst" >> beam.Map(save_to(tmp_path / "first.json"))
        _ = numbers | "Last" >> beam.combiners.ToList() | "SaveLast" >> beam.Map(save_to(tmp_path / "last.json"))

    run_on_dask(scheduler, build)
    assert (tmp_path / "last.json").exists()
    assert not (tmp_path / "first.json").exists(), CHANGED
