"""Autoregressive attention decoder: pre-net -> attention RNN -> attention -> decoder RNNs -> r frames + stop."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from tacotron.config import TacotronConfig
from tacotron.network.attention import attention_context, make_attention
from tacotron.network.keras_private import SavesSeedState
from tacotron.network.modules import (
    Prenet,
    dropout_masks,
    gru_sequence,
    gru_update,
    gru_weights,
    hashed_dropout_mask,
)


class AttentionDecoder(SavesSeedState, layers.Layer):
    """Tacotron decoder (section 3.3) run as one `keras.ops.scan` over decoder steps.

    Each step reads one input frame: the true previous frame (teacher forcing), or the model's own previous
    prediction (scheduled sampling, free-running synthesis), chosen per step and utterance by `use_truth`.
    Random numbers (pre-net dropout) are drawn before the scan, so the same code runs on TensorFlow and JAX.
    """

    def __init__(self, config: TacotronConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        c = config
        self.prenet = Prenet(c.decoder_prenet_units, c.decoder_prenet_dropout, name="prenet")
        self.attention_rnn = layers.GRUCell(c.attention_rnn_units, name="attention_rnn")
        self.attention = make_attention(
            c.attention,
            units=c.attention_units,
            filters=c.location_filters,
            kernel_size=c.location_kernel_size,
            name="attention",
        )
        self.decoder_input = layers.Dense(c.decoder_rnn_units, name="decoder_input")
        self.decoder_rnns = [
            layers.GRUCell(c.decoder_rnn_units, name=f"decoder_rnn_{i}") for i in range(c.decoder_rnn_layers)
        ]
        self.frame_projection = layers.Dense(c.num_mels * c.reduction_factor, name="frame_projection")
        self.stop_projection = layers.Dense(1, name="stop_projection")
        self.seed = keras.random.SeedGenerator(4321)

    def build(self, memory_shape):
        # Every weight must exist before the scan traces the step function.
        c = self.config
        n, t_in, memory_dim = memory_shape
        self.prenet.build((n, c.num_mels))
        self.attention_rnn.build((n, self.prenet.units[-1] + memory_dim))
        self.attention.build(memory_shape, (n, c.attention_rnn_units))
        self.decoder_input.build((n, c.attention_rnn_units + memory_dim))
        for cell in self.decoder_rnns:
            cell.build((n, c.decoder_rnn_units))
        self.frame_projection.build((n, c.decoder_rnn_units + memory_dim))
        self.stop_projection.build((n, c.decoder_rnn_units + memory_dim))

    def call(self, memory, text_mask, input_frames, use_truth=None):
        """Decode T_dec steps.

        memory: [N, T_in, D] encoder outputs; text_mask: [N, T_in] bool;
        input_frames: [N, T_dec, num_mels] the true frame before each step (the go frame, zeros, first);
        use_truth: [N, T_dec] 1.0 where a step reads the true frame, 0.0 where it reads its own prediction;
        None: every step reads the true frame (teacher forcing).
        Returns mel frames [N, T_dec * r, num_mels], stop logits [N, T_dec], alignments [N, T_dec, T_in].
        """
        c = self.config
        n, t_dec = ops.shape(input_frames)[0], ops.shape(input_frames)[1]
        keys = self.attention.prepare(memory)  # [N, T_in, attention_units]
        fmask = ops.cast(text_mask, "float32")  # [N, T_in]
        # Pre-net dropout stays on at inference too (Tacotron 2 section 2.3): it is the decoder's only noise source.
        masks = [dropout_masks((t_dec, n, u), c.decoder_prenet_dropout, self.seed) for u in self.prenet.units]
        frames = ops.transpose(ops.cast(input_frames, "float32"), (1, 0, 2))  # [T_dec, N, num_mels]
        if use_truth is None:
            ys = self._teacher_forced(frames, masks, keys, memory, fmask)
        else:
            ys = self._scheduled(frames, ops.transpose(ops.cast(use_truth, "float32"), (1, 0)), masks, keys, memory,
                                 fmask)
        mel = ops.reshape(ops.transpose(ys["frames"], (1, 0, 2)), (n, -1, c.num_mels))  # [N, T_dec * r, num_mels]
        stop_logits = ops.transpose(ys["stop"][..., 0], (1, 0))  # [N, T_dec]
        alignments = ops.transpose(ys["alignment"], (1, 0, 2))  # [N, T_dec, T_in]
        return mel, stop_logits, alignments

    def _teacher_forced(self, frames, masks, keys, memory, fmask) -> dict:
        """Teacher forcing, the same function as `_scheduled` with every step reading the true frame, computed by
        parts: only the attention RNN and attention loop over steps; the pre-net, the decoder RNNs' input
        projections and the output projections run on all steps at once.

        XLA runs a loop body op by op, and the gradient of every weight used inside the loop is a small matmul
        accumulated at every step; out of the loop it is one large matmul. This is what makes training on JAX
        scale with the batch (docs/BENCHMARKS.md, train throughput).
        frames: [T_dec, N, num_mels]; masks: per pre-net layer [T_dec, N, units]. Returns stacked per-step values.
        """
        dtype = self.compute_dtype
        n, memory_dim = ops.shape(memory)[0], ops.shape(memory)[2]
        p = self.prenet(ops.cast(frames, dtype), masks=masks)  # [T_dec, N, prenet_units[-1]]
        cell = self.attention_rnn
        p_units = self.prenet.units[-1]
        kernel, recurrent_kernel, bias = gru_weights(cell, dtype)
        p_projected = ops.matmul(p, kernel[:p_units]) + bias[0]  # [T_dec, N, 3 * attention_rnn_units]
        init = self.initial_state(n, ops.shape(memory)[1], memory_dim)
        init = {k: init[k] for k in ("attention_h", "context", "cumulative", "alignment")}

        def step(carry, p_projected_t):
            x = p_projected_t + ops.matmul(carry["context"], kernel[p_units:])  # [N, 3 * attention_rnn_units]
            attention_h = gru_update(x, ops.matmul(carry["attention_h"], recurrent_kernel) + bias[1],
                                     carry["attention_h"])  # [N, attention_rnn_units]
            alignment, cumulative = self.attention(attention_h, keys, carry["cumulative"], fmask)  # [N, T_in] x2
            context = attention_context(alignment, memory)  # [N, D]
            carry = {"attention_h": attention_h, "context": context, "cumulative": cumulative, "alignment": alignment}
            # keras.ops.scan on TensorFlow requires the per-step output to mirror the carry (see DESIGN.md).
            return carry, carry

        _, ys = ops.scan(step, init, p_projected)  # each [T_dec, N, ...]
        h = self.decoder_input(ops.concatenate([ys["attention_h"], ys["context"]], -1))  # [T_dec, N, decoder units]
        for rnn in self.decoder_rnns:
            h = h + gru_sequence(rnn, h)  # residual connections (Tacotron section 3.3)
        out = ops.concatenate([h, ys["context"]], -1)  # [T_dec, N, decoder_rnn_units + D]
        return {
            "frames": ops.cast(self.frame_projection(out), "float32"),  # [T_dec, N, r * num_mels]
            "stop": ops.cast(self.stop_projection(out), "float32"),  # [T_dec, N, 1]
            "alignment": ys["alignment"],  # [T_dec, N, T_in]
        }

    def _scheduled(self, frames, use_truth, masks, keys, memory, fmask) -> dict:
        """Every part of every step in one loop, each step reading the true or its own previous frame.

        frames: [T_dec, N, num_mels]; use_truth: [T_dec, N]; masks: per pre-net layer [T_dec, N, units].
        """
        c = self.config
        # One tensor per step, split inside: keras.ops.scan on TensorFlow fails on several xs whose step count is
        # only known at run time (bucketed batches) because it compares their static lengths.
        xs = ops.concatenate([frames, use_truth[..., None], *masks], axis=-1)
        # [T_dec, N, num_mels + 1 + sum(prenet units)]
        split_points = list(np.cumsum([c.num_mels, 1, *self.prenet.units[:-1]]))
        memory_dim = ops.shape(memory)[2]
        init = self.initial_state(ops.shape(memory)[0], ops.shape(memory)[1], memory_dim)

        def step(carry, x):
            true_frame, truth, *step_masks = ops.split(x, split_points, axis=-1)
            own_frame = ops.stop_gradient(carry["frames"][:, -c.num_mels :])  # last of the r frames: [N, num_mels]
            frame = truth * true_frame + (1.0 - truth) * own_frame  # [N, num_mels]
            carry = self._step(carry, frame, step_masks, keys, memory, fmask)
            # keras.ops.scan on TensorFlow requires the per-step output to mirror the carry (see DESIGN.md).
            return carry, carry

        _, ys = ops.scan(step, init, xs)
        return ys

    def initial_state(self, n, t_in, memory_dim) -> dict:
        c = self.config

        def zeros(*shape, dtype=self.compute_dtype):
            return ops.zeros(shape, dtype=dtype)

        return {
            "attention_h": zeros(n, c.attention_rnn_units),
            "decoder_h": [zeros(n, c.decoder_rnn_units) for _ in self.decoder_rnns],
            "context": zeros(n, memory_dim),
            "cumulative": zeros(n, t_in, dtype="float32"),
            "frames": zeros(n, c.num_mels * c.reduction_factor, dtype="float32"),
            "stop": zeros(n, 1, dtype="float32"),
            "alignment": zeros(n, t_in, dtype="float32"),
        }

    def _step(self, carry: dict, frame, step_masks, keys, memory, fmask) -> dict:
        """One decoder step from the previous frame [N, num_mels]; returns the next carry (frames, stop, alignment)."""
        dtype = self.compute_dtype
        p = self.prenet(ops.cast(frame, dtype), masks=step_masks)  # [N, prenet_units[-1]]
        attention_h, _ = self.attention_rnn(ops.concatenate([p, carry["context"]], -1), [carry["attention_h"]])
        alignment, cumulative = self.attention(attention_h, keys, carry["cumulative"], fmask)  # [N, T_in] x2
        context = attention_context(alignment, memory)  # [N, D]
        h = self.decoder_input(ops.concatenate([attention_h, context], -1))  # [N, decoder_rnn_units]
        decoder_h = []
        for cell, state in zip(self.decoder_rnns, carry["decoder_h"], strict=True):
            out, _ = cell(h, [state])
            h = h + out  # residual connections (Tacotron section 3.3)
            decoder_h.append(out)
        out = ops.concatenate([h, context], -1)  # [N, decoder_rnn_units + D]
        return {
            "attention_h": attention_h,
            "decoder_h": decoder_h,
            "context": context,
            "cumulative": cumulative,
            "frames": ops.cast(self.frame_projection(out), "float32"),  # [N, r * num_mels]
            "stop": ops.cast(self.stop_projection(out), "float32"),  # [N, 1]
            "alignment": alignment,
        }

    def infer(self, memory, text_mask, max_steps, step_limits, stop_threshold: float, seed: int,
              dropout: bool = True):
        """Free-running decoding from the go frame, each step fed its own last frame, until every utterance has
        stopped (stop probability > `stop_threshold`) or reached its step limit.

        memory: [N, T_in, D]; text_mask: [N, T_in] bool; max_steps: buffer length (>= every step limit);
        step_limits: [N] int, the most steps each utterance may take (derived from its text length).
        `seed` fixes the pre-net dropout noise (see hashed_dropout_mask): the same text gives the same audio on every
        backend, eager or exported. `dropout` False switches the pre-net dropout off.
        Returns frames [N, max_steps * r, num_mels], stop logits [N, max_steps], alignments [N, max_steps, T_in],
        steps [N] (decoder steps taken) and stopped [N] bool (False: hit the limit without stopping).
        """
        c = self.config
        n, t_in, memory_dim = ops.shape(memory)[0], ops.shape(memory)[1], ops.shape(memory)[2]
        keys = self.attention.prepare(memory)  # [N, T_in, attention_units]
        fmask = ops.cast(text_mask, "float32")  # [N, T_in]
        step_limits = ops.cast(step_limits, "int32")

        def cond(i, carry, steps, stopped, frames, stops, alignments):
            return ops.logical_and(i < max_steps, ops.any(steps < 0))

        def body(i, carry, steps, stopped, frames, stops, alignments):
            masks = [
                hashed_dropout_mask(i, n, u, c.decoder_prenet_dropout if dropout else 0.0, seed + layer)
                for layer, u in enumerate(self.prenet.units)
            ]
            carry = self._step(carry, carry["frames"][:, -c.num_mels :], masks, keys, memory, fmask)
            frames = ops.slice_update(frames, (i, 0, 0), carry["frames"][None])  # [max_steps, N, r * num_mels]
            stops = ops.slice_update(stops, (i, 0), ops.transpose(carry["stop"])) # [max_steps, N]
            alignments = ops.slice_update(alignments, (i, 0, 0), carry["alignment"][None])  # [max_steps, N, T_in]
            says_stop = ops.sigmoid(carry["stop"][:, 0]) > stop_threshold  # [N]
            finished = ops.logical_and(steps < 0, ops.logical_or(says_stop, i + 1 >= step_limits))
            steps = ops.where(finished, i + 1, steps)
            stopped = ops.logical_or(stopped, ops.logical_and(finished, says_stop))
            return i + 1, carry, steps, stopped, frames, stops, alignments

        loop = (
            ops.convert_to_tensor(0, "int32"),
            self.initial_state(n, t_in, memory_dim),
            ops.full((n,), -1, "int32"),  # steps taken; -1 while still decoding
            ops.zeros((n,), "bool"),
            ops.zeros((max_steps, n, c.num_mels * c.reduction_factor), "float32"),
            ops.zeros((max_steps, n), "float32"),
            ops.zeros((max_steps, n, t_in), "float32"),
        )
        _, _, steps, stopped, frames, stops, alignments = ops.while_loop(cond, body, loop)
        frames = ops.reshape(ops.transpose(frames, (1, 0, 2)), (n, -1, c.num_mels))  # [N, max_steps * r, num_mels]
        return frames, ops.transpose(stops), ops.transpose(alignments, (1, 0, 2)), steps, stopped
