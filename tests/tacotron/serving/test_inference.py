"""tacotron.serving.inference: free-running decoding limits, repeatable padding-free synthesis, text preparation."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from tacotron.config import SynthesisConfig, TacotronConfig
from tacotron.network.model import Tacotron
from tacotron.serving.inference import TextError, compiled, prepare_text, split_text, text_batch
from tacotron.text import normalize_text
from tacotron.text.frontend import Frontend

TINY = TacotronConfig(
    vocab_size=40, embedding_dim=16, encoder_prenet_units=(16, 8), encoder_conv_bank_k=3, encoder_channels=8,
    encoder_highway_layers=1, reduction_factor=4, decoder_prenet_units=(16, 8), attention_units=16,
    attention_rnn_units=32, location_filters=4, location_kernel_size=5, decoder_rnn_units=32, decoder_rnn_layers=1,
    post_conv_bank_k=3, post_channels=8, post_projection_channels=16, post_highway_layers=1,
)


def build(stop_bias: float) -> Tacotron:
    model = Tacotron(TINY)
    model(model.dummy_inputs(), training=False)
    kernel, bias = model.decoder.stop_projection.weights
    kernel.assign(np.zeros(kernel.shape, np.float32))
    bias.assign(np.full(bias.shape, stop_bias, np.float32))
    return model


def ids_and_lengths():
    ids = np.random.default_rng(1).integers(1, TINY.vocab_size, (2, 10)).astype(np.int32)
    ids[1, 6:] = 0
    return ids, np.array([10, 6], np.int32)


def decode(model: Tacotron, ids, lengths, synthesis: SynthesisConfig) -> dict:
    """The decoder compiled as the synthesizer runs it (one XLA program instead of hundreds of eager ops)."""
    run = compiled(lambda i, n: model.infer_frames(i, n, synthesis), model.variables)
    return {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in run(ids, lengths).items()}


def test_decoding_stops_at_the_length_limit_when_the_stop_token_never_fires():
    synthesis = SynthesisConfig(max_frames_per_char=3.0, min_frames=4)
    ids, lengths = ids_and_lengths()
    out = decode(build(stop_bias=-30.0), ids, lengths, synthesis)
    limits = np.ceil((lengths * 3.0 + 4) / TINY.reduction_factor).astype(int) * TINY.reduction_factor
    np.testing.assert_array_equal(out["n_frames"], limits)
    np.testing.assert_array_equal(out["stopped"], [False, False])
    # The buffers are sized from the padded text width.
    assert out["mel"].shape[1] == synthesis.max_steps(ids.shape[1], TINY.reduction_factor) * TINY.reduction_factor


def test_decoding_stops_when_the_stop_token_fires():
    out = decode(build(stop_bias=30.0), *ids_and_lengths(), SynthesisConfig())
    np.testing.assert_array_equal(out["n_frames"], [TINY.reduction_factor] * 2)
    np.testing.assert_array_equal(out["stopped"], [True, True])


def test_inference_is_repeatable_and_padding_free():
    model = build(stop_bias=-30.0)
    ids, lengths = ids_and_lengths()
    synthesis = SynthesisConfig(max_frames_per_char=2.0, min_frames=4)
    first = decode(model, ids, lengths, synthesis)
    again = decode(model, ids, lengths, synthesis)
    np.testing.assert_array_equal(first["mel"], again["mel"])
    # Extra text padding (as the synthesizer adds to reuse compiled programs) changes nothing.
    padded = decode(model, np.pad(ids, ((0, 0), (0, 6))), lengths, synthesis)
    t = first["mel"].shape[1]
    np.testing.assert_allclose(padded["mel"][:, :t], first["mel"], atol=1e-5)
    # Pre-net dropout stays on: another seed, other audio.
    other = decode(model, ids, lengths, dataclasses.replace(synthesis, seed=7))
    assert not np.allclose(other["mel"], first["mel"])


@pytest.mark.filterwarnings("ignore:dropped what cannot be read")
def test_text_preparation_rejects_unspeakable_text_and_splits_long_text():
    for bad in ("", "   ", "?!...", "😀😀", "中文"):
        with pytest.raises(TextError, match="nothing to say"):
            prepare_text(bad, 200)
    long = " ".join(f"Sentence number {i} is here." for i in range(300))  # about 9,000 characters
    chunks = prepare_text(long, 200)
    # Whole sentences packed up to the limit, none cut inside a sentence.
    total = len(normalize_text(long))
    assert total / 200 <= len(chunks) <= total / 150
    assert all(0 < len(c) <= 200 and c.endswith(".") for c in chunks)
    assert " ".join(chunks) == normalize_text(long)
    one_long_sentence = "word " * 500
    assert all(len(c) <= 200 for c in split_text(one_long_sentence.strip(), 200))
    # Text that fits stays one chunk, initials and all, as it would be one training clip.
    assert split_text("j. r. smith met dr. who. then he left.", 200) == ["j. r. smith met dr. who. then he left."]
    ids, lengths = text_batch(["ab", "abc"], ("a", "b", "c"), Frontend("characters"))
    np.testing.assert_array_equal(ids, [[1, 2, 0], [1, 2, 3]])
    np.testing.assert_array_equal(lengths, [2, 3])
