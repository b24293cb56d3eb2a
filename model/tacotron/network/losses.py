"""Tacotron losses, masked to real frames: L1 spectrograms, weighted stop-token BCE, guided attention."""

from __future__ import annotations

from keras import ops


def sequence_mask(lengths, max_length) -> object:
    """[N] lengths -> [N, max_length] float mask, 1.0 on real positions."""
    positions = ops.arange(max_length)[None, :]  # [1, T]
    return ops.cast(positions < ops.cast(lengths, "int32")[:, None], "float32")


def masked_l1(y_true, y_pred, mask) -> object:
    """Mean absolute error over real frames only: y [N, T, bins], mask [N, T]."""
    error = ops.abs(ops.cast(y_true, "float32") - ops.cast(y_pred, "float32"))  # [N, T, bins]
    bins = ops.cast(ops.shape(error)[-1], "float32")
    return ops.sum(error * mask[..., None]) / (ops.sum(mask) * bins + 1e-8)


def masked_std_l1(y_true, y_pred, mask) -> object:
    """Mean absolute difference between the per-utterance, per-bin standard deviations over time of target and
    prediction (y [N, T, bins], mask [N, T]). L1 on frames alone is met best by a blurred average, whose variance over
    time is too low (the muffled sound of over-smoothed TTS); this term asks for the recording's liveliness."""
    m = mask[..., None]  # [N, T, 1]
    frames = ops.maximum(ops.sum(m, axis=1), 1.0)  # [N, 1]

    def std(y):
        y = ops.cast(y, "float32")
        mean = ops.sum(y * m, axis=1) / frames  # [N, bins]
        return ops.sqrt(ops.sum(ops.square(y - mean[:, None, :]) * m, axis=1) / frames + 1e-5)  # [N, bins]

    return ops.mean(ops.abs(std(y_true) - std(y_pred)))


def decoder_steps(n_frames, reduction_factor: int) -> object:
    """How many decoder steps cover each utterance: ceil(n_frames / r)."""
    n_frames = ops.cast(n_frames, "int32")
    return (n_frames + reduction_factor - 1) // reduction_factor


def stop_targets(n_frames, reduction_factor: int, t_dec) -> object:
    """[N, T_dec]: 1.0 from the decoder step that emits the last real frame on."""
    last_step = decoder_steps(n_frames, reduction_factor) - 1  # [N]
    return ops.cast(ops.arange(t_dec)[None, :] >= last_step[:, None], "float32")


def stop_loss(logits, targets, mask, positive_weight: float) -> object:
    """Binary cross-entropy on stop logits [N, T_dec], positives weighted (one stop per utterance is rare)."""
    logits = ops.cast(logits, "float32")
    # Numerically stable BCE with logits: max(x, 0) - x * z + log(1 + exp(-|x|)), positives scaled.
    log_sigmoid_neg = ops.log1p(ops.exp(-ops.abs(logits))) + ops.maximum(-logits, 0.0)  # -log(sigmoid(x))
    log_sigmoid_pos = log_sigmoid_neg + logits  # -log(1 - sigmoid(x))
    per_step = positive_weight * targets * log_sigmoid_neg + (1.0 - targets) * log_sigmoid_pos
    return ops.sum(per_step * mask) / (ops.sum(mask) + 1e-8)


def guided_attention_weights(dec_lengths, text_lengths, t_dec, t_in, sigma: float) -> object:
    """DC-TTS penalty W[n, t, j] = 1 - exp(-(j/J - t/T)^2 / 2 sigma^2), zero outside real steps and characters."""
    t = ops.arange(t_dec, dtype="float32")[None, :, None] / ops.cast(dec_lengths, "float32")[:, None, None]
    j = ops.arange(t_in, dtype="float32")[None, None, :] / ops.cast(text_lengths, "float32")[:, None, None]
    w = 1.0 - ops.exp(-ops.square(j - t) / (2.0 * sigma**2))  # [N, T_dec, T_in]
    mask = sequence_mask(dec_lengths, t_dec)[:, :, None] * sequence_mask(text_lengths, t_in)[:, None, :]
    return w * mask


def guided_attention_loss(alignments, dec_lengths, text_lengths, sigma: float) -> object:
    """Mean attention mass far from the diagonal, per real decoder step."""
    t_dec, t_in = ops.shape(alignments)[1], ops.shape(alignments)[2]
    w = guided_attention_weights(dec_lengths, text_lengths, t_dec, t_in, sigma)
    return ops.sum(ops.cast(alignments, "float32") * w) / (ops.sum(ops.cast(dec_lengths, "float32")) + 1e-8)
