"""Learning rate for large batches: scale from a reference batch (Goyal et al. 2017), warm up, then decay."""

from __future__ import annotations

import math

import keras
from keras import ops

SCALING_RULES = ("linear", "sqrt", "none")
DECAYS = ("constant", "cosine", "exponential", "inverse_sqrt")


def scaled_learning_rate(base_lr: float, reference_batch: int, global_batch: int, rule: str) -> float:
    """The peak learning rate for `global_batch`, given one tuned at `reference_batch`.

    linear: lr * k (Goyal et al. 2017, with warmup); sqrt: lr * sqrt(k), the usual rule for Adam/LAMB
    (Krizhevsky 2014; You et al. 2019); none: lr unchanged.
    """
    if rule not in SCALING_RULES:
        raise ValueError(f"unknown learning-rate scaling rule {rule!r}; choose one of {SCALING_RULES}")
    k = global_batch / reference_batch
    return base_lr * {"linear": k, "sqrt": math.sqrt(k), "none": 1.0}[rule]


@keras.saving.register_keras_serializable(package="tacotron")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `peak` over `warmup_steps`, then `decay` down towards `min_lr`.

    cosine: to min_lr at `decay_steps`; exponential: halves every `decay_steps`;
    inverse_sqrt: peak * sqrt(warmup / step) (Noam); constant: stays at peak.
    """

    def __init__(
        self, peak: float, warmup_steps: int, decay: str = "cosine", decay_steps: int = 100_000, min_lr: float = 0.0
    ):
        if decay not in DECAYS:
            raise ValueError(f"unknown decay {decay!r}; choose one of {DECAYS}")
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.decay = decay
        self.decay_steps = int(decay_steps)
        self.min_lr = float(min_lr)

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0  # the first update already gets a non-zero rate
        warmup = max(self.warmup_steps, 1)
        warm = self.peak * ops.minimum(step / warmup, 1.0)
        after = ops.maximum(step - self.warmup_steps, 0.0)
        if self.decay == "constant":
            decayed = self.peak
        elif self.decay == "cosine":
            progress = ops.minimum(after / max(self.decay_steps, 1), 1.0)
            decayed = self.min_lr + 0.5 * (self.peak - self.min_lr) * (1.0 + ops.cos(math.pi * progress))
        elif self.decay == "exponential":
            decayed = ops.maximum(self.peak * ops.power(0.5, after / max(self.decay_steps, 1)), self.min_lr)
        else:
            decayed = ops.maximum(self.peak * ops.sqrt(warmup / ops.maximum(step, warmup)), self.min_lr)
        return ops.where(step <= self.warmup_steps, warm, decayed)

    def get_config(self) -> dict:
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "decay": self.decay,
            "decay_steps": self.decay_steps,
            "min_lr": self.min_lr,
        }
