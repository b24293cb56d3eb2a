"""One writer per model_dir: a lease file naming its holder, renewed by a heartbeat, stale once the holder is gone."""

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

LEASE_FILE = "lease.json"


class LeaseHeld(Exception):
    """Another live trainer holds the model_dir's lease."""


def read(model_dir: str) -> dict | None:
    path = storage.join(model_dir, LEASE_FILE)
    if not storage.exists(path):
        return None
    try:
        return json.loads(storage.read_text(path))
    except json.JSONDecodeError:  # cut short by a full disk: nobody can be shown to hold it
        return None


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
        self._made_folder = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        held = read(self.model_dir)
        if held is not None and held["owner"] != self.record["owner"] and seconds_left(held) > 0:
            raise LeaseHeld(f"{self.model_dir} is being trained by pid {held['pid']} on {held['host']} (lease "
                            f"{self.path}); it expires in {seconds_left(held):.0f} s unless that trainer renews it")
        # A run refused before it wrote anything leaves no folder behind (release removes one it made).
        self._made_folder = not storage.is_url(self.model_dir) and not os.path.isdir(self.model_dir)
        self._write()
        # An object store has no compare-and-swap: two takers of a stale lease both write; the later write wins and
        # the read-back tells the earlier one it lost.
        time.sleep(0.2)
        if (read(self.model_dir) or {}).get("owner") != self.record["owner"]:
            raise LeaseHeld(f"{self.model_dir}: another trainer took the lease {self.path} at the same moment")
        self._thread = threading.Thread(target=self._heartbeat, name="model_dir-lease", daemon=True)
        self._thread.start()

    def _write(self) -> None:
        storage.write_text(self.path, json.dumps({**self.record, "heartbeat": time.time()}))

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl_s / 4):
            try:
                held = read(self.model_dir)
                if held is not None and held["owner"] != self.record["owner"]:
                    self.lost = f"pid {held['pid']} on {held['host']} took over the lease {self.path}"
                    return
                self._write()
            except storage.StorageError as e:
                # A missed heartbeat is survivable (the lease lasts four of them); the trainer's own writes will
                # report a store that stays unreachable.
                print(f"warning: lease heartbeat failed: {e}", flush=True)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.lost is None and (read(self.model_dir) or {}).get("owner") == self.record["owner"]:
            storage.remove(self.path)
            if self._made_folder and not os.listdir(self.model_dir):
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
