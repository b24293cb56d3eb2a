"""A model small enough to build and step in-process in a second, and padded batches for it."""

from __future__ import annotations

import numpy as np

from tacotron.config import TacotronConfig

TINY = TacotronConfig(
    vocab_size=40, embedding_dim=16, encoder_prenet_units=(16, 8), encoder_conv_bank_k=3, encoder_channels=8,
    encoder_highway_layers=1, reduction_factor=4, decoder_prenet_units=(16, 8), attention_units=16,
    attention_rnn_units=32, location_filters=4, location_kernel_size=5, decoder_rnn_units=32, decoder_rnn_layers=2,
    post_conv_bank_k=3, post_channels=8, post_projection_channels=16, post_highway_layers=1,
)
N, T_IN, T_OUT = 3, 11, 24


def batch(t_in: int = T_IN, t_out: int = T_OUT, seed: int = 0) -> dict:
    """A padded batch; padding beyond each length holds garbage, which masking must make irrelevant."""
    rng = np.random.default_rng(seed)
    text_length = np.array([11, 7, 9], np.int32)
    n_frames = np.array([24, 13, 18], np.int32)
    text_ids = rng.integers(1, TINY.vocab_size, (N, t_in)).astype(np.int32)
    text_ids[np.arange(t_in)[None, :] >= text_length[:, None]] = 0
    return {
        "text_ids": text_ids,
        "text_length": text_length,
        "mel": rng.normal(size=(N, t_out, TINY.num_mels)).astype(np.float32),
        "linear": rng.normal(size=(N, t_out, TINY.num_freq)).astype(np.float32),
        "n_frames": n_frames,
    }
