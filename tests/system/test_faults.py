"""The fault matrix through the commands, as a cluster brings faults: a disk that fills part-way through a
checkpoint, SIGKILL and SIGTERM at the moment a file is being written, a disk that fills while preprocessing, a
read-only mount. Each ends in one line and exit 1 (143 after SIGTERM), never a signal death, with no scratch file left
and what was written before intact; a rerun resumes or refuses in one line. The same faults at every write site, in
process, are in test_write_sites.py; docs/RELIABILITY.md has the whole matrix."""

from __future__ import annotations

import pathlib
import shutil
import signal
import subprocess
import sys

import pytest

from tests.conftest import REPO, shared_folder
from tests.disks import contents, fill, leftovers, read_only, small_disk
from tests.training import SMALL, TRAIN, checkpoint_steps, env, rows

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow

TRAINED_STEPS = 6  # SMALL checkpoints every 3 steps: the fixture holds checkpoints 3 and 6


@pytest.fixture(scope="session")
def trained(tmp_path_factory, sample_data) -> pathlib.Path:
    """A tiny model folder trained TRAINED_STEPS steps, once per session; each test trains on from a copy."""

    def train(folder: pathlib.Path) -> None:
        result = subprocess.run([*TRAIN, "--data", str(sample_data), "--model_dir", str(folder / "model"), *SMALL,
                                 "--steps", str(TRAINED_STEPS)], cwd=REPO, env=env(), capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]

    return shared_folder(tmp_path_factory, "trained6", train) / "model"


def last_line(result) -> str:
    return result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""


def train_on(model_dir: pathlib.Path, data: pathlib.Path, steps: int, *, at: tuple[str, str] | None = None,
             timeout: int = 600, **extra: str) -> subprocess.CompletedProcess:
    """tacotron-train on from `model_dir` to `steps`; with `at` = (file name pattern, signal name), that signal is
    sent at the moment the first matching file is being written (tests.fault_injection)."""
    launcher = [sys.executable, "-m", "tests.fault_injection", *at, "tacotron.cli.train"] if at else TRAIN
    return subprocess.run([*launcher, "--data", str(data), "--model_dir", str(model_dir), *SMALL, "--steps",
                           str(steps)], cwd=REPO, env=env(**extra), capture_output=True, text=True, timeout=timeout)


def assert_one_line(result, code: int, *words: str) -> str:
    """Exit `code` (never a signal death), no traceback (h5py's "Exception ignored" ones included), and a last line
    holding `words`; returns that line."""
    assert result.returncode == code, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr[-3000:]
    line = last_line(result)
    assert all(word in line for word in words), line
    return line


def test_a_disk_that_fills_part_way_through_a_checkpoint_ends_in_one_line(trained, sample_data, tmp_path):
    """The fault as a real disk brings it: room for the checkpoints there and a few MB, so the next checkpoint fills
    the disk in the middle of its write; the temporary folder is on that disk too."""
    with small_disk(tmp_path / "disk", "40m") as disk:
        model_dir = disk / "model"
        shutil.copytree(trained, model_dir)
        (disk / "tmp").mkdir()
        checkpoints = contents(model_dir / "checkpoints")
        filler = fill(disk, leave=4_000_000)
        # The logs go elsewhere: the line names the log, which holds the details.
        failed = train_on(model_dir, sample_data, TRAINED_STEPS + 6, TMPDIR=str(disk / "tmp"),
                          TACOTRON_LOG_DIR=str(tmp_path / "logs"))
        line = assert_one_line(failed, 1, "tacotron-train: error:", str(model_dir / "checkpoints"),
                               "ckpt-00000009.weights.h5", "No space left on device", "details: ")
        assert pathlib.Path(line.rsplit("details: ", 1)[1].rstrip(")")).is_file(), line  # the log it names
        assert leftovers(disk) == [] and contents(model_dir / "checkpoints") == checkpoints

        # A rerun on a disk with no room at all refuses in one line, and leaves the checkpoints as they were.
        filler.unlink()
        filler = fill(disk)
        full = train_on(model_dir, sample_data, TRAINED_STEPS + 6, TMPDIR=str(disk / "tmp"))
        assert_one_line(full, 1, "tacotron-train: error:", str(model_dir), "No space left on device")
        assert leftovers(disk) == [] and contents(model_dir / "checkpoints") == checkpoints

        # With room again it resumes, from the checkpoint before the newest when the newest was cut short (a store or
        # disk that lost its tail: named in a warning); checkpoints rotate (the newest 2 kept).
        filler.unlink()
        newest = model_dir / "checkpoints" / f"ckpt-{TRAINED_STEPS:08d}.weights.h5"
        newest.write_bytes(newest.read_bytes()[:100_000])
        resumed = train_on(model_dir, sample_data, TRAINED_STEPS + 3, TMPDIR=str(disk / "tmp"))
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert f"checkpoint {newest} is unreadable" in resumed.stdout and "resuming from step 3" in resumed.stdout
        assert checkpoint_steps(model_dir) == [TRAINED_STEPS, TRAINED_STEPS + 3]

        # A run already at its step count has nothing to do.
        done = train_on(model_dir, sample_data, TRAINED_STEPS + 3)
        assert done.returncode == 0 and f"already at step {TRAINED_STEPS + 3}" in done.stdout, done.stderr[-3000:]


def test_sigkill_and_sigterm_while_writing_lose_nothing(trained, sample_data, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(trained, model_dir)
    checkpoints = contents(model_dir / "checkpoints")

    # SIGKILL while the marker of the next checkpoint is written: its weights are there, unmarked, and never loaded.
    killed = train_on(model_dir, sample_data, TRAINED_STEPS + 6, at=("*ckpt-*.json", "KILL"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert checkpoint_steps(model_dir) == [3, TRAINED_STEPS]
    # SIGKILL while the next checkpoint's weights are written: its scratch file is left, the checkpoints are not
    # touched.
    killed = train_on(model_dir, sample_data, TRAINED_STEPS + 6, at=("*.weights.h5", "KILL"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    scratch = [name for name in leftovers(model_dir) if name.endswith(".weights.h5")]
    assert len(scratch) == 1, leftovers(model_dir)
    assert contents(model_dir / "checkpoints").items() >= checkpoints.items()
    assert checkpoint_steps(model_dir) == [3, TRAINED_STEPS]

    # The rerun removes the scratch file, resumes from the newest checkpoint, and SIGTERM while it writes a
    # checkpoint's marker ends it after one more clean checkpoint, with exit 143.
    preempted = train_on(model_dir, sample_data, TRAINED_STEPS + 6, at=("*ckpt-*.json", "TERM"))
    assert preempted.returncode == 143, preempted.stderr[-3000:]
    assert f"removed {pathlib.Path(scratch[0]).name}" in preempted.stdout
    assert f"resuming from step {TRAINED_STEPS}" in preempted.stdout
    assert "SIGTERM: saved a checkpoint at step 10" in last_line(preempted)
    assert leftovers(model_dir) == [] and checkpoint_steps(model_dir) == [9, 10]
    # Every row the runs wrote is readable, a torn one excepted, and the last run's rows follow the earlier ones.
    steps = [row["step"] for row in rows(model_dir) if "loss" in row]
    assert steps == sorted(steps) and steps[-1] == 10, steps


def test_preprocessing_keeps_the_previous_output_through_signals_and_a_disk_that_fills(sample_data, tmp_path):
    from tests.conftest import first_clips

    (tmp_path / "corpus").mkdir()
    corpus = first_clips(8, tmp_path / "corpus")
    with small_disk(tmp_path / "disk", "12m") as disk:
        output = disk / "data"
        shutil.copytree(sample_data, output)  # what an earlier run wrote
        before = contents(output)

        def preprocess(at: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
            launcher = ["-m", "tests.fault_injection", *at] if at else ["-m"]
            return subprocess.run([sys.executable, *launcher, "pipelines.preprocess", "--corpus", str(corpus),
                                   "--output", str(output)], cwd=REPO,
                                  env=env(TACOTRON_LOG_DIR=str(tmp_path / "logs")), capture_output=True, text=True,
                                  timeout=600)

        # SIGTERM while a shard is written (fileio.WriteToFiles names its files <number>_<uuid> in the staging
        # folder's tmp/ until the job ends): exit 143, the staging folder removed, the previous output unchanged.
        shard = "*/.staging-*/tmp/[0-9]*_*"
        stopped = preprocess(at=(shard, "TERM"))
        assert_one_line(stopped, 143, "stopped by SIGTERM")
        assert contents(output) == before and leftovers(output) == []

        # SIGKILL there: the previous output stays as it was (its staging folder is left: a concurrent run could own
        # it, so no later run removes it).
        killed = preprocess(at=(shard, "KILL"))
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        assert {name: data for name, data in contents(output).items() if not name.startswith(".staging")} == before
        for leftover in output.glob(".staging-*"):
            shutil.rmtree(leftover)

        # A disk that fills part-way through the job's writes: one line naming the folder and the log, exit 1.
        fill(disk, leave=200_000)
        full = preprocess()
        line = assert_one_line(full, 1, "No space left on device", str(output), "details: ")
        assert "Error" not in line.split("details: ")[0], line  # the cause, not TensorFlow's or Beam's class names
        assert contents(output) == before and leftovers(output) == []


def test_a_truncated_data_shard_is_one_line_naming_the_file(sample_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sample_data, data)
    (shard,) = data.glob("train-*.tfrecord.gz")
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    result = train_on(tmp_path / "model", data, 2, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    line = last_line(result)
    assert shard.name in line and len(line) < 300, line


def test_a_read_only_model_dir_is_one_line_before_anything_runs(sample_data, tmp_path):
    with small_disk(tmp_path / "disk", "4m") as disk:
        (disk / "model").mkdir()
        read_only(disk)
        result = train_on(disk / "model", sample_data, 2, timeout=300)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
        assert "not writable" in last_line(result) and str(disk / "model") in last_line(result)
