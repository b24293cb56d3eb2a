"""Time to quality on a GPU: base_8khz trained on JAX for minutes of wall time, measured on held-out unseen words.

The GPU machine has JAX and no TensorFlow, so the run has three steps:

    # here: each voice's train split, as the input pipeline would feed it, into one file
    python benchmarks/gpu_quality.py pack --out .gpu/en-us.npz --voice en-us
    python benchmarks/gpu_quality.py pack --out .gpu/flite-slt.npz --voice flite:slt
    # on the GPU machine: tacotron.training.train's own model, optimizer and schedule, `fit` over batches cut from the
    # pack; the model's weights saved at wall-time marks (float16: a base_8khz checkpoint in float32 is over what
    # returns) (model/ on PYTHONPATH, and the shipped configs where the installed package has them: ln -s ../configs
    # model/tacotron/configs)
    KERAS_BACKEND=jax python benchmarks/gpu_quality.py train --pack .gpu/en-us.npz --out $OUT --marks 100 200
    # here: each saved point becomes a model_dir checkpoint, measured by benchmarks/quality.py --measure on the same
    # held-out sets as the CPU runs; a JSON result and a row in docs/BENCHMARKS.md
    python benchmarks/gpu_quality.py record --points DIR

Spectrograms travel quantized to 8 bits per bin (min-max per bin, a step under 0.03 of a standard deviation): two
voices in float16 would be over what the GPU machine accepts. Two length buckets, not base_8khz's five: each padded
shape compiles for tens of seconds, a large share of a run of minutes. Wall time counts from the start of `fit`, the
compilation included.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
CONFIG = "base_8khz"
# As the CPU run of base_8khz in benchmarks/quality.py (docs/BENCHMARKS.md), so that the two compare.
GIN_PARAMS = ("TrainConfig.warmup_steps = 200",)
BUCKETS = 2


def configs_for(steps: int, vocab_size: int, frontend: str):
    from tacotron.config import parse_gin

    configs = parse_gin([CONFIG], [*GIN_PARAMS, f"TrainConfig.steps = {steps}",
                                   f"TacotronConfig.frontend = {frontend!r}"])
    return dataclasses.replace(configs, model=dataclasses.replace(configs.model, vocab_size=vocab_size))


# --- pack (here, with TensorFlow) ----------------------------------------------------------------------------------


def quantize(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    low, high = frames.min(axis=0), frames.max(axis=0)
    scale = np.maximum(high - low, 1e-6) / 255.0
    return np.round((frames - low) / scale).astype(np.uint8), low.astype(np.float32), scale.astype(np.float32)


def pack(voice: str, out: pathlib.Path, work: pathlib.Path) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import quality

    from tacotron import dataset, features
    from tacotron.config import parse_gin

    data_dir = quality.data_of(work, voice)
    configs = parse_gin([CONFIG], list(GIN_PARAMS))
    frontend = configs.model.frontend
    info = dataset.inspect_data(str(data_dir), configs.audio, frontend)
    n_frames, lengths = info.n_frames[features.TRAIN_PREFIX], info.text_lengths[features.TRAIN_PREFIX]
    buckets = dataset.make_buckets(n_frames, lengths, BUCKETS, configs.model.reduction_factor)
    everything = dataset.Buckets((buckets.frames[-1],), (buckets.text[-1],))
    stream = dataset.make_dataset(info, features.TRAIN_PREFIX, 1, everything, configs.audio, shuffle_buffer=0,
                                  repeat=False, drop_remainder=False)
    ids, text_length, frames_of, mels, linears = [], [], [], [], []
    for batch in stream.as_numpy_iterator():
        n = int(batch[features.N_FRAMES][0])
        ids.append(batch[features.TEXT_IDS][0])
        text_length.append(int(batch[features.TEXT_LENGTH][0]))
        frames_of.append(n)
        mels.append(batch[features.MEL][0, :n])
        linears.append(batch[features.LINEAR][0, :n])
    mel_q, mel_low, mel_scale = quantize(np.concatenate(mels))
    linear_q, linear_low, linear_scale = quantize(np.concatenate(linears))
    floors = info.floor_values(configs.audio)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, voice=voice, frontend=frontend, vocab_size=info.vocab_size, text_ids=np.stack(ids).astype(np.int32),
        text_length=np.asarray(text_length, np.int32), n_frames=np.asarray(frames_of, np.int32),
        bucket_frames=np.asarray(buckets.frames), bucket_text=np.asarray(buckets.text),
        mel=mel_q, mel_low=mel_low, mel_scale=mel_scale, linear=linear_q, linear_low=linear_low,
        linear_scale=linear_scale, mel_floor=floors[features.MEL], linear_floor=floors[features.LINEAR])
    print(f"{out}: {len(ids)} utterances, {sum(frames_of)} frames, buckets {buckets.frames}, "
          f"{out.stat().st_size / 2**20:.1f} MiB")


# --- train (on the GPU machine: JAX, no TensorFlow) -----------------------------------------------------------------


class Packed:
    """The packed train split, cut into batches padded to their bucket as tacotron.dataset pads them."""

    def __init__(self, path: str):
        z = np.load(path)
        self.voice, self.frontend, self.vocab_size = str(z["voice"]), str(z["frontend"]), int(z["vocab_size"])
        self.ids, self.text_length, self.n_frames = z["text_ids"], z["text_length"], z["n_frames"]
        self.bucket_frames, self.bucket_text = z["bucket_frames"], z["bucket_text"]
        starts = np.concatenate([[0], np.cumsum(self.n_frames)])
        mel = z["mel"].astype(np.float32) * z["mel_scale"] + z["mel_low"]
        linear = z["linear"].astype(np.float32) * z["linear_scale"] + z["linear_low"]
        self.mels = [mel[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]
        self.linears = [linear[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]
        self.floors = z["mel_floor"], z["linear_floor"]
        self.bucket_of = np.searchsorted(self.bucket_frames, self.n_frames)

    def batches(self, batch_size: int, seed: int):
        from tacotron import features

        rng = np.random.default_rng(seed)
        while True:
            order = []
            for bucket in range(len(self.bucket_frames)):
                members = rng.permutation(np.flatnonzero(self.bucket_of == bucket))
                order += [members[i:i + batch_size] for i in range(0, len(members) - batch_size + 1, batch_size)]
            for k in rng.permutation(len(order)):
                chosen, bucket = order[k], self.bucket_of[order[k][0]]
                frames, text = int(self.bucket_frames[bucket]), int(self.bucket_text[bucket])
                mel = np.tile(self.floors[0], (len(chosen), frames, 1))
                linear = np.tile(self.floors[1], (len(chosen), frames, 1))
                for row, i in enumerate(chosen):
                    mel[row, : self.n_frames[i]] = self.mels[i]
                    linear[row, : self.n_frames[i]] = self.linears[i]
                # A one-tuple: Keras takes a generator's dict only as the inputs of (inputs,).
                yield ({features.TEXT_IDS: self.ids[chosen, :text], features.TEXT_LENGTH: self.text_length[chosen],
                        features.MEL: mel, features.LINEAR: linear, features.N_FRAMES: self.n_frames[chosen]},)


def train(pack_path: str, out: pathlib.Path, marks: list[float], steps: int, seed: int) -> None:
    import keras

    from tacotron.training import train as training

    packed = Packed(pack_path)
    configs = configs_for(steps, packed.vocab_size, packed.frontend)
    keras.utils.set_random_seed(seed)
    schedule, _ = training.learning_rate(configs.train, steps)
    model = training.build_model(configs, packed.vocab_size, schedule)
    name = packed.voice.replace(":", "-")
    points = []

    class AtMarks(keras.callbacks.Callback):
        """Saves the model's weights when the wall time since `fit` began passes each mark; stops after the last."""

        def on_train_begin(self, logs=None):
            self.start, self.step, self.first_step_s = time.time(), 0, None

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            elapsed = time.time() - self.start
            if self.first_step_s is None:
                self.first_step_s = elapsed
            if self.step % 200 == 0:
                print(f"{name} step {self.step} {elapsed:.0f} s loss {float(logs['loss']):.4f}", flush=True)
            if len(points) < len(marks) and (elapsed >= marks[len(points)] or self.step == steps):
                weights = {v.path: np.asarray(v.numpy(), np.float16) for v in self.model.weights}
                path = out / f"{name}-{len(points)}.npz"
                np.savez(path, **weights)
                points.append({"voice": packed.voice, "step": self.step, "wall_s": elapsed,
                               "first_step_s": self.first_step_s, "loss": float(logs["loss"]), "weights": path.name})
                if len(points) == len(marks):
                    self.model.stop_training = True

    model.fit(packed.batches(configs.train.batch_size, seed), epochs=1, steps_per_epoch=steps, callbacks=[AtMarks()],
              verbose=0)
    import jax

    (out / f"{name}.json").write_text(json.dumps({"device": str(jax.devices()[0].device_kind), "seed": seed,
                                                  "steps": steps, "points": points}, indent=1))


# --- record (here) --------------------------------------------------------------------------------------------------


def record(points_dir: pathlib.Path, work: pathlib.Path) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import keras
    import quality
    from machine import describe as describe_machine

    from tacotron.network.model_dir import CONFIG_FILE, write_model_assets
    from tacotron.training import train as training
    from tacotron.training.callbacks import Checkpointer, StepCounter

    runs = []
    for summary_path in sorted(points_dir.glob("*.json")):
        summary = json.loads(summary_path.read_text())
        measured = []
        for point in summary["points"]:
            voice = point["voice"]
            weights = np.load(points_dir / point["weights"])
            frontend = "phonemes"
            data_dir = quality.data_of(work, voice)
            from tacotron.dataset import inspect_data

            vocab_size = inspect_data(str(data_dir), frontend=frontend).vocab_size
            configs = configs_for(summary["steps"], vocab_size, frontend)
            model_dir = work / f"gpu-{CONFIG}-{voice.replace(':', '-')}-{point['step']}"
            model_dir.mkdir(parents=True, exist_ok=True)
            (model_dir / CONFIG_FILE).write_text(configs.to_gin())
            write_model_assets(str(data_dir), str(model_dir), frontend)
            schedule, _ = training.learning_rate(configs.train, summary["steps"])
            # Weights are matched by variable path, and Keras numbers the names of a second model's layers.
            keras.backend.clear_session()
            model = training.build_model(configs, vocab_size, schedule)
            for variable in model.weights:
                variable.assign(weights[variable.path].astype(variable.dtype))
            checkpointer = Checkpointer(str(model_dir), StepCounter(point["step"]), 1, 1)
            checkpointer.set_model(model)
            checkpointer.save()
            held_out = quality.held_out_set(work, 30, voice)
            out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "quality.py"), "--measure", str(model_dir),
                                  str(held_out)], cwd=REPO, capture_output=True, text=True,
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            if out.returncode != 0:
                sys.exit(f"measuring {model_dir} failed:\n{out.stderr[-3000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            measured.append(point | {"held_out": result})
            print(f"{voice} step {point['step']} ({point['wall_s']:.0f} s): identification "
                  f"{result['sentence_identification']:.2f}, pairs {result['minimal_pairs']['accuracy']:.2f} "
                  f"(margin {result['minimal_pairs']['median_margin']:.2f}), GV {result['gv_ratio']:.2f}", flush=True)
        runs.append({"device": summary["device"], "seed": summary["seed"], "steps": summary["steps"],
                     "points": measured})
    result = {"benchmark": "gpu_quality", "date": datetime.date.today().isoformat(), "config": CONFIG,
              "gin_params": list(GIN_PARAMS), "buckets": BUCKETS, "measured_on": describe_machine(), "runs": runs}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gpu_quality.json").write_text(json.dumps(result, indent=2) + "\n")
    with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
        f.write(table_row(result))


def table_row(result: dict) -> str:
    parts = []
    for run in result["runs"]:
        for p in run["points"]:
            h = p["held_out"]
            parts.append(
                f"{p['voice']} at {p['wall_s']:.0f} s (step {p['step']}, first step {p['first_step_s']:.0f} s): "
                f"identification {h['identification']['correct']}/{h['identification']['utterances']}, minimal pairs "
                f"{h['minimal_pairs']['accuracy']:.0%} (margin {h['minimal_pairs']['median_margin']:.2f}), GV "
                f"{h['gv_ratio']:.2f}, MCD-DTW {h['mcd_dtw_db']:.2f} dB, length {h['length_ratio']:.2f}, failures "
                f"{h['failure_rate']:.0%}")
    device = result["runs"][0]["device"] if result["runs"] else "?"
    text = (f"{result['config']} phonemes, batch 32 fp32 Adam, JAX on one {device}, one run at a time, wall time from "
            f"the start of fit (compilation of {result['buckets']} shapes included); 30 held-out sentences of unseen "
            f"words measured here: " + "; ".join(parts))
    return (f"| {result['date']} | gpu_quality | {result['measured_on']} (measurement), {device} (training) | "
            f"{text} | `python benchmarks/gpu_quality.py pack/train/record` (see its docstring) |\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--voice", default="en-us")
    p.add_argument("--out", required=True)
    p.add_argument("--work", default=str(REPO / "out" / "quality"))
    t = sub.add_parser("train")
    t.add_argument("--pack", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--marks", nargs="+", type=float, default=[100, 200], help="wall seconds at which to save")
    t.add_argument("--steps", type=int, default=4000, help="the schedule's length (and the most steps run)")
    t.add_argument("--seed", type=int, default=1)
    r = sub.add_parser("record")
    r.add_argument("--points", required=True)
    r.add_argument("--work", default=str(REPO / "out" / "quality"))
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.voice, pathlib.Path(args.out), pathlib.Path(args.work))
    elif args.command == "train":
        pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
        train(args.pack, pathlib.Path(args.out), sorted(args.marks), args.steps, args.seed)
    else:
        record(pathlib.Path(args.points), pathlib.Path(args.work))


if __name__ == "__main__":
    main()
