"""tacotron.text.frontend: symbols of both frontends, espeak-ng determinism, ids round-trip, unreadable characters."""

import json
import os
import subprocess
import sys

import pytest

from tacotron import text
from tacotron.serving.inference import TextError, prepare_text, text_batch
from tacotron.text import frontend
from tacotron.text.frontend import Frontend, FrontendError, symbols_to_ids

PHONEMES = Frontend(frontend.PHONEMES)
CHARACTERS = Frontend(frontend.CHARACTERS)


def test_phonemes_keep_multi_character_phones_whole_and_stress_apart():
    symbols = PHONEMES.symbols(text.normalize_text("The judge bought nine chairs."))
    for phone in ("dʒ", "aɪ", "tʃ", "ɔː"):
        assert phone in symbols, symbols
    assert "ˈ" in symbols  # stress is a symbol of its own, shared by every vowel
    assert not any(len(s) > 1 and s[0] in "ˈˌ" for s in symbols)
    assert symbols[-1] == "."


def test_word_boundaries_and_pauses_survive():
    normalized = text.normalize_text("A well-known fact - I think; (yes) \"really\".")
    for reader in (PHONEMES, CHARACTERS):
        symbols = reader.symbols(normalized)
        # "well-known" stays two words; the spaced dash, the semicolon and the brackets are pauses.
        assert symbols.count(frontend.WORD_BOUNDARY) >= 5, (reader.name, symbols)
        assert symbols.count(",") == 3, (reader.name, symbols)
        assert not set(symbols) & set(";:()\"-"), (reader.name, symbols)


def test_every_punctuation_mark_the_normalizer_emits_folds_to_a_trained_one():
    trained = {",", ".", "?", "!"}
    for mark in set(text.SYMBOLS) - set("abcdefghijklmnopqrstuvwxyz "):
        for reader in (PHONEMES, CHARACTERS):
            symbols = reader.symbols(f"one {mark}two{mark} three {mark}")
            marks = {s for s in symbols if s in text.SYMBOLS and not s.isalpha() and s != "'"}
            assert marks <= trained | {frontend.WORD_BOUNDARY}, (mark, symbols)
            assert not set(symbols) & set(";:()\"-"), (mark, symbols)


def test_g2p_is_deterministic_across_processes():
    sentences = ["Quentin's xylophone cost $4.50.", "Read the 21st chapter at 7:45 am!", "Hmm, why?"]
    code = ("import json, sys; from tacotron import text; from tacotron.text import frontend; "
            "print(json.dumps([frontend.Frontend('phonemes').symbol_string(text.normalize_text(s)) "
            "for s in json.loads(sys.argv[1])]))")
    runs = [subprocess.run([sys.executable, "-c", code, json.dumps(sentences)], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
            for seed in (1, 2)]
    assert runs[0] == runs[1]
    assert json.loads(runs[0]) == [PHONEMES.symbol_string(text.normalize_text(s)) for s in sentences]


def test_ids_round_trip():
    normalized = text.normalize_text("Zoe fixed the jagged zipper, didn't she?")
    for reader in (PHONEMES, CHARACTERS):
        symbols = reader.symbols(normalized)
        vocabulary = sorted(set(symbols))
        ids = symbols_to_ids(symbols, vocabulary)
        assert text.PAD_ID not in ids
        assert [vocabulary[i - 1] for i in ids] == symbols
        assert reader.symbol_string(normalized).split(frontend.SYMBOL_SEPARATOR) == symbols
    assert symbols_to_ids(["a", "q"], ["a", "b"]) == [1, text.oov_id(["a", "b"])]
    assert symbols_to_ids(["b"], [b"a", b"b"]) == [2]


def test_unreadable_characters_are_dropped_with_a_warning_that_names_them():
    with pytest.warns(UserWarning, match=r"U\+1F600 GRINNING FACE.*U\+4E16"):
        chunks = prepare_text("Hello 😀 世 world\x07", 200, PHONEMES)
    assert chunks == ["hello world"]
    with pytest.raises(TextError, match="nothing to say"), pytest.warns(UserWarning, match="GRINNING FACE"):
        prepare_text("😀😀", 200, PHONEMES)


def test_batches_are_the_frontend_ids():
    chunks = ["hello world.", "hi."]
    vocabulary = sorted({s for c in chunks for s in PHONEMES.symbols(c)})
    ids, lengths = text_batch(chunks, tuple(vocabulary), PHONEMES)
    for row, chunk, length in zip(ids, chunks, lengths, strict=True):
        assert row[:length].tolist() == symbols_to_ids(PHONEMES.symbols(chunk), vocabulary)
        assert not row[length:].any()


def test_a_different_g2p_is_refused_naming_both():
    recorded = PHONEMES.describe() | {"espeak_version": "1.49.0"}
    with pytest.raises(FrontendError, match=r"espeak_version 1\.49\.0.*espeak_version 1\.5"):
        PHONEMES.check_matches(recorded, "the export x")
    with pytest.raises(FrontendError, match="frontend characters.*frontend phonemes"):
        PHONEMES.check_matches(CHARACTERS.describe(), "model m")
    with pytest.raises(FrontendError, match="unknown frontend"):
        Frontend("graphemes")
