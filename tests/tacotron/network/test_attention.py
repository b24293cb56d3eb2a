"""tacotron.network.attention: the registry of attention kinds, and no attention on padded text."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tacotron.network.attention import make_attention
from tacotron.network.model import Tacotron
from tests.tiny_model import TINY, batch


def test_attention_registry_names_the_choices():
    with pytest.raises(ValueError, match="location_sensitive"):
        make_attention("gmm", units=4)


def test_padded_text_gets_no_attention():
    out = Tacotron(TINY)(batch(), training=False)
    alignments = keras.ops.convert_to_numpy(out["alignments"])
    assert np.all(alignments[1, :, 7:] < 1e-6)  # utterance 1 has 7 characters
