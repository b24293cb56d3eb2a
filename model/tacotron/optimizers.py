"""Optimizers: Adam or LAMB with clipping, accumulation and a guard that skips non-finite steps."""

from __future__ import annotations

import keras

OPTIMIZERS = ("adam", "lamb")


def make_optimizer(
    name: str,
    learning_rate: keras.optimizers.schedules.LearningRateSchedule,
    clip_norm: float | None,
    accumulation_steps: int,
    weight_decay: float | None = None,
) -> keras.optimizers.Optimizer:
    """Adam or LAMB (You et al. 2019), with global-norm clipping and gradient accumulation.

    Wrapped in a LossScaleOptimizer: it skips any step whose gradients are not finite (on every backend), and it is
    what bf16/fp16 training needs anyway. Scales are powers of two starting at 1.0, so float32
    training is unchanged by them; growth is slow so that recovering from a burst of bad steps cannot overflow.
    """
    kwargs = {
        "learning_rate": learning_rate,
        "global_clipnorm": clip_norm or None,
        "gradient_accumulation_steps": accumulation_steps if accumulation_steps > 1 else None,
        "weight_decay": weight_decay,
    }
    if name == "adam":
        inner = keras.optimizers.Adam(**kwargs)
    elif name == "lamb":
        inner = keras.optimizers.Lamb(**kwargs)
    else:
        raise ValueError(f"unknown optimizer {name!r}; choose adam or lamb")
    return keras.optimizers.LossScaleOptimizer(inner, initial_scale=1.0, dynamic_growth_steps=10_000)
