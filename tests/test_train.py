"""tacotron-train as users run it: a subprocess on real preprocessed data, killed, preempted, resumed, poisoned."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys

import pytest
from tensorflow.python.summary.summary_iterator import summary_iterator

from tacotron import training_log

REPO = pathlib.Path(__file__).resolve().parents[1]
# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow
TRAIN = [sys.executable, "-m", "tacotron.cli.train"]
# The tiny config with one padded shape (one compile) and batches of 4, so each run takes seconds after compiling.
SMALL = [
    "--gin_file", "tiny",
    "--gin_param", "TrainConfig.batch_size = 4",
    "--gin_param", "TrainConfig.bucket_count = 1",
    "--gin_param", "TrainConfig.warmup_steps = 4",
    "--gin_param", "TrainConfig.log_every = 2",
    "--gin_param", "TrainConfig.checkpoint_every = 3",
    "--gin_param", "TrainConfig.keep_checkpoints = 2",
    # Alignment images and Griffin-Lim audio run the model eagerly: only the `trained` fixture asks for them.
    "--gin_param", "TrainConfig.image_every = 100000",
]


def env(**extra: str) -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def train(data, model_dir, *args: str, backend: str = "jax", timeout: int = 600,
          environment: dict | None = None) -> subprocess.CompletedProcess:
    command = [*TRAIN, "--data", str(data), "--model_dir", str(model_dir), *SMALL, *args]
    return subprocess.run(command, cwd=REPO, env=environment or env(KERAS_BACKEND=backend), capture_output=True,
                          text=True, timeout=timeout)


def rows(model_dir) -> list[dict]:
    return list(training_log.read(str(model_dir)).rows)


def checkpoint_steps(model_dir) -> list[int]:
    return sorted(int(pathlib.Path(p).stem.split("-")[1]) for p in glob.glob(f"{model_dir}/checkpoints/ckpt-*.json"))


def digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(pathlib.Path(folder).iterdir())}


@pytest.fixture(scope="module")
def trained(sample_data, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("model")
    # As a user runs it: TensorFlow's own log level untouched, so its start-up logs exist to be kept off the console.
    logs = tmp_path_factory.mktemp("framework-logs")
    as_a_user = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | {"TACOTRON_LOG_DIR": str(logs)}
    result = train(sample_data, model_dir, "--steps", "8", "--gin_param", "TrainConfig.image_every = 8",
                   "--gin_param", "TrainConfig.audio_every = 8", environment=as_a_user)
    assert result.returncode == 0, result.stderr[-3000:]
    return model_dir, result, logs / "tacotron-train.log"


def test_training_logs_checkpoints_and_summaries(trained):
    model_dir, result, framework_log = trained
    # The console shows the command's own lines; the frameworks' start-up logs and warnings went to their file.
    assert result.stderr == ""
    own = ("backend ", "step ", "attention aligned", "{")
    assert all(line.startswith(own) for line in result.stdout.splitlines()), result.stdout
    assert "oneDNN" in framework_log.read_text()
    logged = [r for r in rows(model_dir) if "event" not in r]
    assert [r["step"] for r in logged] == [2, 4, 6, 8]
    for row in logged:
        for key in ("loss", "mel_loss", "linear_loss", "stop_loss", "learning_rate", "examples_per_sec",
                    "alignment_score", "focus", "diagonality"):
            assert isinstance(row[key], float), (key, row)
    # Linear warmup over 4 steps to the tiny config's 2e-3 (sqrt rule: batch 4 vs reference 16 halves it).
    assert logged[0]["learning_rate"] == pytest.approx(1e-3 * 3 / 4, rel=1e-3)
    assert "step 8/8" in result.stdout and "ex/s" in result.stdout and "eta" in result.stdout
    assert checkpoint_steps(model_dir) == [6, 8]  # every 3 steps and at the end, newest 2 kept
    # Every setting, defaults included, so that the model_dir keeps its meaning when a default changes.
    written = (model_dir / "config.gin").read_text()
    assert written.count("TrainConfig.batch_size = 4") == 1 and "SynthesisConfig.griffin_lim_iters = " in written
    events = glob.glob(f"{model_dir}/tensorboard/events.out.tfevents.*")
    tags = {value.tag for path in events for event in summary_iterator(path) for value in event.summary.value}
    assert {"loss", "learning_rate", "alignment", "mel_predicted_vs_target", "griffin_lim"} <= tags
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["final_step"] == 8 and 0 <= summary["padding_fraction"] < 1


def poisoned_copy(data: pathlib.Path, target: pathlib.Path) -> pathlib.Path:
    """The same data with every mel value NaN: each step's loss is not finite."""
    import tensorflow as tf

    shutil.copytree(data, target)
    for path in glob.glob(f"{target}/train-*.tfrecord.gz"):
        records = list(tf.data.TFRecordDataset(path, compression_type="GZIP").as_numpy_iterator())
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for record in records:
                example = tf.train.Example.FromString(record)
                mel = example.features.feature["mel"].float_list.value
                mel[:] = [float("nan")] * len(mel)
                writer.write(example.SerializeToString())
    return target


def test_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(trained, sample_data, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(trained[0], model_dir)
    before = digest(model_dir / "checkpoints")
    data = poisoned_copy(sample_data, tmp_path / "poisoned")
    result = train(data, model_dir, "--steps", "40", "--gin_param", "TrainConfig.max_bad_steps = 3")
    assert result.returncode == 1, result.stderr[-3000:]
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("tacotron-train: error: loss was not finite for 3 consecutive steps")
    assert "Last good checkpoint: step 8" in error
    assert digest(model_dir / "checkpoints") == before


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_in_sync(sample_data, tmp_path):
    # MultiWorkerMirroredStrategy as the Kubeflow Training Operator starts it: one process per worker, TF_CONFIG.
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    model_dir = tmp_path / "model"
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        command = [*TRAIN, "--data", str(sample_data), "--model_dir", str(model_dir), *SMALL, "--steps", "4"]
        workers.append(subprocess.Popen(command, cwd=REPO, env=env(KERAS_BACKEND="tensorflow", TF_CONFIG=tf_config),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr[-3000:]
    chief = [r for r in rows(model_dir) if r.get("event") == "end"][-1]
    other = [r for r in rows(model_dir / "worker-1") if r.get("event") == "end"][-1]
    assert chief["step"] == other["step"] == 4
    assert chief["weights_checksum"] == pytest.approx(other["weights_checksum"], rel=1e-6)
    assert checkpoint_steps(model_dir) == [3, 4] and not (model_dir / "worker-1" / "checkpoints").exists()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing_data", "is not a directory"),
        ("empty_data", "has no train-*.tfrecord.gz files"),
        ("wrong_schema", "do not match the schema"),
        ("unknown_binding", "gin: "),
        ("bad_scaling_rule", "unknown learning-rate scaling rule 'cubic'"),
        ("indivisible_batch", "does not divide across 2 replicas"),
    ],
)
def test_bad_input_is_one_line_and_touches_nothing(case, message, sample_data, tmp_path, capsys):
    import tensorflow as tf

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "notes.txt").write_text("mine")
    data, args, extra_env = sample_data, [], {}
    if case == "missing_data":
        data = tmp_path / "nowhere"
    elif case == "empty_data":
        data = tmp_path / "empty"
        data.mkdir()
    elif case == "wrong_schema":
        data = tmp_path / "other"
        shutil.copytree(sample_data, data)
        for path in glob.glob(f"{data}/*.tfrecord.gz"):
            with tf.io.TFRecordWriter(path, options="GZIP") as writer:
                feature = tf.train.Feature(int64_list=tf.train.Int64List(value=[1]))
                writer.write(tf.train.Example(features=tf.train.Features(feature={"x": feature})).SerializeToString())
    elif case == "unknown_binding":
        args = ["--gin_param", "TrainConfig.bach_size = 8"]
    elif case == "bad_scaling_rule":
        args = ["--gin_param", "TrainConfig.lr_scaling = 'cubic'"]
    elif case == "indivisible_batch":
        # Two CPU devices on JAX: a batch of 3 cannot be split evenly.
        args = ["--gin_param", "TrainConfig.batch_size = 3"]
        extra_env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    argv = ["--data", str(data), "--model_dir", str(model_dir), *SMALL, *args, "--steps", "2"]
    if case in ("missing_data", "indivisible_batch"):
        # As a user runs it (and two devices exist only in a process started with them).
        result = subprocess.run([*TRAIN, *argv], cwd=REPO, env=env(KERAS_BACKEND="jax", **extra_env),
                                capture_output=True, text=True, timeout=300)
        code, stderr = result.returncode, result.stderr
    else:
        # In this process: each check comes before anything is built, so no process start-up is needed.
        from tacotron.cli.train import main

        code, stderr = main(argv), capsys.readouterr().err
    assert code == 2, stderr[-3000:]
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("tacotron-train: error: ") and message in lines[-1], lines[-5:]
    assert "Traceback" not in stderr
    assert sorted(p.name for p in model_dir.iterdir()) == ["notes.txt"]
