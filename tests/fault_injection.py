"""Run a command with a signal sent to it at the moment it writes a chosen file: `python -m tests.fault_injection
PATTERN SIGNAL MODULE ARGS...` runs MODULE's main with ARGS and sends SIGNAL to the process right after its first
write into a file whose name (or path, for a PATTERN with a "/") matches PATTERN (fnmatch), so part of the file may
be on disk and the rest is not."""

from __future__ import annotations

import fnmatch
import os
import runpy
import signal
import sys

# The calls that write a file's bytes: a file object's write, and os.sendfile, which shutil copies with on Linux.
WRITES = ("write", "sendfile")


def arm(pattern: str, signum: int) -> None:
    """From now on, the first write call into a file opened for writing whose name (or path, for a `pattern` with a
    "/") matches `pattern` is followed by
    `signum` to this process. A test's trigger, not a product's: Python's audit hooks see every open, and the
    profiler sees the write call return."""
    state = {"opened": False, "sent": False}

    def after_write(frame, event, arg):
        if event == "c_return" and getattr(arg, "__name__", "") in WRITES and not state["sent"]:
            state["sent"] = True
            sys.setprofile(None)
            os.kill(os.getpid(), signum)

    def on_open(event: str, args: tuple) -> None:
        if event != "open" or state["opened"] or not isinstance(args[0], str | bytes | os.PathLike):
            return
        mode = args[1] if isinstance(args[1], str) else ""
        path = os.fsdecode(args[0])
        if any(c in mode for c in "wax+") and fnmatch.fnmatch(path if "/" in pattern else os.path.basename(path),
                                                               pattern):
            state["opened"] = True
            sys.setprofile(after_write)

    sys.addaudithook(on_open)


if __name__ == "__main__":
    pattern, name, module, *argv = sys.argv[1:]
    arm(pattern, signal.Signals[f"SIG{name}"])
    sys.argv = [module, *argv]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
