"""Attention mechanisms for the decoder; location-sensitive by default, others register by name."""

from __future__ import annotations

from collections.abc import Callable

from keras import layers, ops

# Large negative energy for padded text positions; finite so that softmax of an all-masked row stays finite.
_MASKED_ENERGY = -1e9

ATTENTIONS: dict[str, type[Attention]] = {}


def register(name: str) -> Callable[[type[Attention]], type[Attention]]:
    """Make an attention class selectable as `TacotronConfig.attention = "name"`."""

    def wrap(cls: type[Attention]) -> type[Attention]:
        ATTENTIONS[name] = cls
        return cls

    return wrap


def make_attention(kind: str, **kwargs) -> Attention:
    if kind not in ATTENTIONS:
        raise ValueError(f"unknown attention {kind!r}; registered: {sorted(ATTENTIONS)}")
    return ATTENTIONS[kind](**kwargs)


class Attention(layers.Layer):
    """Interface the decoder uses, so forward/GMM/dynamic-convolution attention can slot in.

    `prepare(memory)` runs once per utterance batch outside the decoder loop; `call` runs once per decoder step
    with the query and the previous alignment state and returns (alignment [N, T_in], new cumulative alignment).
    """

    def __init__(self, **kwargs):
        # Keras casts a layer's float inputs to its compute dtype; under mixed_bfloat16 that would round the
        # cumulative alignment (a running sum over decoder steps) to bf16 every step, and TensorFlow refuses the
        # bf16 + float32 sum that follows. Without autocast, inputs keep their dtype (the sublayers still compute
        # in bf16, and `call` casts the weights it reads itself).
        super().__init__(autocast=False, **kwargs)

    def prepare(self, memory):
        raise NotImplementedError

    def call(self, query, keys, cumulative, text_mask):
        raise NotImplementedError


@register("location_sensitive")
class LocationSensitiveAttention(Attention):
    """Additive attention with features of the cumulative alignment (Chorowski et al. 2015).

    Location features tell the decoder where it attended before, which is what makes it move forward monotonically
    and align early.
    """

    def __init__(self, units: int, filters: int = 32, kernel_size: int = 31, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.memory_layer = layers.Dense(units, use_bias=False, name="memory_layer")
        self.query_layer = layers.Dense(units, use_bias=False, name="query_layer")
        self.location_conv = layers.Conv1D(filters, kernel_size, padding="same", use_bias=False, name="location_conv")
        self.location_layer = layers.Dense(units, use_bias=False, name="location_layer")
        self.v = layers.Dense(1, name="v")

    def build(self, memory_shape, query_shape):
        n, t, _ = memory_shape
        self.memory_layer.build(memory_shape)
        self.query_layer.build(query_shape)
        self.location_conv.build((n, t, 1))
        self.location_layer.build((n, t, self.location_conv.filters))
        self.v.build((n, t, self.units))

    def prepare(self, memory):
        return self.memory_layer(memory)  # keys: [N, T_in, units]

    def call(self, query, keys, cumulative, text_mask):
        # query: [N, Q]; keys: [N, T_in, units]; cumulative: [N, T_in]; text_mask: [N, T_in] float
        q = self.query_layer(query)[:, None, :]  # [N, 1, units]
        loc = self._location_features(cumulative)  # [N, T_in, units]
        energy = self.v(ops.tanh(keys + q + loc))[..., 0]  # [N, T_in]
        energy = ops.where(text_mask > 0, energy, ops.cast(_MASKED_ENERGY, energy.dtype))
        alignment = ops.softmax(ops.cast(energy, "float32"), axis=-1)  # [N, T_in]
        return alignment, cumulative + alignment


    def _location_features(self, cumulative):
        """location_layer(location_conv(cumulative)) as one matmul over sliding windows: [N, T_in] -> [N, T_in, units].

        The same weights and result as the two layers, but XLA on CPU runs the gradient of a 1-channel convolution
        inside the decoder scan at about 1 ms per step, a third of the decoder's backward pass (docs/BENCHMARKS.md).
        """
        k = self.location_conv.kernel_size[0]
        t_in = ops.shape(cumulative)[1]
        left = (k - 1) // 2  # where Conv1D's "same" padding puts the kernel's centre
        padded = ops.pad(cumulative, ((0, 0), (left, k - 1 - left)))  # [N, T_in + k - 1]
        windows = ops.stack([padded[:, i : i + t_in] for i in range(k)], axis=-1)  # [N, T_in, k]
        dtype = self.compute_dtype
        kernel = ops.matmul(
            ops.cast(self.location_conv.kernel[:, 0, :], dtype), ops.cast(self.location_layer.kernel, dtype)
        )  # [k, units]
        return ops.matmul(ops.cast(windows, dtype), kernel)  # [N, T_in, units]


def attention_context(alignment, memory):
    """Weighted sum of encoder outputs: [N, T_in] x [N, T_in, D] -> [N, D]."""
    return ops.einsum("nt,ntd->nd", ops.cast(alignment, memory.dtype), memory)


__all__ = ["ATTENTIONS", "Attention", "LocationSensitiveAttention", "attention_context", "make_attention", "register"]
