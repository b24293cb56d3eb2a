"""Faults a cluster brings, on real disks: a disk that fills during training or preprocessing, a read-only mount.
Each ends in one line and a non-zero exit Kubernetes retries, with temporary files gone and earlier output intact."""

from __future__ import annotations

import contextlib
import pathlib
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.training import SMALL, checkpoint_steps, env

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow


@contextlib.contextmanager
def small_disk(path: pathlib.Path, size: str):
    """A tmpfs of `size` mounted at `path` (root only; the test is skipped otherwise)."""
    path.mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                      capture_output=True).returncode:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(disk: pathlib.Path) -> pathlib.Path:
    """Take every free byte of `disk` with one file; returns it."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as f:
        while True:
            f.write(b"\0" * (1 << 16))
            f.flush()
    return filler


def leftovers(folder: pathlib.Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if ".tmp" in p.name or p.name.endswith(".partial")]


def last_line(result) -> str:
    return result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""


def test_a_disk_that_fills_during_training_ends_in_one_line_and_keeps_the_checkpoints(sample_data, tmp_path):
    with small_disk(tmp_path / "disk", "48m") as disk:
        model_dir = disk / "model"
        command = [sys.executable, "-m", "tacotron.cli.train", "--data", str(sample_data), "--model_dir",
                   str(model_dir), *SMALL]
        process = subprocess.Popen([*command, "--steps", "10000"], cwd=REPO, env=env(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 400
        while not checkpoint_steps(model_dir):
            assert process.poll() is None, process.communicate()[1][-3000:]
            assert time.time() < deadline
            time.sleep(0.2)
        kept = checkpoint_steps(model_dir)[-1]
        filler = fill(disk)
        _, stderr = process.communicate(timeout=300)
        # A plain failure exit (Kubernetes retries it), not a signal death (139) or a hang.
        assert process.returncode == 1, stderr[-3000:]
        assert "Traceback" not in stderr and "No space left on device" in stderr.strip().splitlines()[-1], stderr
        assert str(disk) in stderr.strip().splitlines()[-1]
        assert checkpoint_steps(model_dir)[-1] >= kept and leftovers(model_dir) == []

        # Rerun on the still-full disk: refused in one line before any step.
        again = subprocess.run([*command, "--steps", "10000"], cwd=REPO, env=env(), capture_output=True, text=True,
                               timeout=300)
        assert again.returncode == 1 and "Traceback" not in again.stderr, again.stderr[-3000:]
        assert "No space left on device" in last_line(again)
        assert leftovers(model_dir) == []

        # With room again, training resumes from the newest checkpoint.
        newest = checkpoint_steps(model_dir)[-1]
        filler.unlink()
        resumed = subprocess.run([*command, "--steps", str(newest + 1)], cwd=REPO, env=env(), capture_output=True,
                                 text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert f"resuming from step {newest}" in resumed.stdout

        # A newest checkpoint cut short (a store or disk that lost its tail) is named and the one before it used.
        weights = model_dir / "checkpoints" / f"ckpt-{newest + 1:08d}.weights.h5"
        weights.write_bytes(weights.read_bytes()[:100_000])
        again = subprocess.run([*command, "--steps", str(newest + 2)], cwd=REPO, env=env(), capture_output=True,
                               text=True, timeout=300)
        assert again.returncode == 0, again.stderr[-3000:]
        assert f"checkpoint {weights} is unreadable" in again.stdout and f"resuming from step {newest}" in again.stdout
        # Checkpoints rotate (the newest 2 kept), and a run already at its step count has nothing to do.
        assert checkpoint_steps(model_dir)[-2:] == [newest + 1, newest + 2]
        done = subprocess.run([*command, "--steps", str(newest + 2)], cwd=REPO, env=env(), capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0 and f"already at step {newest + 2}" in done.stdout, done.stderr[-3000:]


def test_a_disk_that_fills_during_preprocessing_keeps_the_previous_output(tmp_path):
    from tests.conftest import first_clips

    (tmp_path / "corpus").mkdir()
    corpus = first_clips(8, tmp_path / "corpus")
    with small_disk(tmp_path / "disk", "8m") as disk:
        output = disk / "data"
        command = [sys.executable, "-m", "pipelines.preprocess", "--corpus", str(corpus), "--output", str(output)]
        first = subprocess.run(command, cwd=REPO, env=env(), capture_output=True, text=True, timeout=600)
        assert first.returncode == 0, first.stderr[-3000:]
        before = {p.name: p.read_bytes() for p in output.iterdir() if p.is_file()}

        # SIGKILL half-way through a rerun: the previous output stays as it was.
        process = subprocess.Popen(command, cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while not list(output.glob(".staging-*/*")):
            assert process.poll() is None and time.time() < deadline
            time.sleep(0.1)
        process.kill()
        process.wait(timeout=60)
        assert {p.name: p.read_bytes() for p in output.iterdir() if p.is_file()} == before
        for leftover in output.glob(".staging-*"):
            subprocess.run(["rm", "-rf", str(leftover)], check=True)

        fill(disk)
        result = subprocess.run(command, cwd=REPO, env=env(), capture_output=True, text=True, timeout=600)
        assert result.returncode == 1, result.stderr[-3000:]
        assert "Traceback" not in result.stderr and "No space left on device" in last_line(result), result.stderr
        assert {p.name: p.read_bytes() for p in output.iterdir() if p.is_file()} == before
        assert not [p for p in output.iterdir() if p.name.startswith(".staging")]


def test_a_truncated_data_shard_is_one_line_naming_the_file(sample_data, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(sample_data, data)
    (shard,) = data.glob("train-*.tfrecord.gz")
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    result = subprocess.run([sys.executable, "-m", "tacotron.cli.train", "--data", str(data), "--model_dir",
                             str(tmp_path / "model"), *SMALL, "--steps", "2"], cwd=REPO, env=env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    line = last_line(result)
    assert shard.name in line and len(line) < 300, line


def test_a_read_only_model_dir_is_one_line_before_anything_runs(sample_data, tmp_path):
    with small_disk(tmp_path / "disk", "4m") as disk:
        (disk / "model").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        result = subprocess.run([sys.executable, "-m", "tacotron.cli.train", "--data", str(sample_data), "--model_dir",
                                 str(disk / "model"), *SMALL, "--steps", "2"], cwd=REPO, env=env(),
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
        assert "not writable" in last_line(result) and str(disk / "model") in last_line(result)
