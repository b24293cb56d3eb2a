"""Time to alignment: training steps and seconds until attention aligns, running the real tacotron-train CLI.

Trains from scratch on the bundled corpus (preprocessed into --data when that folder is missing) and reads
model_dir/metrics.jsonl: the "aligned" row (first logged step whose alignment score reached the threshold), the
"first_step" row (tracing/compilation plus one step), the final loss, and the wall time of the whole command.

    python benchmarks/time_to_alignment.py [--steps 2000] [--gin_file tiny] [--gin_param 'TrainConfig.log_every=20']
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from machine import describe as describe_machine  # benchmarks/ is on sys.path when a script runs
from sample_data import ensure_data  # benchmarks/ is on sys.path when a script runs

from tacotron.storage import training_log

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
SAMPLE = REPO / "data" / "sample_corpus"
GOAL_STEPS = 2000  # the tiny model must align within this many steps


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO / "out" / "data"),
                        help="preprocessed data; made from the bundled corpus when missing")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--gin_file", default="tiny", help="passed to tacotron-train")
    parser.add_argument("--gin_param", action="append", default=[], help="passed to tacotron-train (repeatable)")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "jax"), choices=("jax", "tensorflow"),
                        help="KERAS_BACKEND for the training process")
    parser.add_argument("--model_dir", help="keep the run here (must not exist yet); default: a temporary folder")
    parser.add_argument("--device_note", default="", help="appended to the machine description (e.g. 'shared CPU')")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    if args.model_dir and os.path.exists(args.model_dir):
        # tacotron-train would resume from it, and a resumed run does not measure time to alignment.
        parser.error(f"--model_dir {args.model_dir!r} exists; give a new folder")
    return args


def train_command(args: argparse.Namespace, data: pathlib.Path, model_dir: pathlib.Path) -> list[str]:
    # The console script installed beside this interpreter is what users run; -m is the same code otherwise.
    script = pathlib.Path(sys.executable).parent / "tacotron-train"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tacotron.cli.train"]
    command += ["--data", str(data), "--model_dir", str(model_dir), "--gin_file", args.gin_file,
                "--steps", str(args.steps)]
    for param in args.gin_param:
        command += ["--gin_param", param]
    return command


def run_training(command: list[str], backend: str) -> tuple[float, int, list[str]]:
    """(wall seconds, exit code, last output lines); the trainer's progress lines are echoed as they come."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    tail: collections.deque[str] = collections.deque(maxlen=40)
    start = time.perf_counter()
    with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as process:
        for line in process.stdout:
            tail.append(line.rstrip("\n"))
            # Library warnings stay out of the console; the trainer's own lines show progress.
            if line.startswith(("step ", "attention aligned", "backend ", "resuming", "tacotron-train")):
                print(line, end="", flush=True)
    return time.perf_counter() - start, process.returncode, list(tail)


def summarize(log: training_log.TrainingLog, steps: int) -> dict:
    aligned = log.first(training_log.ALIGNED)
    first = log.first(training_log.FIRST_STEP)
    logged = [r for r in log.training if "loss" in r]
    last = logged[-1] if logged else {}
    speeds = sorted(r["examples_per_sec"] for r in logged if r.get("examples_per_sec"))
    return {
        "aligned_step": aligned["step"] if aligned else None,
        "aligned_elapsed_s": aligned.get("elapsed_s") if aligned else None,
        "aligned_score": aligned.get("alignment_score") if aligned else None,
        "alignment_threshold": aligned.get("threshold") if aligned else None,
        "first_step_s": first.get("compile_and_step_s") if first else None,
        "final_step": last.get("step"),
        "final_loss": last.get("loss"),
        "final_alignment_score": last.get("alignment_score"),
        "best_alignment_score": max((r["alignment_score"] for r in logged if r.get("alignment_score") is not None),
                                    default=None),
        "median_examples_per_sec": speeds[len(speeds) // 2] if speeds else None,
        "goal_aligned_within_steps": GOAL_STEPS,
        # Alignment is only checked on logged steps, so the recorded step is an upper bound within log_every.
        "goal_met": aligned is not None and aligned["step"] <= GOAL_STEPS,
        "steps": steps,
    }


def table_row(result: dict, command: str) -> str:
    s = result["summary"]

    def num(value, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    if s["aligned_step"] is not None:
        aligned = (f"aligned at step {s['aligned_step']} (score {num(s['aligned_score'], '.3f')} >= "
                   f"{num(s['alignment_threshold'], 'g')}) after {num(s['aligned_elapsed_s'], '.0f')} s")
    else:
        aligned = (f"not aligned within {s['final_step']} steps (best score "
                   f"{num(s['best_alignment_score'], '.3f')})")
    text = (f"{result['gin_file']}, {result['backend']}, {s['steps']} steps: {aligned}; first step (compile) "
            f"{num(s['first_step_s'], '.1f')} s; final loss {num(s['final_loss'], '.4f')} at step {s['final_step']}; "
            f"median {num(s['median_examples_per_sec'], '.1f')} ex/s; wall {result['wall_s']:.0f} s; goal (aligned "
            f"within {GOAL_STEPS:,} steps) {'met' if s['goal_met'] else 'NOT met'}").replace("|", "\\|")
    return f"| {result['date']} | time_to_alignment | {result['machine']} | {text} | `{command}` |\n"


def main() -> None:
    args = parse_args()
    data = pathlib.Path(args.data).resolve()
    ensure_data(data)
    temporary = args.model_dir is None
    model_dir = pathlib.Path(tempfile.mkdtemp(prefix="bench-align-")) / "model" if temporary else pathlib.Path(
        args.model_dir)
    try:
        command = train_command(args, data, model_dir)
        wall, code, tail = run_training(command, args.backend)
        log = training_log.read(str(model_dir))
        if code != 0 or not log.rows:
            sys.exit(f"tacotron-train failed (exit {code}): {' '.join(command)}\n" + "\n".join(tail[-15:]))
    finally:
        if temporary:
            shutil.rmtree(model_dir.parent, ignore_errors=True)
    machine = describe_machine() + (f", {args.device_note}" if args.device_note else "")
    result = {
        "benchmark": "time_to_alignment",
        "date": datetime.date.today().isoformat(),
        "machine": machine,
        "gin_file": args.gin_file,
        "gin_params": args.gin_param,
        "backend": args.backend,
        "wall_s": wall,
        "summary": summarize(log, args.steps),
        "metrics": list(log.rows),
    }
    bench_command = "python benchmarks/time_to_alignment.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "time_to_alignment.json").write_text(json.dumps(result, indent=2) + "\n")
    with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
        f.write(table_row(result, bench_command))
    print(json.dumps(result["summary"], indent=2))
    s = result["summary"]
    where = f"step {s['aligned_step']}" if s["aligned_step"] is not None else f"not within {s['final_step']} steps"
    print(f"goal: tiny model aligns within {GOAL_STEPS:,} steps: {'met' if s['goal_met'] else 'NOT met'} ({where})")


if __name__ == "__main__":
    main()
