"""tacotron-train: Keras `fit` over the bucketed input pipeline, with scaled learning rate, checkpoints and resume."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from importlib import resources

import gin

# Keras reads the backend once, at import. JAX is the default because it measured faster for this model (see
# docs/BENCHMARKS.md, benchmarks/train_throughput.py); KERAS_BACKEND=tensorflow selects the other.
os.environ.setdefault("KERAS_BACKEND", "jax")

from tacotron.config import TrainConfig  # noqa: E402


class UsageError(Exception):
    """A bad flag, gin binding, or data folder; reported as one line, exit code 2."""


class Preempted(Exception):
    """SIGTERM arrived; a checkpoint at the current step was written before stopping."""


def find_gin_file(name: str) -> str:
    """A path, or the name of a config shipped in the package (tiny, tiny.gin, base_8khz, large_batch)."""
    if os.path.exists(name):
        return name
    shipped = resources.files("tacotron.configs")
    for candidate in (name, name + ".gin"):
        if shipped.joinpath(candidate).is_file():
            return str(shipped.joinpath(candidate))
    available = sorted(p.name for p in shipped.iterdir() if p.name.endswith(".gin"))
    raise UsageError(f"--gin_file {name!r}: no such file, and not a shipped config ({', '.join(available)})")


def parse_gin(files: list[str], params: list[str]) -> None:
    gin.clear_config()
    # Shipped configs `include` each other by bare name.
    gin.add_config_file_search_path(str(resources.files("tacotron.configs")))
    paths = [find_gin_file(f) for f in files]
    try:
        gin.parse_config_files_and_bindings(paths, params, finalize_config=False)
    except (ValueError, KeyError, SyntaxError) as e:
        # gin appends the file/line context on later lines; the first line names the binding.
        raise UsageError(f"gin: {str(e).strip().splitlines()[0]}") from None


def micro_batch_size(batch_size: int, accumulation_steps: int) -> int:
    """Examples per micro-batch: `batch_size` (per update) split into `accumulation_steps`; UsageError if it cannot."""
    if accumulation_steps < 1:
        raise UsageError(f"gin: TrainConfig.accumulation_steps must be at least 1, got {accumulation_steps}")
    if batch_size % accumulation_steps:
        raise UsageError(f"batch size {batch_size} does not split into {accumulation_steps} accumulation steps")
    return batch_size // accumulation_steps


def distribution_setup(global_batch: int, accumulation_steps: int = 1):
    """(strategy or None, replica count, task index) for this process; UsageError if a micro-batch (the batch per
    update split into `accumulation_steps`) cannot be split across the replicas."""
    import keras

    strategy, replicas, task_index = None, 1, 0
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if "TF_CONFIG" in os.environ:
            # Set by the Kubeflow Training Operator (TFJob) or by hand: one process per worker.
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
            task = json.loads(os.environ["TF_CONFIG"]).get("task", {})
            # Without a "chief" task, worker 0 is the chief (the TF_CONFIG convention).
            task_index = task.get("index", 0) + (1 if task.get("type") == "worker" and _has_chief() else 0)
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            strategy = tf.distribute.MirroredStrategy()
        elif not tf.config.list_logical_devices("GPU") and len(tf.config.list_logical_devices("CPU")) > 1:
            # Several logical CPU devices exist only when configured on purpose (tf.config.
            # set_logical_device_configuration, before TensorFlow starts): replicate over them as over GPUs.
            strategy = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
        else:
            strategy = tf.distribute.get_strategy()
        if accumulation_steps > 1 and strategy.num_replicas_in_sync > 1:
            # Keras applies the accumulated update inside a cond, where neither MirroredStrategy nor
            # MultiWorkerMirroredStrategy can synchronize the replicas (both fail in Cond.call).
            raise UsageError("gradient accumulation does not work with several TensorFlow replicas (devices or "
                             "workers): use KERAS_BACKEND=jax or TrainConfig.accumulation_steps = 1")
        replicas = strategy.num_replicas_in_sync
    elif keras.backend.backend() == "jax":
        import jax

        if jax.device_count() > 1:
            keras.distribution.set_distribution(keras.distribution.DataParallel())
        replicas = jax.device_count()
        task_index = jax.process_index()
    micro_batch = global_batch // accumulation_steps
    if micro_batch % replicas:
        what = f"batch size {global_batch}"
        if accumulation_steps > 1:
            what = f"micro-batch {micro_batch} (batch size {global_batch} / {accumulation_steps} accumulation steps)"
        raise UsageError(f"{what} does not divide across {replicas} replicas")
    return strategy, replicas, task_index


def _has_chief() -> bool:
    return "chief" in json.loads(os.environ["TF_CONFIG"]).get("cluster", {})


def train(data_dir: str, model_dir: str, steps: int | None = None, init_from: str | None = None) -> dict:
    """Train until global step `steps` (TrainConfig.steps when None), resuming from model_dir, or else starting from
    the weights of `init_from` (tacotron.warm_start). Gin must be parsed. Either folder may be a URL
    (tacotron.storage); a URL data folder is downloaded first, since tf.data cannot read s3://."""
    from tacotron import dataset, lease, storage, warm_start
    from tacotron.model_dir import list_checkpoints

    cfg = TrainConfig()
    micro_batch_size(cfg.batch_size, cfg.accumulation_steps)
    # First: MultiWorkerMirroredStrategy must exist before any TensorFlow op runs.
    distribution = distribution_setup(cfg.batch_size, cfg.accumulation_steps)
    with contextlib.ExitStack() as stack:
        try:
            storage.check_writable(model_dir)
            local_data = stack.enter_context(dataset.local_data(data_dir))
        except (storage.StorageError, dataset.DataError) as e:
            raise UsageError(str(e)) from None
        if init_from and not list_checkpoints(model_dir):  # a resumed run never reads init_from (tacotron.warm_start)
            init_from = stack.enter_context(warm_start.local_source(init_from))
        # The chief writes model_dir; the other workers of a multi-worker run only read it.
        held = stack.enter_context(lease.hold(model_dir, cfg.lease_ttl_s)) if distribution[2] == 0 else None
        return _train(local_data, model_dir, steps, init_from, distribution, held)


def _train(data_dir: str, model_dir: str, steps: int | None, init_from: str | None, distribution, held_lease) -> dict:
    import keras
    import numpy as np

    from tacotron import dataset, storage
    from tacotron.audio import AudioConfig
    from tacotron.callbacks import (
        Checkpointer,
        EveryUpdate,
        MetricsLogger,
        NonFiniteGuard,
        SampleWriter,
        TensorBoardWriter,
        TrainingError,
    )
    from tacotron.config import LossConfig, TacotronConfig
    from tacotron.lr_schedule import WarmupDecay, scaled_learning_rate
    from tacotron.model import Tacotron
    from tacotron.model_dir import list_checkpoints, restore_latest, write_model_assets
    from tacotron.optimizers import OPTIMIZERS, make_optimizer
    from tacotron.warm_start import initialize, resolve

    cfg = TrainConfig()
    total_steps = steps if steps is not None else cfg.steps
    if total_steps < 1:
        raise UsageError(f"--steps must be at least 1, got {total_steps}")
    micro_batch = micro_batch_size(cfg.batch_size, cfg.accumulation_steps)
    if not isinstance(cfg.mixed_precision, bool):
        # gin takes any value; a string such as "false" would otherwise switch bf16 on.
        raise UsageError(f"gin: TrainConfig.mixed_precision must be True or False, got {cfg.mixed_precision!r}")
    strategy, replicas, task_index = distribution
    is_chief = task_index == 0
    audio_config = AudioConfig()
    try:
        info = dataset.inspect_data(data_dir, audio_config)
    except dataset.DataError as e:
        raise UsageError(str(e)) from None
    model_config = dataclasses.replace(TacotronConfig(), vocab_size=info.vocab_size)
    loss_config = LossConfig()
    if cfg.mixed_precision:
        keras.config.set_dtype_policy("mixed_bfloat16")

    r = model_config.reduction_factor
    # Buckets cover both splits, so evaluation batches fit the same shapes.
    buckets = dataset.make_buckets(
        np.concatenate(list(info.n_frames.values())),
        np.concatenate(list(info.text_lengths.values())),
        cfg.bucket_count,
        r,
    )
    padding = dataset.padding_fraction(info.n_frames["train"], buckets)
    if len(info.n_frames["train"]) < cfg.batch_size:
        raise UsageError(
            f"the train split has {len(info.n_frames['train'])} utterances, fewer than one batch ({cfg.batch_size})"
        )

    try:
        peak_lr = scaled_learning_rate(
            cfg.learning_rate, cfg.reference_batch_size, cfg.batch_size, cfg.lr_scaling
        )
        schedule = WarmupDecay(
            peak_lr,
            cfg.warmup_steps,
            cfg.decay,
            cfg.decay_steps or max(total_steps - cfg.warmup_steps, 1),
            cfg.min_learning_rate,
        )
    except ValueError as e:
        raise UsageError(f"gin: {e}") from None
    if cfg.optimizer not in OPTIMIZERS:
        raise UsageError(f"gin: unknown optimizer {cfg.optimizer!r}; choose one of {OPTIMIZERS}")
    warm_source = resolve(init_from, model_dir) if init_from else None
    print(
        f"backend {keras.backend.backend()}, {replicas} replica(s); batch {cfg.batch_size}"
        + (f" in {cfg.accumulation_steps} micro-batches of {micro_batch}, " if cfg.accumulation_steps > 1 else ", ")
        + f"peak learning rate {peak_lr:.3g} ({cfg.lr_scaling} scaling from {cfg.learning_rate:g} at batch "
        f"{cfg.reference_batch_size}); buckets {list(buckets.frames)} frames, padding {padding:.1%}",
        flush=True,
    )

    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = Tacotron(model_config, loss_config)
        # Build every weight before loading or tracing; a two-step dummy batch makes this eager call cheap.
        model(model.dummy_inputs(), training=False)
        model.compile(
            optimizer=make_optimizer(
                cfg.optimizer, schedule, cfg.clip_norm, cfg.accumulation_steps, cfg.weight_decay or None
            ),
            jit_compile=cfg.jit_compile and keras.backend.backend() == "jax",
        )
        model.optimizer.build(model.trainable_variables)
        if "TF_CONFIG" in os.environ and keras.backend.backend() == "tensorflow":
            # Keras reduces logs across workers with strategy.reduce("MEAN", axis=0), which fails on scalars
            # (tensorflow/tensorflow#72388): hand it shape-[1] logs, which it reduces back to scalars.
            model.logs_as_vectors = True
        start_step = restore_latest(model, model_dir)
        # Before model_dir is created: a model of another architecture is refused with nothing written.
        initialized_from = initialize(model, warm_source, model_dir, info.vocabulary, start_step)
    storage.makedirs(model_dir)
    if keras.backend.backend() == "jax" and not storage.is_url(model_dir):
        import jax

        # XLA compiles each padded shape for tens of seconds; keeping the programs beside the checkpoints lets a
        # resumed (preempted, retried) run start training at once. A cache the user chose (JAX_COMPILATION_CACHE_DIR,
        # shared by every run and command on the machine) is kept: JAX opened it at the eager model build already.
        if not jax.config.jax_compilation_cache_dir:
            jax.config.update("jax_compilation_cache_dir", os.path.join(model_dir, "xla_cache"))
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    storage.write_text(storage.join(model_dir, "config.gin"), gin.config_str())
    # The vocabulary and normalization travel with the checkpoints: evaluation, synthesis and export need them.
    write_model_assets(data_dir, model_dir)
    summary = {
        "start_step": start_step,
        "steps": total_steps,
        "padding_fraction": padding,
        "peak_learning_rate": peak_lr,
        "backend": keras.backend.backend(),
        "replicas": replicas,
        "initialized_from": initialized_from and initialized_from["init_from"],
    }
    if start_step >= total_steps:
        print(f"{model_dir} is already at step {start_step} >= {total_steps}; nothing to do", flush=True)
        return summary | {"final_step": start_step}
    if start_step:
        print(f"resuming from step {start_step}", flush=True)

    # A different shuffle seed after a resume, so the run does not replay the batches it already trained on.
    train_data = dataset.make_dataset(
        info,
        "train",
        micro_batch,
        buckets,
        audio_config,
        shuffle_buffer=cfg.shuffle_buffer,
        seed=cfg.seed * 1_000_003 + start_step,
    )
    if strategy is not None and replicas > 1:
        import tensorflow as tf

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train_data = train_data.with_options(options)

    checkpointer = Checkpointer(
        model_dir,
        start_step,
        cfg.checkpoint_every,
        cfg.keep_checkpoints,
        {"data_seed": cfg.seed * 1_000_003 + start_step},
        held_lease,
    )
    guard = NonFiniteGuard(cfg.max_bad_steps, checkpointer)
    # Only the chief writes checkpoints, TensorBoard and model_dir/metrics.jsonl (shared storage, one writer);
    # other workers log to model_dir/worker-N.
    log_dir = model_dir if is_chief else storage.join(model_dir, f"worker-{task_index}")
    storage.makedirs(log_dir)
    writer = TensorBoardWriter(storage.join(model_dir, "tensorboard")) if is_chief else None
    logger = MetricsLogger(
        log_dir, start_step, total_steps, cfg.log_every, cfg.batch_size, cfg.alignment_threshold, guard, writer
    )
    callbacks = [guard, logger]
    if is_chief:
        split = "eval" if len(info.n_frames["eval"]) else "train"
        sample = next(iter(dataset.make_dataset(info, split, 1, buckets, audio_config, shuffle_buffer=0)))
        samples = SampleWriter(
            sample,
            writer,
            start_step,
            cfg.image_every,
            cfg.audio_every,
            info.linear_mean,
            info.linear_std,
            audio_config,
        )
        callbacks += [checkpointer, samples]
        if cfg.evaluate_every:
            callbacks.append(quality_evaluator(model, info, buckets, audio_config, logger, start_step, cfg))
    k = cfg.accumulation_steps
    # Keras steps per micro-batch; the callbacks count updates.
    callbacks = [EveryUpdate(callbacks, k)] if k > 1 else callbacks
    model.fit(train_data, epochs=1, steps_per_epoch=(total_steps - start_step) * k, callbacks=callbacks, verbose=0)
    if is_chief:
        storage.write_text(storage.join(model_dir, "operative_config.gin"), gin.operative_config_str())
    if guard.failed_at is not None:
        last = max((s for s, _ in list_checkpoints(model_dir)), default=0)
        raise TrainingError(
            f"loss was not finite for {cfg.max_bad_steps} consecutive steps (up to step "
            f"{guard.failed_at}); stopped. Last good checkpoint: step {last} in {model_dir}"
        )
    if checkpointer.preempted:
        raise Preempted(f"SIGTERM: saved a checkpoint at step {checkpointer.step} in {model_dir}")
    return summary | {"final_step": logger.step}


def quality_evaluator(model, info, buckets, audio_config, logger, start_step: int, cfg: TrainConfig):
    """The QualityEvaluator over the first `cfg.evaluate_utterances` eval utterances, as one padded batch."""
    from tacotron import dataset
    from tacotron.callbacks import QualityEvaluator
    from tacotron.inference import Synthesizer
    from tacotron.model_dir import LoadedModel

    split = "eval" if len(info.n_frames["eval"]) else "train"
    count = min(cfg.evaluate_utterances, len(info.n_frames[split]))
    one_bucket = dataset.Buckets(buckets.frames[-1:], (max(buckets.text),))
    batch = next(iter(dataset.make_dataset(info, split, count, one_bucket, audio_config, shuffle_buffer=0,
                                           repeat=False, drop_remainder=False)))
    batch = {k: batch[k].numpy() for k in dataset.MODEL_FEATURES}
    loaded = LoadedModel(model, start_step, "", info.vocabulary, info.mel_mean, info.mel_std, info.linear_mean,
                         info.linear_std)
    return QualityEvaluator(Synthesizer(loaded, audio_config=audio_config), batch, len(batch["n_frames"]), logger,
                            start_step, cfg.evaluate_every)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tacotron-train", description=__doc__)
    parser.add_argument("--data", required=True, help="output folder of python -m pipelines.preprocess")
    parser.add_argument("--model_dir", required=True, help="checkpoints, metrics.jsonl, TensorBoard logs; resumed from")
    parser.add_argument("--gin_file", action="append", default=[], help="a .gin path or a shipped config name")
    parser.add_argument("--gin_param", action="append", default=[], help="a binding, e.g. 'TrainConfig.batch_size=64'")
    parser.add_argument("--steps", type=int, default=None, help="train until this global step (default: the config's)")
    parser.add_argument(
        "--init_from",
        default=None,
        help="warm start: a trained model_dir (its newest checkpoint) or one .weights.h5 checkpoint of the same "
        "architecture; its weights only, the step and optimizer start fresh, embedding rows are matched by character. "
        "Ignored when --model_dir has checkpoints of its own: a resumed run resumes its own progress",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tacotron.callbacks import TrainingError
    from tacotron.lease import LeaseHeld
    from tacotron.storage import StorageError
    from tacotron.warm_start import WarmStartError

    try:
        parse_gin(args.gin_file or ["base_8khz"], args.gin_param)
        import keras

        # One seed for weight initialization and dropout, so that two runs with the same seed are the same run.
        keras.utils.set_random_seed(TrainConfig().seed)
        summary = train(args.data, args.model_dir, args.steps, args.init_from)
    except (UsageError, WarmStartError, LeaseHeld) as e:
        print(f"tacotron-train: error: {e}", file=sys.stderr)
        return 2
    except (TrainingError, StorageError) as e:
        print(f"tacotron-train: error: {e}", file=sys.stderr)
        return 1
    except Preempted as e:
        print(f"tacotron-train: {e}", file=sys.stderr)
        return 143
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
