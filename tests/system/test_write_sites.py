"""The fault matrix, in this process: every writer of the model folder and of the evaluation and export outputs, on
a real small disk that fills part-way through its write, a full disk, a read-only mount and a folder it has no
permission for. Each fault is one StorageError naming the path and the cause, no scratch file is left, and what
was written before is intact. The same faults through the commands, and SIGTERM and SIGKILL at a write, are in
test_faults.py (docs/RELIABILITY.md has the whole matrix)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable

import keras
import numpy as np
import pytest

from tacotron import storage
from tacotron.network.model_dir import list_checkpoints
from tacotron.storage import training_log
from tacotron.training.callbacks import Checkpointer, StepCounter
from tacotron.training.tensorboard import TensorBoardWriter
from tests.conftest import REPO
from tests.disks import as_nobody, contents, fill, leftovers, read_only, small_disk

FAULTS = ("part-way", "full", "read-only", "permission")
CAUSES = {"part-way": "No space left on device", "full": "No space left on device",
          "read-only": "Read-only file system", "permission": "Permission denied"}


@pytest.fixture(scope="module")
def model() -> keras.Model:
    """A model whose checkpoint is about 1.5 MB: big enough to fill a disk in the middle of its write."""
    model = keras.Sequential([keras.Input((256,)), keras.layers.Dense(512), keras.layers.Dense(256)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, 256)), np.zeros((4, 256)), verbose=0)
    return model


def checkpointer(model_dir: pathlib.Path, model: keras.Model, step: int) -> Checkpointer:
    saver = Checkpointer(str(model_dir), StepCounter(step), every=1, keep=3)
    saver.set_model(model)
    return saver


def save_checkpoint(model):
    def write(model_dir: pathlib.Path) -> None:
        checkpointer(model_dir, model, 2).save()
    return write


def append_log_row(model_dir: pathlib.Path) -> None:
    training_log.Writer(str(model_dir)).training({"step": 2, "loss": 1.5, "note": "x" * 5000})


def write_events(model_dir: pathlib.Path) -> None:
    TensorBoardWriter(str(model_dir / "tensorboard")).scalars(2, {f"loss/{i}": float(i) for i in range(2000)})


def write_output_folder(model_dir: pathlib.Path) -> None:
    """What tacotron-evaluate does with its --output: every file written into a staging folder, swapped in whole."""
    with storage.local_output(str(model_dir / "evaluation")) as staging:
        for i in range(8):
            pathlib.Path(staging, f"utterance-{i}.wav").write_bytes(os.urandom(300_000))
        pathlib.Path(staging, "metrics.json").write_text(json.dumps({"step": 2}))


def publish_export(model_dir: pathlib.Path) -> None:
    """What tacotron-export and the push to the serving folder do: a finished local folder published in place."""
    with tempfile.TemporaryDirectory(prefix="export-") as built:
        local = pathlib.Path(built)
        (local / "variables").mkdir()
        (local / "variables" / "variables.data").write_bytes(os.urandom(2_000_000))
        (local / "saved_model.pb").write_bytes(b"new")
        storage.publish_folder(built, str(model_dir / "export"))


def earlier_run(model_dir: pathlib.Path, model: keras.Model) -> None:
    """What an earlier run left: a checkpoint at step 1, log rows, events, an evaluation and an export."""
    checkpointer(model_dir, model, 1).save()
    training_log.Writer(str(model_dir)).training({"step": 1, "loss": 2.0})
    TensorBoardWriter(str(model_dir / "tensorboard")).scalars(1, {"loss": 2.0})
    (model_dir / "evaluation").mkdir()
    (model_dir / "evaluation" / "metrics.json").write_text(json.dumps({"step": 1}))
    (model_dir / "export" / "variables").mkdir(parents=True)
    (model_dir / "export" / "saved_model.pb").write_bytes(b"old")


SITES: dict[str, Callable] = {
    "checkpoint": save_checkpoint,
    "metrics.jsonl": lambda model: append_log_row,
    "tensorboard": lambda model: write_events,
    "evaluation": lambda model: write_output_folder,
    "export": lambda model: publish_export,
}
# Room left on the disk for a part-way fill: less than the write needs, more than nothing.
PART_WAY_ROOM = {"checkpoint": 700_000, "metrics.jsonl": 0, "tensorboard": 8_192, "evaluation": 1_000_000,
                 "export": 1_000_000}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("site", SITES)
def test_a_write_that_fails_is_one_error_and_leaves_what_was_there(site, fault, model, tmp_path):
    with small_disk(tmp_path / "disk", "16m") as disk:
        model_dir = disk / "model"
        earlier_run(model_dir, model)
        if site == "metrics.jsonl":
            # A log that ends part-way through a page: the next row fits in part, then the disk is full.
            training_log.Writer(str(model_dir)).training({"step": 1, "pad": "x" * (3900 - len(
                (model_dir / "metrics.jsonl").read_text()))})
        before = contents(model_dir)
        if fault in ("part-way", "full"):
            fill(disk, leave=PART_WAY_ROOM[site] if fault == "part-way" else 0)
        elif fault == "read-only":
            read_only(disk)
        write = SITES[site](model)
        with pytest.raises(storage.StorageError) as raised:
            if fault == "permission":
                with as_nobody():
                    write(model_dir)
            else:
                write(model_dir)
        message = str(raised.value)
        assert CAUSES[fault] in message and str(model_dir) in message and "\n" not in message, message
        assert leftovers(model_dir) == []
        after = contents(model_dir)
        assert {name: after.get(name) for name in before} == before
        # TensorFlow appends events to a new file, which keeps the events it wrote before the disk filled.
        assert site == "tensorboard" or set(after) == set(before), set(after) - set(before)
        assert [step for step, _ in list_checkpoints(str(model_dir))] == [1]


def test_a_checkpoint_whose_marker_does_not_fit_gives_its_weights_room_back(model, tmp_path):
    with small_disk(tmp_path / "disk", "16m") as disk:
        model_dir = disk / "model"
        earlier_run(model_dir, model)
        before = contents(model_dir)
        weights = (model_dir / "checkpoints").glob("*.weights.h5").__next__().stat().st_size
        fill(disk, leave=weights)  # the weights fit to the page, their 80-byte marker does not
        with pytest.raises(storage.StorageError, match="No space left on device") as raised:
            checkpointer(model_dir, model, 2).save()
        assert "ckpt-00000002.json" in str(raised.value)
        assert leftovers(model_dir) == [] and contents(model_dir) == before


def test_a_torn_log_line_is_ended_before_the_next_row(tmp_path):
    """What SIGKILL in the middle of an append leaves: the rows after it stay readable."""
    training_log.Writer(str(tmp_path)).training({"step": 1, "loss": 2.0})
    with open(tmp_path / training_log.FILE, "a") as log:
        log.write('{"step": 2, "lo')
    training_log.Writer(str(tmp_path)).training({"step": 3, "loss": 1.0})
    assert [row["step"] for row in training_log.read(str(tmp_path)).rows] == [1, 3]


@pytest.mark.slow  # subprocesses that import Keras
@pytest.mark.parametrize("signal_name", ["TERM", "KILL"])
@pytest.mark.parametrize(("site", "pattern"), [("evaluation", "utterance-3.wav"),
                                               ("export", "*.partial/variables/variables.data")])
def test_a_signal_while_an_output_is_written_leaves_the_old_one(site, pattern, signal_name, model, tmp_path):
    """The writer as a command (this module's main), stopped while it writes an output folder's file."""
    model_dir = tmp_path / "model"
    earlier_run(model_dir, model)
    before = contents(model_dir)
    result = subprocess.run([sys.executable, "-m", "tests.fault_injection", pattern, signal_name,
                             "tests.system.test_write_sites", site, str(model_dir)], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    if signal_name == "TERM":
        assert result.returncode == 143 and "stopped by SIGTERM" in result.stderr, result.stderr[-3000:]
        assert leftovers(model_dir) == []
    else:
        assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    assert {name: data for name, data in contents(model_dir).items() if ".partial" not in name} == before
    # What SIGKILL left (a staging folder) goes with the next write.
    SITES[site](model)(model_dir)
    assert leftovers(model_dir) == []


if __name__ == "__main__":
    from tacotron.cli import stops_on_sigterm

    name, folder = sys.argv[1:]
    with stops_on_sigterm(name):
        SITES[name](None)(pathlib.Path(folder))


COMPILE = ("import jax, jax.numpy as jnp\n"
           "print(sum(float(jax.jit(lambda x, k=k: jnp.tanh(x * k) @ x.T)(jnp.ones((64, 64))).sum()) "
           "for k in range(12)))")


@pytest.mark.slow  # three JAX processes each
@pytest.mark.parametrize("fault", ["part-way", "full", "read-only"])
def test_a_compilation_cache_that_cannot_be_written_only_costs_compiling_again(fault, tmp_path):
    """The XLA cache lives outside the model folder (tacotron.cli); a disk there that fills or is read-only leaves the
    results right, and a cache entry cut short is not read back as a program."""
    with small_disk(tmp_path / "disk", "4m") as disk:
        cache = disk / "xla"
        environment = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(cache),
                       "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(COMPILE, {})  # the same programs in this process, whose cache is a good one
        if fault == "read-only":
            read_only(disk)
        else:
            fill(disk, leave=20_000 if fault == "part-way" else 0)
        faulty = subprocess.run([sys.executable, "-c", COMPILE], env=environment, capture_output=True, text=True,
                                timeout=300)
        assert faulty.returncode == 0 and faulty.stdout == printed.getvalue(), faulty.stderr[-3000:]
        assert "compilation cache" in faulty.stderr  # JAX's warning (the commands send it to their log file)
        if fault != "read-only":
            (disk / "filler").unlink()
        again = subprocess.run([sys.executable, "-c", COMPILE], env=environment, capture_output=True, text=True,
                               timeout=300)
        assert again.returncode == 0 and again.stdout == printed.getvalue(), again.stderr[-3000:]


@pytest.mark.parametrize("fault", ["read-only", "permission"])
def test_preprocessing_into_a_folder_it_cannot_write_is_refused_before_the_job(fault, tmp_path, capsys):
    from pipelines.preprocess.cli import main

    with small_disk(tmp_path / "disk", "1m") as disk:
        (disk / "data").mkdir()
        arguments = ["--corpus", str(REPO / "data" / "sample_corpus"), "--output", str(disk / "data")]
        if fault == "read-only":
            read_only(disk)
            code = main(arguments)
        else:
            with as_nobody():
                code = main(arguments)
        stderr = capsys.readouterr().err
        assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
        assert "not writable" in stderr and str(disk / "data") in stderr
