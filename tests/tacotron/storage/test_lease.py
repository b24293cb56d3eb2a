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
from tests.conftest import REPO, s3_server

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


# --- two trainers racing ------------------------------------------------------------------------------------------

ROUNDS = 50
# A trainer that takes the lease when told ("go AT": at that wall-clock time, so both try within a millisecond or so),
# says whether it won, and releases when told.
RACER = """
import json, sys, time
from tacotron import storage
from tacotron.storage import conditional, lease
held = None
for line in sys.stdin:
    command, *rest = line.split()
    if command == "go":
        time.sleep(max(0.0, float(rest[0]) - time.time()))
        try:
            held = lease.Lease(sys.argv[1], ttl_s=60)
            held.acquire()
            print("won", flush=True)
        except lease.LeaseHeld as e:
            print("refused", str(e), flush=True)
    elif command == "release":
        held.release()
        print("released", flush=True)
    elif command == "stale":  # as a holder on another pod leaves it when it stops renewing
        path = storage.join(sys.argv[1], lease.LEASE_FILE)
        record = json.dumps({"owner": "gone", "host": "another-pod", "pid": 1, "ttl_s": 60,
                             "heartbeat": time.time() - 120}).encode()
        current = conditional.read(path)
        print("stale", bool(conditional.replace(path, record, current[1]) if current
                            else conditional.create(path, record)), flush=True)
"""


@pytest.fixture(scope="module")
def serial_s3(tmp_path_factory):
    with s3_server(tmp_path_factory.mktemp("serial-moto") / "server.log", serial=True) as (_, variables):
        yield variables


@pytest.mark.parametrize("store", ["local", "s3", "gs"])
def test_two_trainers_racing_for_one_model_dir_never_both_hold_it(store, tmp_path, request):
    """50 rounds on one model_dir: a free lease (absent, then released), and every fifth round a stale one left by a
    trainer that died elsewhere. Exactly one racer wins each round; the other is refused in one line."""
    env = {**os.environ, **({"s3": lambda: request.getfixturevalue("serial_s3"),
                              "gs": lambda: request.getfixturevalue("gcs_store")}.get(store, dict)())}
    model_dir = f"{store}://tacotron/race-{tmp_path.name}" if store != "local" else str(tmp_path / "model")
    racers = [subprocess.Popen([sys.executable, "-c", RACER, model_dir], cwd=REPO, env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = []
    try:
        for round_ in range(ROUNDS):
            if round_ % 5 == 4:  # a holder on another pod that stopped renewing two minutes ago
                racers[0].stdin.write("stale\n")
                racers[0].stdin.flush()
                assert racers[0].stdout.readline().strip() == "stale True"
            start_at = time.time() + 0.1
            for racer in racers:
                racer.stdin.write(f"go {start_at}\n")
                racer.stdin.flush()
            answers = [racer.stdout.readline().strip() for racer in racers]
            winners = [racer for racer, answer in zip(racers, answers, strict=True) if answer == "won"]
            outcomes.append(answers)
            assert len(winners) == 1, (round_, answers)
            (refusal,) = [a for a in answers if a != "won"]
            assert refusal.startswith("refused ") and "\n" not in refusal and model_dir in refusal, refusal
            winners[0].stdin.write("release\n")
            winners[0].stdin.flush()
            assert winners[0].stdout.readline().strip() == "released"
    finally:
        for racer in racers:
            racer.stdin.close()
            racer.wait(timeout=60)
    assert len(outcomes) == ROUNDS
    # Both tried at once often enough to test the compare-and-swap, not only the check before it.
    collisions = sum(any("at the same moment" in answer for answer in answers) for answers in outcomes)
    print(f"{store}: {collisions} of {ROUNDS} rounds decided by the compare-and-swap itself")
