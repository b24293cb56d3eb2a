"""The console commands (tacotron-train, -evaluate, -gate, -export, -synthesize): argparse, one-line errors and exit
codes around the library. Importing this package sets the Keras backend default, once, before Keras is imported."""

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator

# Keras reads the backend once, at import. JAX is the default because it measured faster for this model
# (docs/BENCHMARKS.md, benchmarks/train_throughput.py); KERAS_BACKEND=tensorflow selects the other.
os.environ.setdefault("KERAS_BACKEND", "jax")


def fail(prog: str, error: object, code: int) -> int:
    """Report an error as the one line `prog: error: ...` on stderr; returns the exit code."""
    print(f"{prog}: error: {error}", file=sys.stderr)
    return code


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
    try:
        yield
    finally:
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
