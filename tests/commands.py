"""The project's commands as the tests start them: a subprocess per command, as users run them, and what a one-line
error must look like."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
# Short decoding and few Griffin-Lim iterations: an untrained model never stops, so it decodes to the limit.
QUICK = [
    "--gin_param", "SynthesisConfig.max_frames_per_char = 4.0",
    "--gin_param", "SynthesisConfig.griffin_lim_iters = 8",
]


def env(**extra: str) -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def run(module: str, *args: str, timeout: int = 600, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=REPO, env=env(**extra_env),
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess, prog: str) -> str:
    """The one line a command printed for a bad input (exit 2, no traceback)."""
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(prog)]
    assert len(lines) == 1, result.stderr[-2000:]
    return lines[0]
