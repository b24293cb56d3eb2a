"""Wall time of the whole pipeline run locally (`python -m pipelines.kubeflow run-local`), per component.

Runs the main job exactly as `make demo` does (bundled corpus, tiny config, default steps unless --param says
otherwise) in a fresh work folder, with caching off, and reads each task's start and end from kfp.local's log.

    python benchmarks/pipeline_local.py [--param steps=1000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from machine import describe as describe_machine  # benchmarks/ is on sys.path when a script runs

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
GOAL_S = 600  # the whole local pipeline in under 10 minutes on 2 cores
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EVENT = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) - INFO - (Executing task|Task) '([\w-]+)'(?: finished)?")


def task_seconds(log: str) -> dict[str, float]:
    """Seconds from 'Executing task X' to 'Task X finished', per task, from kfp.local's log lines."""
    started, seconds = {}, {}
    for line in _ANSI.sub("", log).splitlines():
        match = _EVENT.match(line)
        if not match:
            continue
        h, m, s, ms, kind, task = match.groups()
        at = int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000
        if kind == "Executing task":
            started[task] = at
        elif task in started:
            seconds[task] = round((at - started[task]) % 86400, 1)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--param", action="append", default=[], help="passed to run-local (name=value)")
    parser.add_argument("--workdir", help="default: a temporary folder, removed afterwards")
    parser.add_argument("--device_note", default="")
    args = parser.parse_args()
    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="pipeline-bench-"))
    command = [sys.executable, "-m", "pipelines.kubeflow", "run-local", "--workdir", str(workdir), "--no_cache"]
    for param in args.param:
        command += ["--param", param]
    started = time.time()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    wall = round(time.time() - started, 1)
    if result.returncode != 0:
        sys.exit(f"run-local failed ({result.returncode}):\n{result.stderr[-3000:]}")
    log = result.stdout + result.stderr
    tasks = task_seconds(log)
    exported = next((line.split(": ", 1)[1] for line in result.stdout.splitlines()
                     if line.startswith("exported model: ")), None)
    verdict = next((line.split(": ", 1)[1] for line in result.stdout.splitlines()
                    if line.startswith("verdict: ")), "no verdict")
    machine = describe_machine() + (f", {args.device_note}" if args.device_note else "")
    record = {
        "benchmark": "pipeline_local",
        "date": datetime.date.today().isoformat(),
        "machine": machine,
        "params": args.param,
        "wall_s": wall,
        "tasks_s": tasks,
        "exported": exported is not None,
        "verdict": verdict,
        "goal_s": GOAL_S,
        "goal_met": wall < GOAL_S,
    }
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pipeline_local.json").write_text(json.dumps(record, indent=2) + "\n")
    bench_command = "python benchmarks/pipeline_local.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:])
    per_task = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in tasks.items())
    settings = ", ".join(args.param) or "defaults (bundled corpus, tiny and its steps)"
    row = (f"| {record['date']} | pipeline_local | {machine} | run-local, {settings}: {wall:.0f} s in all "
           f"({per_task}); {verdict}; model exported: {'yes' if exported else 'no (gate)'}; goal (< {GOAL_S} s) "
           f"{'met' if record['goal_met'] else 'NOT met'} | `{bench_command}` |\n")
    with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
        f.write(row)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
