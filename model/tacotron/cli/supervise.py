"""One process of a JAX cluster, supervised: tacotron-train runs the training in a child process and reports how it
ended, in one line, however it ended."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

from tacotron.cli import SIGTERM_EXIT, fail
from tacotron.training.cluster import HEARTBEAT_TIMEOUT_S, Cluster

# Set in the child's environment (the process that trains, which must not supervise itself again): the file
# descriptor it writes JOINED to once it is part of the cluster.
MEMBER_VARIABLE = "TACOTRON_CLUSTER_MEMBER"
JOINED = b"joined"
# The exit codes through which the training process has already said what happened, in its own line.
_REPORTED = (0, 1, 2, SIGTERM_EXIT)
_PR_SET_PDEATHSIG = 1


def is_member() -> bool:
    """Whether this process is the supervised child that trains."""
    return MEMBER_VARIABLE in os.environ


def report_joined() -> None:
    """Tell the supervisor that this process has joined the cluster."""
    fd = int(os.environ[MEMBER_VARIABLE])
    os.write(fd, JOINED)
    os.close(fd)


def supervise(prog: str, module: str, argv: list[str], cluster: Cluster, log: str | None) -> int:
    """Run `python -m module argv` as this cluster process's training and return its exit code.

    Why a child process: when a peer is lost, the JAX coordination service ends every other process with abort()
    from one of its own threads, which no Python code in that process can catch; the supervisor sees the signal and
    says what it means. SIGTERM and SIGINT are passed on (the child saves a checkpoint first), and the child dies
    with its supervisor (a SIGKILL of the pod's command is a SIGKILL of the training too)."""
    # The child says on this pipe when it has joined the cluster: an abort before then is a cluster that never formed.
    joined_read, joined_write = os.pipe()
    child = subprocess.Popen([sys.executable, "-m", module, *argv], pass_fds=(joined_write,),
                             env={**os.environ, MEMBER_VARIABLE: str(joined_write)}, preexec_fn=_die_with_parent)
    os.close(joined_write)
    handlers = {sig: signal.signal(sig, lambda signum, frame: child.send_signal(signum))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = _wait(child)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    with os.fdopen(joined_read, "rb") as pipe:
        joined = pipe.read() == JOINED
    if code in _REPORTED:
        return code
    signum = -code if code < 0 else code - 128
    if signum == signal.SIGABRT and not joined:
        what = (f"the cluster did not form within the join timeout (a coordinator that does not answer, or fewer "
                f"processes than {cluster.processes}), and the JAX coordination service ended this one")
    elif signum == signal.SIGABRT:
        what = (f"the cluster stopped: a process was lost or sent no heartbeat for {HEARTBEAT_TIMEOUT_S} s, and the "
                "JAX coordination service ended this one")
    else:
        name = signal.Signals(signum).name if 0 < signum < signal.NSIG else f"exit code {code}"
        what = f"the training process ended by {name}"
    details = f" (details: {log})" if log else ""
    return fail(prog, f"{cluster}: {what}{details}", 1)


def _wait(child: subprocess.Popen) -> int:
    # In short waits: a signal handler runs in the main thread only, between its waits, and SIGTERM may be delivered
    # to another thread of this process, which interrupts no wait.
    while True:
        try:
            return child.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
