"""Training callbacks: checkpoints (periodic, on SIGTERM, keep K), non-finite guard, metrics log, alignment samples."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import time
from collections.abc import Callable

import keras
import numpy as np

from tacotron import audio, storage
from tacotron.audio import vocoder
from tacotron.network.keras_private import weights_file_bytes
from tacotron.network.model_dir import CHECKPOINT_DIR, checkpoint_name, list_checkpoints, marker_of
from tacotron.storage import training_log
from tacotron.training.tensorboard import to_image


class TrainingError(Exception):
    """Training cannot go on (repeated non-finite loss); the last good checkpoint is left as it was."""


class _ReadsSteps:
    """A callback that reads the run's StepCounter (`self.steps`)."""

    @property
    def step(self) -> int:
        return self.steps.step


class StepCounter(keras.callbacks.Callback):
    """The global step (weight updates, a resumed run's earlier ones included), counted once for all the callbacks
    of a run. It must come first in the callback list, so that the others read the step that has just ended."""

    def __init__(self, start_step: int):
        super().__init__()
        self.start_step = start_step
        self.step = start_step

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1


# --- checkpoints ---------------------------------------------------------------------------------------------------


class Checkpointer(_ReadsSteps, keras.callbacks.Callback):
    """Saves model + optimizer + step every `every` steps, when SIGTERM arrives (Kubernetes preemption) and at the end.

    The weights file is built in memory (an HDF5 file never meets a disk that could fill: keras_private), written to
    a scratch file and published in one step (tacotron.storage), then the .json marker is written: a crash, a full
    disk or a lost store at any point leaves the previous checkpoints loadable. Only the
    newest `keep` are kept. With a `lease`, nothing is saved once another trainer has taken the model_dir over.

    In a JAX cluster every process runs one (`writes` in process 0 alone), and `agree` turns this process's SIGTERM
    flag into the cluster's (any process's) after every step: all stop after the same step, the one process 0 saves.
    """

    def __init__(self, model_dir: str, steps: StepCounter, every: int, keep: int, extra_meta: dict | None = None,
                 lease=None, writes: bool = True, agree: Callable[[bool], bool] | None = None):
        super().__init__()
        self.writes = writes
        self.agree = agree
        self.folder = storage.join(model_dir, CHECKPOINT_DIR)
        self.model_dir = model_dir
        self.steps = steps
        self.every = every
        self.keep = max(keep, 1)
        self.extra_meta = extra_meta or {}
        self.lease = lease
        self.preempted = False
        self.bad_streak = 0  # set by NonFiniteGuard; no periodic save while steps are failing
        self.last_saved = steps.step
        self._previous_handler = None

    def on_train_begin(self, logs=None):
        if self.writes:
            storage.makedirs(self.folder)
        self._previous_handler = signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum, frame):
        # Only a flag: saving inside a signal handler could interrupt a train step half-way.
        self.preempted = True

    def on_train_batch_end(self, batch, logs=None):
        if self.agree is not None:
            self.preempted = self.agree(self.preempted)
        if self.preempted:
            self.save()
            self.model.stop_training = True
        elif self.step % self.every == 0 and self.bad_streak == 0:
            self.save()

    def on_train_end(self, logs=None):
        signal.signal(signal.SIGTERM, self._previous_handler or signal.SIG_DFL)
        if self.step != self.last_saved and self.bad_streak == 0:
            self.save()

    def save(self) -> str | None:
        if not self.writes:
            return None
        if self.lease is not None and self.lease.lost:
            raise TrainingError(f"not saving step {self.step}: {self.lease.lost}")
        weights = storage.join(self.folder, checkpoint_name(self.step))
        storage.write_bytes(weights, weights_file_bytes(self.model))
        meta = {"step": self.step, "time": time.time(), "preempted": self.preempted, **self.extra_meta}
        try:
            storage.write_text(marker_of(weights), json.dumps(meta))
        except storage.StorageError:
            # Weights without their marker are never loaded: give their room back to the disk that just filled.
            with contextlib.suppress(storage.StorageError):
                storage.remove(weights)
            raise
        self.last_saved = self.step
        for _, old in list_checkpoints(self.model_dir)[: -self.keep]:
            storage.remove(marker_of(old))
            storage.remove(old)
        return weights


# --- gradient accumulation ------------------------------------------------------------------------------------------


class EveryUpdate(keras.callbacks.Callback):
    """Runs `callbacks` once per weight update when the optimizer accumulates `steps` micro-batches per update.

    Keras calls batch hooks per micro-batch; the callbacks here count steps, save checkpoints and log per call, so
    they see only the first micro-batch's begin and the last one's end of each update: their steps are updates.
    """

    def __init__(self, callbacks: list[keras.callbacks.Callback], steps: int):
        super().__init__()
        self.callbacks = list(callbacks)
        self.steps = steps

    def set_model(self, model):
        super().set_model(model)
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    def on_train_begin(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_train_batch_begin(self, batch, logs=None):
        if batch % self.steps == 0:
            for callback in self.callbacks:
                callback.on_train_batch_begin(batch // self.steps, logs)

    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % self.steps == 0:
            for callback in self.callbacks:
                callback.on_train_batch_end(batch // self.steps, logs)


# --- non-finite guard ----------------------------------------------------------------------------------------------


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training after `max_bad_steps` consecutive steps with a non-finite loss.

    The optimizer already refuses to apply such steps (tacotron.training.optimizers); this decides when to give up.
    Reads the `bad_steps` metric, a count since the last metrics reset.
    """

    def __init__(self, max_bad_steps: int, checkpointer: Checkpointer):
        super().__init__()
        self.max_bad_steps = max_bad_steps
        self.checkpointer = checkpointer
        self.streak = 0
        self.previous = 0.0
        self.failed_at: int | None = None

    def on_train_batch_end(self, batch, logs=None):
        count = float(logs["bad_steps"])
        bad = count > self.previous if count >= self.previous else count > 0
        self.previous = count
        self.streak = self.streak + 1 if bad else 0
        self.checkpointer.bad_streak = self.streak
        if self.streak >= self.max_bad_steps:
            self.failed_at = self.checkpointer.step
            self.model.stop_training = True

    def metrics_were_reset(self):
        self.previous = 0.0


# --- metrics log ---------------------------------------------------------------------------------------------------


class MetricsLogger(_ReadsSteps, keras.callbacks.Callback):
    """Every `every` steps: one console line, one training-log row, TensorBoard scalars; then resets the running means.

    Also records the first step at which the alignment score crosses `alignment_threshold` (time to alignment).
    Throughput and the ETA count training steps only: the in-training evaluation and the samples report their time
    (`side_work`). The ETA is the latest interval's time per step (the first intervals also compile each new padded
    shape, which later steps never pay again) plus the latest side work's cost spread over the steps since the one
    before it (a step's share of the next evaluation).
    """

    def __init__(
        self,
        model_dir: str | None,
        steps: StepCounter,
        total_steps: int,
        every: int,
        global_batch: int,
        alignment_threshold: float,
        guard: NonFiniteGuard | None = None,
        writer=None,
    ):
        super().__init__()
        self.log = training_log.Writer(model_dir)
        self.steps = steps
        self.start_step = steps.start_step
        self.total_steps = total_steps
        self.every = every
        self.global_batch = global_batch
        self.threshold = alignment_threshold
        self.guard = guard
        self.writer = writer
        aligned = training_log.read(model_dir).first(training_log.ALIGNED) if model_dir is not None else None
        self.aligned_at = aligned and int(aligned["step"])
        self.examples = 0
        self.side_seconds = 0.0  # this interval's evaluation and sample time
        self.side_per_step = 0.0
        self.side_at = self.side_from = steps.start_step  # the steps of the latest side work and the one before

    def side_work(self, seconds: float) -> None:
        """Time spent in this step outside training (evaluation, samples): kept out of throughput and step time."""
        self.side_seconds += seconds
        if self.step > self.side_at:
            self.side_from, self.side_at, self.side_per_step = self.side_at, self.step, 0.0
        # Samples and an evaluation at the same step add up.
        self.side_per_step += seconds / max(self.side_at - self.side_from, 1)

    def on_train_begin(self, logs=None):
        self.begin = self.interval_start = time.time()

    def on_train_batch_begin(self, batch, logs=None):
        if self.step == self.start_step:
            # The first step traces/compiles; keep it out of throughput.
            self.interval_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.step == self.start_step + 1:
            self.compile_seconds = time.time() - self.begin
            self.log.first_step(self.step, self.compile_seconds)
            self.interval_start = time.time()
            self._reset()
            return
        self.examples += self.global_batch
        if self.step % self.every and self.step != self.total_steps:
            return
        now = time.time()
        seconds = max(now - self.interval_start - self.side_seconds, 1e-9)
        row = {"step": self.step}
        row.update({k: _finite_or_none(v) for k, v in logs.items()})
        model = self.model
        row["learning_rate"] = float(model.optimizer.learning_rate)
        row["examples_per_sec"] = round(self.examples / seconds, 2)
        per_step = seconds / max(self.examples / self.global_batch, 1) + self.side_per_step
        remaining = (self.total_steps - self.step) * per_step
        row["eta_s"] = round(remaining, 1)
        row["elapsed_s"] = round(now - self.begin, 1)
        self.log.training(row)
        print(
            f"step {self.step}/{self.total_steps}  loss {_fmt(row.get('loss'))}  mel {_fmt(row.get('mel_loss'))}"
            f"  linear {_fmt(row.get('linear_loss'))}  stop {_fmt(row.get('stop_loss'))}"
            f"  align {_fmt(row.get('alignment_score'))}  lr {row['learning_rate']:.2e}"
            f"  {row['examples_per_sec']:.1f} ex/s  eta {_duration(remaining)}",
            flush=True,
        )
        if self.writer is not None:
            self.writer.scalars(self.step, {k: v for k, v in row.items() if isinstance(v, float)})
        score = row.get("alignment_score")
        if self.aligned_at is None and score is not None and score >= self.threshold:
            self.aligned_at = self.step
            self.log.aligned(self.step, score, self.threshold, row["elapsed_s"])
            print(f"attention aligned at step {self.step} (score {score:.3f} >= {self.threshold})", flush=True)
        self.interval_start = now
        self._reset()

    def on_train_end(self, logs=None):
        # A fingerprint of the trained weights: workers trained in sync iff their fingerprints agree. (Batch-norm
        # moving statistics are left out: each replica keeps its own.)
        weights = [keras.ops.convert_to_numpy(w).astype(np.float64) for w in self.model.trainable_weights]
        checksum = float(sum(np.sum(np.abs(w)) for w in weights))
        self.log.end(self.step, checksum)

    def _reset(self):
        self.examples = 0
        self.side_seconds = 0.0
        self.model.reset_metrics()
        if self.guard is not None:
            self.guard.metrics_were_reset()

def _finite_or_none(value) -> float | None:
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def _fmt(value) -> str:
    return "nan" if value is None else f"{value:.4f}"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


# --- free-running quality during training ----------------------------------------------------------------------------


class QualityEvaluator(_ReadsSteps, keras.callbacks.Callback):
    """Every `every` steps: free-running synthesis of a fixed eval batch, measured as tacotron-evaluate measures it
    (sentence identification, GV ratio, length ratio, failures), as a quality row in the training log.

    Loss and alignment cannot tell whether the model speaks; this shows when it starts to, at a few seconds a time.
    """

    def __init__(self, synthesizer, batch: dict, count: int, logger: MetricsLogger, steps: StepCounter, every: int):
        super().__init__()
        self.synthesizer = synthesizer
        self.batch = batch
        self.count = count
        self.logger = logger
        self.steps = steps
        self.every = every

    def on_train_batch_end(self, batch, logs=None):
        from tacotron.quality import listening

        if self.step % self.every:
            return
        self.model  # noqa: B018  (on JAX, reading the property syncs the trained weights into the variables)
        print(f"step {self.step}: evaluating {self.count} eval sentences free-running...", flush=True)
        start = time.time()
        free_running, identification = listening.summarize(listening.listen(self.synthesizer, self.batch, self.count))
        seconds = time.time() - start
        self.logger.side_work(seconds)
        self.logger.log.quality(self.step, free_running, seconds)
        if self.logger.writer is not None:
            self.logger.writer.scalars(self.step, {f"quality/{k}": v for k, v in free_running.items() if v is not None})
        heard = identification.get("correct", "n/a")
        print(f"step {self.step}: {heard}/{self.count} eval sentences recognizable, length ratio "
              f"{free_running['length_ratio']:.2f}, GV ratio {free_running['gv_ratio']:.2f}", flush=True)


# --- alignment images and audio ------------------------------------------------------------------------------------


class SampleWriter(_ReadsSteps, keras.callbacks.Callback):
    """Every `every` steps: alignment and spectrogram images of a fixed batch to TensorBoard; every `audio_every`
    steps also a Griffin-Lim waveform of the predicted linear spectrogram."""

    def __init__(
        self,
        batch: dict,
        writer,
        steps: StepCounter,
        every: int,
        audio_every: int,
        linear_mean: np.ndarray,
        linear_std: np.ndarray,
        audio_config: audio.AudioConfig,
        logger: MetricsLogger | None = None,
    ):
        super().__init__()
        self.logger = logger
        self.batch = batch
        self.writer = writer
        self.steps = steps
        self.every = every
        self.audio_every = audio_every
        self.linear_mean = linear_mean
        self.linear_std = linear_std
        self.audio_config = audio_config

    def on_train_batch_end(self, batch, logs=None):
        if self.step % self.every:
            return
        start = time.time()
        self._write_samples()
        if self.logger is not None:
            self.logger.side_work(time.time() - start)

    def _write_samples(self):
        # Every process of a JAX cluster computes the samples (the model runs as one program over all their devices);
        # the one with a writer writes them.
        out = self.model(self.batch, training=False)
        alignments = np.asarray(keras.ops.convert_to_numpy(out["alignments"][0]))  # [T_dec, T_in]
        mel = np.asarray(keras.ops.convert_to_numpy(out["mel"][0]))  # [T_out, num_mels]
        target = np.asarray(keras.ops.convert_to_numpy(self.batch["mel"][0]))
        wav = None
        if self.audio_every and self.step % self.audio_every == 0:
            wav, length = vocoder.waveforms(out["linear"][:1], self.batch["n_frames"][:1], self.linear_mean,
                                            self.linear_std, self.audio_config)
            wav = np.asarray(keras.ops.convert_to_numpy(wav[0]))[: int(keras.ops.convert_to_numpy(length[0]))]
        if self.writer is None:
            return
        self.writer.image(self.step, "alignment", to_image(alignments.T))
        self.writer.image(self.step, "mel_predicted_vs_target", to_image(np.concatenate([mel, target], axis=1).T))
        if wav is not None:
            self.writer.audio(self.step, "griffin_lim", wav, self.audio_config.sample_rate)
