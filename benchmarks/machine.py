"""What every benchmark records beside its figures: the machine it ran on, and its row in docs/BENCHMARKS.md."""

from __future__ import annotations

import os
import pathlib
import platform

BENCHMARKS_MD = pathlib.Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def describe() -> str:
    """e.g. "x86_64, 2 cores, CPython 3.11.7"."""
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}")


def append_row(date: str, benchmark: str, machine: str, result: str, command: str) -> None:
    """One measured run as a row of docs/BENCHMARKS.md's table."""
    with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
        f.write(f"| {date} | {benchmark} | {machine} | {result} | `{command}` |\n")
