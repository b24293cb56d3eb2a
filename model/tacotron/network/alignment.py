"""Alignment scores: does attention focus on one character at a time and move along the diagonal?"""

from __future__ import annotations

from keras import ops

from tacotron.network.losses import sequence_mask

# Half-width of the diagonal band, as a fraction of the text length: speaking rate varies within an utterance.
DIAGONAL_BAND = 0.2


def focus(alignments, dec_lengths) -> object:
    """Mean over real decoder steps of the largest attention weight, per utterance: [N, T_dec, T_in] -> [N].

    1.0 when every step attends to a single character; 1/T_in for uniform attention.
    """
    mask = sequence_mask(dec_lengths, ops.shape(alignments)[1])  # [N, T_dec]
    peak = ops.max(ops.cast(alignments, "float32"), axis=-1)  # [N, T_dec]
    return ops.sum(peak * mask, axis=1) / (ops.sum(mask, axis=1) + 1e-8)


def diagonality(alignments, dec_lengths, text_lengths, band: float = DIAGONAL_BAND) -> object:
    """Fraction of attention mass within `band` of the diagonal over real steps and characters: [N].

    1.0 for a diagonal alignment; about 2 * band for uniform attention; low when attention is stuck.
    """
    t_dec, t_in = ops.shape(alignments)[1], ops.shape(alignments)[2]
    t = ops.arange(t_dec, dtype="float32")[None, :, None] / ops.cast(dec_lengths, "float32")[:, None, None]
    j = (ops.arange(t_in, dtype="float32")[None, None, :] + 0.5) / ops.cast(text_lengths, "float32")[:, None, None]
    near = ops.cast(ops.abs(j - t) <= band, "float32")  # [N, T_dec, T_in]
    step_mask = sequence_mask(dec_lengths, t_dec)  # [N, T_dec]
    text_mask = sequence_mask(text_lengths, t_in)  # [N, T_in]
    mass = ops.sum(ops.cast(alignments, "float32") * near * text_mask[:, None, :], axis=-1)  # [N, T_dec]
    return ops.sum(mass * step_mask, axis=1) / (ops.sum(step_mask, axis=1) + 1e-8)


def alignment_score(alignments, dec_lengths, text_lengths) -> object:
    """focus x diagonality, per utterance: high only when attention is both sharp and on the diagonal."""
    return focus(alignments, dec_lengths) * diagonality(alignments, dec_lengths, text_lengths)
