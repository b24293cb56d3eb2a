"""Real disk faults for the tests: small tmpfs disks filled to zero or part-way, read-only mounts, and a user who
lacks permission (all need root; a test without it is skipped)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
from collections.abc import Iterator

import pytest

NOBODY = 65534
PAGE = 4096  # tmpfs counts its size in pages


@contextlib.contextmanager
def small_disk(path: pathlib.Path, size: str) -> Iterator[pathlib.Path]:
    """A tmpfs of `size` mounted at `path` (created when missing)."""
    path.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                      capture_output=True).returncode:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(disk: pathlib.Path, leave: int = 0) -> pathlib.Path:
    """Take every free byte of `disk` but `leave` (rounded up to whole pages) with one file; returns it. With a
    little room left, the next write bigger than that fails part-way through."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as f:
        while True:
            f.write(b"\0" * (1 << 16))
            f.flush()
    size = filler.stat().st_size
    with open(filler, "r+b") as f:
        f.truncate(max(size - -(-leave // PAGE) * PAGE, 0))
    return filler


def read_only(disk: pathlib.Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)


@contextlib.contextmanager
def as_nobody() -> Iterator[None]:
    """This process acts as an unprivileged user until the block ends (root ignores permission bits)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def leftovers(folder: pathlib.Path) -> list[str]:
    """Scratch files and staging folders under `folder`: what a failed write must not leave."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.name.startswith(".tmp-") or p.name.endswith(".partial") or p.name.startswith(".staging"))


def contents(folder: pathlib.Path) -> dict[str, bytes]:
    """Every file under `folder` (but a filler) and its bytes: what must stay as it was."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "filler"}
