"""tacotron.training.train as users run it (tacotron-train in a subprocess on real preprocessed data): logs,
checkpoints, summaries, kills, preemption, resumption, a poisoned step."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pathlib
import shutil

import pytest
from tensorflow.python.summary.summary_iterator import summary_iterator

from tests.training import checkpoint_steps, rows, train

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow
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
