"""tacotron-train's bad inputs: one line, exit 2, nothing touched."""

from __future__ import annotations

import glob
import shutil
import subprocess

import pytest

from tests.conftest import REPO
from tests.training import SMALL, TRAIN, env

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow


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
