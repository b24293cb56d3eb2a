"""Training throughput on CPU: traced vs eager steps, length buckets vs pad-to-max, JAX vs TensorFlow backend.

For every backend, batch size, step mode and padding scheme: a fresh Tacotron (the --gin_file config, vocabulary from
the data, the trainer's optimizer) is built, warmed up on one batch of every padded shape (so tracing/compilation is
out of the timing), then timed over --steps batches (--eager_steps when eager) taken from the real input pipeline.
Reports examples/s and mel frames/s (real = unpadded, and padded), plus the padding each scheme wastes.

    python benchmarks/train_throughput.py [--gin_file tiny] [--batch_sizes 8,32,128] [--backends jax,tensorflow]
    python benchmarks/train_throughput.py --quick        # smoke run: batch 8, a few steps

KERAS_BACKEND is read once, at import, so each backend is measured in a child process of this script
(`--worker`, with KERAS_BACKEND set) that writes its measurements as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time

from machine import describe as describe_machine  # benchmarks/ is on sys.path when a script runs
from sample_data import ensure_data  # benchmarks/ is on sys.path when a script runs

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
SAMPLE = REPO / "data" / "sample_corpus"
BACKENDS = ("jax", "tensorflow")
MODES = ("traced", "eager")
PADDINGS = ("bucketed", "pad_to_max")
SHORT = {"jax": "JAX", "tensorflow": "TF"}
# XLA compilations seen by JAX in this process (count, seconds); stays None on the TensorFlow backend.
_JAX_COMPILES: dict | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO / "out" / "data"),
                        help="preprocessed data; made from the bundled corpus when missing")
    parser.add_argument("--gin_file", default="tiny", help="model/train config: tiny, base_8khz or a .gin path")
    parser.add_argument("--gin_param", action="append", default=[], help="extra gin binding (repeatable)")
    parser.add_argument("--batch_sizes", default="8,32,128")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--paddings", default=",".join(PADDINGS))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per traced measurement")
    parser.add_argument("--eager_steps", type=int, default=5, help="timed steps per eager measurement")
    parser.add_argument("--bucket_count", type=int, default=4, help="length buckets of the bucketed scheme")
    parser.add_argument("--quick", action="store_true", help="smoke run: batch 8 only, 3 traced / 2 eager steps")
    parser.add_argument("--device_note", default="", help="appended to the machine description (e.g. 'shared CPU')")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker_output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_sizes = "8"
        args.steps = min(args.steps, 3)
        args.eager_steps = min(args.eager_steps, 2)
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    for name, allowed in (("backends", BACKENDS), ("modes", MODES), ("paddings", PADDINGS)):
        values = [v for v in getattr(args, name).split(",") if v]
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            parser.error(f"--{name} {getattr(args, name)!r}: choose from {','.join(allowed)}")
        setattr(args, name, values)
    if min(args.batch_sizes, default=0) < 1 or args.steps < 1 or args.eager_steps < 1:
        parser.error("--batch_sizes, --steps and --eager_steps must be positive")
    return args


# --- worker: one backend, all measurements, in its own process ------------------------------------------------------


def run_worker(args: argparse.Namespace) -> None:
    """Measure every (batch size, padding, mode) on this process's Keras backend; JSON to --worker_output."""
    import dataclasses

    import keras
    import numpy as np

    from tacotron import dataset, features
    from tacotron.config import parse_gin
    from tacotron.training import train

    backend = keras.backend.backend()
    if backend == "jax":
        _listen_to_jax_compiles()
    configs = parse_gin([args.gin_file], args.gin_param)
    configs = dataclasses.replace(configs, train=dataclasses.replace(configs.train, bucket_count=args.bucket_count,
                                                                     batch_size=1, accumulation_steps=1))
    cfg, audio_config = configs.train, configs.audio
    # Shapes as the trainer makes them (buckets over both splits). Pad-to-max is the same code with one bucket, the
    # longest utterance rounded up to r (which is also the last bucket's length).
    data = train.prepare_data(args.data, configs)
    info, r = data.info, configs.model.reduction_factor
    all_frames = np.concatenate(list(info.n_frames.values()))
    all_text = np.concatenate(list(info.text_lengths.values()))
    train_frames = info.n_frames[features.TRAIN_PREFIX]
    schemes = {
        "bucketed": data.buckets,
        "pad_to_max": dataset.Buckets((int(np.ceil(all_frames.max() / r) * r),), (int(all_text.max()),)),
    }
    padding = {name: dataset.padding_fraction(train_frames, b) for name, b in schemes.items()}
    bucket_sizes = np.bincount(
        np.searchsorted(np.asarray(schemes["bucketed"].frames), train_frames), minlength=len(schemes["bucketed"].frames)
    )
    out = {
        "backend": backend,
        "versions": _versions(backend),
        "buckets": {name: {"frames": list(b.frames), "text": list(b.text)} for name, b in schemes.items()},
        "train_utterances": int(len(train_frames)),
        "train_utterances_per_bucket": bucket_sizes.tolist(),
        "padding_fraction": padding,
        "measurements": [],
    }

    # The model, optimizer and learning rate exactly as the trainer builds them (tacotron.training.train).
    def make_model(batch_size: int, mode: str) -> keras.Model:
        keras.utils.clear_session(free_memory=True)
        keras.utils.set_random_seed(cfg.seed)
        run = dataclasses.replace(configs, train=dataclasses.replace(
            cfg, batch_size=batch_size, jit_compile=cfg.jit_compile and mode == "traced"))
        model = train.build_model(run, info.vocab_size, train.learning_rate(run.train, run.train.steps)[0])
        model.run_eagerly = mode == "eager"
        return model

    for batch_size in args.batch_sizes:
        for padding_name in args.paddings:
            buckets = schemes[padding_name]
            # repeat=True (as in training): group_by_window fills a bucket's window across epochs, so batch sizes
            # larger than a bucket's utterance count still form (those batches then hold repeats, counted below).
            stream = dataset.make_dataset(
                info, features.TRAIN_PREFIX, batch_size, buckets, audio_config,
                shuffle_buffer=cfg.shuffle_buffer, seed=cfg.seed, repeat=True, keep_text=True,
            )
            longest = max(args.steps, args.eager_steps) if "eager" in args.modes else args.steps
            start = time.perf_counter()
            warm, timed, duplicates = _collect_batches(stream, len(buckets.frames), longest)
            collect_s = time.perf_counter() - start
            spec = {k: v for k, v in stream.element_spec.items() if k in dataset.MODEL_FEATURES}
            for mode in args.modes:
                steps = args.steps if mode == "traced" else args.eager_steps
                model = make_model(batch_size, mode)
                row = _measure(model, warm, timed[:steps], spec)
                row.update(backend=backend, mode=mode, padding=padding_name, batch_size=batch_size,
                           batch_collect_s=round(collect_s, 2), duplicate_examples_fraction=duplicates)
                if mode == "eager":
                    # Eager runs train_step's Python every step, so the trace counter means nothing there.
                    row["traces_in_warmup"] = row["retraces_while_timed"] = None
                out["measurements"].append(row)
                print(f"[{backend}] batch {batch_size} {padding_name} {mode}: {row['examples_per_s']:.2f} ex/s, "
                      f"{row['real_frames_per_s']:.0f} real frames/s, step {row['step_s']:.3f} s "
                      f"(warmup {row['warmup_s']:.1f} s over {row['warmup_steps']} shapes)", flush=True)
                # Written after every measurement, so a crash or a kill keeps what was measured.
                pathlib.Path(args.worker_output).write_text(json.dumps(out, indent=2))
                del model
    pathlib.Path(args.worker_output).write_text(json.dumps(out, indent=2))


def _collect_batches(stream, shape_count: int, steps: int) -> tuple[list[dict], list[dict], float]:
    """(one batch per padded shape for warmup, `steps` further batches to time, share of repeated examples).

    Batches are taken into memory first, so the timing measures training steps, not the input pipeline competing
    for the same two cores, and so the real frame count of exactly the timed batches is known.
    """
    from tacotron import dataset, features

    warm, timed, seen = [], [], set()
    repeated = examples = 0
    # A shape that never forms (a bucket with no train utterances, only eval ones) must not stall collection.
    limit = steps + 8 * shape_count
    for i, batch in enumerate(stream.as_numpy_iterator()):
        ids = batch[features.ID]
        repeated += len(ids) - len(set(ids.tolist()))
        examples += len(ids)
        batch = {k: v for k, v in batch.items() if k in dataset.MODEL_FEATURES}
        shape = batch[features.MEL].shape[1]
        if shape not in seen:
            seen.add(shape)
            warm.append(batch)
        elif len(timed) < steps:
            timed.append(batch)
        if len(timed) >= steps and (len(seen) == shape_count or i + 1 >= limit):
            break
    return warm, timed, repeated / max(examples, 1)


def _listen_to_jax_compiles() -> None:
    """Count XLA compilations: a jit cache miss can recompile without re-running Python (e.g. new input layouts)."""
    global _JAX_COMPILES
    import jax.monitoring

    _JAX_COMPILES = {"count": 0, "seconds": 0.0}

    def listener(event: str, duration: float, **kwargs) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            _JAX_COMPILES["count"] += 1
            _JAX_COMPILES["seconds"] += duration

    jax.monitoring.register_event_duration_secs_listener(listener)


def _compiles() -> tuple[int, float] | None:
    return None if _JAX_COMPILES is None else (_JAX_COMPILES["count"], _JAX_COMPILES["seconds"])


def _measure(model, warm: list[dict], timed: list[dict], spec: dict) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from tacotron import features

    def as_dataset(batches):
        # One element_spec (None frame dims) for warmup and timing, so tf.function is not retraced between them.
        return tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=spec)

    def block():
        # JAX dispatches asynchronously: wait until the last step's weights exist before reading the clock.
        for v in model.trainable_variables:
            keras.ops.convert_to_numpy(v.value)

    traces = [0]
    step_fn = model.train_step

    def counting_train_step(*a, **kw):
        # Traced modes run this Python only when tracing/compiling a new input shape: it counts (re)compiles.
        traces[0] += 1
        return step_fn(*a, **kw)

    model.train_step = counting_train_step
    compiles_before = _compiles()
    start = time.perf_counter()
    model.fit(as_dataset(warm), epochs=1, steps_per_epoch=len(warm), verbose=0)
    block()
    warmup_s = time.perf_counter() - start
    traces_in_warmup = traces[0]
    compiles_warm = _compiles()
    start = time.perf_counter()
    model.fit(as_dataset(timed), epochs=1, steps_per_epoch=len(timed), verbose=0)
    block()
    seconds = time.perf_counter() - start
    compiles_timed = _compiles()
    xla = {}
    if compiles_before is not None:
        xla = {
            "xla_compiles_in_warmup": compiles_warm[0] - compiles_before[0],
            "xla_compile_s_in_warmup": round(compiles_warm[1] - compiles_before[1], 2),
            "xla_compiles_while_timed": compiles_timed[0] - compiles_warm[0],
            "xla_compile_s_while_timed": round(compiles_timed[1] - compiles_warm[1], 2),
        }
    examples = sum(len(b[features.N_FRAMES]) for b in timed)
    real = sum(int(np.sum(b[features.N_FRAMES])) for b in timed)
    padded = sum(b[features.MEL].shape[0] * b[features.MEL].shape[1] for b in timed)
    return {
        "steps": len(timed),
        "seconds": round(seconds, 3),
        "step_s": seconds / len(timed),
        "examples_per_s": examples / seconds,
        "real_frames_per_s": real / seconds,
        "padded_frames_per_s": padded / seconds,
        "padded_fraction": 1.0 - real / padded,
        "frame_shapes": sorted({b[features.MEL].shape[1] for b in timed}),
        "warmup_steps": len(warm),
        "warmup_s": round(warmup_s, 2),
        "traces_in_warmup": traces_in_warmup,
        "retraces_while_timed": traces[0] - traces_in_warmup,
        **xla,
    }


def _versions(backend: str) -> dict:
    import keras
    import tensorflow as tf

    versions = {"keras": keras.__version__, "tensorflow": tf.__version__}
    if backend == "jax":
        import jax

        versions["jax"] = jax.__version__
    return versions


# --- parent: one child per backend, then ratios, goals, results ------------------------------------------------------


def run_backend(backend: str, argv: list[str], output: pathlib.Path) -> tuple[dict | None, float, str | None]:
    """(worker result or None, wall seconds, error or None); the child's progress lines pass through to stderr."""
    # CPU only, as the benchmark is defined; a GPU would otherwise be picked up by either backend.
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu",
           "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, str(pathlib.Path(__file__).resolve()), *argv, "--worker", "--worker_output",
               str(output)]
    start = time.perf_counter()
    # The caller's working directory, so a relative --data means the same folder to the child.
    result = subprocess.run(command, env=env, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    data = json.loads(output.read_text()) if output.exists() else None
    error = None
    if result.returncode != 0:
        error = f"{backend} worker exited {result.returncode}: {result.stderr.strip()[-1500:]}"
    return data, elapsed, error


def summarize(workers: dict[str, dict]) -> dict:
    """Ratios and goals from the per-backend measurements."""
    rows = [m for w in workers.values() for m in w["measurements"]]

    def get(backend, mode, padding, batch):
        return next((m for m in rows if (m["backend"], m["mode"], m["padding"], m["batch_size"]) ==
                     (backend, mode, padding, batch)), None)

    batches = sorted({m["batch_size"] for m in rows})
    traced_vs_eager, bucketed_vs_max, jax_vs_tf = {}, {}, {}
    for backend in workers:
        for padding in PADDINGS:
            for b in batches:
                traced, eager = get(backend, "traced", padding, b), get(backend, "eager", padding, b)
                if traced and eager:
                    # Per padded frame: eager times only the first of the same batches, whose bucket mix differs.
                    traced_vs_eager[f"{backend}/{padding}/{b}"] = (
                        traced["padded_frames_per_s"] / eager["padded_frames_per_s"]
                    )
        for mode in MODES:
            for b in batches:
                bucketed, full = get(backend, mode, "bucketed", b), get(backend, mode, "pad_to_max", b)
                if bucketed and full:
                    # Real frames/s: the useful work; pad-to-max spends more of each step on padding.
                    bucketed_vs_max[f"{backend}/{mode}/{b}"] = bucketed["real_frames_per_s"] / full["real_frames_per_s"]
    for padding in PADDINGS:
        for b in batches:
            j, t = get("jax", "traced", padding, b), get("tensorflow", "traced", padding, b)
            if j and t:
                jax_vs_tf[f"{padding}/{b}"] = j["examples_per_s"] / t["examples_per_s"]
    pad = next(iter(workers.values()))["padding_fraction"]
    # Padded frames per real frame is f / (1 - f); the cut compares those between the two schemes.
    wasted = {k: v / (1.0 - v) for k, v in pad.items()}
    cut = 1.0 - wasted["bucketed"] / wasted["pad_to_max"] if wasted["pad_to_max"] else 0.0
    speedup_min = min(traced_vs_eager.values(), default=None)
    return {
        "traced_vs_eager": traced_vs_eager,
        "bucketed_vs_pad_to_max_real_frames": bucketed_vs_max,
        "jax_vs_tensorflow_traced": jax_vs_tf,
        "padding_fraction": pad,
        "padded_frames_cut": cut,
        "goals": {
            "traced_at_least_2x_eager": None if speedup_min is None else speedup_min >= 2.0,
            "traced_vs_eager_min": speedup_min,
            "bucketing_cuts_padded_frames_by_half": cut >= 0.5,
        },
    }


def _met(value: bool | None) -> str:
    return "not measured" if value is None else ("met" if value else "NOT met")


def table_row(result: dict, command: str) -> str:
    s = result["summary"]
    rows = result["measurements"]
    batches = sorted({m["batch_size"] for m in rows})
    parts = [f"{result['gin_file']}, CPU, batch {'/'.join(map(str, batches))}"]

    def series(backend, mode, padding, key):
        got = {m["batch_size"]: m[key] for m in rows
               if (m["backend"], m["mode"], m["padding"]) == (backend, mode, padding)}
        if not got:
            return None
        fmt = "{:.1f}" if key == "examples_per_s" else "{:.0f}"
        return "/".join(fmt.format(got[b]) if b in got else "-" for b in batches)

    for backend in result["backends"]:
        name = SHORT[backend]
        bits = []
        for mode in MODES:
            for padding in PADDINGS:
                ex = series(backend, mode, padding, "examples_per_s")
                if ex:
                    frames = series(backend, mode, padding, "real_frames_per_s")
                    bits.append(f"{mode} {padding.replace('_', '-')} {ex} ex/s ({frames} real frames/s)")
        if bits:
            parts.append(f"{name}: " + "; ".join(bits))
    for key, label in (("traced_vs_eager", "traced/eager"), ("jax_vs_tensorflow_traced", "JAX/TF traced")):
        if s[key]:
            parts.append(f"{label}: " + ", ".join(f"{k.replace('tensorflow', 'TF').replace('jax', 'JAX')} {v:.2f}x"
                                                  for k, v in s[key].items()))
    pad = s["padding_fraction"]
    parts.append(f"padding {pad['bucketed']:.1%} bucketed vs {pad['pad_to_max']:.1%} pad-to-max, padded frames cut "
                 f"{s['padded_frames_cut']:.0%}")
    goals = s["goals"]
    parts.append(f"goals: traced >= 2x eager {_met(goals['traced_at_least_2x_eager'])}, bucketing halves padded "
                 f"frames {_met(goals['bucketing_cuts_padded_frames_by_half'])}")
    text = "; ".join(parts).replace("|", "\\|")
    return f"| {result['date']} | train_throughput | {result['machine']} | {text} | `{command}` |\n"


def main() -> None:
    args = parse_args()
    if args.worker:
        run_worker(args)
        return
    data = pathlib.Path(args.data).resolve()
    ensure_data(data)
    argv = sys.argv[1:]
    errors, workers, seconds = [], {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        for backend in args.backends:
            print(f"measuring the {backend} backend ...", file=sys.stderr, flush=True)
            out, seconds[backend], error = run_backend(backend, argv, pathlib.Path(tmp) / f"{backend}.json")
            if out is not None and out["measurements"]:
                workers[backend] = out
            if error:
                errors.append(error)
                print(error, file=sys.stderr, flush=True)
    if not workers:
        sys.exit("no measurements: " + " / ".join(errors))
    machine = describe_machine() + (f", {args.device_note}" if args.device_note else "")
    result = {
        "benchmark": "train_throughput",
        "date": datetime.date.today().isoformat(),
        "machine": machine,
        "gin_file": args.gin_file,
        "gin_params": args.gin_param,
        "backends": list(workers),
        "versions": {b: w["versions"] for b, w in workers.items()},
        "quick": args.quick,
        "steps": args.steps,
        "eager_steps": args.eager_steps,
        "bucket_count": args.bucket_count,
        "buckets": next(iter(workers.values()))["buckets"],
        "train_utterances": next(iter(workers.values()))["train_utterances"],
        "train_utterances_per_bucket": next(iter(workers.values()))["train_utterances_per_bucket"],
        "worker_seconds": seconds,
        "measurements": [m for w in workers.values() for m in w["measurements"]],
        "errors": errors,
    }
    result["summary"] = summarize(workers)
    command = "python benchmarks/train_throughput.py" + "".join(" " + shlex.quote(a) for a in argv)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
        f.write(table_row(result, command))
    print(json.dumps(result["summary"], indent=2))
    goals = result["summary"]["goals"]
    speedup = goals["traced_vs_eager_min"]
    print(f"goal: traced at least 2x eager: {_met(goals['traced_at_least_2x_eager'])}"
          + ("" if speedup is None else f" (lowest traced/eager {speedup:.2f}x)"))
    print(f"goal: bucketing cuts padded frames by half or more vs pad-to-max: "
          f"{_met(goals['bucketing_cuts_padded_frames_by_half'])} (cut {result['summary']['padded_frames_cut']:.0%})")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
