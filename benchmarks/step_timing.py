"""Training-step timing for the throughput benchmarks: clock figures, and our model trained as the trainer does.

`measure_ours` needs TensorFlow only on the TensorFlow backend: on JAX it feeds `fit` from a Python generator, so it
also runs where TensorFlow is not installed (the GPU machine, benchmarks/gpu_throughput.py).
"""

from __future__ import annotations

import dataclasses
import pathlib
import statistics
import time
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Shapes:
    """One synthetic batch's sizes: every utterance `frames` mel frames and `text_chars` characters, so no padding."""

    frames: int
    text_chars: int
    vocab_size: int
    num_mels: int = 80
    num_freq: int = 257
    reduction_factor: int | None = 2  # None: whatever the config has (frames must be a multiple of it)


def timing(step_ends: list[tuple[float, float]], start: tuple[float, float], warmup: int, batch_size: int,
           frames: int) -> dict:
    """Figures from the (wall, process CPU) clocks at the end of every step (warm-up steps first) and at the start.

    CPU seconds per wall second over the timed steps show contention: well under the thread count means the process
    waited for cores; CPU time far above the work's own (compare a quiet run) means threads spun waiting for each other.
    """
    cpu_timed = step_ends[-1][1] - (step_ends[warmup - 1][1] if warmup else start[1])
    ends = [start[0], *(wall for wall, _ in step_ends)]
    durations = [b - a for a, b in zip(ends, ends[1:], strict=False)]
    timed = durations[warmup:]
    seconds = ends[-1] - ends[warmup]
    step_s = seconds / len(timed)
    return {
        "warmup_steps": warmup,
        "warmup_s": round(ends[warmup] - ends[0], 3),
        "first_step_s": round(durations[0], 3),
        "steps": len(timed),
        "seconds": round(seconds, 3),
        "step_s": step_s,
        "step_s_median": statistics.median(timed),
        "step_s_min": min(timed),
        "step_s_max": max(timed),
        "examples_per_s": batch_size / step_s,
        "mel_frames_per_s": batch_size * frames / step_s,
        "cpu_s_per_step": cpu_timed / len(timed),
        "cpu_per_wall": cpu_timed / seconds,
    }


def measure_ours(gin_file: str, gin_params: list[str], shapes: Shapes, batch_sizes: list[int], steps: int,
                 warmup_steps: int, on_row: Callable[[dict], None] | None = None) -> dict:
    """Our Tacotron's training steps on one synthetic batch per batch size, built and compiled as
    tacotron.training.train does.

    Returns {"system": backend, "versions": ..., "measurements": [one row per batch size]}; `on_row` sees each row as
    soon as it is measured (a long run keeps what it finished).
    """
    import keras
    import numpy as np

    import tacotron
    from tacotron import features
    from tacotron.config import parse_gin
    from tacotron.training import train

    backend = keras.backend.backend()
    configs = parse_gin([gin_file], gin_params)
    cfg = configs.train
    model_config = dataclasses.replace(configs.model, vocab_size=shapes.vocab_size)
    got = (model_config.reduction_factor, model_config.num_mels, model_config.num_freq)
    need = (shapes.reduction_factor or model_config.reduction_factor, shapes.num_mels, shapes.num_freq)
    if got != need or shapes.frames % model_config.reduction_factor:
        raise SystemExit(f"{gin_file}: r, mel bins, linear bins = {got}; the comparison needs {need} and "
                         f"{shapes.frames} frames a multiple of r")
    # Where the model came from: the checkout's model/ (possibly with uncommitted edits) unless PYTHONPATH says else.
    versions = {"keras": keras.__version__, "tacotron_from": str(pathlib.Path(tacotron.__file__).parent)}
    if backend == "jax":
        import jax

        versions.update(jax=jax.__version__, devices=[str(d.device_kind) for d in jax.devices()])
    else:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    out = {"system": backend, "versions": versions, "mixed_precision": cfg.mixed_precision,
           "optimizer": cfg.optimizer, "measurements": []}

    class StepClock(keras.callbacks.Callback):
        # Like the trainer's own callbacks (which read the loss every step), this makes fit run step by step:
        # Keras hands it Python floats, so each step has finished before its end is stamped.
        def __init__(self):
            super().__init__()
            self.ends: list[tuple[float, float]] = []

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append((time.perf_counter(), time.process_time()))

    for batch_size in batch_sizes:
        keras.utils.clear_session(free_memory=True)
        keras.utils.set_random_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        n, t, c = batch_size, shapes.frames, shapes.text_chars
        batch = {
            # Real symbols only: 1 .. vocab_size - 2 (0 is padding, vocab_size - 1 the OOV bucket).
            features.TEXT_IDS: rng.integers(1, shapes.vocab_size - 1, (n, c)).astype(np.int32),
            features.TEXT_LENGTH: np.full((n,), c, np.int32),
            features.MEL: rng.standard_normal((n, t, shapes.num_mels)).astype(np.float32),
            features.LINEAR: rng.standard_normal((n, t, shapes.num_freq)).astype(np.float32),
            features.N_FRAMES: np.full((n,), t, np.int32),
        }
        # Built by the trainer's own steps: learning rate, model, compile, optimizer state; then fit.
        run = dataclasses.replace(configs, model=model_config, train=dataclasses.replace(cfg, batch_size=batch_size))
        model = train.build_model(run, shapes.vocab_size, train.learning_rate(run.train, run.train.steps)[0])
        jit_compile = cfg.jit_compile and backend == "jax"
        params = int(sum(np.prod(v.shape) for v in model.trainable_variables))
        total = warmup_steps + steps
        if backend == "jax":
            data = ((batch,) for _ in range(total))
        else:
            import tensorflow as tf

            data = tf.data.Dataset.from_tensors(batch).repeat(total)
        clock = StepClock()
        start = (time.perf_counter(), time.process_time())
        history = model.fit(data, epochs=1, steps_per_epoch=total, callbacks=[clock], verbose=0,
                            shuffle=False)
        if len(clock.ends) != total:
            raise SystemExit(f"fit ran {len(clock.ends)} of {total} steps")
        row = timing(clock.ends, start, warmup_steps, batch_size, shapes.frames)
        row.update(system=backend, gin_file=gin_file, batch_size=batch_size, params=params, jit_compile=jit_compile,
                   optimizer=f"{cfg.optimizer} (clip_norm {cfg.clip_norm}, LossScaleOptimizer)",
                   mixed_precision=cfg.mixed_precision,
                   final_loss=float(history.history["loss"][-1]) if "loss" in history.history else None)
        out["measurements"].append(row)
        print(f"[{backend} {pathlib.Path(gin_file).stem}] batch {batch_size}: {params:,} params, "
              f"{row['step_s']:.3f} s/step, {row['mel_frames_per_s']:.0f} mel frames/s, CPU/wall "
              f"{row['cpu_per_wall']:.2f} (warm-up {row['warmup_s']:.1f} s)", flush=True)
        if on_row:
            on_row(out)
        del model
    return out
