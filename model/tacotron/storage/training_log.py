"""The training log, model_dir/metrics.jsonl: its row kinds and fields, the one writer and the one reader."""

from __future__ import annotations

import dataclasses
import json

from tacotron import storage

FILE = "metrics.jsonl"

# Every row is one JSON object with a "step". A training row (losses, attention scores, learning rate, throughput,
# elapsed and ETA) has no "event" field; the other rows name theirs:
FIRST_STEP = "first_step"  # compile_and_step_s: the first step of a (resumed) run, compilation included
ALIGNED = "aligned"  # alignment_score, threshold, elapsed_s: the first training row whose score reached threshold
QUALITY = "quality"  # the free-running figures of tacotron.quality.evaluate on a fixed eval batch, and eval_s
END = "end"  # weights_checksum: workers that trained in sync agree on it
EVENT = "event"


def path_in(model_dir: str) -> str:
    return storage.join(model_dir, FILE)


class Writer:
    """Appends rows to one training log (model_dir's, or a worker's own folder); to none for folder None (a process of
    a JAX cluster other than the first, which logs the run)."""

    def __init__(self, folder: str | None):
        self.path = path_in(folder) if folder is not None else None

    def training(self, row: dict) -> None:
        self._append({k: v for k, v in row.items() if k != EVENT})

    def first_step(self, step: int, compile_and_step_s: float) -> None:
        self._append({EVENT: FIRST_STEP, "step": step, "compile_and_step_s": round(compile_and_step_s, 2)})

    def aligned(self, step: int, alignment_score: float, threshold: float, elapsed_s: float) -> None:
        self._append({EVENT: ALIGNED, "step": step, "alignment_score": alignment_score, "threshold": threshold,
                      "elapsed_s": elapsed_s})

    def quality(self, step: int, figures: dict, eval_s: float) -> None:
        self._append({EVENT: QUALITY, "step": step, **figures, "eval_s": round(eval_s, 1)})

    def end(self, step: int, weights_checksum: float) -> None:
        self._append({EVENT: END, "step": step, "weights_checksum": weights_checksum})

    def _append(self, row: dict) -> None:
        if self.path is None:
            return
        storage.append_text(self.path, json.dumps(row) + "\n")


@dataclasses.dataclass(frozen=True)
class TrainingLog:
    """A training log's rows in file order, a resumed run's after the earlier runs'."""

    rows: tuple[dict, ...]

    @property
    def training(self) -> list[dict]:
        return [r for r in self.rows if EVENT not in r]

    def events(self, kind: str) -> list[dict]:
        return [r for r in self.rows if r.get(EVENT) == kind]

    def first(self, kind: str) -> dict | None:
        found = self.events(kind)
        return found[0] if found else None

    def training_seconds(self) -> float:
        """Seconds spent training, over every run that resumed the model_dir: each run's last elapsed_s, summed."""
        total, last = 0.0, 0.0
        for row in self.rows:
            if row.get(EVENT) == FIRST_STEP:
                total, last = total + last, 0.0
            elif EVENT not in row and "elapsed_s" in row:
                last = row["elapsed_s"]
        return total + last


def read(folder: str) -> TrainingLog:
    """The training log in `folder` (a path or URL); empty when there is none. A line cut short (kill -9 in the
    middle of a write) is skipped."""
    try:
        lines = storage.read_text(path_in(folder)).splitlines()
    except storage.StorageError:
        return TrainingLog(())
    rows = []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return TrainingLog(tuple(rows))
