"""Quality against training steps and wall time: does the model say sentences, and words, it was never trained on?

For each config, frontend (characters, phonemes), voice and seed, trains with the real `tacotron-train` in segments
(the schedule is the full run's in every segment, via TrainConfig.decay_steps), and after each segment measures
free-running synthesis of a held-out set whose words the training corpus lacks. Voices: `en-us` is the bundled
espeak-ng corpus; `flite:slt` (or another flite voice) is the same 400 sentences rendered by data/make_sample_corpus.py
with flite, a voice built from a person's recordings whose pronunciations are not espeak-ng's, so the G2P and the voice
disagree as they do with a real speaker. Each voice has its own held-out set in that voice. Measured:
- sentence identification among the held-out sentences (chance 1/N) and its median margin;
- minimal pairs: is the prediction nearer its own sentence's recording than the same sentence with one word
  changed (chance 50%), and the distance margin;
- GV ratio, MCD-DTW, length ratio, failure rate; the held-out recordings through the same Griffin-Lim give the
  ceiling of both identification figures.
The in-training eval-split identification (TrainConfig.evaluate_every) is recorded too. Writes
benchmarks/results/quality.json, docs/quality.png and one row per config in docs/BENCHMARKS.md.

    python benchmarks/quality.py [--configs tiny] [--steps 1300] [--frontends characters phonemes]
        [--voices en-us flite:slt] [--seeds 1 2] [--segments 2]

Rendering the corpora and held-out sets needs the espeak-ng, flite and sox binaries (apt: espeak-ng flite sox).
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
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
from sample_data import ensure_data  # noqa: E402  (benchmarks/ is on sys.path when a script runs)

from tacotron.quality import gate
from tacotron.storage import training_log  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "data"))
import make_sample_corpus  # noqa: E402
from machine import describe as describe_machine  # noqa: E402  (benchmarks/ is on sys.path when a script runs)

RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
PLOT = REPO / "docs" / "quality.png"
SAMPLE = REPO / "data" / "sample_corpus"
SPEAKING_BAR = gate.Thresholds().min_sentence_identification  # the gate's bar for "speaks"
BUNDLED_VOICE = "en-us"  # the voice of data/sample_corpus


def corpus_of(work: pathlib.Path, voice: str) -> pathlib.Path:
    """The bundled corpus, or its 400 sentences (same seed) rendered in another voice."""
    if voice == BUNDLED_VOICE:
        return SAMPLE
    folder = work / f"corpus-{voice.replace(':', '-')}"
    if not (folder / "metadata.csv").exists():
        make_sample_corpus.build(folder, 400, voice, 1234, 2)
    return folder


def data_of(work: pathlib.Path, voice: str) -> pathlib.Path:
    data = work / f"data-{voice.replace(':', '-')}"
    ensure_data(data, corpus_of(work, voice))
    return data


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=str(REPO / "out" / "quality"),
                        help="corpora, preprocessed data, held-out sets and model_dirs (each made when missing)")
    parser.add_argument("--configs", nargs="+", default=["tiny"])
    parser.add_argument("--steps", nargs="+", type=int, default=[1300], help="total steps, one per config")
    parser.add_argument("--max_minutes", nargs="+", type=float, default=[0],
                        help="stop a config's training after this much training time (0 = no limit), one per config")
    parser.add_argument("--frontends", nargs="+", default=["characters", "phonemes"])
    parser.add_argument("--voices", nargs="+", default=[BUNDLED_VOICE, "flite:slt"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--segments", type=int, default=2, help="held-out measurements per run")
    parser.add_argument("--held_out", type=int, default=30, help="held-out sentences (each with a minimal pair)")
    parser.add_argument("--gin_param", action="append", default=[],
                        help="passed to tacotron-train; 'CONFIG:binding' only for that config")
    return parser.parse_args(argv)


def held_out_set(work: pathlib.Path, count: int, voice: str) -> pathlib.Path:
    """Held-out sentences (and their minimal pairs) in `voice`, whose content words the training corpus lacks; the
    same sentences for every voice."""
    folder = work / f"held_out-{voice.replace(':', '-')}-{count}"
    if not (folder / "pairs.csv").exists():
        make_sample_corpus.build_held_out(SAMPLE, folder, count, seed=4321, jobs=2, voice=voice)
    return folder


def measure(model_dir: pathlib.Path, held_out: pathlib.Path, gin_params: tuple[str, ...] = ()) -> dict:
    """Free-running quality of the newest checkpoint on the held-out set (tacotron.quality.held_out; in a fresh
    process: see main), with `gin_params` (synthesis settings) over the model's config."""
    from tacotron.network.model_dir import load_model
    from tacotron.quality import held_out as held_out_set
    from tacotron.serving.inference import Synthesizer

    loaded = load_model(str(model_dir), gin_params)
    return {"step": loaded.step, **held_out_set.measure(Synthesizer(loaded), str(held_out))}


def plot_mels(held_out: pathlib.Path, path: pathlib.Path, model_dirs: list[pathlib.Path], count: int = 2) -> None:
    """The first `count` held-out sentences: the recording's log mel above each model's free-running one, one colour
    scale per sentence, so blur and contrast can be seen and not only measured."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from tacotron.network.model_dir import load_model
    from tacotron.quality import listening
    from tacotron.quality.held_out import load_held_out
    from tacotron.serving.inference import Synthesizer

    heard = []
    for model_dir in model_dirs:
        loaded = load_model(str(model_dir))
        batch, texts, _ = load_held_out(str(held_out), loaded)
        part = {k: v[:count] for k, v in batch.items()}
        heard.append(listening.listen(Synthesizer(loaded), part, count))
    figure, axes = plt.subplots(len(model_dirs) + 1, count, figsize=(7 * count, 2.6 * (len(model_dirs) + 1)),
                                squeeze=False)
    for j in range(count):
        recorded = heard[0][j]["recorded_mel"]
        scale = {"origin": "lower", "aspect": "auto", "vmin": recorded.min(), "vmax": recorded.max()}
        axes[0][j].imshow(recorded.T, **scale)
        axes[0][j].set_title(f"recorded: {texts[j][:50]}")
        for i, (model_dir, utterances) in enumerate(zip(model_dirs, heard, strict=True), start=1):
            axes[i][j].imshow(utterances[j]["predicted_mel"].T, **scale)
            axes[i][j].set_title(f"{model_dir.name}: GV ratio {utterances[j]['gv_ratio']:.2f}")
    figure.tight_layout()
    figure.savefig(path, dpi=70)


def train_segment(data: pathlib.Path, model_dir: pathlib.Path, config: str, seed: int, until: int, total: int,
                  extra: list[str]) -> tuple[float, int]:
    """tacotron-train up to step `until` of a `total`-step run; (wall seconds, exit code)."""
    from tacotron.config import parse_gin

    bindings = [f"TrainConfig.seed = {seed}", "TrainConfig.evaluate_every = 250",
                f"TrainConfig.checkpoint_every = {until}", *extra]
    cfg = parse_gin([config], [*bindings, f"TrainConfig.steps = {total}"]).train
    # The learning-rate schedule of the whole run, whichever segment this is.
    bindings.append(f"TrainConfig.decay_steps = {cfg.decay_steps or cfg.steps - cfg.warmup_steps}")
    command = [sys.executable, "-m", "tacotron.cli.train", "--data", str(data), "--model_dir", str(model_dir),
               "--gin_file", config, "--steps", str(until)]
    for binding in bindings:
        command += ["--gin_param", binding]
    start = time.time()
    code = subprocess.run(command, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return time.time() - start, code


def run(args: argparse.Namespace, voice: str, config: str, steps: int, minutes: float, frontend: str,
        seed: int) -> dict:
    work = pathlib.Path(args.work).resolve()
    data, held_out = data_of(work, voice), held_out_set(work, args.held_out, voice)
    model_dir = work / f"{config}-{frontend}-{voice.replace(':', '-')}-seed{seed}"
    points = []
    for until in np.linspace(steps / args.segments, steps, args.segments).astype(int):
        extra = [p.split(":", 1)[1] if ":" in p else p for p in args.gin_param
                 if ":" not in p or p.split(":", 1)[0] == config]
        extra.append(f"TacotronConfig.frontend = {frontend!r}")
        wall, code = train_segment(data, model_dir, config, seed, int(until), steps, extra)
        if code != 0:
            sys.exit(f"tacotron-train failed (exit {code}) for {model_dir}")
        # A fresh process per measurement: the training backend state and the held-out models stay apart.
        out = subprocess.run([sys.executable, __file__, "--measure", str(model_dir), str(held_out)], cwd=REPO,
                             capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if out.returncode != 0:
            sys.exit(f"measuring {model_dir} failed:\n{out.stderr[-3000:]}")
        train_s = training_log.read(str(model_dir)).training_seconds()
        point = json.loads(out.stdout.strip().splitlines()[-1]) | {"train_s": train_s}
        points.append(point)
        print(f"{config} {frontend} {voice} seed {seed} step {point['step']}: held-out identification "
              f"{point['sentence_identification']:.2f}, minimal pairs {point['minimal_pairs']['accuracy']:.2f}, "
              f"GV {point['gv_ratio']:.2f}, length {point['length_ratio']:.2f}, train {point['train_s']:.0f} s",
              flush=True)
        if minutes and point["train_s"] >= minutes * 60:
            break
    eval_curve = [{k: row[k] for k in ("step", "sentence_identification", "length_ratio", "gv_ratio")}
                  for row in training_log.read(str(model_dir)).events(training_log.QUALITY)]
    return {"config": config, "frontend": frontend, "voice": voice, "seed": seed, "held_out": points,
            "eval_split_during_training": eval_curve}


def run_key(run: dict) -> tuple:
    return run["config"], run.get("frontend", "characters"), run.get("voice", BUNDLED_VOICE), run["seed"]


def first_reaching(points: list[dict], key: str, bar: float) -> dict | None:
    return next((p for p in points if p.get(key) is not None and p[key] >= bar), None)


def plot(runs: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    voices = sorted({run_key(r)[2] for r in runs})
    figure, axes = plt.subplots(1, len(voices), figsize=(6 * len(voices), 4.5), sharey=True, squeeze=False)
    for ax, voice in zip(axes[0], voices, strict=True):
        for r in (r for r in runs if run_key(r)[2] == voice):
            config, frontend, _, seed = run_key(r)
            minutes = [p["train_s"] / 60 for p in r["held_out"]]
            color = "tab:blue" if frontend == "phonemes" else "tab:orange"
            label = f"{config} {frontend} seed {seed}"
            ax.plot(minutes, [p["sentence_identification"] for p in r["held_out"]], marker="o", color=color,
                    alpha=0.5 + 0.25 * (seed % 2), label=f"{label}: sentences")
            ax.plot(minutes, [p["minimal_pairs"]["accuracy"] for p in r["held_out"]], marker="s", linestyle="--",
                    color=color, alpha=0.5 + 0.25 * (seed % 2), label=f"{label}: minimal pairs")
        ax.set_title(f"voice {voice}")
        ax.set_xlabel("training time (min, 2 CPU cores)")
        ax.axhline(SPEAKING_BAR, color="grey", linewidth=0.8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small", loc="lower right")
    axes[0][0].set_ylabel("held-out accuracy (unseen words)")
    figure.suptitle("Free-running synthesis of held-out sentences: identification (chance 1/N) and minimal pairs "
                    "(chance 50%)")
    figure.savefig(PLOT, dpi=100, bbox_inches="tight")


def table_row(result: dict, key: tuple[str, str, str], command: str) -> str:
    """One row per config, frontend and voice, with every seed."""
    runs = [r for r in result["runs"] if run_key(r)[:3] == key]
    parts = []
    for r in runs:
        last = r["held_out"][-1]
        reached = first_reaching(r["held_out"], "sentence_identification", SPEAKING_BAR)
        bar = (f"held-out identification >= {SPEAKING_BAR:.0%} at step {reached['step']} ({reached['train_s']:.0f} s)"
               if reached else f"held-out identification never reached {SPEAKING_BAR:.0%}")
        parts.append(
            f"seed {r['seed']}: {bar}; at step {last['step']} ({last['train_s']:.0f} s): identification "
            f"{last['identification']['correct']}/{last['identification']['utterances']} (ceiling "
            f"{last['identification']['griffin_lim_ceiling']['correct']}), median margin "
            f"{last['identification']['median_margin']:.2f}, minimal pairs {last['minimal_pairs']['accuracy']:.0%} "
            f"(ceiling {last['minimal_pairs']['griffin_lim_ceiling']['accuracy']:.0%}, margin "
            f"{last['minimal_pairs']['median_margin']:.2f}), GV {last['gv_ratio']:.2f}, MCD-DTW "
            f"{last['mcd_dtw_db']:.2f} dB, length {last['length_ratio']:.2f}, failures {last['failure_rate']:.0%}"
        )
    config, frontend, voice = key
    text = (f"{config}, {frontend}, voice {voice}, {result['held_out_sentences']} held-out sentences with unseen "
            "words: " + "; ".join(parts))
    return (f"| {result['date']} | quality | {result['machine']} | {text.replace('|', '/')} | "
            f"`{command}` (plot: docs/quality.png) |\n")


def main() -> None:
    if len(sys.argv) >= 4 and sys.argv[1] == "--measure":  # --measure MODEL_DIR HELD_OUT [GIN_PARAM ...]
        print(json.dumps(measure(pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]), tuple(sys.argv[4:]))))
        return
    if len(sys.argv) >= 5 and sys.argv[1] == "--plot_mels":  # --plot_mels HELD_OUT OUT.png MODEL_DIR ...
        plot_mels(pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]), [pathlib.Path(p) for p in sys.argv[4:]])
        return
    args = parse_args()
    if not len(args.configs) == len(args.steps) == len(args.max_minutes):
        sys.exit("--configs, --steps and --max_minutes need one value per config")
    pathlib.Path(args.work).mkdir(parents=True, exist_ok=True)
    runs = [run(args, voice, config, steps, minutes, frontend, seed)
            for voice in args.voices
            for config, steps, minutes in zip(args.configs, args.steps, args.max_minutes, strict=True)
            for seed in args.seeds for frontend in args.frontends]
    result = {
        "benchmark": "quality",
        "date": datetime.date.today().isoformat(),
        "machine": describe_machine() + ", jax",
        "held_out_sentences": args.held_out,
        "runs": runs,
    }
    command = "python benchmarks/quality.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:])
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "quality.json"
    # Runs of other configs, frontends, voices or seeds measured earlier on a held-out set of the same size stay in the
    # results and the plot.
    earlier = json.loads(path.read_text()) if path.exists() else {"runs": []}
    same_set = earlier.get("held_out_sentences") == args.held_out
    measured = {run_key(r) for r in runs}
    everything = [r for r in earlier["runs"] if same_set and run_key(r) not in measured] + runs
    path.write_text(json.dumps(result | {"runs": everything}, indent=2) + "\n")
    plot(everything)
    with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
        for key in dict.fromkeys(run_key(r)[:3] for r in runs):
            f.write(table_row(result, key, command))


if __name__ == "__main__":
    main()
