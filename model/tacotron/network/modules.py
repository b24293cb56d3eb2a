"""Tacotron building blocks: pre-net, highway network, CBHG (encoder and post-net), in backend-agnostic Keras 3."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers, ops

from tacotron.network.keras_private import ReplicaMoments, SavesSeedState


def dropout_masks(shape: Sequence[int], rate: float, seed: keras.random.SeedGenerator) -> keras.KerasTensor:
    """Inverted-dropout multipliers drawn up front, so a scan body stays free of random state (JAX-friendly)."""
    keep = ops.cast(keras.random.uniform(shape, seed=seed) >= rate, "float32")
    return keep / (1.0 - rate)


def _mix32(x):
    """An integer hash (Wellons' lowbias32 with arithmetic shifts) in int32 ops that wrap alike on every backend."""
    x = ops.bitwise_xor(x, ops.right_shift(x, 16))
    x = x * 0x7FEB352D
    x = ops.bitwise_xor(x, ops.right_shift(x, 15))
    x = x * -0x7B93597B  # 0x846CA68B as a signed 32-bit integer
    return ops.bitwise_xor(x, ops.right_shift(x, 16))


def hashed_dropout_mask(step, n: int, units: int, rate: float, seed: int):
    """Inverted-dropout multipliers [n, units] for one decoder step, a pure function of (seed, step, row, unit).

    Inference keeps pre-net dropout on; drawing its noise from a hash instead of a random generator makes it the
    same on JAX and TensorFlow, eager and exported, whatever length the decoding buffers have.
    """
    rows = ops.arange(n, dtype="int32")[:, None] * units  # [n, 1]
    index = rows + ops.arange(units, dtype="int32")[None, :]  # [n, units]
    key = _mix32(ops.cast(step, "int32") * 0x9E3779B + seed)
    uniform = ops.cast(ops.bitwise_and(_mix32(index + key * 0x632BE5B), 0xFFFF), "float32") / 65536.0
    return ops.cast(uniform >= rate, "float32") / (1.0 - rate)


class Prenet(SavesSeedState, layers.Layer):
    """Bottleneck of dense ReLU layers with dropout (Tacotron section 3.1)."""

    def __init__(self, units: Sequence[int], rate: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.units = tuple(units)
        self.rate = rate
        self.dense = [layers.Dense(u, activation="relu", name=f"dense_{i}") for i, u in enumerate(self.units)]
        self.seed = keras.random.SeedGenerator(1234)

    def build(self, input_shape):
        for dense in self.dense:
            dense.build(input_shape)
            input_shape = (*input_shape[:-1], dense.units)

    def call(self, x, masks=None, training=None):
        """`masks`: one dropout multiplier tensor per layer (see `dropout_masks`); drawn here when None."""
        for i, dense in enumerate(self.dense):
            x = dense(x)
            if masks is not None:
                x = x * ops.cast(masks[i], x.dtype)
            elif training and self.rate > 0:
                x = x * ops.cast(dropout_masks(ops.shape(x), self.rate, self.seed), x.dtype)
        return x

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units[-1])


class Highway(layers.Layer):
    """y = H(x) * T(x) + x * (1 - T(x)) (Srivastava et al. 2015); the gate starts closed (bias -1)."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.h = layers.Dense(units, activation="relu", name="h")
        self.t = layers.Dense(units, activation="sigmoid", bias_initializer=keras.initializers.Constant(-1.0), name="t")

    def build(self, input_shape):
        self.h.build(input_shape)
        self.t.build(input_shape)

    def call(self, x):
        gate = self.t(x)
        return self.h(x) * gate + x * (1.0 - gate)


class GlobalBatchNormalization(ReplicaMoments, layers.BatchNormalization):
    """Batch norm whose masked batch statistics span all replicas under tf.distribute, as they do under JAX's
    DataParallel (one global computation): the same batch then trains the same model on any number of devices."""


class MaskedConv1D(layers.Layer):
    """Conv1D + batch norm whose output is zero on padded frames, so padding never leaks into real frames."""

    def __init__(self, filters: int, kernel_size: int, activation: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv1D(filters, kernel_size, padding="same", name="conv")
        self.norm = GlobalBatchNormalization(name="norm")
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.norm.build((*input_shape[:-1], self.conv.filters))

    def call(self, x, mask, training=None):
        # mask: [N, T, 1] float
        y = self.conv(x * mask)
        y = self.norm(y, training=training, mask=mask[..., 0] > 0)
        return self.activation(y) * mask

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.conv.filters)


class CBHG(layers.Layer):
    """1-D convolution bank + highway network + bidirectional GRU (Tacotron section 3.2)."""

    def __init__(
        self,
        bank_k: int,
        bank_channels: int,
        projections: Sequence[int],
        highway_layers: int,
        gru_units: int,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.bank = [MaskedConv1D(bank_channels, k, "relu", name=f"bank_{k}") for k in range(1, bank_k + 1)]
        self.pool = layers.MaxPooling1D(pool_size=2, strides=1, padding="same")
        activations = ["relu"] * (len(projections) - 1) + [None]
        pairs = enumerate(zip(projections, activations, strict=True))
        self.projections = [MaskedConv1D(c, 3, a, name=f"projection_{i}") for i, (c, a) in pairs]
        self.highway_units = gru_units
        self.pre_highway = layers.Dense(gru_units, name="pre_highway")
        self.highways = [Highway(gru_units, name=f"highway_{i}") for i in range(highway_layers)]
        self.gru = layers.Bidirectional(layers.GRU(gru_units, return_sequences=True), name="bigru")
        self.out_units = 2 * gru_units

    def build(self, input_shape):
        n, t, _ = input_shape
        for conv in self.bank:
            conv.build(input_shape)
        shape = (n, t, sum(c.conv.filters for c in self.bank))
        for conv in self.projections:
            conv.build(shape)
            shape = (n, t, conv.conv.filters)
        if shape[-1] != input_shape[-1]:
            raise ValueError(
                f"CBHG residual needs the last projection ({shape[-1]}) to match the input ({input_shape})"
            )
        self.pre_highway.build(shape)
        for highway in self.highways:
            highway.build((n, t, self.highway_units))
        self.gru.build((n, t, self.highway_units))

    def call(self, x, mask, training=None):
        # x: [N, T, C_in]; mask: [N, T] bool
        fmask = ops.cast(mask, x.dtype)[..., None]  # [N, T, 1]
        y = ops.concatenate([conv(x, fmask, training=training) for conv in self.bank], axis=-1)  # [N, T, K * C]
        y = self.pool(y) * fmask  # [N, T, K * C]
        for conv in self.projections:
            y = conv(y, fmask, training=training)  # [N, T, C_proj]
        y = y + x  # residual: [N, T, C_in]
        y = self.pre_highway(y)  # [N, T, gru_units]
        for highway in self.highways:
            y = highway(y)  # [N, T, gru_units]
        return bidirectional_gru(self.gru, y, mask) * fmask  # [N, T, 2 * gru_units]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.out_units)


def gru_weights(cell: layers.GRUCell, dtype: str) -> tuple:
    """(kernel [in, 3U], recurrent kernel [U, 3U], bias [2, 3U]) of a reset-after GRUCell, in `dtype`."""
    return tuple(ops.cast(w, dtype) for w in (cell.kernel, cell.recurrent_kernel, cell.bias))


def gru_update(projected, recurrent, h):
    """A Keras GRUCell (reset_after) step from its input projection x @ W + b_in [..., 3U] and its recurrent
    projection h @ U + b_rec [..., 3U]: the new state [..., U]. Gates in Keras' order z, r, h."""
    x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
    r_z, r_r, r_h = ops.split(recurrent, 3, axis=-1)
    z = ops.sigmoid(x_z + r_z)
    r = ops.sigmoid(x_r + r_r)
    return z * h + (1.0 - z) * ops.tanh(x_h + r * r_h)


def gru_sequence(cell: layers.GRUCell, x):
    """The cell run over time-major inputs x [T, N, C] from a zero state: outputs [T, N, U].

    The input projection runs on all steps at once, outside the loop (see AttentionDecoder._teacher_forced)."""
    dtype = keras.backend.standardize_dtype(x.dtype)
    kernel, recurrent_kernel, bias = gru_weights(cell, dtype)
    projected = ops.matmul(x, kernel) + bias[0]  # [T, N, 3U]

    def step(h, projected_t):
        h = gru_update(projected_t, ops.matmul(h, recurrent_kernel) + bias[1], h)
        return h, h

    _, states = ops.scan(step, ops.zeros((ops.shape(x)[1], cell.units), dtype), projected)
    return states


def bidirectional_gru(layer: layers.Bidirectional, x, mask):
    """`layer(x, mask=mask)` for a Bidirectional(GRU) layer, with both directions in one scan over time.

    x: [N, T, C]; mask: [N, T] bool, True on real frames (a masked step keeps the state, as Keras does).
    Returns [N, T, 2 * units], forward then backward; values on masked steps are not Keras' (callers zero them).
    Same weights and result as the layer, but XLA runs a scan step by step with a fixed cost per operation, and
    Keras runs the two directions one after the other with the input projection inside the loop: one scan of
    stacked directions over pre-projected inputs halves the sequential steps and takes two thirds of the matmuls
    out of the loop (docs/BENCHMARKS.md, train throughput).
    """
    cells = (layer.forward_layer.cell, layer.backward_layer.cell)
    units = cells[0].units
    dtype = keras.backend.standardize_dtype(x.dtype)
    kernel, recurrent_kernel, bias = (ops.stack(w) for w in zip(*(gru_weights(c, dtype) for c in cells), strict=True))
    # kernel [2, C, 3U]; recurrent_kernel [2, U, 3U]; bias [2, 2, 3U]: input bias, recurrent bias (reset_after)
    n = ops.shape(x)[0]

    projected = ops.einsum("ntc,dcg->tdng", x, kernel) + bias[None, :, 0, None, :]  # [T, 2, N, 3U]
    keep = ops.cast(ops.transpose(mask), dtype)[:, None, :, None]  # [T, 1, N, 1]
    inputs = ops.concatenate([projected, ops.broadcast_to(keep, (*ops.shape(projected)[:3], 1))], -1)
    # The backward direction reads time reversed.
    inputs = ops.stack([inputs[:, 0], ops.flip(inputs[:, 1], axis=0)], axis=1)  # [T, 2, N, 3U + 1]

    def step(h, step_inputs):
        # h: [2, N, U]; step_inputs: [2, N, 3U + 1]
        projected_t, keep_t = ops.split(step_inputs, [3 * units], axis=-1)
        new = gru_update(projected_t, ops.matmul(h, recurrent_kernel) + bias[:, 1, None, :], h)  # [2, N, U]
        new = keep_t * new + (1.0 - keep_t) * h
        return new, new

    _, states = ops.scan(step, ops.zeros((2, n, units), dtype), inputs)  # [T, 2, N, U]
    forward, backward = states[:, 0], ops.flip(states[:, 1], axis=0)  # [T, N, U] each
    return ops.transpose(ops.concatenate([forward, backward], -1), (1, 0, 2))  # [N, T, 2U]
