"""pipelines.preprocess.clip_checks on adversarial clips (tests/adversarial_corpus.py): every kind of good clip kept,
every kind of non-speech rejected with its reason, at two seeds; and the speaking-rate band's tolerance."""

from __future__ import annotations

import collections
import io

import numpy as np
import pytest
import soundfile as sf

from pipelines.preprocess.clip_checks import ClipChecks, expected_rates, measure_clip, rate_band
from tacotron import audio, text
from tests import adversarial_corpus


def judged(clip: adversarial_corpus.Clip) -> str | None:
    """The clip through its file format and the job's checks: None when kept, else the reason."""
    fmt, subtype, _ = clip.format
    buffer = io.BytesIO()
    sf.write(buffer, clip.signal, clip.rate, format=fmt, subtype=subtype)
    buffer.seek(0)
    samples, rate = audio.decode(buffer)
    outcome = measure_clip(text.normalize_text(clip.text), samples, rate, ClipChecks(), audio.AudioConfig())
    return outcome[0] if isinstance(outcome, tuple) else None


@pytest.mark.parametrize("seed", [1, 2])
def test_every_good_clip_is_kept_and_every_non_speech_clip_rejected(seed):
    clips = adversarial_corpus.generate(seed)
    outcomes = collections.Counter((clip.kind, judged(clip) == clip.expected) for clip in clips)
    wrong = {clip.id: judged(clip) for clip in clips if judged(clip) != clip.expected}
    assert not wrong, wrong
    kinds = {kind for kind, _ in outcomes}
    assert kinds == set(adversarial_corpus.EXPECTED)  # every kind was generated and judged
    assert sum(1 for clip in clips if clip.expected is None) >= 10
    assert sum(1 for clip in clips if clip.expected is not None) >= 20


def test_a_one_word_clip_is_judged_on_its_speech_not_its_pauses():
    clip = next(c for c in adversarial_corpus.generate(1) if c.kind == "one_word")
    samples = clip.signal[:, None]
    padded = np.concatenate([np.zeros((clip.rate, 1), np.float32), samples, np.zeros((clip.rate, 1), np.float32)])
    quiet, loud = (measure_clip(text.normalize_text(clip.text), s, clip.rate, ClipChecks(), audio.AudioConfig())
                   for s in (samples, padded))
    # A second of silence on each side changes nothing: trimming and the speech measure ignore it.
    assert quiet["chars_per_second"] == pytest.approx(loud["chars_per_second"], rel=0.05)
    assert quiet["speech_seconds"] < quiet["seconds"]


def test_the_rate_band_widens_for_short_texts_and_opens_for_a_small_corpus():
    clips = [(16.0 + 0.5 * np.sin(i), 60) for i in range(40)]
    band = rate_band(clips, k=5.0)
    sentence_low, sentence_high = expected_rates(band, 60)
    word_low, word_high = expected_rates(band, 4)
    assert sentence_low == pytest.approx(band["low"]) and sentence_high == pytest.approx(band["high"])
    # A four-character word: sqrt(60 / 4) = 3.9 times as wide.
    assert (word_high - word_low) == pytest.approx((sentence_high - sentence_low) * np.sqrt(60 / 4))
    assert expected_rates(band, 120) == (sentence_low, sentence_high)  # never narrower than a sentence's
    small = rate_band(clips[:5], k=5.0)
    assert small["median"] is None and "5 clip(s)" in small["open_because"] and expected_rates(small, 60) is None
