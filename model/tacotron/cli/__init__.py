"""The console commands (tacotron-train, -evaluate, -gate, -export, -synthesize): argparse, one-line errors and exit
codes around the library. Importing this package sets the Keras backend default, once, before Keras is imported."""

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from typing import TextIO

# Keras reads the backend once, at import. JAX is the default because it measured faster for this model
# (docs/BENCHMARKS.md, benchmarks/train_throughput.py); KERAS_BACKEND=tensorflow selects the other.
os.environ.setdefault("KERAS_BACKEND", "jax")
# Every command compiles a few hundred XLA programs when it builds the model (20-30 s), and training compiles each
# padded shape for tens of seconds: JAX keeps them in the user's cache folder, shared by every run and command, so a
# resumed or repeated command starts at once. Not in the model folder: a disk that fills there must cost the run its
# checkpoints' room only, and JAX turns a failed cache write into a warning (the log file) and compiles again.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "tacotron", "xla"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")


# The framework log of the command running quietly now (framework_logs), which failures are written to in full.
_quiet_log: TextIO | None = None


def fail(prog: str, error: object, code: int, raised: BaseException | None = None) -> int:
    """Report an error as the one line `prog: error: ...` on stderr; returns the exit code. A failure of the run
    (code 1) that happens while the frameworks log quietly is written to their log file in full, with the traceback
    of `raised` (default: `error` itself when it is an exception), and the line names that file."""
    line = f"{prog}: error: {error}"
    raised = raised if raised is not None else error if isinstance(error, BaseException) else None
    if code == 1 and _quiet_log is not None:
        try:
            if raised is not None:
                traceback.print_exception(raised, file=_quiet_log)
            _quiet_log.write(line + "\n")
            _quiet_log.flush()
            line += f" (details: {_quiet_log.name})"
        except OSError:  # the log's own disk is full or gone: the line alone
            pass
    print(line, file=sys.stderr)
    return code


# The exit code of a command stopped by SIGTERM (Kubernetes' stop, preemption): 128 + 15, as a signal death reads.
SIGTERM_EXIT = 143


class Sigterm:
    """Whether SIGTERM has arrived (stops_on_sigterm)."""

    received = False


@contextlib.contextmanager
def stops_on_sigterm(prog: str) -> Iterator[Sigterm]:
    """SIGTERM ends the command as an exit, not a signal death: the cleanups on the way out run (scratch files and
    staging folders removed, nothing half-published), one line says so, and the exit code is 143. A framework that
    runs the work on its own threads and wraps what they raise (Beam) lets the caller tell by `received`.
    tacotron-train replaces the handler while it trains, to save a checkpoint first."""
    state = Sigterm()

    def stop(signum, frame):
        state.received = True
        print(f"{prog}: stopped by SIGTERM; nothing half-written is left", file=sys.stderr, flush=True)
        raise SystemExit(SIGTERM_EXIT)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield state
    finally:
        signal.signal(signal.SIGTERM, previous)


def framework_log(prog: str) -> str:
    """Where a command's framework logs go unless --verbose: $TACOTRON_LOG_DIR, or the temporary folder's
    tacotron-logs/, one file per command, appended to."""
    folder = os.environ.get("TACOTRON_LOG_DIR") or os.path.join(tempfile.gettempdir(), "tacotron-logs")
    # "python -m pipelines.preprocess" logs to pipelines.preprocess.log.
    return os.path.join(folder, f"{prog.split()[-1]}.log")


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true",
                        help="show the frameworks' own logs and warnings (TensorFlow, XLA, absl, Keras) on the "
                             f"console; otherwise they go to {framework_log(parser.prog)}")


@contextlib.contextmanager
def framework_logs(prog: str, verbose: bool) -> Iterator[None]:
    """Unless `verbose`, the console shows this command's own lines only: what the frameworks write to the process's
    stderr from C++ (TensorFlow's and XLA's start-up logs, absl), Python warnings and library log records go to
    framework_log(prog). The command's own errors still reach the console: sys.stderr keeps the original stream."""
    if verbose:
        yield
        return
    path = framework_log(prog)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        log = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115  (held for the command's whole run)
    except OSError:
        yield  # nowhere to put them: the console keeps them
        return
    # C++ code writes to file descriptor 2 whatever sys.stderr is: point the descriptor at the log, and sys.stderr
    # at a copy of the console's descriptor.
    sys.stderr.flush()
    console_fd = os.dup(2)
    console = os.fdopen(console_fd, "w", buffering=1, encoding="utf-8", closefd=False)
    saved_stderr, saved_showwarning = sys.stderr, warnings.showwarning
    handler = logging.StreamHandler(log)
    os.dup2(log.fileno(), 2)
    # Only a sys.stderr that writes to descriptor 2 moves; one a caller replaced (a test's capture) stays.
    if _writes_to_fd2(sys.stderr):
        sys.stderr = console
    warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: log.write(
        warnings.formatwarning(message, category, filename, lineno, line))
    logging.root.addHandler(handler)
    global _quiet_log
    _quiet_log = log
    try:
        yield
    finally:
        _quiet_log = None
        logging.root.removeHandler(handler)
        warnings.showwarning = saved_showwarning
        sys.stderr = saved_stderr
        sys.stderr.flush()
        os.dup2(console_fd, 2)
        console.close()
        os.close(console_fd)
        log.close()


def _writes_to_fd2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return False
