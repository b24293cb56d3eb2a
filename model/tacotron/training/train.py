"""Training: Keras `fit` over the bucketed input pipeline, with a scaled learning rate, checkpoints and resume.

`train` is a short sequence of named steps; the steps that set up data, learning rate and model are public so
that benchmarks time exactly what training runs (`benchmarks/train_throughput.py`, `benchmarks/step_timing.py`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import TYPE_CHECKING

import numpy as np

from tacotron import storage
from tacotron.config import Configs, TrainConfig
from tacotron.network.distribute import Distribution, distribution_setup, micro_batch_size
from tacotron.network.model_dir import (
    CONFIG_FILE,
    LoadedModel,
    list_checkpoints,
    remove_scratch,
    restore_latest,
    write_model_assets,
)
from tacotron.storage import lease
from tacotron.training import warm_start
from tacotron.training.callbacks import (
    Checkpointer,
    EveryUpdate,
    MetricsLogger,
    NonFiniteGuard,
    QualityEvaluator,
    SampleWriter,
    StepCounter,
    TrainingError,
)
from tacotron.training.cluster import agree_on, any_process
from tacotron.training.lr_schedule import WarmupDecay, scaled_learning_rate
from tacotron.training.optimizers import OPTIMIZERS, make_optimizer
from tacotron.training.tensorboard import TensorBoardWriter

if TYPE_CHECKING:
    # Imported where data is read (it is TensorFlow's tf.data): benchmarks/gpu_throughput.py builds the model with
    # `learning_rate` and `build_model` on a machine that has JAX and no TensorFlow.
    from tacotron import dataset


class SetupError(Exception):
    """Settings, data or a model_dir that cannot be trained with; one line (a command's exit code 2)."""


class Preempted(Exception):
    """SIGTERM arrived; a checkpoint at the current step was written before stopping."""


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """The data folder as training sees it: what is in it, the padded shapes, and how much of them is padding."""

    info: dataset.DataInfo
    buckets: dataset.Buckets
    padding_fraction: float


def train(data_dir: str, model_dir: str, configs: Configs, steps: int | None = None,
          init_from: str | None = None) -> dict:
    """Train until global step `steps` (configs.train.steps when None), resuming from model_dir, or else starting
    from the weights of `init_from` (tacotron.training.warm_start). Either folder may be a URL (tacotron.storage); a
    URL data
    folder is downloaded first, since tf.data cannot read s3://. Returns a summary of the run."""
    from tacotron import dataset

    cfg = configs.train
    total_steps = check_settings(cfg, steps)
    # First: MultiWorkerMirroredStrategy must exist before any TensorFlow op runs.
    distribution = distribution_setup(cfg.batch_size, cfg.accumulation_steps)
    import keras

    # One seed for weight initialization and dropout, so that two runs with the same seed are the same run.
    keras.utils.set_random_seed(cfg.seed)
    with contextlib.ExitStack() as stack:
        try:
            storage.check_writable(model_dir)
            data_dir = stack.enter_context(dataset.local_data(data_dir))
        except (storage.StorageError, dataset.DataError) as e:
            raise SetupError(str(e)) from None
        # A resumed run never reads init_from (tacotron.training.warm_start).
        if init_from and not list_checkpoints(model_dir):
            init_from = stack.enter_context(warm_start.local_source(init_from))
        # The chief writes model_dir; the other workers of a multi-worker run only read it.
        held = stack.enter_context(lease.hold(model_dir, cfg.lease_ttl_s)) if distribution.is_chief else None
        if held is not None:
            remove_scratch(model_dir)
        return _train(data_dir, model_dir, configs, total_steps, init_from, distribution, held)


def _train(data_dir: str, model_dir: str, configs: Configs, total_steps: int, init_from: str | None,
           distribution: Distribution, held_lease: lease.Lease | None) -> dict:
    cfg = configs.train
    data = prepare_data(data_dir, configs)
    configs = dataclasses.replace(configs, model=dataclasses.replace(configs.model, vocab_size=data.info.vocab_size))
    schedule, peak_lr = learning_rate(cfg, total_steps)
    warm_source = warm_start.resolve(init_from, model_dir) if init_from else None
    _print_setup(configs, data, distribution, peak_lr)
    model = build_model(configs, data.info.vocab_size, schedule, distribution)
    with distribution.scope():
        start_step = restore_latest(model, model_dir)
        if distribution.processes > 1:
            agree_on(start_step, "the step to resume from")
        # Before model_dir is created: a model of another architecture is refused with nothing written.
        initialized_from = warm_start.initialize(model, warm_source, model_dir, data.info.vocabulary, start_step,
                                                 record=distribution.is_chief)
    if distribution.is_chief:
        write_run_files(data_dir, model_dir, configs)
    summary = {"start_step": start_step, "steps": total_steps, "padding_fraction": data.padding_fraction,
               "peak_learning_rate": peak_lr, "backend": _backend(), "replicas": distribution.replicas,
               "initialized_from": initialized_from and initialized_from["init_from"]}
    if start_step >= total_steps:
        print(f"{model_dir} is already at step {start_step} >= {total_steps}; nothing to do", flush=True)
        return summary | {"final_step": start_step}
    if start_step:
        print(f"resuming from step {start_step}", flush=True)
    callbacks = make_callbacks(model, data, model_dir, configs, start_step, total_steps, distribution, held_lease)
    k = cfg.accumulation_steps
    # Keras steps per micro-batch; the callbacks count updates.
    model.fit(training_stream(data, configs, start_step, distribution), epochs=1,
              steps_per_epoch=(total_steps - start_step) * k,
              callbacks=[EveryUpdate(callbacks.all, k)] if k > 1 else callbacks.all, verbose=0,
              shuffle=False)  # training_stream shuffles already
    callbacks.raise_if_stopped(model_dir, cfg)
    return summary | {"final_step": callbacks.logger.step}


def check_settings(cfg: TrainConfig, steps: int | None) -> int:
    """The step to train until; SetupError (DistributionError for a batch that cannot be split) for settings that
    cannot work, before anything is built."""
    total_steps = steps if steps is not None else cfg.steps
    if total_steps < 1:
        raise SetupError(f"--steps must be at least 1, got {total_steps}")
    micro_batch_size(cfg.batch_size, cfg.accumulation_steps)
    if not isinstance(cfg.mixed_precision, bool):
        # gin takes any value; a string such as "false" would otherwise switch bf16 on.
        raise SetupError(f"gin: TrainConfig.mixed_precision must be True or False, got {cfg.mixed_precision!r}")
    if cfg.optimizer not in OPTIMIZERS:
        raise SetupError(f"gin: unknown optimizer {cfg.optimizer!r}; choose one of {OPTIMIZERS}")
    return total_steps


def prepare_data(data_dir: str, configs: Configs) -> TrainingData:
    """Read the data folder's statistics and choose the padded shapes (buckets over both splits, so evaluation
    batches fit the same shapes)."""
    from tacotron import dataset

    cfg = configs.train
    try:
        info = dataset.inspect_data(data_dir, configs.audio, configs.model.frontend)
    except dataset.DataError as e:
        raise SetupError(str(e)) from None
    if len(info.n_frames["train"]) < cfg.batch_size:
        raise SetupError(
            f"the train split has {len(info.n_frames['train'])} utterances, fewer than one batch ({cfg.batch_size})"
        )
    buckets = dataset.make_buckets(np.concatenate(list(info.n_frames.values())),
                                   np.concatenate(list(info.text_lengths.values())),
                                   cfg.bucket_count, configs.model.reduction_factor)
    return TrainingData(info, buckets, dataset.padding_fraction(info.n_frames["train"], buckets))


def learning_rate(cfg: TrainConfig, total_steps: int) -> tuple[WarmupDecay, float]:
    """The schedule (warmup, then decay over the rest of the run) and its peak, scaled to the batch size."""
    try:
        peak = scaled_learning_rate(cfg.learning_rate, cfg.reference_batch_size, cfg.batch_size, cfg.lr_scaling)
        decay_steps = cfg.decay_steps or max(total_steps - cfg.warmup_steps, 1)
        return WarmupDecay(peak, cfg.warmup_steps, cfg.decay, decay_steps, cfg.min_learning_rate), peak
    except ValueError as e:
        raise SetupError(f"gin: {e}") from None


def build_model(configs: Configs, vocab_size: int, schedule: WarmupDecay,
                distribution: Distribution | None = None):
    """The Tacotron, every weight and the optimizer's state built, compiled for training."""
    import keras

    from tacotron.network.model import Tacotron

    cfg = configs.train
    if cfg.mixed_precision:
        keras.config.set_dtype_policy("mixed_bfloat16")
    distribution = distribution or Distribution(None, 1, 0)
    with distribution.scope():
        model = Tacotron(dataclasses.replace(configs.model, vocab_size=vocab_size), configs.loss)
        # Build every weight before loading or tracing; a two-step dummy batch makes this eager call cheap.
        model(model.dummy_inputs(), training=False)
        model.compile(
            optimizer=make_optimizer(cfg.optimizer, schedule, cfg.clip_norm, cfg.accumulation_steps,
                                     cfg.weight_decay or None),
            jit_compile=cfg.jit_compile and _backend() == "jax",
        )
        model.optimizer.build(model.trainable_variables)
    if distribution.replicas > 1 and _backend() == "tensorflow" and "TF_CONFIG" in os.environ:
        # Keras reduces logs across workers with strategy.reduce("MEAN", axis=0), which fails on scalars
        # (tensorflow/tensorflow#72388): hand it shape-[1] logs, which it reduces back to scalars.
        model.logs_as_vectors = True
    return model


def write_run_files(data_dir: str, model_dir: str, configs: Configs) -> None:
    """model_dir's config.gin and assets (evaluation, synthesis and export need the vocabulary and normalization
    without the data folder)."""
    storage.makedirs(model_dir)
    storage.write_text(storage.join(model_dir, CONFIG_FILE), configs.to_gin())
    write_model_assets(data_dir, model_dir, configs.model.frontend)


def training_stream(data: TrainingData, configs: Configs, start_step: int, distribution: Distribution):
    """Shuffled, bucketed micro-batches, endlessly; a different shuffle after a resume, so the run does not replay
    the batches it already trained on."""
    from tacotron import dataset

    cfg = configs.train
    stream = dataset.make_dataset(data.info, "train", micro_batch_size(cfg.batch_size, cfg.accumulation_steps),
                                  data.buckets, configs.audio, shuffle_buffer=cfg.shuffle_buffer,
                                  seed=_data_seed(cfg, start_step))
    if distribution.strategy is not None and distribution.replicas > 1:
        import tensorflow as tf

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        stream = stream.with_options(options)
    return stream


@dataclasses.dataclass
class TrainingCallbacks:
    """The callbacks of one run, and what they tell about how it ended."""

    all: list
    logger: MetricsLogger
    guard: NonFiniteGuard
    checkpointer: Checkpointer

    def raise_if_stopped(self, model_dir: str, cfg: TrainConfig) -> None:
        """TrainingError after a run of non-finite losses, Preempted after SIGTERM; nothing when fit finished."""
        if self.guard.failed_at is not None:
            last = max((s for s, _ in list_checkpoints(model_dir)), default=0)
            raise TrainingError(f"loss was not finite for {cfg.max_bad_steps} consecutive steps (up to step "
                                f"{self.guard.failed_at}); stopped. Last good checkpoint: step {last} in {model_dir}")
        if self.checkpointer.preempted:
            raise Preempted(f"SIGTERM: saved a checkpoint at step {self.checkpointer.step} in {model_dir}")


def make_callbacks(model, data: TrainingData, model_dir: str, configs: Configs, start_step: int, total_steps: int,
                   distribution: Distribution, held_lease: lease.Lease | None) -> TrainingCallbacks:
    """Checkpoints, the non-finite guard, metrics.jsonl and TensorBoard, samples and the free-running evaluation.
    Only the chief writes checkpoints, TensorBoard and model_dir/metrics.jsonl (shared storage, one writer). The
    other TensorFlow workers log to model_dir/worker-N; the other processes of a JAX cluster write nothing, and run
    the samples and the evaluation with the chief (the model runs as one program over all their devices)."""
    from tacotron import dataset

    cfg, audio_config = configs.train, configs.audio
    steps = StepCounter(start_step)
    jax_cluster = distribution.processes > 1
    checkpointer = Checkpointer(model_dir, steps, cfg.checkpoint_every, cfg.keep_checkpoints,
                                {"data_seed": _data_seed(cfg, start_step)}, held_lease, writes=distribution.is_chief,
                                agree=any_process if jax_cluster else None)
    guard = NonFiniteGuard(cfg.max_bad_steps, checkpointer)
    log_dir = model_dir if distribution.is_chief else None if jax_cluster else storage.join(
        model_dir, f"worker-{distribution.task_index}")
    if log_dir is not None:
        storage.makedirs(log_dir)
    writer = TensorBoardWriter(storage.join(model_dir, "tensorboard")) if distribution.is_chief else None
    logger = MetricsLogger(log_dir, steps, total_steps, cfg.log_every, cfg.batch_size, cfg.alignment_threshold,
                           guard, writer)
    callbacks = [steps, guard, logger]
    if distribution.is_chief or jax_cluster:
        callbacks.append(checkpointer)
        info = data.info
        split = "eval" if len(info.n_frames["eval"]) else "train"
        sample = next(iter(dataset.make_dataset(info, split, 1, data.buckets, audio_config, shuffle_buffer=0)))
        callbacks.append(SampleWriter(sample, writer, steps, cfg.image_every, cfg.audio_every, info.linear_mean,
                                      info.linear_std, audio_config, logger))
        if cfg.evaluate_every:
            callbacks.append(quality_evaluator(model, data, configs, logger, steps))
    return TrainingCallbacks(callbacks, logger, guard, checkpointer)


def quality_evaluator(model, data: TrainingData, configs: Configs, logger: MetricsLogger,
                      steps: StepCounter) -> QualityEvaluator:
    """The QualityEvaluator over the first `evaluate_utterances` eval utterances, as one padded batch."""
    from tacotron import dataset
    from tacotron.serving.inference import Synthesizer

    info, cfg = data.info, configs.train
    split = "eval" if len(info.n_frames["eval"]) else "train"
    count = min(cfg.evaluate_utterances, len(info.n_frames[split]))
    one_bucket = dataset.Buckets(data.buckets.frames[-1:], (max(data.buckets.text),))
    batch = next(iter(dataset.make_dataset(info, split, count, one_bucket, configs.audio, shuffle_buffer=0,
                                           repeat=False, drop_remainder=False)))
    batch = {k: batch[k].numpy() for k in dataset.MODEL_FEATURES}
    loaded = LoadedModel(model, steps.start_step, "", info.vocabulary, info.mel_mean, info.mel_std, info.linear_mean,
                         info.linear_std, configs)
    return QualityEvaluator(Synthesizer(loaded, configs.synthesis, configs.audio), batch, len(batch["n_frames"]),
                            logger, steps, cfg.evaluate_every)


def _print_setup(configs: Configs, data: TrainingData, distribution: Distribution, peak_lr: float) -> None:
    cfg = configs.train
    micro = micro_batch_size(cfg.batch_size, cfg.accumulation_steps)
    print(f"backend {_backend()}, {distribution.replicas} replica(s); batch {cfg.batch_size}"
          + (f" in {cfg.accumulation_steps} micro-batches of {micro}, " if cfg.accumulation_steps > 1 else ", ")
          + f"peak learning rate {peak_lr:.3g} ({cfg.lr_scaling} scaling from {cfg.learning_rate:g} at batch "
          f"{cfg.reference_batch_size}); buckets {list(data.buckets.frames)} frames, padding "
          f"{data.padding_fraction:.1%}", flush=True)


def _data_seed(cfg: TrainConfig, start_step: int) -> int:
    return cfg.seed * 1_000_003 + start_step


def _backend() -> str:
    import keras

    return keras.backend.backend()
