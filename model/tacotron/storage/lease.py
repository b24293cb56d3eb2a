"""One writer per model_dir: a lease file naming its holder, renewed by a heartbeat, stale once the holder is gone.

Every change of the file is a compare-and-swap (tacotron.storage.conditional): taking a free or stale lease succeeds
for exactly one of several trainers that try at once, and a heartbeat fails, telling its holder it lost, once another
trainer has taken the lease over.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator

from tacotron import storage
from tacotron.storage import conditional

LEASE_FILE = "lease.json"


class LeaseHeld(Exception):
    """Another live trainer holds the model_dir's lease."""


def read(model_dir: str) -> dict | None:
    """The holder's record; None when nobody holds the lease."""
    current = conditional.read(storage.join(model_dir, LEASE_FILE))
    return None if current is None else _held(current[0])


def _held(content: bytes) -> dict | None:
    try:
        record = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):  # cut short by a full disk: nobody can be shown to hold it
        return None
    # An object store keeps a released lease as a record that says so (deleting it could delete a successor's).
    return None if not isinstance(record, dict) or record.get("released") else record


def seconds_left(record: dict, now: float | None = None) -> float:
    """Until the lease expires unless its holder renews it; 0 when it is stale."""
    now = time.time() if now is None else now
    left = record["heartbeat"] + record["ttl_s"] - now
    if record["host"] == socket.gethostname() and not _alive(record["pid"]):
        return 0.0  # its holder ran on this machine and is dead: no need to wait for the heartbeat to lapse
    return max(left, 0.0)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a restarted container reuses its pid numbers; the holder is not this process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lease:
    """The model_dir's lease, held by this process and renewed every ttl/4 seconds until `release`."""

    def __init__(self, model_dir: str, ttl_s: float):
        self.path = storage.join(model_dir, LEASE_FILE)
        self.model_dir = model_dir
        self.ttl_s = ttl_s
        self.record = {
            "owner": uuid.uuid4().hex,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "ttl_s": ttl_s,
            "started": time.time(),
        }
        self.lost: str | None = None  # why the lease was lost, when another trainer took it over
        self.version: str | None = None  # the lease file's version as this holder last wrote it
        self._made_folder = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        current = conditional.read(self.path)
        held = None if current is None else _held(current[0])
        if held is not None and held["owner"] != self.record["owner"] and seconds_left(held) > 0:
            raise LeaseHeld(f"{self.model_dir} is being trained by pid {held['pid']} on {held['host']} (lease "
                            f"{self.path}); it expires in {seconds_left(held):.0f} s unless that trainer renews it")
        # A run refused before it wrote anything leaves no folder behind (release removes one it made).
        self._made_folder = not storage.is_url(self.model_dir) and not os.path.isdir(self.model_dir)
        self.version = (conditional.create(self.path, self._content()) if current is None
                        else conditional.replace(self.path, self._content(), current[1]))
        if self.version is None:
            winner = read(self.model_dir) or {"pid": "?", "host": "?"}
            raise LeaseHeld(f"{self.model_dir}: pid {winner['pid']} on {winner['host']} took the lease {self.path} "
                            "at the same moment")
        self._thread = threading.Thread(target=self._heartbeat, name="model_dir-lease", daemon=True)
        self._thread.start()

    def _content(self, **changes) -> bytes:
        return json.dumps({**self.record, "heartbeat": time.time(), **changes}).encode()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl_s / 4):
            try:
                version = conditional.replace(self.path, self._content(), self.version)
            except storage.StorageError as e:
                # A missed heartbeat is survivable (the lease lasts four of them); the trainer's own writes will
                # report a store that stays unreachable.
                print(f"warning: lease heartbeat failed: {e}", flush=True)
                continue
            if version is None:
                taker = read(self.model_dir) or {"pid": "?", "host": "?"}
                self.lost = f"pid {taker['pid']} on {taker['host']} took over the lease {self.path}"
                return
            self.version = version

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.lost is not None or self.version is None:
            return
        if storage.is_url(self.path):
            conditional.replace(self.path, self._content(released=True), self.version)
        elif conditional.remove(self.path, self.version) and self._made_folder and not os.listdir(self.model_dir):
            os.rmdir(self.model_dir)


@contextlib.contextmanager
def hold(model_dir: str, ttl_s: float) -> Iterator[Lease]:
    """Hold the model_dir's lease for the duration; LeaseHeld when a live trainer has it."""
    lease = Lease(model_dir, ttl_s)
    lease.acquire()
    try:
        yield lease
    finally:
        with contextlib.suppress(storage.StorageError):
            lease.release()
