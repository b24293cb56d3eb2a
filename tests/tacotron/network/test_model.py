"""tacotron.network.model: padding leaves the loss alone, and the tiny model overfits four utterances in-process."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tacotron import dataset
from tacotron.config import LossConfig
from tacotron.network.model import Tacotron
from tacotron.training.lr_schedule import WarmupDecay
from tacotron.training.optimizers import make_optimizer
from tests.tiny_model import T_IN, T_OUT, TINY, batch


def test_padding_does_not_change_the_loss():
    # No dropout, inference-mode batch norm: the same utterances must give the same loss however they are padded.
    config = dataclasses.replace(TINY, decoder_prenet_dropout=0.0)
    model = Tacotron(config, LossConfig(guided_attention_weight=1.0))
    short = batch()
    long = batch(t_in=T_IN + 5, t_out=T_OUT + 8, seed=1)
    for name in ("text_ids",):
        long[name][:, :T_IN] = short[name]
    for name in ("mel", "linear"):
        long[name][:, :T_OUT] = short[name]
    parts_short = model.loss_parts(short, model(short, training=False))
    parts_long = model.loss_parts(long, model(long, training=False))
    for name in parts_short:
        np.testing.assert_allclose(float(parts_short[name]), float(parts_long[name]), rtol=1e-4, err_msg=name)


@pytest.mark.slow  # 300 training steps on preprocessed data
def test_tiny_model_overfits_four_utterances(sample_data):
    info = dataset.inspect_data(str(sample_data))
    buckets = dataset.make_buckets(info.n_frames["train"], info.text_lengths["train"], 1, 4)
    four = next(iter(dataset.make_dataset(info, "train", 4, buckets, shuffle_buffer=0)))
    frames = int(np.ceil(int(max(four["n_frames"])) / 4) * 4)
    four = {k: v.numpy() for k, v in four.items()}
    four.update(mel=four["mel"][:, :frames], linear=four["linear"][:, :frames],
                text_ids=four["text_ids"][:, : int(max(four["text_length"]))])
    config = dataclasses.replace(TINY, vocab_size=info.vocab_size, embedding_dim=32, decoder_rnn_units=64,
                                 attention_rnn_units=64, decoder_prenet_dropout=0.0, post_channels=32,
                                 post_projection_channels=64)
    model = Tacotron(config, LossConfig())
    model(four, training=False)
    model.compile(optimizer=make_optimizer("adam", WarmupDecay(5e-3, 10, "constant"), 1.0, 1))
    spectral = []
    for _ in range(300):
        logs = model.train_on_batch(four, return_dict=True)
        model.reset_metrics()
        spectral.append(logs["mel_loss"] + logs["linear_loss"])
    first, last = spectral[0], float(np.mean(spectral[-5:]))
    assert last < first / 4, f"spectrogram L1 fell only from {first:.3f} to {last:.3f}"
