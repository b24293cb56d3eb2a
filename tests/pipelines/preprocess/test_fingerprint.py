"""Tests for pipelines.preprocess.fingerprint: the preprocessing cache key moves with the recordings, the transcripts
and the way text is read, and with nothing else."""

import shutil

from pipelines.preprocess.fingerprint import fingerprint
from tacotron import text


def _corpus(root):
    (root / "wavs").mkdir(parents=True)
    (root / "wavs" / "a.wav").write_bytes(b"RIFF" + bytes(40))
    (root / "metadata.csv").write_text("a|It costs $5.\n", encoding="utf-8")
    return root


def test_the_same_corpus_gives_the_same_fingerprint(tmp_path):
    corpus = _corpus(tmp_path / "c")
    copy = shutil.copytree(corpus, tmp_path / "copy")
    assert fingerprint(str(corpus)) == fingerprint(str(copy))


def test_a_transcript_or_a_recording_changes_it(tmp_path):
    corpus = _corpus(tmp_path / "c")
    before = fingerprint(str(corpus))
    (corpus / "metadata.csv").write_text("a|It costs $6.\n", encoding="utf-8")
    after_text = fingerprint(str(corpus))
    (corpus / "wavs" / "a.wav").write_bytes(b"RIFF" + bytes(41))
    assert len({before, after_text, fingerprint(str(corpus))}) == 3


def test_a_change_to_the_normalizer_changes_it(tmp_path, monkeypatch):
    """The text package copied and one rule edited, as a developer's change would: its digest, and so the corpus's
    fingerprint, moves."""
    corpus = _corpus(tmp_path / "c")
    before_digest, before = text.normalizer_digest(), fingerprint(str(corpus))
    package = shutil.copytree(text.__file__.rsplit("/", 1)[0], tmp_path / "text", ignore=shutil.ignore_patterns(
        "__pycache__"))
    monkeypatch.setattr(text, "__file__", str(package / "__init__.py"))
    assert text.normalizer_digest() == before_digest  # same source, same digest
    classes = package / "classes.py"
    classes.write_text(classes.read_text(encoding="utf-8").replace('"missus"', '"misses"'), encoding="utf-8")
    assert text.normalizer_digest() != before_digest
    assert fingerprint(str(corpus)) != before
