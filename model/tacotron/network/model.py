"""Tacotron (Wang et al. 2017): characters -> mel frames (attention decoder) -> linear spectrogram (post-net)."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from tacotron import features
from tacotron.config import LossConfig, SynthesisConfig, TacotronConfig
from tacotron.network import alignment, losses
from tacotron.network.decoder import AttentionDecoder
from tacotron.network.distribute import replicas_in_sync
from tacotron.network.keras_private import BuiltBeforeFit
from tacotron.network.modules import CBHG, Prenet


class Tacotron(BuiltBeforeFit, keras.Model):
    """Inputs (a dict, as the input pipeline yields it):
    text_ids [N, T_in] int (0 = padding), text_length [N], mel [N, T_out, num_mels] (T_out a multiple of r;
    teacher frames and target), n_frames [N]. Outputs: mel, linear, stop_logits, alignments.
    """

    def __init__(self, config: TacotronConfig, loss_config: LossConfig = LossConfig(), **kwargs):
        super().__init__(**kwargs)
        if config.vocab_size < 2:
            raise ValueError("TacotronConfig.vocab_size must be set from the data's vocabulary")
        self.config = config
        self.loss_config = loss_config
        c = config
        self.embedding = layers.Embedding(c.vocab_size, c.embedding_dim, name="embedding")
        self.encoder_prenet = Prenet(c.encoder_prenet_units, c.encoder_prenet_dropout, name="encoder_prenet")
        self.encoder_cbhg = CBHG(
            c.encoder_conv_bank_k,
            c.encoder_channels,
            (c.encoder_channels, c.encoder_prenet_units[-1]),
            c.encoder_highway_layers,
            c.encoder_channels,
            name="encoder_cbhg",
        )
        self.decoder = AttentionDecoder(c, name="decoder")
        self.post_cbhg = CBHG(
            c.post_conv_bank_k,
            c.post_channels,
            (c.post_projection_channels, c.num_mels),
            c.post_highway_layers,
            c.post_channels,
            name="post_cbhg",
        )
        self.linear_projection = layers.Dense(c.num_freq, name="linear_projection")
        # Training steps taken, kept in the weights so schedules (guided attention, scheduled sampling) resume.
        self.step = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False, aggregation="only_first_replica", name="step"
        )
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in (
                "mel_loss",
                "linear_loss",
                "variance_loss",
                "stop_loss",
                "attention_loss",
                "focus",
                "diagonality",
                "alignment_score",
            )
        }
        # Set by the trainer under MultiWorkerMirroredStrategy (see tacotron.training.train).
        self.logs_as_vectors = False
        # Micro-batches per weight update (gradient accumulation); read from the optimizer by `compile`.
        self.accumulation_steps = 1
        # Steps whose loss was not finite since the last metrics reset (the optimizer skipped them).
        self.bad_steps = keras.metrics.Sum(name="bad_steps")

    def call(self, inputs, training=None):
        c = self.config
        r = c.reduction_factor
        text_ids = inputs[features.TEXT_IDS]  # [N, T_in]
        mel = ops.cast(inputs[features.MEL], "float32")  # [N, T_out, num_mels]
        n, t_out = ops.shape(mel)[0], ops.shape(mel)[1]
        text_mask = text_ids > 0  # [N, T_in]
        memory = self.encode(text_ids, text_mask, training)  # [N, T_in, 2 * encoder_channels]

        # Decoder input: the go frame (zeros: the mean frame after normalization), then the last frame of each r.
        go = ops.zeros((n, 1, c.num_mels), dtype="float32")
        previous = mel[:, r - 1 : t_out - 1 : r, :]  # [N, T_dec - 1, num_mels]
        input_frames = ops.concatenate([go, previous], axis=1)  # [N, T_dec, num_mels]
        use_truth = self._teacher_forcing_mask(n, t_out // r, training)  # [N, T_dec] or None
        mel_out, stop_logits, alignments = self.decoder(memory, text_mask, input_frames, use_truth)
        # mel_out: [N, T_out, num_mels]; stop_logits: [N, T_dec]; alignments: [N, T_dec, T_in]

        linear = self.postnet(mel_out, inputs[features.N_FRAMES], training)  # [N, T_out, num_freq]
        if training:
            self.step.assign_add(1)
        return {"mel": mel_out, "linear": linear, "stop_logits": stop_logits, "alignments": alignments}

    def infer(self, text_ids, text_length, synthesis: SynthesisConfig | None = None) -> dict:
        """Free-running synthesis from the go frame: text ids [N, T_in] (0 = padding), lengths [N].

        Returns mel [N, T, num_mels] and linear [N, T, num_freq] (normalized log; frames past n_frames are
        meaningless), stop_logits [N, T_dec], alignments [N, T_dec, T_in], n_frames [N] and stopped [N] (False: the
        utterance reached its step limit without the stop token firing, a failure).
        """
        out = self.infer_frames(text_ids, text_length, synthesis)
        # Only as far as the longest utterance decoded: the post-net then runs on real frames.
        t_out = ops.max(out["n_frames"])
        t_dec = t_out // self.config.reduction_factor
        out = out | {"mel": out["mel"][:, :t_out], "stop_logits": out["stop_logits"][:, :t_dec],
                     "alignments": out["alignments"][:, :t_dec]}
        return out | {"linear": self.postnet(out["mel"], out["n_frames"])}

    def infer_frames(self, text_ids, text_length, synthesis: SynthesisConfig | None = None) -> dict:
        """Encoder and free-running decoder (the first part of `infer`), on fixed-size buffers: mel
        [N, max_steps * r, num_mels], stop_logits and alignments [N, max_steps, ...], n_frames [N], stopped [N]."""
        c = self.config
        r = c.reduction_factor
        synthesis = synthesis or SynthesisConfig()
        text_ids = ops.convert_to_tensor(text_ids, "int32")  # [N, T_in]
        text_length = ops.cast(text_length, "int32")  # [N]
        text_mask = text_ids > 0  # [N, T_in]
        memory = self.encode(text_ids, text_mask, training=False)  # [N, T_in, 2 * encoder_channels]

        step_limits = ops.cast(
            ops.ceil((ops.cast(text_length, "float32") * synthesis.max_frames_per_char + synthesis.min_frames) / r),
            "int32",
        )  # [N]
        # Buffers as long as the padded text allows (static on JAX, where shapes must be).
        t_in = ops.shape(text_ids)[1]
        if isinstance(t_in, int):
            max_steps = synthesis.max_steps(t_in, r)
        else:
            max_steps = ops.max(step_limits)
        mel, stop_logits, alignments, steps, stopped = self.decoder.infer(
            memory, text_mask, max_steps, step_limits, synthesis.stop_threshold, synthesis.seed,
            synthesis.prenet_dropout,
        )  # mel: [N, max_steps * r, num_mels]; stop_logits: [N, max_steps]; alignments: [N, max_steps, T_in]
        return {
            "mel": mel,
            "stop_logits": stop_logits,
            "alignments": alignments,
            "n_frames": steps * r,  # [N]
            "stopped": stopped,  # [N]
        }

    def encode(self, text_ids, text_mask, training=None):
        """Encoder: embedding -> pre-net -> CBHG; ids [N, T_in] -> memory [N, T_in, 2 * encoder_channels]."""
        x = self.embedding(text_ids)  # [N, T_in, embedding_dim]
        x = self.encoder_prenet(x, training=training)  # [N, T_in, 128]
        return self.encoder_cbhg(x, text_mask, training=training)  # [N, T_in, 2 * encoder_channels]

    def postnet(self, mel, n_frames, training=None):
        """Post-net: CBHG over the whole predicted mel sequence [N, T, num_mels] -> normalized log linear
        [N, T, num_freq]."""
        frame_mask = losses.sequence_mask(n_frames, ops.shape(mel)[1]) > 0  # [N, T]
        post = self.post_cbhg(ops.cast(mel, self.compute_dtype), frame_mask, training=training)  # [N, T, 256]
        return ops.cast(self.linear_projection(post), "float32")  # [N, T, num_freq]

    def dummy_inputs(self) -> dict:
        """The smallest batch the model accepts (one utterance, two decoder steps), to build its weights."""
        c = self.config
        frames = 2 * c.reduction_factor
        return {
            features.TEXT_IDS: np.ones((1, 2), np.int32),
            features.TEXT_LENGTH: np.full((1,), 2, np.int32),
            features.MEL: np.zeros((1, frames, c.num_mels), np.float32),
            features.LINEAR: np.zeros((1, frames, c.num_freq), np.float32),
            features.N_FRAMES: np.full((1,), frames, np.int32),
        }

    def _teacher_forcing_mask(self, n, t_dec, training):
        """1.0 = feed the true previous frame; scheduled sampling feeds the model's own with rising probability.
        None when every step reads the true frame (the decoder's faster teacher-forcing path)."""
        lc = self.loss_config
        if not training or lc.scheduled_sampling_max <= 0:
            return None
        span = max(lc.scheduled_sampling_end - lc.scheduled_sampling_start, 1)
        progress = ops.clip((self.updates(counted=False) - lc.scheduled_sampling_start) / span, 0.0, 1.0)
        p_own = lc.scheduled_sampling_max * progress
        return ops.cast(keras.random.uniform((n, t_dec), seed=self.decoder.seed) >= p_own, "float32")

    def loss_parts(self, x, y_pred) -> dict:
        """Every loss term, masked to real frames, steps and characters; also used by evaluation."""
        c, lc = self.config, self.loss_config
        mel, linear = x[features.MEL], x[features.LINEAR]
        t_out = ops.shape(mel)[1]
        frame_mask = losses.sequence_mask(x[features.N_FRAMES], t_out)  # [N, T_out]
        t_dec = ops.shape(y_pred["stop_logits"])[1]
        dec_lengths = losses.decoder_steps(x[features.N_FRAMES], c.reduction_factor)  # [N]
        step_mask = losses.sequence_mask(dec_lengths, t_dec)  # [N, T_dec]
        targets = losses.stop_targets(x[features.N_FRAMES], c.reduction_factor, t_dec)
        return {
            "mel_loss": losses.masked_l1(mel, y_pred["mel"], frame_mask),
            "linear_loss": losses.masked_l1(linear, y_pred["linear"], frame_mask),
            "variance_loss": losses.masked_std_l1(mel, y_pred["mel"], frame_mask)
            + losses.masked_std_l1(linear, y_pred["linear"], frame_mask),
            "stop_loss": losses.stop_loss(y_pred["stop_logits"], targets, step_mask, lc.stop_positive_weight),
            "attention_loss": losses.guided_attention_loss(
                y_pred["alignments"], dec_lengths, x[features.TEXT_LENGTH], lc.guided_attention_sigma
            ),
        }

    def total_loss(self, parts: dict):
        lc = self.loss_config
        guided_weight = lc.guided_attention_weight * ops.power(
            lc.guided_attention_decay, self.updates()
        )
        return (
            lc.mel_weight * parts["mel_loss"]
            + lc.linear_weight * parts["linear_loss"]
            + lc.variance_weight * parts["variance_loss"]
            + lc.stop_weight * parts["stop_loss"]
            + guided_weight * parts["attention_loss"]
        )

    def compile(self, optimizer="rmsprop", **kwargs):
        super().compile(optimizer=optimizer, **kwargs)
        inner = getattr(self.optimizer, "inner_optimizer", self.optimizer)  # inside a LossScaleOptimizer
        self.accumulation_steps = getattr(inner, "gradient_accumulation_steps", None) or 1

    def updates(self, counted: bool = True):
        """Weight updates as float32, from `step`, which counts training micro-batches: the update the current
        micro-batch belongs to, from 1, once `call` has counted it (`counted`), else the updates completed before it.
        Schedules (guided attention decay, scheduled sampling) advance per update, so that accumulating micro-batches
        trains the same model as one large batch. Both are `step` without accumulation."""
        k = self.accumulation_steps
        return ops.cast(ops.floor_divide(self.step + (k - 1 if counted else 0), k), "float32")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total = self.total_loss(self.loss_parts(x, y_pred))
        # A non-finite loss can still have finite gradients (d|x|/dx at NaN is finite in some backends); make every
        # gradient NaN then, so the optimizer's non-finite check skips the whole step.
        poison = ops.stop_gradient(ops.where(ops.isfinite(total), 1.0, float("nan")))
        # Gradients are summed over replicas under tf.distribute; the loss is a per-replica mean. (Keras does this in
        # a private helper; the replica context says the same through a public API.)
        replicas = replicas_in_sync()
        if replicas is not None:
            total = total / replicas.num_replicas_in_sync
        return total * poison

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        parts = self.loss_parts(x, y_pred)
        # (Model variables such as `step` are not readable here on JAX, so finiteness is judged from the parts.)
        finite = ops.all(ops.stack([ops.isfinite(v) for v in parts.values()]))
        self.bad_steps.update_state(1.0 - ops.cast(finite, "float32"))
        dec_lengths = losses.decoder_steps(x[features.N_FRAMES], self.config.reduction_factor)
        a = y_pred["alignments"]
        parts["focus"] = ops.mean(alignment.focus(a, dec_lengths))
        parts["diagonality"] = ops.mean(alignment.diagonality(a, dec_lengths, x[features.TEXT_LENGTH]))
        parts["alignment_score"] = ops.mean(alignment.alignment_score(a, dec_lengths, x[features.TEXT_LENGTH]))
        for name, value in parts.items():
            # A non-finite step is skipped by the optimizer; keep it out of the running means too.
            self.trackers[name].update_state(value, sample_weight=ops.cast(ops.isfinite(value), "float32"))
        results = self.get_metrics_result()
        if self.logs_as_vectors:
            results = {name: ops.reshape(value, (1,)) for name, value in results.items()}
        return results
