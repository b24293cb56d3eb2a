"""Optimizers: Adam or LAMB with clipping, accumulation and a guard that skips non-finite steps."""

from __future__ import annotations

import keras

from tacotron.network.distribute import replicas_in_sync
from tacotron.network.keras_private import SumsGradientsOnce

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

    With `accumulation_steps` k > 1 the optimizer is applied to every micro-batch and updates the weights every k-th
    time, with the mean of the k gradients; `learning_rate` is then read per update, not per micro-batch.
    """
    if accumulation_steps < 1:
        raise ValueError(f"accumulation_steps must be at least 1, got {accumulation_steps}")
    if accumulation_steps > 1:
        learning_rate = PerUpdate(learning_rate, accumulation_steps)
    kwargs = {
        "learning_rate": learning_rate,
        "global_clipnorm": clip_norm or None,
        "gradient_accumulation_steps": accumulation_steps if accumulation_steps > 1 else None,
        "weight_decay": weight_decay,
    }
    if name == "adam":
        inner = Adam(**kwargs)
    elif name == "lamb":
        inner = Lamb(**kwargs)
    else:
        raise ValueError(f"unknown optimizer {name!r}; choose adam or lamb")
    return LossScaleOptimizer(inner, initial_scale=1.0, dynamic_growth_steps=10_000)


@keras.saving.register_keras_serializable(package="tacotron")
class Adam(SumsGradientsOnce, keras.optimizers.Adam):
    pass


@keras.saving.register_keras_serializable(package="tacotron")
class Lamb(SumsGradientsOnce, keras.optimizers.Lamb):
    pass


@keras.saving.register_keras_serializable(package="tacotron")
class LossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Keras' LossScaleOptimizer, with the gradients of all replicas summed before they are checked and clipped.

    Keras (TensorFlow backend) sums the replicas' gradients only inside the weight update: it checks finiteness on the
    first replica's own gradient and clips each replica's own gradient to the global norm, so clipping (active early
    in training) made a step depend on the replica count and a non-finite gradient on another replica got applied.
    """

    def apply(self, grads, trainable_variables=None):
        context = replicas_in_sync()
        if context is None:
            return super().apply(grads, trainable_variables)
        grads = list(grads)
        present = [i for i, g in enumerate(grads) if g is not None]
        for i, summed in zip(present, context.all_reduce("SUM", [grads[i] for i in present]), strict=True):
            grads[i] = summed
        self.inner_optimizer.gradients_summed = True
        try:
            return super().apply(grads, trainable_variables)
        finally:
            self.inner_optimizer.gradients_summed = False


@keras.saving.register_keras_serializable(package="tacotron")
class PerUpdate(keras.optimizers.schedules.LearningRateSchedule):
    """`schedule` at the number of weight updates, for an optimizer that accumulates `steps` micro-batches per update.

    Keras calls a schedule with its micro-batch counter (base_optimizer: "Learning rate schedules will look at 'real'
    iterations value"), which would run warmup and decay `steps` times too fast and give update u the rate of step
    u * steps + steps - 1 instead of u.
    """

    def __init__(self, schedule: keras.optimizers.schedules.LearningRateSchedule, steps: int):
        self.schedule = schedule
        self.steps = int(steps)

    def __call__(self, step):
        return self.schedule(keras.ops.floor_divide(step, self.steps))

    def get_config(self) -> dict:
        return {"schedule": keras.saving.serialize_keras_object(self.schedule), "steps": self.steps}

    @classmethod
    def from_config(cls, config: dict) -> PerUpdate:
        return cls(keras.saving.deserialize_keras_object(config["schedule"]), config["steps"])
