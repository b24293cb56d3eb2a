"""Scheduled retraining, end to end on this machine: three pipeline runs push into one serving folder while
tacotron-serve serves it.

1. A good model: `run-local` with the demo's settings (tiny, espeak-ng phonemes, --good_steps), gate passed, pushed
   to SERVING/<step>. tacotron-serve starts on SERVING.
2. A worse one: the same with --worse_steps (too few to speak). The gate compares it with the promoted model's
   metrics and must refuse it; the served version must stay.
3. A better one: --better_steps. The gate must pass it, the push makes SERVING/<better_steps>, and the running
   server must serve it without a restart.

Throughout, a client asks the server for a sentence every second: every answer must be 200 with audio, and the
version header says which model answered. Writes benchmarks/results/scheduled_retraining.json and a row in
docs/BENCHMARKS.md.

    python benchmarks/scheduled_retraining.py [--workdir out/retraining] [--good_steps 1300] [--worse_steps 150]
        [--better_steps 2000]
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import shutil
import subprocess
import sys
import threading
import time

import httpx
from machine import append_row, describe  # benchmarks/ is on sys.path when a script runs
from serve_load import Server

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULT = REPO / "benchmarks" / "results" / "scheduled_retraining.json"
SENTENCE = "Your appointment is on Tuesday at three thirty."
PICKUP_TIMEOUT_S = 120.0


def run_pipeline(workdir: pathlib.Path, serving: pathlib.Path, steps: int) -> dict:
    """One `run-local` of the bundled corpus into `serving`: its time, its verdict and what it pushed."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.kubeflow", "run-local", "--workdir", str(workdir),
         "--param", f"serving_dir={serving}", "--param", f"steps={steps}"],
        cwd=REPO, capture_output=True, text=True)
    printed = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    return {"steps": steps, "exit_code": result.returncode, "seconds": round(time.perf_counter() - start, 1),
            "gate": printed.get("gate"), "pushed": printed.get("exported model"),
            "quality": printed.get("quality"), "unseen": printed.get("unseen words"),
            "stderr_tail": result.stderr.strip().splitlines()[-3:]}


class Listener(threading.Thread):
    """A client asking for one sentence a second: (seconds since start, status, version) per request."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base = base
        self.answers: list[tuple[float, int | str, str]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        with httpx.Client(trust_env=False, timeout=60) as client:
            while not self.stopping.wait(1.0):
                try:
                    response = client.post(f"{self.base}/synthesize", json={"text": SENTENCE})
                    ok = response.status_code == 200 and len(response.content) > 44
                    self.answers.append((time.perf_counter() - start, response.status_code if ok else "no audio",
                                         response.headers.get("x-model-version", "")))
                except httpx.HTTPError as e:
                    self.answers.append((time.perf_counter() - start, type(e).__name__, ""))

    def versions(self) -> list[str]:
        return [version for _, _, version in self.answers]


def served_version(base: str) -> str:
    return httpx.get(f"{base}/voices", timeout=10, trust_env=False).json()["version"]


def wait_for_version(base: str, version: str, timeout_s: float = PICKUP_TIMEOUT_S) -> float | None:
    """Seconds until the server says it serves `version` (None: not within timeout_s)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if served_version(base) == version:
            return round(time.perf_counter() - start, 1)
        time.sleep(0.5)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="out/retraining")
    parser.add_argument("--good_steps", type=int, default=1300)
    parser.add_argument("--worse_steps", type=int, default=150)
    parser.add_argument("--better_steps", type=int, default=2000)
    parser.add_argument("--port", type=int, default=18282)
    args = parser.parse_args()
    root = pathlib.Path(args.workdir).resolve()
    shutil.rmtree(root, ignore_errors=True)
    serving = root / "serving"

    good = run_pipeline(root / "good", serving, args.good_steps)
    print(f"good: {good}", flush=True)
    if str(args.good_steps) not in [p.name for p in serving.glob("*")]:
        raise SystemExit(f"the good run pushed nothing to {serving}: {good}")
    server = Server(str(serving), args.port)
    with httpx.Client(trust_env=False) as client:
        server.wait_ready(client)
    listener = Listener(server.base)
    listener.start()
    try:
        worse = run_pipeline(root / "worse", serving, args.worse_steps)
        print(f"worse: {worse}", flush=True)
        time.sleep(3 * 5.0)  # three of the server's polls: a refused model must not appear
        served_after_worse = served_version(server.base)
        better = run_pipeline(root / "better", serving, args.better_steps)
        print(f"better: {better}", flush=True)
        pickup_s = wait_for_version(server.base, str(args.better_steps))
        time.sleep(3.0)
    finally:
        listener.stopping.set()
        listener.join()
        exit_code, _ = server.stop()
    answers = listener.answers
    errors = [a for a in answers if a[1] != 200]
    result = {
        "date": datetime.date.today().isoformat(), "machine": describe(),
        "runs": {"good": good, "worse": worse, "better": better},
        "versions_in_serving": sorted(p.name for p in serving.iterdir() if p.name.isdigit()),
        "served_after_worse": served_after_worse,
        "worse_refused": worse["pushed"] is None and served_after_worse == str(args.good_steps),
        "better_promoted": better["pushed"] is not None and pickup_s is not None,
        "pickup_seconds": pickup_s,
        "requests": len(answers), "errors": len(errors), "error_samples": errors[:5],
        "versions_answering": sorted(set(listener.versions())),
        "server_exit_code": exit_code,
        "server_log_tail": server.log_tail(10),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k not in ("runs", "server_log_tail")}, indent=2))
    summary = (f"good {args.good_steps} steps ({good['gate']}; {good['unseen']}), pushed and served; worse "
               f"{args.worse_steps} steps: gate {worse['gate']}, "
               f"{'refused, served version stayed ' + served_after_worse if result['worse_refused'] else 'NOT refused'}"
               f"; better {args.better_steps} steps ({better['gate']}; {better['unseen']}): "
               + (f"promoted, served {pickup_s} s after its push without a restart" if result["better_promoted"]
                  else "NOT promoted")
               + f"; {len(answers)} requests during the runs, {len(errors)} errors, versions answering "
               f"{result['versions_answering']}; run times {good['seconds']:.0f}/{worse['seconds']:.0f}/"
               f"{better['seconds']:.0f} s; server exit {exit_code} on SIGTERM")
    append_row(result["date"], "scheduled retraining (3 runs, one serving folder, tacotron-serve)", describe(),
               summary, "python benchmarks/scheduled_retraining.py")
    print(summary)


if __name__ == "__main__":
    main()
