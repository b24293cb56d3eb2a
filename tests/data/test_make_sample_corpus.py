"""data/make_sample_corpus.py: the default build reproduces the bundled corpus; large and held-out sets do their job."""

import importlib.util
import itertools
import pathlib
import random
import re
import shutil
import sys

import pytest
import soundfile as sf

from tests.conftest import REPO

CORPUS = REPO / "data" / "sample_corpus"


def load_script():
    """The script as a module (data/ is not a package); registered first, which its dataclasses need."""
    spec = importlib.util.spec_from_file_location("make_sample_corpus", REPO / "data" / "make_sample_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mk = load_script()
NORMALIZE, _ = mk.load_normalizer()


def accept_all(candidate):
    """A stand-in for synthesis: every sentence fits the duration limits and has no file."""
    return mk.Clip(candidate, pathlib.Path("/nonexistent"), 2.0)


def test_defaults_reproduce_the_bundled_metadata():
    bundled = (CORPUS / "metadata.csv").read_text(encoding="utf-8")
    kept = {line.split("|")[1] for line in bundled.splitlines()}

    # The real durations are unknown without espeak-ng, but the bundled corpus records which sentences were kept;
    # any other sentence of the stream was rejected (or drawn past the end of a batch, which also discards it).
    calls = itertools.count()

    def replay(candidate):
        # A changed sentence stream would otherwise never fill the corpus and hang the test.
        assert next(calls) < 2000, "the default sentence stream no longer yields the bundled sentences"
        return mk.Clip(candidate, pathlib.Path("/nonexistent"), 2.0 if candidate.text in kept else 0.1)

    clips = mk.select_clips(400, 1234, mk.VOCABULARIES["small"], NORMALIZE, replay, jobs=1)
    rebuilt = "".join(f"S{i:04d}|{c.candidate.text}|{c.candidate.normalized}\n" for i, c in enumerate(clips, 1))
    assert rebuilt == bundled


def test_the_large_vocabulary_is_much_more_varied():
    def distinct_words(vocabulary):
        clips = mk.select_clips(2000, 1234, mk.VOCABULARIES[vocabulary], NORMALIZE, accept_all, jobs=1)
        assert len({c.candidate.text for c in clips}) == 2000
        return {w for c in clips for w in mk.words(c.candidate.normalized)}, clips

    small, _ = distinct_words("small")
    large, clips = distinct_words("large")
    assert len(large) >= 1000 and len(large) >= 2 * len(small)
    assert not [c.candidate.text for c in clips if re.search(r"\b[Aa] [aeiouAEIOU]", c.candidate.text)]
    # The reserved fifth of the extra words stays out of large corpora, for held-out sets.
    reserved = {w.lower() for w in mk.EXTRA_NAMES + mk.EXTRA_NOUNS + mk.EXTRA_ADJECTIVES if mk.reserved(w)}
    assert reserved and not reserved & large


def check_held_out(items, vocab):
    for item in items:
        sentence, pair = mk.words(item.sentence.normalized), mk.words(item.pair.normalized)
        for word in sentence + pair:
            assert word in mk.FUNCTION_WORDS or word not in vocab, (word, item.sentence.text)
        # A minimal pair: same length, exactly one word swapped, and that word is the one recorded.
        assert len(sentence) == len(pair)
        (swapped,) = [i for i, (a, b) in enumerate(zip(sentence, pair, strict=True)) if a != b]
        assert (sentence[swapped], pair[swapped]) == (item.original, item.replacement)
        assert 0 < swapped < len(sentence) - 1
        assert abs(len(item.original) - len(item.replacement)) <= 2


def test_held_out_sentences_avoid_every_content_word_of_the_training_text(tmp_path):
    metadata = tmp_path / "metadata.csv"
    metadata.write_text(
        "T1|Olivia carried the yellow box.|olivia carried the yellow box.\n"
        "T2|The baker and the pilot laughed.|the baker and the pilot laughed.\n"
        "T3|Is the kettle shiny?|is the kettle shiny?\n",
        encoding="utf-8",
    )
    for vocab in (mk.vocabulary_of(metadata), mk.vocabulary_of(CORPUS / "metadata.csv")):
        items = list(itertools.islice(mk.held_out_candidates(random.Random(7), vocab, NORMALIZE), 200))
        check_held_out(items, vocab)
        assert len({i.sentence.text for i in items} | {i.pair.text for i in items}) == 400
    assert "olivia" in mk.vocabulary_of(metadata)


def test_held_out_sets_remain_possible_after_a_large_training_corpus():
    clips = mk.select_clips(3000, 99, mk.VOCABULARIES["large"], NORMALIZE, accept_all, jobs=1)
    vocab = {w for c in clips for w in mk.words(c.candidate.normalized)}
    check_held_out(list(itertools.islice(mk.held_out_candidates(random.Random(1), vocab, NORMALIZE), 100)), vocab)


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox")
def test_build_held_out_writes_sentence_and_pair_audio(tmp_path):
    (train := tmp_path / "train").mkdir()
    shutil.copy(CORPUS / "metadata.csv", train / "metadata.csv")
    output = tmp_path / "held_out"
    (item,) = mk.build_held_out(train, output, count=1, seed=3, jobs=1)

    (row,) = [line.split("|") for line in (output / "metadata.csv").read_text(encoding="utf-8").splitlines()]
    (pair_row,) = [line.split("|") for line in (output / "pairs.csv").read_text(encoding="utf-8").splitlines()]
    assert row == ["H0001", item.sentence.candidate.text, item.sentence.candidate.normalized]
    assert pair_row == ["H0001", row[2], item.pair.candidate.normalized, item.original, item.replacement]
    for audio in (output / "wavs" / "H0001.flac", output / "pairs" / "H0001.flac"):
        info = sf.info(audio)
        assert info.samplerate == mk.SAMPLE_RATE and info.channels == 1
        assert mk.MIN_SECONDS <= info.duration <= mk.MAX_SECONDS


def test_voices_choose_the_renderer(tmp_path):
    wav = tmp_path / "x.wav"
    assert mk.speak_command("flite:slt", "hello there", wav) == ["flite", "-voice", "slt", "-t", "hello there", "-o",
                                                                 str(wav)]
    assert mk.speak_command("en-us", "hello there", wav)[:3] == ["espeak-ng", "-v", "en-us"]


@pytest.mark.skipif(not (shutil.which("flite") and shutil.which("sox")), reason="needs flite and sox")
def test_a_held_out_set_in_a_flite_voice(tmp_path):
    (train := tmp_path / "train").mkdir()
    shutil.copy(CORPUS / "metadata.csv", train / "metadata.csv")
    output = tmp_path / "held_out"
    mk.build_held_out(train, output, count=1, seed=3, jobs=1, voice="flite:slt")
    assert "flite `flite:slt`" in (output / "README.md").read_text()
    assert mk.corpus_voice(output) == "flite:slt"
    for audio in (output / "wavs" / "H0001.flac", output / "pairs" / "H0001.flac"):
        assert sf.info(audio).samplerate == mk.SAMPLE_RATE
