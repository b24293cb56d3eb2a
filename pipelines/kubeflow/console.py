"""What `run-local` shows while the pipeline runs: one line per task with its state and elapsed time, a progress bar
with ETA while training, and where the logs are. Everything the tasks print goes to log files instead."""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

# kfp.local's own lines (the names are quoted and colored).
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED = re.compile(r"Executing task '([^']+)'")
_FINISHED = re.compile(r"Task '([^']+)' finished with status (\w+)")
_CACHED = re.compile(r"Task '?([\w-]+)'? cache hit")
# tacotron-train's progress line: "step 650/1300  loss ...  eta 2m10s".
_STEP = re.compile(r"step (\d+)/(\d+)\b.*\beta (\S+)")
BAR_WIDTH = 30


class Console:
    """Follows the combined log of a run (kfp.local runs one task at a time), splits it into one file per task and
    reports on `out`: on a terminal the running task's line is redrawn in place, elsewhere only finished lines and a
    progress line every tenth of training are printed."""

    def __init__(self, log_dir: pathlib.Path, live: bool | None = None):
        self.log_dir = log_dir
        self.out: TextIO = sys.stdout
        self.live = sys.stdout.isatty() if live is None else live
        self.failed: str | None = None
        self._task: str | None = None
        self._task_log: TextIO | None = None
        self._started = 0.0
        self._last_tenth = -1
        self._done = threading.Event()

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        """Send this process's stdout and stderr (and so every task subprocess's) to log_dir/pipeline.log while the
        block runs, showing progress on `out` from it."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        combined = self.log_dir / "pipeline.log"
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        # The display writes to where stdout went before: fd 1 now leads to the log.
        self.out = open(os.dup(saved[0]), "w", encoding="utf-8")
        with open(combined, "w") as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
        follower = threading.Thread(target=self._follow, args=(combined,), daemon=True)
        follower.start()
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            self._done.set()
            follower.join()
            self._close_task()
            self.out.close()
            self.out = sys.stdout

    def _follow(self, path: pathlib.Path) -> None:
        with open(path, errors="replace") as log:
            pending = ""
            while True:
                chunk = log.read()
                if chunk:
                    pending += chunk
                    *lines, pending = pending.split("\n")
                    for line in lines:
                        self._line(_ANSI.sub("", line))
                elif self._done.is_set():
                    if pending:
                        self._line(_ANSI.sub("", pending))
                    return
                else:
                    time.sleep(0.2)

    def _line(self, line: str) -> None:
        if match := _STARTED.search(line):
            self._start(match.group(1))
        if self._task_log is not None:
            self._task_log.write(line + "\n")
            self._task_log.flush()
        if match := _FINISHED.search(line):
            self._finish(match.group(1), match.group(2))
        elif match := _CACHED.search(line):
            self._show(f"  = {match.group(1):<20} cached (inputs unchanged)")
        elif (match := _STEP.search(line)) and self._task:
            self._progress(int(match.group(1)), int(match.group(2)), match.group(3))

    def _start(self, task: str) -> None:
        self._close_task()
        self._task, self._started, self._last_tenth = task, time.monotonic(), -1
        # A retried task appends to the log of its first try.
        self._task_log = open(self.log_dir / f"{task}.log", "a")
        if self.live:
            self._redraw(f"  > {task:<20} running")

    def _finish(self, task: str, status: str) -> None:
        seconds = time.monotonic() - self._started
        if status == "SUCCESS":
            self._show(f"  \u2713 {task:<20} done in {_duration(seconds)}")
        else:
            self.failed = task
            self._show(f"  \u2717 {task:<20} {status.lower()} after {_duration(seconds)}; its log: "
                       f"{self.log_dir / (task + '.log')}")
        self._close_task()

    def _progress(self, step: int, total: int, eta: str) -> None:
        filled = int(BAR_WIDTH * step / max(total, 1))
        text = (f"  > {self._task:<20} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] step {step}/{total}  "
                f"eta {eta}")
        if self.live:
            self._redraw(text)
        elif (tenth := 10 * step // max(total, 1)) > self._last_tenth:
            self._last_tenth = tenth
            self._show(text)

    def _show(self, text: str) -> None:
        """A line that stays."""
        self.out.write(("\r\x1b[2K" if self.live else "") + text + "\n")
        self.out.flush()

    def _redraw(self, text: str) -> None:
        """The running task's line, replaced by the next one (terminals only)."""
        if self.live:
            self.out.write("\r\x1b[2K" + text)
            self.out.flush()

    def _close_task(self) -> None:
        if self._task_log is not None:
            self._task_log.close()
        self._task_log, self._task = None, None


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
