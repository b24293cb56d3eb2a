"""Where a training step runs: the tf.distribute replica context, when there is more than one replica."""

from __future__ import annotations

import keras


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
