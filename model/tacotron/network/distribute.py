"""Where training runs: the devices and workers of this process (a TensorFlow strategy or JAX's data parallelism,
over the processes of a JAX cluster too), how a batch splits across them, and the replica context a step runs in."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from typing import Any

import keras


class DistributionError(ValueError):
    """A batch that cannot be split across the accumulation steps or the replicas."""


@dataclasses.dataclass(frozen=True)
class Distribution:
    """Where this process trains: a TensorFlow strategy (None on JAX), the replica count, this task's index and the
    number of JAX processes that run every step together."""

    strategy: Any
    replicas: int
    task_index: int
    processes: int = 1

    @property
    def is_chief(self) -> bool:
        return self.task_index == 0

    def scope(self) -> contextlib.AbstractContextManager:
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()


def micro_batch_size(batch_size: int, accumulation_steps: int) -> int:
    """Examples per micro-batch: `batch_size` (per update) split into `accumulation_steps`; DistributionError if it
    cannot."""
    if accumulation_steps < 1:
        raise DistributionError(f"gin: TrainConfig.accumulation_steps must be at least 1, got {accumulation_steps}")
    if batch_size % accumulation_steps:
        raise DistributionError(f"batch size {batch_size} does not split into {accumulation_steps} accumulation steps")
    return batch_size // accumulation_steps


def distribution_setup(global_batch: int, accumulation_steps: int = 1) -> Distribution:
    """The devices and workers this process trains on; DistributionError if a micro-batch (the batch per update split
    into `accumulation_steps`) cannot be split across the replicas."""
    strategy, replicas, task_index, processes = None, 1, 0, 1
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # TF_CONFIG is the cluster as the Kubeflow Training Operator (TFJob) describes it to each worker, and what
        # MultiWorkerMirroredStrategy itself reads.
        if "TF_CONFIG" in os.environ:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
            tf_config = json.loads(os.environ["TF_CONFIG"])
            task = tf_config.get("task", {})
            # Without a "chief" task, worker 0 is the chief (the TF_CONFIG convention).
            has_chief = "chief" in tf_config.get("cluster", {})
            task_index = task.get("index", 0) + (1 if task.get("type") == "worker" and has_chief else 0)
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
            raise DistributionError("gradient accumulation does not work with several TensorFlow replicas (devices or "
                                    "workers): use KERAS_BACKEND=jax or TrainConfig.accumulation_steps = 1")
        replicas = strategy.num_replicas_in_sync
    elif keras.backend.backend() == "jax":
        import jax

        if jax.device_count() > 1:
            # Over several processes (join_cluster) too: Keras then feeds each process its slice of every global
            # batch (DataParallel's dataset sharding), so the batches are those of one process.
            keras.distribution.set_distribution(keras.distribution.DataParallel())
        replicas = jax.device_count()
        task_index = jax.process_index()
        processes = jax.process_count()
    micro_batch = global_batch // accumulation_steps
    if micro_batch % replicas:
        what = f"batch size {global_batch}"
        if accumulation_steps > 1:
            what = f"micro-batch {micro_batch} (batch size {global_batch} / {accumulation_steps} accumulation steps)"
        raise DistributionError(f"{what} does not divide across {replicas} replicas")
    return Distribution(strategy, replicas, task_index, processes)


def replicas_in_sync():
    """The tf.distribute replica context while a step runs on more than one replica (TensorFlow backend), else None.

    JAX's DataParallel needs nothing of the kind: its step is one program over the global batch, so batch statistics,
    gradient sums and clipping already span every device.
    """
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    return context if context is not None and context.num_replicas_in_sync > 1 else None
