"""Large batches: does quality suffer at batch 64 and 256, and do learning-rate scaling and LAMB make up for it?

The research log found that batch 128 raised throughput and said that large batches need learning-rate scaling
(Goyal et al. 2017: linear rule + gradual warmup) and a layer-wise adaptive optimizer (You et al. 2019: LAMB).
This trains the same model (--config, default tiny) with the real `tacotron-train`, one subprocess per run, one run
at a time, at each global batch in --batches x --optimizers x --scalings (at the reference batch the scaling rule
makes no difference, so it is trained once per optimizer), every run on the same number of training examples and
with everything else equal in examples, not steps:
- steps = ceil(examples / batch); linear warmup over the first --warmup_fraction of them, cosine decay to the end;
- the guided-attention weight decays per example: LossConfig.guided_attention_decay = base ** (batch / per_batch)
  (tiny decays 0.999 a step at batch 32);
- about --log_rows metrics rows and --evaluations in-training quality measurements (TrainConfig.evaluate_every:
  free-running sentence identification among --evaluate_utterances eval utterances) per run; checkpoints and
  alignment images at the evaluation interval; no training audio (it would cost Griffin-Lim time unequally).
The corpus is a large one made with data/make_sample_corpus.py (--clips, large vocabulary) and preprocessed with
the real Beam job, both only when their folders are missing, so that every length bucket holds more utterances than
a batch; how many of each run's batches still repeat an utterance (those straddling an epoch boundary within a
bucket) is counted on the trainer's own input pipeline.

Per run, from model_dir/metrics.jsonl: the peak learning rate, steps / examples / training seconds to alignment
(the trainer's "aligned" row) and to the speaking bar (first quality row with sentence identification >= 0.95),
throughput; and the final model's `tacotron-evaluate` figures on the whole eval split (sentence identification,
GV ratio, MCD-DTW, failure rate). Training seconds leave out the in-training quality evaluations (their eval_s),
and include compilation and checkpoints. Writes benchmarks/results/large_batch.json, docs/large_batch.png and one
row in docs/BENCHMARKS.md (--quick: a two-run smoke test on the bundled corpus, written under out/ only).
Finished runs are reused (same settings), so an interrupted study resumes at the next run; a --skip run that was
started and stopped earlier is reported with its partial curve, marked as stopped. --no-final_evaluation takes the
last in-training measurement as the final quality instead of `tacotron-evaluate` (minutes per run on 2 cores).

    python benchmarks/large_batch.py [--examples 48000] [--batches 16 64 256] [--seeds 0] [--no-final_evaluation]
        [--skip b64-lamb-sqrt-seed0 ...] [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import pathlib
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time

from machine import describe as describe_machine  # benchmarks/ is on sys.path when a script runs
from sample_data import ensure_data  # benchmarks/ is on sys.path when a script runs

from tacotron import features
from tacotron.quality import gate
from tacotron.storage import training_log

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
PLOT = REPO / "docs" / "large_batch.png"
WORK = REPO / "out" / "large_batch"
SPEAKING_BAR = gate.Thresholds().min_sentence_identification  # the gate's bar for "speaks"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(WORK / "corpus"), help="generated when missing")
    parser.add_argument("--clips", type=int, default=4000, help="clips in a generated corpus")
    parser.add_argument("--data", default=str(WORK / "data"), help="preprocessed --corpus; made when missing")
    parser.add_argument("--work", default=str(WORK / "runs"), help="one model_dir (and evaluation) per run")
    parser.add_argument("--config", default="tiny", help="the gin config every run starts from")
    parser.add_argument("--batches", nargs="+", type=int, default=[16, 64, 256], help="global batch sizes")
    parser.add_argument("--optimizers", nargs="+", default=["adam", "lamb"], choices=("adam", "lamb"))
    parser.add_argument("--scalings", nargs="+", default=["linear", "sqrt"], choices=("linear", "sqrt"),
                        help="learning-rate scaling rules from --reference_batch")
    parser.add_argument("--reference_batch", type=int, default=16, help="TrainConfig.reference_batch_size")
    parser.add_argument("--learning_rate", type=float, default=2e-3, help="the learning rate at --reference_batch")
    parser.add_argument("--examples", type=int, default=48_000, help="training examples per run")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="TrainConfig.seed, one run each")
    parser.add_argument("--warmup_fraction", type=float, default=0.1)
    parser.add_argument("--attention_decay", type=float, default=0.999,
                        help="guided-attention decay per step at --attention_decay_batch")
    parser.add_argument("--attention_decay_batch", type=int, default=32)
    parser.add_argument("--log_rows", type=int, default=40, help="metrics rows per run")
    parser.add_argument("--evaluations", type=int, default=8, help="in-training quality measurements per run")
    parser.add_argument("--evaluate_utterances", type=int, default=32)
    parser.add_argument("--gin_param", action="append", default=[], help="passed to every tacotron-train")
    parser.add_argument("--final_evaluation", action=argparse.BooleanOptionalAction, default=True,
                        help="tacotron-evaluate on the whole eval split after each run (minutes per run); without "
                             "it the final quality is the last in-training measurement (--evaluate_utterances)")
    parser.add_argument("--skip", action="append", default=[], help="a run name to leave out, e.g. b16-lamb-none-seed0")
    parser.add_argument("--device_note", default="", help="appended to the machine description")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: batch 16 Adam and 32 LAMB/sqrt, 384 examples each, on the bundled corpus "
                             "(out/data); results under out/large_batch/quick only")
    args = parser.parse_args(argv)
    if args.quick:
        args.data = str(REPO / "out" / "data")
        args.work = str(WORK / "quick")
        args.examples = 384
        args.log_rows, args.evaluations, args.evaluate_utterances = 4, 2, 16
    if args.examples < max(args.batches):
        parser.error(f"--examples {args.examples} is less than one batch of {max(args.batches)}")
    return args


def plan(args: argparse.Namespace, skipped: bool = False) -> list[dict]:
    """One dict per run: batch, optimizer, scaling ("none" at the reference batch), seed; the --skip ones when
    `skipped`."""
    if args.quick:
        return [] if skipped else [{"batch": 16, "optimizer": "adam", "scaling": "none", "seed": args.seeds[0]},
                                   {"batch": 32, "optimizer": "lamb", "scaling": "sqrt", "seed": args.seeds[0]}]
    runs = []
    for seed in args.seeds:
        for batch in args.batches:
            for optimizer in args.optimizers:
                scalings = ["none"] if batch == args.reference_batch else args.scalings
                runs += [{"batch": batch, "optimizer": optimizer, "scaling": s, "seed": seed} for s in scalings]
    return [r for r in runs if (run_name(r) in args.skip) == skipped]


def run_name(run: dict) -> str:
    return f"b{run['batch']}-{run['optimizer']}-{run['scaling']}-seed{run['seed']}"


def settings(args: argparse.Namespace, run: dict) -> dict:
    """The schedule of one run, everything scaled to examples rather than steps."""
    batch = run["batch"]
    steps = math.ceil(args.examples / batch)
    return {
        "steps": steps,
        "examples": steps * batch,
        # Every batch here fits in memory whole (batch 256 of tiny peaked at 9.4 GiB): no gradient accumulation.
        "micro_batch": batch,
        "accumulation_steps": 1,
        "warmup_steps": max(round(args.warmup_fraction * steps), 1),
        "log_every": max(round(steps / args.log_rows), 1),
        "evaluate_every": max(steps // args.evaluations, 1),
        "guided_attention_decay": args.attention_decay ** (batch / args.attention_decay_batch),
    }


def bindings(args: argparse.Namespace, run: dict, s: dict) -> list[str]:
    return [
        f"TrainConfig.batch_size = {run['batch']}",
        "TrainConfig.accumulation_steps = 1",
        f"TrainConfig.reference_batch_size = {args.reference_batch}",
        f"TrainConfig.learning_rate = {args.learning_rate!r}",
        f"TrainConfig.lr_scaling = {run['scaling']!r}".replace("'", '"'),
        f"TrainConfig.optimizer = {run['optimizer']!r}".replace("'", '"'),
        "TrainConfig.weight_decay = 0.0",
        f"TrainConfig.steps = {s['steps']}",
        f"TrainConfig.warmup_steps = {s['warmup_steps']}",
        "TrainConfig.decay_steps = 0",
        f"TrainConfig.seed = {run['seed']}",
        f"TrainConfig.log_every = {s['log_every']}",
        f"TrainConfig.checkpoint_every = {s['evaluate_every']}",
        f"TrainConfig.image_every = {s['evaluate_every']}",
        "TrainConfig.audio_every = 0",
        f"TrainConfig.evaluate_every = {s['evaluate_every']}",
        f"TrainConfig.evaluate_utterances = {args.evaluate_utterances}",
        f"LossConfig.guided_attention_decay = {s['guided_attention_decay']!r}",
        *args.gin_param,
    ]


# --- data --------------------------------------------------------------------------------------------------------


def ensure_corpus_data(args: argparse.Namespace) -> pathlib.Path:
    data = pathlib.Path(args.data).resolve()
    if args.quick:
        ensure_data(data)
        return data
    corpus = pathlib.Path(args.corpus).resolve()
    if not (corpus / "metadata.csv").exists():
        print(f"{corpus} is missing: generating {args.clips} clips", flush=True)
        command = [sys.executable, str(REPO / "data" / "make_sample_corpus.py"), "--vocabulary", "large",
                   "--count", str(args.clips), "--output", str(corpus), "--jobs", str(os.cpu_count() or 1)]
        if subprocess.run(command, cwd=REPO).returncode != 0:
            sys.exit(f"corpus generation failed: {shlex.join(command)}")
    if not (data / features.REPORT_FILE).exists():
        print(f"{data} is missing: preprocessing {corpus} into it", flush=True)
        shutil.rmtree(data, ignore_errors=True)
        command = [sys.executable, "-m", "pipelines.preprocess", "--corpus", str(corpus), "--output", str(data)]
        if subprocess.run(command, cwd=REPO).returncode != 0:
            sys.exit(f"preprocessing failed: {shlex.join(command)}")
    return data


def describe_data(data: pathlib.Path, config: str, runs: list[dict], args: argparse.Namespace) -> dict:
    """Split sizes, the training utterances in each length bucket the trainer makes (a batch comes from one bucket),
    and, per global batch and seed, how many of the run's batches hold an utterance twice: the trainer's own input
    pipeline (dataset.make_dataset with its buckets, shuffle buffer and seed) read for as many batches as the run
    takes. Batches that straddle an epoch boundary within a bucket can repeat an utterance."""
    import numpy as np

    from tacotron import dataset, features
    from tacotron.config import parse_gin

    configs = parse_gin([config], args.gin_param)
    cfg, model = configs.train, configs.model
    info = dataset.inspect_data(str(data))
    buckets = dataset.make_buckets(np.concatenate(list(info.n_frames.values())),
                                   np.concatenate(list(info.text_lengths.values())), cfg.bucket_count,
                                   model.reduction_factor)
    frames = info.n_frames["train"]
    bounds = list(buckets.frames)
    index = np.minimum(np.searchsorted(bounds, frames), len(bounds) - 1)
    per_bucket = [int(np.sum(index == b)) for b in range(len(bounds))]
    report = json.loads((data / features.REPORT_FILE).read_text())
    # Reading every run's batches takes minutes on 2 cores: the counts are kept beside the runs and reused.
    cache_path = pathlib.Path(args.work).resolve() / "repeats.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    repeats = {}
    for batch, seed in sorted({(r["batch"], r["seed"]) for r in runs}):
        s = settings(args, {"batch": batch})
        key = json.dumps([str(data), [int(b) for b in bounds], cfg.shuffle_buffer, seed, s["steps"], batch])
        if key in cache:
            repeats[f"batch {batch} seed {seed}"] = cache[key]
            continue
        stream = dataset.make_dataset(info, "train", batch, buckets, shuffle_buffer=cfg.shuffle_buffer,
                                      seed=seed * 1_000_003, keep_text=True)
        ids = [b[features.ID].numpy() for b in stream.take(s["steps"])]
        twice = [len(b) - len(set(b.tolist())) for b in ids]
        repeats[f"batch {batch} seed {seed}"] = {
            "batches": len(ids), "batches_with_a_repeat": sum(n > 0 for n in twice),
            "repeated_examples": int(sum(twice)), "epochs": round(len(ids) * batch / len(frames), 2)}
        print(f"batch {batch} seed {seed}: {repeats[f'batch {batch} seed {seed}']}", flush=True)
        cache[key] = repeats[f"batch {batch} seed {seed}"]
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps(cache, indent=1) + "\n")
    return {"train_utterances": len(frames), "eval_utterances": len(info.n_frames["eval"]),
            "hours": report.get("hours_kept"), "bucket_frames": [int(b) for b in bounds],
            "train_utterances_per_bucket": per_bucket, "repeats_within_a_batch": repeats}


# --- one run -----------------------------------------------------------------------------------------------------


def train_and_evaluate(args: argparse.Namespace, data: pathlib.Path, run: dict) -> dict:
    folder = pathlib.Path(args.work).resolve() / run_name(run)
    model_dir, eval_dir = folder / "model", folder / "evaluation"
    s = settings(args, run)
    done = folder / "run.json"
    if done.exists():
        previous = json.loads(done.read_text())
        if previous.get("settings") == s and previous.get("bindings") == bindings(args, run, s):
            print(f"{run_name(run)}: reusing the finished run in {folder}", flush=True)
            return previous
    # A half-finished run would resume, and a resumed run does not measure time: start it again.
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    script = pathlib.Path(sys.executable).parent / "tacotron-train"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tacotron.cli.train"]
    command += ["--data", str(data), "--model_dir", str(model_dir), "--gin_file", args.config]
    for binding in bindings(args, run, s):
        command += ["--gin_param", binding]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "jax"}
    print(f"{run_name(run)}: {s['steps']} steps of {run['batch']} ({s['examples']} examples)", flush=True)
    loads, finished = [os.getloadavg()[0]], threading.Event()

    def sample_load():  # the machine is shared: how busy it was during the run
        while not finished.wait(30):
            loads.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample_load, daemon=True)
    sampler.start()
    code_version = git_version()
    start = time.time()
    with open(folder / "train.log", "w") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        # wait4 rather than wait: the child's own peak memory (does the batch fit?).
        _, status, usage = os.wait4(process.pid, 0)
        code = process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.time() - start
    finished.set()
    sampler.join()
    output = (folder / "train.log").read_text()
    summary = {}
    for line in reversed(output.splitlines()):
        if line.startswith("{") and "peak_learning_rate" in line:
            summary = json.loads(line)
            break
    result = {"name": run_name(run), **run, "settings": s, "bindings": bindings(args, run, s),
              "command": shlex.join(command), "exit_code": code, "train_command_wall_s": round(wall, 1),
              "load_average_1min": {"mean": round(statistics.fmean(loads), 2), "max": round(max(loads), 2)},
              "peak_rss_gib": round(usage.ru_maxrss / 2**20, 2), "code": code_version,
              "peak_learning_rate": summary.get("peak_learning_rate")}
    if code != 0:
        errors = [line for line in output.splitlines() if "error" in line.lower()]
        result["error"] = errors[-1] if errors else output.splitlines()[-1] if output else f"exit {code}"
        print(f"{run_name(run)}: tacotron-train exited {code}: {result['error']}", flush=True)
    result |= analyse(training_log.read(str(model_dir)), run["batch"], s)
    if not (model_dir / "checkpoints").exists() or not any((model_dir / "checkpoints").glob("*.json")):
        result["final"] = None
    elif args.final_evaluation or not result["quality_curve"]:
        result["final"] = evaluate(data, model_dir, eval_dir, env)
    else:
        last = result["quality_curve"][-1]
        result["final"] = {k: last[k] for k in ("sentence_identification", "gv_ratio", "mcd_dtw_db", "failure_rate",
                                                "length_ratio", "alignment_score")}
        count = args.evaluate_utterances
        result["final"] |= {"step": last["step"], "utterances": count, "source": "in-training",
                            "identified": round((last["sentence_identification"] or 0) * count)}
    done.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{run_name(run)}: {one_line(result)}", flush=True)
    return result


def stopped_run(args: argparse.Namespace, run: dict) -> dict | None:
    """A --skip run that was started before and stopped (its folder has a metrics log but no run.json): its partial
    curve, marked as stopped, never as finished."""
    folder = pathlib.Path(args.work).resolve() / run_name(run)
    log = training_log.read(str(folder / "model"))
    if (folder / "run.json").exists() or not log.rows:
        return None
    s = settings(args, run)
    result = {"name": run_name(run), **run, "settings": s, "stopped": True, "exit_code": None, "final": None,
              "note": "skipped in this invocation; stopped before its last step in an earlier one (partial curve)"}
    peak = next((line for line in (folder / "train.log").read_text().splitlines() if "peak learning rate" in line),
                "") if (folder / "train.log").exists() else ""
    words = peak.split("peak learning rate ")
    result["peak_learning_rate"] = float(words[1].split()[0]) if len(words) > 1 else None
    return result | analyse(log, run["batch"], s)


def git_version() -> dict:
    """The commit the run trained with, and the model package's files that differed from it (a shared checkout)."""
    def git(*command: str) -> str:
        done = subprocess.run(["git", *command], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "HEAD"), "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "model_files_changed": git("status", "--porcelain", "--", "model").splitlines()}


def analyse(log: training_log.TrainingLog, batch: int, s: dict) -> dict:
    """Time to alignment and to the speaking bar, the quality curve and throughput, from the training log.

    The training clock of a row is its elapsed_s less the eval_s of the quality evaluations before it (a quality
    row follows the log row of the same step, so it is not in that row's elapsed_s); a quality row's clock is
    interpolated between the log rows around it.
    """
    logs = log.training
    quality = log.events(training_log.QUALITY)
    first = log.first(training_log.FIRST_STEP) or {}

    def before(step: int) -> float:
        return sum(q["eval_s"] for q in quality if q["step"] < step)

    clock = [(0, 0.0)] + [(r["step"], r["elapsed_s"] - before(r["step"])) for r in logs]

    def train_s(step: int) -> float:
        for (s0, t0), (s1, t1) in zip(clock, clock[1:], strict=False):
            if s0 <= step <= s1:
                return t0 + (t1 - t0) * (step - s0) / max(s1 - s0, 1)
        return clock[-1][1]

    def point(step: int) -> dict:
        return {"step": step, "examples": step * batch, "train_s": round(train_s(step), 1)}

    aligned = log.first(training_log.ALIGNED)
    speaking = next((q for q in quality if (q.get("sentence_identification") or 0) >= SPEAKING_BAR), None)
    curve = [point(q["step"]) | {k: q.get(k) for k in ("sentence_identification", "gv_ratio", "length_ratio",
                                                        "failure_rate", "alignment_score", "mcd_dtw_db")}
             for q in quality]
    # Steady throughput: the median over log rows whose interval held no quality evaluation (the interval after a
    # log row at an evaluation step includes it) and that are not the first (new shapes compile early).
    evaluated = {q["step"] for q in quality}
    clean = [r["examples_per_sec"] for prev, r in zip(logs, logs[1:], strict=False) if prev["step"] not in evaluated]
    total = round(clock[-1][1], 1) if logs else None
    losses = [r.get("loss") for r in logs]
    return {
        "aligned": point(aligned["step"]) | {"alignment_score": aligned["alignment_score"]} if aligned else None,
        "speaking": point(speaking["step"]) | {"sentence_identification": speaking["sentence_identification"]}
        if speaking else None,
        "quality_curve": curve,
        "logged_rows": len(logs),
        "first_step_s": first.get("compile_and_step_s"),
        "evaluation_s": round(sum(q["eval_s"] for q in quality), 1),
        "train_s": total,
        "examples_per_sec_median": round(statistics.median(clean), 1) if clean else None,
        "examples_per_sec_overall": round(logs[-1]["step"] * batch / total, 1) if logs and total else None,
        "final_loss": losses[-1] if losses else None,
        "non_finite_losses": sum(v is None for v in losses),
        "final_alignment_score": logs[-1].get("alignment_score") if logs else None,
        "final_step": logs[-1]["step"] if logs else 0,
    }


def evaluate(data: pathlib.Path, model_dir: pathlib.Path, output: pathlib.Path, env: dict) -> dict | None:
    script = pathlib.Path(sys.executable).parent / "tacotron-evaluate"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tacotron.cli.evaluate"]
    command += ["--data", str(data), "--model_dir", str(model_dir), "--output", str(output)]
    start = time.time()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"tacotron-evaluate failed (exit {done.returncode}):\n{done.stderr[-2000:]}", flush=True)
        return None
    metrics = gate.read_metrics(str(output / gate.METRICS_FILE))
    identification = metrics["sentence_identification"]
    return {
        "step": metrics["step"],
        "utterances": metrics["utterances"],
        **{k: metrics["free_running"][k] for k in ("sentence_identification", "gv_ratio", "mcd_dtw_db",
                                                   "failure_rate", "length_ratio", "alignment_score")},
        "identified": identification.get("correct"),
        "chance": identification.get("chance"),
        "griffin_lim_ceiling": identification.get("griffin_lim_ceiling", {}).get("accuracy"),
        "teacher_forced_loss": metrics["teacher_forced"]["loss"],
        "verdict": metrics.get("verdict"),
        "evaluate_s": round(time.time() - start, 1),
    }


# --- reporting ---------------------------------------------------------------------------------------------------


def label(r: dict) -> str:
    scaling = "-" if r["scaling"] == "none" else r["scaling"]
    return f"{r['batch']} {r['optimizer']} {scaling}"


def reached(p: dict | None) -> str:
    return "not reached" if p is None else f"step {p['step']} / {p['examples']} ex / {p['train_s']:.0f} s"


def one_line(r: dict) -> str:
    f = r.get("final") or {}
    status = "" if r["exit_code"] == 0 else f"FAILED (exit {r['exit_code']}); "
    final = (f"final identification {f['sentence_identification']:.2f} ({f['identified']}/{f['utterances']}), GV "
             f"{f['gv_ratio']:.2f}, MCD-DTW {f['mcd_dtw_db']:.2f} dB, failures {f['failure_rate']:.0%}"
             if f else "no final evaluation")
    lr = f"{r['peak_learning_rate']:.3g}" if r.get("peak_learning_rate") else "?"
    speed = f"{r['examples_per_sec_median']:.0f}" if r.get("examples_per_sec_median") else "?"
    return (f"{status}peak lr {lr}; aligned {reached(r['aligned'])}; bar {reached(r['speaking'])}; {final}; "
            f"{speed} ex/s")


def plot(runs: list[dict], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    colors = {16: "tab:blue", 32: "tab:cyan", 64: "tab:green", 128: "tab:orange", 256: "tab:red"}
    styles = {("adam", "none"): "-", ("lamb", "none"): "--", ("adam", "linear"): "-", ("adam", "sqrt"): ":",
              ("lamb", "linear"): "--", ("lamb", "sqrt"): "-."}
    markers = {"adam": "o", "lamb": "s"}
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    for r in runs:
        curve = r["quality_curve"]
        if not curve:
            continue
        y = [p["sentence_identification"] or 0.0 for p in curve]
        name = label(r) + (f" seed {r['seed']}" if len({x["seed"] for x in runs}) > 1 else "")
        if r.get("stopped"):
            name += f" (stopped at {r['final_step']}/{r['settings']['steps']} steps)"
        for ax, x in ((axes[0], [p["examples"] / 1000 for p in curve]), (axes[1], [p["train_s"] / 60 for p in curve])):
            ax.plot(x, y, linestyle=styles.get((r["optimizer"], r["scaling"]), "-"),
                    marker=markers.get(r["optimizer"], "o"), markersize=4,
                    color=colors.get(r["batch"]), alpha=0.45 if r.get("stopped") else 1.0, label=name)
    axes[0].set_xlabel("training examples seen (thousands)")
    axes[1].set_xlabel("training time (min, 2 shared CPU cores, quality evaluations left out)")
    axes[0].set_ylabel("sentence identification, in training")
    for ax in axes:
        ax.axhline(SPEAKING_BAR, color="grey", linewidth=0.8)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    figure.legend(handles, names, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3,
                  title="batch, optimizer, learning-rate scaling")
    figure.suptitle("Large batches, tiny config, same examples per run: free-running sentence identification "
                    "(eval utterances) during training")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")


def table_row(result: dict, command: str) -> str:
    parts = []
    for r in result["runs"]:
        f = r.get("final")
        final = (f"final {f['identified']}/{f['utterances']} identified, GV {f['gv_ratio']:.2f}, MCD "
                 f"{f['mcd_dtw_db']:.2f} dB, failures {f['failure_rate']:.0%}" if f else "no final model")
        failed = "" if r["exit_code"] == 0 else f" FAILED (exit {r['exit_code']})"
        lr = f"{r['peak_learning_rate']:.3g}" if r.get("peak_learning_rate") else "?"
        bar = "bar not reached" if r["speaking"] is None else (
            f"bar at {r['speaking']['examples']} ex ({r['speaking']['train_s']:.0f} s)")
        align = "never aligned" if r["aligned"] is None else f"aligned at {r['aligned']['examples']} ex"
        speed = f"{r['examples_per_sec_median']:.0f}" if r.get("examples_per_sec_median") else "?"
        parts.append(f"{label(r)} (lr {lr}){failed}: {align}, {bar}, {final}, {speed} ex/s")
    for r in result.get("stopped_runs", []):
        last = r["quality_curve"][-1] if r["quality_curve"] else None
        upto = (f"{round((last['sentence_identification'] or 0) * result['evaluate_utterances'])}/"
                f"{result['evaluate_utterances']} at {last['examples']} ex" if last else "no quality row")
        parts.append(f"{label(r)} STOPPED at step {r['final_step']} of {r['settings']['steps']} (time): {upto}")
    d = result["data"]
    text = (f"{result['config']}, {result['examples']} examples a run, {d['train_utterances']} training clips, "
            f"seed {'/'.join(map(str, result['seeds']))}, speaking bar {SPEAKING_BAR:.0%} of "
            f"{result['evaluate_utterances']} eval sentences: " + "; ".join(parts))
    return (f"| {result['date']} | large_batch | {result['machine']} | {text.replace('|', '/')} | "
            f"`{command}` (docs/LARGE_BATCH.md, plot: docs/large_batch.png) |\n")


def main() -> None:
    args = parse_args()
    data = ensure_corpus_data(args)
    description = describe_data(data, args.config, plan(args), args)
    print(f"data: {description}", flush=True)
    runs = []
    for run in plan(args):
        runs.append(train_and_evaluate(args, data, run))
    result = {
        "benchmark": "large_batch",
        "date": datetime.date.today().isoformat(),
        "machine": describe_machine() + ", jax" + (f", {args.device_note}" if args.device_note else ""),
        "command": "python benchmarks/large_batch.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:]),
        "config": args.config,
        "examples": args.examples,
        "reference_batch": args.reference_batch,
        "learning_rate": args.learning_rate,
        "seeds": args.seeds,
        "speaking_bar": SPEAKING_BAR,
        "evaluate_utterances": args.evaluate_utterances,
        "data": description | {"path": os.path.relpath(data, REPO)},
        "runs": runs,
        "skipped": [run_name(run) for run in plan(args, skipped=True)],
        "stopped_runs": [r for r in (stopped_run(args, run) for run in plan(args, skipped=True)) if r],
    }
    if args.quick:
        out = pathlib.Path(args.work).resolve()
        (out / "large_batch.json").write_text(json.dumps(result, indent=2) + "\n")
        plot(runs, out / "large_batch.png")
        print(f"quick: wrote {out / 'large_batch.json'} and {out / 'large_batch.png'}", flush=True)
        return
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "large_batch.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(runs + result["stopped_runs"], PLOT)
    # A rerun with the same command on the same day (runs reused) replaces its row; anything else appends one.
    row = table_row(result, result["command"])
    lines = BENCHMARKS_MD.read_text(encoding="utf-8").splitlines(keepends=True)
    same = [i for i, line in enumerate(lines) if line.startswith(f"| {result['date']} | large_batch |")
            and f"`{result['command']}`" in line]
    if same:
        lines[same[-1]] = row
        BENCHMARKS_MD.write_text("".join(lines), encoding="utf-8")
    else:
        with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
            f.write(row)


if __name__ == "__main__":
    main()
