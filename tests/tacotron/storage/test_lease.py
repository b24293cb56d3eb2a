"""tacotron.storage.lease on local disk and on a real S3 API (moto's server on loopback)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tacotron import storage
from tacotron.storage import lease
from tests.conftest import REPO

# --- the lease ----------------------------------------------------------------------------------------------------


def test_a_live_lease_refuses_a_second_holder_until_released(root):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom tacotron.storage import lease\n"
         "with lease.hold(sys.argv[1], 60):\n    print('held', flush=True)\n    sys.stdin.readline()", root],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(lease.LeaseHeld, match=rf"being trained by pid {holder.pid} on .*expires in \d+ s") as held:
            lease.Lease(root, ttl_s=60).acquire()
        # The holder's 60 s, less the time since its last heartbeat (seconds on a loaded machine).
        assert 30 < int(str(held.value).split("expires in ")[1].split(" s")[0]) <= 60
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0 and lease.read(root) is None
    with lease.hold(root, ttl_s=60):
        assert lease.read(root)["pid"] == os.getpid()


def test_a_stale_lease_is_taken_over(root):
    # A holder on another machine that stopped renewing 2 minutes ago, with a 60 s lease.
    storage.write_text(storage.join(root, lease.LEASE_FILE), json.dumps(
        {"owner": "x", "host": "another-pod", "pid": 1, "ttl_s": 60, "heartbeat": time.time() - 120}))
    with lease.hold(root, ttl_s=60) as held:
        assert lease.read(root)["owner"] == held.record["owner"]


def test_a_dead_holder_on_this_machine_does_not_block(root):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    storage.write_text(storage.join(root, lease.LEASE_FILE), json.dumps(
        {"owner": "x", "host": socket.gethostname(), "pid": dead.pid, "ttl_s": 600, "heartbeat": time.time()}))
    with lease.hold(root, ttl_s=60):
        pass


def test_the_heartbeat_renews_the_lease_and_notices_a_takeover(tmp_path):
    root = str(tmp_path)
    held = lease.Lease(root, ttl_s=0.4)
    held.acquire()
    first = lease.read(root)["heartbeat"]
    time.sleep(0.5)
    assert lease.read(root)["heartbeat"] > first
    storage.write_text(storage.join(root, lease.LEASE_FILE), json.dumps(
        {"owner": "thief", "host": "another-pod", "pid": 1, "ttl_s": 60, "heartbeat": time.time()}))
    time.sleep(0.3)
    assert held.lost and "another-pod took over" in held.lost
    held.release()
    assert lease.read(root)["owner"] == "thief"  # released without removing the new holder's lease
