"""tacotron-train as the tests start it: a subprocess on the tiny config with one padded shape, and what it leaves."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from tacotron.network import model_dir as model_folder
from tacotron.storage import training_log

REPO = pathlib.Path(__file__).resolve().parents[1]
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
    # Alignment images and Griffin-Lim audio run the model eagerly: only tests that check them ask for them.
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
    """The steps of the model folder's complete checkpoints, oldest first."""
    return [step for step, _ in model_folder.list_checkpoints(str(model_dir))]
