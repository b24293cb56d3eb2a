"""Training throughput on a GPU (JAX): base_8khz and large_batch (bf16) against NVIDIA DLE Tacotron 2 on one A100.

One training step as tacotron.training.train runs it (benchmarks/step_timing.py): forward with teacher forcing, loss,
backward, optimizer update, `model.fit` on the JAX backend, after warm-up (the first step compiles). Every utterance has
LJSpeech's mean length (6.57 s: 526 mel frames at our 12.5 ms hop) and about its mean transcript (100 characters), so
no step carries padding and mel frames/s = batch * frames / (seconds per step).

The reference, NVIDIA DeepLearningExamples' Tacotron 2 (PyTorch, mixed precision, one A100): 31.5k mel frames/s. Its
frames are 22,050 Hz / 256 = 86.1 per second of audio with r=1; ours are 80 per second with r=2, so both figures are
also given as seconds of audio per second: the fairer comparison, since it is what a corpus costs to train on.

Measure where the GPU is (TensorFlow is not needed; --budget_s stops starting new measurements):

    KERAS_BACKEND=jax python benchmarks/gpu_throughput.py --output $OUT/gpu_throughput.json

then record here (results JSON and a row in docs/BENCHMARKS.md):

    python benchmarks/gpu_throughput.py --record path/to/gpu_throughput.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import shutil
import sys
import time

from machine import describe as describe_machine  # benchmarks/ is on sys.path when a script runs

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
FRAMES = 526  # LJSpeech's mean clip, 6.57 s, at 80 frames/s
TEXT_CHARS = 100
VOCAB_SIZE = 40
OUR_FRAMES_PER_AUDIO_S = 1000 / 12.5
DLE = {"name": "NVIDIA DLE Tacotron 2 (PyTorch, AMP, 1x A100)", "mel_frames_per_s": 31_500,
       "frames_per_audio_s": 22_050 / 256}
# (config, batch sizes) in the order they are measured: the two configs at their own batch first.
PLAN = (("large_batch", (256,)), ("base_8khz", (32, 128, 256)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(RESULTS / "gpu_throughput.json"))
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    parser.add_argument("--warmup_steps", type=int, default=2, help="untimed steps first (the first one compiles)")
    parser.add_argument("--budget_s", type=float, default=420.0, help="start no measurement after this many seconds")
    parser.add_argument("--plan", action="append", metavar="CONFIG:B1,B2",
                        help="measure these instead of the default plan (repeatable), e.g. large_batch:512,1024")
    parser.add_argument("--frames", type=int, default=FRAMES, help="mel frames of every utterance")
    parser.add_argument("--text_chars", type=int, default=TEXT_CHARS, help="characters of every utterance")
    parser.add_argument("--record", metavar="JSON", help="add a measured JSON to results and docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    try:
        args.plan = tuple((c, tuple(int(b) for b in bs.split(","))) for c, bs in (p.split(":") for p in args.plan)
                          ) if args.plan else PLAN
    except ValueError:
        parser.error(f"--plan {args.plan}: CONFIG:B1,B2")
    return args


def summarize(result: dict) -> None:
    dle_audio = DLE["mel_frames_per_s"] / DLE["frames_per_audio_s"]
    for m in result["measurements"]:
        m["audio_s_per_s"] = m["mel_frames_per_s"] / OUR_FRAMES_PER_AUDIO_S
        m["vs_dle_mel_frames"] = m["mel_frames_per_s"] / DLE["mel_frames_per_s"]
        m["vs_dle_audio_s"] = m["audio_s_per_s"] / dle_audio


def measure(args: argparse.Namespace) -> None:
    from step_timing import Shapes, measure_ours  # benchmarks/ is on sys.path when a script runs

    start = time.perf_counter()
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    # r as each config has it: --frames must be a multiple of every r in the plan (tiny has r=4).
    shapes = Shapes(args.frames, args.text_chars, VOCAB_SIZE, reduction_factor=None)
    result = {"benchmark": "gpu_throughput", "date": datetime.date.today().isoformat(),
              "machine": describe_machine(),
              "shapes": vars(shapes), "reference": DLE, "steps": args.steps, "warmup_steps": args.warmup_steps,
              "measurements": [], "skipped": [], "errors": [],
              "command": "KERAS_BACKEND=jax python benchmarks/gpu_throughput.py"
                         + "".join(f" --plan {c}:{','.join(map(str, bs))}" for c, bs in args.plan if args.plan != PLAN)
                         + (f" --frames {args.frames}" if args.frames != FRAMES else "")
                         + (f" --text_chars {args.text_chars}" if args.text_chars != TEXT_CHARS else "")}

    def save() -> None:
        summarize(result)
        output.write_text(json.dumps(result, indent=2))

    for gin_file, batch_sizes in args.plan:
        for batch_size in batch_sizes:
            if time.perf_counter() - start > args.budget_s:
                result["skipped"].append(f"{gin_file} batch {batch_size}: over --budget_s")
                continue
            try:
                got = measure_ours(gin_file, [], shapes, [batch_size], args.steps, args.warmup_steps)
            except Exception as e:  # noqa: BLE001  (one failed measurement must not lose the others)
                result["errors"].append(f"{gin_file} batch {batch_size}: {type(e).__name__}: {e}"[:2000])
                print(result["errors"][-1], file=sys.stderr, flush=True)
                save()
                continue
            result["versions"] = got["versions"]
            result["measurements"].extend(got["measurements"])
            save()
    save()
    print(f"results: {output} ({time.perf_counter() - start:.0f} s)")


def table_row(result: dict, command: str) -> str:
    device = ", ".join(sorted(set(result["versions"].get("devices", [])))) or "?"
    frames = result["shapes"]["frames"]
    parts = [f"JAX {result['versions'].get('jax')}, keras {result['versions'].get('keras')} on {device}; "
             f"every utterance {frames} frames ({frames / OUR_FRAMES_PER_AUDIO_S:.2f} s), "
             f"{result['shapes']['text_chars']} chars"]
    for m in result["measurements"]:
        precision = "bf16" if m["mixed_precision"] else "fp32"
        parts.append(f"{m['gin_file']} batch {m['batch_size']} {precision} {m['optimizer'].split()[0]}: "
                     f"{m['mel_frames_per_s']:,.0f} mel frames/s ({m['step_s']:.3f} s/step, first step "
                     f"{m['first_step_s']:.0f} s), {m['audio_s_per_s']:.0f} s of audio/s = "
                     f"{m['vs_dle_audio_s']:.2f}x DLE's audio/s ({m['vs_dle_mel_frames']:.2f}x its frames/s)")
    dle_audio = DLE["mel_frames_per_s"] / DLE["frames_per_audio_s"]
    parts.append(f"reference {DLE['name']}: {DLE['mel_frames_per_s']:,} mel frames/s = {dle_audio:.0f} s of audio/s")
    parts += [f"not measured: {s}" for s in result["skipped"]] + [f"error: {e[:200]}" for e in result["errors"]]
    text = "; ".join(parts).replace("|", "\\|")
    return f"| {result['date']} | gpu_throughput | {result['machine']} | {text} | `{command}` |\n"


def record(path: pathlib.Path) -> None:
    result = json.loads(path.read_text())
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / path.name
    if path.resolve() != target.resolve():
        shutil.copyfile(path, target)
    with BENCHMARKS_MD.open("a") as f:
        f.write(table_row(result, result["command"] + "  # on the GPU machine"))
    print(f"recorded {target} and a row in {BENCHMARKS_MD}")


def main() -> None:
    args = parse_args()
    if args.record:
        record(pathlib.Path(args.record))
    else:
        measure(args)


if __name__ == "__main__":
    main()
