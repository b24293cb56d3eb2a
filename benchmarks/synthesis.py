"""Synthesis real-time factor on CPU: model (encoder, decoder, post-net) and Griffin-Lim timed apart, per batch size.

RTF = synthesis wall time / seconds of audio produced (summed over the batch's utterances). The model is built from a
shipped gin config with random weights; its stop token is disabled so that every utterance decodes to its step limit,
which SynthesisConfig(max_frames_per_char=--frames_per_char, min_frames=0) sets to a realistic speaking rate (6 frames
of 12.5 ms per character = 13 characters/s). Timing goes through tacotron.serving.inference.Synthesizer, the compiled
path tacotron-synthesize runs: one warm-up pass (its time, compilation included, is reported as first_pass_s), then the
median of --repeats passes. Batch 1 synthesizes the sentences one by one; batch B in batches of B.

    python benchmarks/synthesis.py [--configs tiny base_8khz] [--batch_sizes 1 16] [--repeats 3] [--backend jax]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shlex
import statistics
import subprocess
import sys
import time

import numpy as np
from machine import describe as describe_machine  # benchmarks/ is on sys.path when a script runs

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
GOAL_RTF = 0.1  # base_8khz model + Griffin-Lim at batch 1
GOAL_CONFIG = "base_8khz"
GOAL_ITERS = 60  # SynthesisConfig.griffin_lim_iters, what synthesis runs by default

# Everyday English, 80-120 characters once normalized (numbers, times and money spelled out by normalize_text).
SENTENCES = (
    "The birch canoe slid on the smooth planks and drifted slowly toward the far side of the lake.",
    "Glue the sheet to the dark blue background before the paint dries, then hang it near the window.",
    "It's easy to tell the depth of a well if you drop a small stone and count the seconds until the splash.",
    "These days a chicken leg is a rare dish, but in 1925 the family ate one every Sunday after church.",
    "Rice is often served in round bowls, and the juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck while the driver checked the map for the road to the harbor.",
    "Four hours of steady work faced us, so we packed sandwiches, two thermoses of coffee, and a first aid kit.",
    "A large size in stockings is hard to sell, the shopkeeper explained, because most customers want medium.",
    "The train to Boston leaves at 7:45 in the morning and arrives a little after noon.",
    "Please call Stella and ask her to bring six spoons of fresh snow peas from the store.",
    "The museum added 3 new rooms last year, and tickets now cost $15 for adult visitors.",
    "When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow across the sky.",
    "The speaker paused for a moment, looked at the crowd, and began to read the letter aloud.",
    "Our neighbor repairs old clocks in his garage, and on quiet evenings you can hear them all ticking at once.",
    "Dr. Smith said the results would be ready on Friday, but the lab called on Wednesday with good news.",
    "A cold wind blew across the open field, and the children ran home before the rain fell.",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["tiny", "base_8khz"], help="shipped gin configs (or files)")
    parser.add_argument("--batch_sizes", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--repeats", type=int, default=3, help="timed passes after the warm-up; the median is kept")
    parser.add_argument("--griffin_lim_iters", nargs="+", type=int, default=[60, 30],
                        help="Griffin-Lim iterations, each timed (60 is SynthesisConfig's default)")
    parser.add_argument("--frames_per_char", type=float, default=6.0,
                        help="decoded frames per character (every utterance runs to this limit)")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "jax"), choices=("jax", "tensorflow"),
                        help="KERAS_BACKEND")
    parser.add_argument("--device_note", default="", help="appended to the machine description (e.g. 'shared CPU')")
    parser.add_argument("--no_write", action="store_true", help="print only; leave results/ and BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.batch_sizes) < 1 or min(args.griffin_lim_iters) < 1:
        parser.error("--repeats, --batch_sizes and --griffin_lim_iters must be at least 1")
    if args.frames_per_char <= 0:
        parser.error("--frames_per_char must be positive")
    return args


def build_synthesizers(gin_file: str, vocabulary: tuple[str, ...], args: argparse.Namespace) -> list:
    """One Synthesizer per Griffin-Lim iteration count, sharing one random-weight model that never says stop."""
    import dataclasses

    from tacotron import text
    from tacotron.audio import AudioConfig
    from tacotron.config import SynthesisConfig, parse_gin
    from tacotron.network.model import Tacotron
    from tacotron.network.model_dir import LoadedModel
    from tacotron.serving.inference import Synthesizer

    configs = parse_gin([gin_file], [])
    model = Tacotron(dataclasses.replace(configs.model, vocab_size=text.vocabulary_size(vocabulary)))
    model(model.dummy_inputs(), training=False)
    # An untrained stop token would end decoding at random; a large negative logit runs every utterance to its limit.
    kernel, bias = model.decoder.stop_projection.weights
    kernel.assign(np.zeros(kernel.shape, np.float32))
    bias.assign(np.full(bias.shape, -30.0, np.float32))
    c, audio = model.config, AudioConfig()
    # Typical log-magnitude statistics keep the random spectrograms in a speech-like range (no overflow in exp).
    loaded = LoadedModel(model, 0, "", vocabulary, np.full(c.num_mels, -4.0, np.float32),
                         np.full(c.num_mels, 2.0, np.float32), np.full(c.num_freq, -4.0, np.float32),
                         np.full(c.num_freq, 2.0, np.float32))
    synthesizers = []
    for iters in args.griffin_lim_iters:
        synthesis = SynthesisConfig(max_frames_per_char=args.frames_per_char, min_frames=0, griffin_lim_iters=iters)
        synthesizers.append(Synthesizer(loaded, synthesis, audio))
    return synthesizers


def run_pass(synthesizers: list, batches: list) -> dict:
    """One pass over every batch: seconds in the model (and its decoder and post-net parts), in each vocoder, and
    seconds of audio made."""
    # The model parts are timed on the first synthesizer only: the others are used for their vocoders.
    first = synthesizers[0]
    parts = {"decode_s": 0.0, "postnet_s": 0.0}
    model_s, vocoder_s, audio_s, finite = 0.0, [0.0] * len(synthesizers), 0.0, True
    for ids, lengths in batches:
        start = time.perf_counter()
        frames = first.infer_frames(ids, lengths)
        middle = time.perf_counter()
        out = first.postnet(frames)
        parts["decode_s"] += middle - start
        parts["postnet_s"] += time.perf_counter() - middle
        model_s += time.perf_counter() - start
        for k, synthesizer in enumerate(synthesizers):
            start = time.perf_counter()
            waves = synthesizer.vocode(out["linear"], out["n_frames"])
            vocoder_s[k] += time.perf_counter() - start
        # Audio as the vocoder trims it: (frames - 1) hops per utterance.
        audio_s += sum(len(w) for w in waves) / first.audio_config.sample_rate
        finite = finite and all(bool(np.isfinite(w).all()) for w in waves)
    return {"model_s": model_s, **parts, "vocoder_s": vocoder_s,
            "audio_s": audio_s, "finite": finite}


def measure(synthesizers: list, batches: list, repeats: int) -> dict:
    """A warm-up pass (compiles every shape; its wall time is kept), then the median of `repeats` timed passes."""
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    warm = run_pass(synthesizers, batches)
    first_pass_s = time.perf_counter() - start
    passes = [run_pass(synthesizers, batches) for _ in range(repeats)]
    audio_s = passes[0]["audio_s"]
    median = {key: statistics.median(p[key] for p in passes) for key in ("model_s", "decode_s", "postnet_s")}
    vocoder = [statistics.median(p["vocoder_s"][k] for p in passes) for k in range(len(synthesizers))]
    return {
        "audio_s": audio_s,
        "first_pass_s": first_pass_s,
        **median,
        "griffin_lim_s": vocoder,
        "rtf_model": median["model_s"] / audio_s,
        "rtf_decode": median["decode_s"] / audio_s,
        "rtf_postnet": median["postnet_s"] / audio_s,
        "rtf_griffin_lim": [v / audio_s for v in vocoder],
        "rtf_total": [(median["model_s"] + v) / audio_s for v in vocoder],
        "finite_audio": warm["finite"] and all(p["finite"] for p in passes),
        "passes": passes,
        "load_1min_before": load_before,
        "load_1min_after": os.getloadavg()[0],
    }


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return ""


def code_state() -> dict:
    """The commit measured, and the model files that differed from it (uncommitted edits change what is timed)."""

    def git(*command: str) -> str:
        try:
            return subprocess.run(["git", *command], cwd=REPO, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    return {"commit": git("rev-parse", "HEAD"), "modified": git("status", "--porcelain", "model").splitlines()}


def table_rows(result: dict, command: str) -> str:
    iters = result["griffin_lim_iters"]
    lines = []
    for row in result["rows"]:
        gl = ", ".join(f"{n} it {r:.3f}" for n, r in zip(iters, row["rtf_griffin_lim"], strict=True))
        total = ", ".join(f"+ GL{n} {r:.3f}" for n, r in zip(iters, row["rtf_total"], strict=True))
        text = (f"{row['config']}, batch {row['batch_size']}, {row['backend']}: RTF model {row['rtf_model']:.3f} "
                f"(decoder {row['rtf_decode']:.3f}, post-net {row['rtf_postnet']:.3f}), Griffin-Lim {gl}; model {total}"
                f"; {row['utterances']} sentences, {row['characters']} chars, {row['audio_s']:.1f} s audio; "
                f"warm-up pass (compiles) {row['first_pass_s']:.1f} s; median of {result['repeats']}; 1-min load "
                f"{row['load_1min_before']:.2f}->{row['load_1min_after']:.2f} (this run included)")
        if row.get("goal_met") is not None:
            k = iters.index(GOAL_ITERS)
            verdict = "met" if row["goal_met"] else f"NOT met ({row['rtf_total'][k] / GOAL_RTF:.1f}x the target)"
            share = row["rtf_griffin_lim"][k] / row["rtf_total"][k]
            text += (f"; goal (model + GL{GOAL_ITERS} RTF <= {GOAL_RTF} at batch 1) {verdict}, Griffin-Lim "
                     f"{share:.0%} of that time")
        lines.append(f"| {result['date']} | synthesis | {result['machine']} | {text.replace('|', chr(92) + '|')} | "
                     f"`{command}` |\n")
    return "".join(lines)


def main() -> None:
    args = parse_args()
    # Before keras is first imported: the backend is fixed at import.
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tacotron import text
    from tacotron.audio import AudioConfig
    from tacotron.serving.inference import text_batch
    from tacotron.text.frontend import WORD_BOUNDARY, Frontend

    # Characters, so that no corpus is needed for a vocabulary; phonemes give sequences of about the same length.
    reader = Frontend("characters")
    vocabulary = tuple(text.SYMBOLS.replace(" ", WORD_BOUNDARY))
    sentences = [text.normalize_text(s) for s in SENTENCES]
    load_start = os.getloadavg()
    code = code_state()
    rows = []
    for gin_file in args.configs:
        synthesizers = build_synthesizers(gin_file, vocabulary, args)
        for batch_size in args.batch_sizes:
            batches = [text_batch(sentences[i : i + batch_size], vocabulary, reader)
                       for i in range(0, len(sentences), batch_size)]
            row = {"backend": args.backend, "config": gin_file, "batch_size": batch_size,
                   "date": datetime.date.today().isoformat(), "utterances": len(sentences),
                   "characters": sum(map(len, sentences)), "code": code,
                   **measure(synthesizers, batches, args.repeats)}
            if gin_file == GOAL_CONFIG and batch_size == 1 and GOAL_ITERS in args.griffin_lim_iters:
                row["goal_met"] = row["rtf_total"][args.griffin_lim_iters.index(GOAL_ITERS)] <= GOAL_RTF
            rows.append(row)
            gl = ", ".join(f"GL{n} {r:.3f}" for n, r in zip(args.griffin_lim_iters, row["rtf_griffin_lim"],
                                                            strict=True))
            print(f"{gin_file} batch {batch_size}: RTF model {row['rtf_model']:.3f} (decoder {row['rtf_decode']:.3f}"
                  f", post-net {row['rtf_postnet']:.3f}), {gl}; {row['audio_s']:.1f} s audio; warm-up "
                  f"{row['first_pass_s']:.1f} s; load {row['load_1min_before']:.2f}->{row['load_1min_after']:.2f}",
                  flush=True)
    machine = describe_machine() + (f", {args.device_note}" if args.device_note else "")
    result = {
        "benchmark": "synthesis",
        "date": datetime.date.today().isoformat(),
        "machine": machine,
        "cpu": cpu_model(),
        "backend": args.backend,
        "repeats": args.repeats,
        "griffin_lim_iters": args.griffin_lim_iters,
        "frames_per_char": args.frames_per_char,
        "hop_s": AudioConfig().hop_length / AudioConfig().sample_rate,
        "goal": f"{GOAL_CONFIG} model + Griffin-Lim ({GOAL_ITERS} iterations) RTF <= {GOAL_RTF} at batch 1",
        "load_avg_start": load_start,
        "load_avg_end": os.getloadavg(),
        "code": code,
        "sentences": sentences,
        "rows": rows,
    }
    bench_command = "python benchmarks/synthesis.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:])
    if args.no_write:
        print(table_rows(result, bench_command), end="")
        return
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "synthesis.json"
    # Rows of other backends (a TensorFlow comparison run) stay in the file; this run's backend is replaced.
    previous = json.loads(path.read_text()).get("rows", []) if path.exists() else []
    kept = [r for r in previous if r.get("backend") != args.backend]
    path.write_text(json.dumps(result | {"rows": kept + rows}, indent=2) + "\n")
    with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
        f.write(table_rows(result, bench_command))


if __name__ == "__main__":
    main()
