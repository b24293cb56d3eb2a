"""The commands with every folder on an S3 API (moto's server on loopback), as a Kubeflow user's MinIO holds them:
preprocess, then train killed and resumed, and what a store adds: a live lease, a store that goes away, bad URLs, a
half-uploaded folder, a warm start. (Evaluate, export, synthesize and serve on a store: test_gcs_store.py, on GCS;
the pipeline's export to S3: test_run_local.py.)"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid

import pytest

from tacotron import storage
from tacotron.storage import lease
from tests.conftest import REPO, TRAINING_CLIPS, first_clips, s3_server
from tests.training import SMALL

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow
# Evaluation of an untrained model: short decoding, few Griffin-Lim iterations (as the pipeline fixture does).
QUICK_SYNTHESIS = ["--gin_param", "SynthesisConfig.griffin_lim_iters = 4",
                   "--gin_param", "SynthesisConfig.max_frames_per_char = 3.0"]


def command(*argv: str, timeout: int = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def checkpoint_steps(model_dir: str) -> list[int]:
    names = storage.listdir(storage.join(model_dir, "checkpoints"))
    return sorted(int(n.split("-")[1].split(".")[0]) for n in names if n.startswith("ckpt-") and n.endswith(".json"))


@pytest.fixture(scope="module")
def root(object_store) -> str:
    return f"s3://tacotron/{uuid.uuid4().hex[:8]}"


def preprocess_on_store(root: str, scratch: pathlib.Path) -> str:
    """The bundled corpus's first TRAINING_CLIPS clips uploaded to root/corpus, preprocessed by the job from there
    into root/data."""
    corpus = f"{root}/corpus"
    storage.upload_folder(str(first_clips(TRAINING_CLIPS, scratch)), corpus)
    data = f"{root}/data"
    result = command("-m", "pipelines.preprocess", "--corpus", corpus, "--output", data, "--eval_fraction", "0.1")
    assert result.returncode == 0, result.stderr[-3000:]
    return data


@pytest.fixture(scope="module")
def s3_data(root, tmp_path_factory) -> str:
    return preprocess_on_store(root, tmp_path_factory.mktemp("corpus"))


def start_training(data: str, model_dir: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tacotron.cli.train", "--data", data, "--model_dir", model_dir, *SMALL,
         "--steps", "10000"],
        cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)


def wait_for_checkpoint(model_dir: str, process: subprocess.Popen, after: int) -> int:
    deadline = time.time() + 400
    while not [s for s in checkpoint_steps(model_dir) if s > after]:
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.time() < deadline, f"no checkpoint after step {after} on the store within 400 s"
        time.sleep(0.5)
    return checkpoint_steps(model_dir)[-1]


@pytest.fixture(scope="module")
def s3_model(root, s3_data) -> str:
    """Trained to s3://, preempted (SIGTERM), killed (SIGKILL) after a later checkpoint, and resumed each time from
    the checkpoints on the store."""
    model_dir = f"{root}/model"
    # Preemption: SIGTERM writes a checkpoint at the step reached, then exits 143 so that the pod is retried.
    process = start_training(s3_data, model_dir)
    periodic = wait_for_checkpoint(model_dir, process, after=0)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 143, stderr[-3000:]
    saved = checkpoint_steps(model_dir)[-1]
    assert saved >= periodic and json.loads(storage.read_text(f"{model_dir}/checkpoints/ckpt-{saved:08d}.json"))[
        "preempted"]
    assert lease.read(model_dir) is None  # released on the way out
    # kill -9 gives no chance to save or release: the rerun resumes from the newest complete checkpoint, and takes
    # over the lease of its holder, dead on this machine.
    process = start_training(s3_data, model_dir)
    wait_for_checkpoint(model_dir, process, after=saved)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    newest = checkpoint_steps(model_dir)[-1]
    assert lease.read(model_dir)["pid"] == process.pid
    result = command("-m", "tacotron.cli.train", "--data", s3_data, "--model_dir", model_dir, *SMALL, "--steps",
                     str(newest + 2))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming from step {newest}" in result.stdout
    return model_dir


def assert_published_like(data: str, sample_data: pathlib.Path) -> None:
    """A preprocessing output on a store holds what the same clips preprocessed locally hold, and is marked done."""
    names = storage.listdir(data)
    assert storage.COMPLETE_MARKER in names
    assert set(names) - {storage.COMPLETE_MARKER} == set(os.listdir(sample_data))
    report = json.loads(storage.read_text(f"{data}/report.json"))
    assert report["written"] == json.loads((sample_data / "report.json").read_text())["written"]


def test_preprocessing_reads_the_corpus_from_and_publishes_to_the_store(s3_data, sample_data):
    assert_published_like(s3_data, sample_data)


def test_training_resumes_from_checkpoints_on_the_store(s3_model):
    assert checkpoint_steps(s3_model)[-1] >= 3
    rows = [json.loads(line) for line in storage.read_text(f"{s3_model}/metrics.jsonl").splitlines()]
    assert [r for r in rows if r.get("event") == "end"]
    for name in ("config.gin", "assets/vocabulary", "assets/normalization.json", "assets/frontend.json"):
        assert storage.exists(f"{s3_model}/{name}"), name
    assert any(n.startswith("events.out.tfevents") for n in storage.listdir(f"{s3_model}/tensorboard"))
    assert lease.read(s3_model) is None  # released at the end
    assert not (REPO / "s3:").exists()  # no local folder made from a URL


def test_a_second_trainer_is_refused_while_the_lease_is_live(s3_data, root):
    model_dir = f"{root}/leased"
    # This test process stands for a trainer that is alive and renewing.
    storage.write_text(f"{model_dir}/{lease.LEASE_FILE}", json.dumps(
        {"owner": "other", "host": os.uname().nodename, "pid": os.getpid(), "ttl_s": 120, "heartbeat": time.time()}))
    result = command("-m", "tacotron.cli.train", "--data", s3_data, "--model_dir", model_dir, *SMALL, "--steps", "2")
    assert result.returncode == 2, result.stderr[-3000:]
    line = result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr and line.startswith("tacotron-train: error: ")
    assert f"being trained by pid {os.getpid()}" in line and "expires in 1" in line
    assert storage.listdir(model_dir) == [lease.LEASE_FILE]


def test_a_store_that_goes_away_during_training_ends_in_one_line(sample_data, tmp_path):
    with s3_server(tmp_path / "server.log") as (server, variables):
        model_dir = "s3://tacotron/model"
        environment = {**os.environ, **variables, "TF_CPP_MIN_LOG_LEVEL": "3"}
        process = subprocess.Popen(
            [sys.executable, "-m", "tacotron.cli.train", "--data", str(sample_data), "--model_dir", model_dir, *SMALL,
             "--steps", "10000"], cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        check = [sys.executable, "-c", "import sys\nfrom tacotron import storage\n"
                 "print(any(n.endswith('.json') for n in storage.listdir(sys.argv[1] + '/checkpoints')))", model_dir]
        deadline = time.time() + 400
        while subprocess.run(check, env=environment, capture_output=True, text=True).stdout.strip() != "True":
            assert process.poll() is None and time.time() < deadline, process.communicate()[1][-3000:]
            time.sleep(1)
        server.kill()
        _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1 and "Traceback" not in stderr, stderr[-3000:]
    line = stderr.strip().splitlines()[-1]
    assert line.startswith(f"tacotron-train: error: {model_dir}/") and "Could not connect" in line, line


@pytest.mark.parametrize("model_dir, message", [
    ("ram://probe/m", "unknown storage scheme 'ram'"),
    ("s3://no-such-bucket/m", "bucket 'no-such-bucket' does not exist"),
])
def test_unusable_model_dir_urls_are_one_line_and_write_nothing(s3_data, model_dir, message, tmp_path, monkeypatch,
                                                                capsys):
    # In this process: the check comes before the model is built, so no process start-up is needed.
    from tacotron.cli.train import main

    monkeypatch.chdir(tmp_path)
    code, stderr = main(["--data", s3_data, "--model_dir", model_dir, "--steps", "2"]), capsys.readouterr().err
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("tacotron-train: error: ") and message in stderr
    assert os.listdir(tmp_path) == []


def test_a_data_folder_whose_upload_did_not_finish_is_refused(s3_data, root, tmp_path, capsys):
    from tacotron.cli.train import main

    data = f"{root}/half-uploaded"
    for name in storage.listdir(s3_data):
        if name.startswith("train-"):
            storage.copy_file(f"{s3_data}/{name}", f"{data}/{name}")
    code = main(["--data", data, "--model_dir", str(tmp_path / "model"), *SMALL, "--steps", "2"])
    stderr = capsys.readouterr().err
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert "not a finished preprocessing output" in stderr
    assert not (tmp_path / "model").exists()


def test_a_model_on_the_store_is_a_warm_start_source(s3_model, tmp_path):
    from tacotron.training import warm_start

    with warm_start.local_source(s3_model) as local:
        source = warm_start.resolve(local, str(tmp_path / "new"))
        assert source.step == checkpoint_steps(s3_model)[-1] and os.path.isfile(source.checkpoint)
        assert "_" in source.vocabulary  # the word boundary, in either frontend
    with pytest.raises(warm_start.WarmStartError, match="--init_from s3://tacotron/nothing"):
        with warm_start.local_source("s3://tacotron/nothing"):
            pass
