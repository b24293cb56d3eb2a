"""Tests for tacotron.graph_text: agreement with tacotron.text and a SavedModel that runs without tacotron."""

import collections
import json
import os
import pathlib
import subprocess
import sys

import pytest
import tensorflow as tf

from tacotron import graph_text
from tacotron.graph_text import CharacterIds, GraphNormalizer, normalize_graph
from tacotron.text import SYMBOLS, normalize_text, text_to_ids

REPO = pathlib.Path(__file__).resolve().parents[1]
METADATA = REPO / "data" / "sample_corpus" / "metadata.csv"

# Text without digits, abbreviations, currency, percent, times or minus signs: the graph must match exactly.
SAME_AS_PYTHON = [
    "Hello,  World!",
    "MiXeD CaSe TeXt",
    "\u201cQuoted\u201d and \u2018single\u2019 \u2014 dashes \u2013 here \u2026",
    "\u00abGuillemets\u00bb and \u2039angles\u203a",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m stra\u00dfe \u0153uvre",
    "cafe\u0301 with a combining accent",
    "hi \U0001f600 there",
    "hi\U0001f600there \U0001f44d\U0001f3fd\u200d",
    "\u4e2d\u6587 text \u65e5\u672c\u8a9e, mixed \ud55c\uad6d\uc5b4.",
    "\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 \uff01",
    "\ufb01ne \ufb02ow",
    "\U0001d407\U0001d41e\U0001d425\U0001d425\U0001d428 math",
    "salt & pepper @ home",
    "a + b = c",
    "[brackets] {braces} ( spaced parens )",
    "tabs\tand\nnewlines\r\n  and   runs   of spaces ",
    "text , with . spaces ; before : punctuation ! ?",
    "",
    "   ",
    "?!...",
    "\"'(),-.:;?",
    "*** ### ~~~ ^^^ |||",
    "zero\u200bwidth\u00adsoft\ufeffhyphen",
    "a\u00d7b and a\u00f7b",
    "\u0391\u03b8\u03ae\u03bd\u03b1 and \u041c\u043e\u0441\u043a\u0432\u0430",
    "`backticks` and 'quotes'",
    "caf\u00e9 \u00a9 \u00ae \u2122",
]


def _graph(module: tf.Module, texts: list[str]) -> list[str]:
    return [value.decode("utf-8") for value in module(tf.constant(texts, tf.string)).numpy()]


def _as_json(outputs: dict[str, tf.Tensor]) -> dict:
    # Through JSON, as the subprocess prints them, so that the two compare equal.
    return json.loads(json.dumps({key: value.numpy().tolist() for key, value in outputs.items()}, default=bytes.decode))


def _transcripts() -> list[str]:
    rows = [line.split("|") for line in METADATA.read_text(encoding="utf-8").splitlines() if line]
    return [field for row in rows for field in row[1:]]


@pytest.fixture(scope="module")
def normalizer() -> GraphNormalizer:
    return GraphNormalizer()


@pytest.mark.parametrize("raw", SAME_AS_PYTHON)
def test_matches_normalize_text(normalizer, raw):
    assert _graph(normalizer, [raw]) == [normalize_text(raw)]


def test_idempotent_on_normalized_corpus(normalizer):
    normalized = [normalize_text(text) for text in _transcripts()]
    assert len(normalized) >= 400
    assert _graph(normalizer, normalized) == normalized


def test_digits_are_read_one_by_one(normalizer):
    assert _graph(normalizer, ["room 5", "25 cats", "\u2460 \uff17"]) == ["room five", "two five cats", "one seven"]
    # The known difference: Python reads whole numbers.
    assert normalize_text("25 cats") == "twenty five cats"


@pytest.mark.parametrize(
    ("raw", "graph", "python"),
    [
        ("$5 or 10%", "dollars five or one zero percent", "five dollars or ten percent"),
        ("#5, -5", "five, - five", "number five, minus five"),
        ("at 3:30", "at three: three zero", "at three thirty"),
        ("Mr. Smith, e.g. this", "mr. smith, e.g. this", "mister smith, for example this"),
    ],
)
def test_known_differences(normalizer, raw, graph, python):
    assert _graph(normalizer, [raw]) == [graph]
    assert normalize_text(raw) == python


def test_output_alphabet():
    assert all(set(spoken) <= set(SYMBOLS) for spoken in graph_text.code_point_table().values())


def test_normalize_graph_inside_tf_function():
    # The shared instance must come out eager even when the first use is during tracing.
    graph_text._default_normalizer.cache_clear()
    traced = tf.function(lambda texts: normalize_graph(texts))
    assert traced(tf.constant(["Caf\u00e9  & Bar!"])).numpy().tolist() == [b"cafe and bar!"]


def _write_vocabulary(path: pathlib.Path, texts: list[str], leave_out: str = "") -> list[str]:
    """A vocabulary file as tft.vocabulary writes it: most frequent first, one character a line."""
    counts = collections.Counter(char for text in texts for char in text if char not in leave_out)
    entries = [char for char, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    path.write_text("".join(f"{entry}\n" for entry in entries), encoding="utf-8")
    return entries


def _read_like_inspect_data(path: pathlib.Path) -> tuple[str, ...]:
    # The same reading as tacotron.dataset.inspect_data.
    with tf.io.gfile.GFile(str(path)) as f:
        return tuple(line.rstrip("\n") for line in f if line.rstrip("\n"))


def test_character_ids_match_text_to_ids(tmp_path):
    texts = [normalize_text(text) for text in _transcripts()]
    path = tmp_path / "characters"
    # Leaving characters out of the vocabulary exercises the OOV bucket.
    entries = _write_vocabulary(path, texts, leave_out="qz")
    vocabulary = _read_like_inspect_data(path)
    assert list(vocabulary) == entries and " " in vocabulary
    ids, lengths = CharacterIds(str(path))(tf.constant(texts))
    ids, lengths = ids.numpy(), lengths.numpy()
    assert ids.dtype == "int32" and lengths.dtype == "int32"
    for row, length, text in zip(ids, lengths, texts, strict=True):
        assert row[:length].tolist() == text_to_ids(text, vocabulary)
    assert (ids == len(vocabulary) + 1).any()


def test_padding_and_lengths(tmp_path):
    path = tmp_path / "characters"
    path.write_text("a\nb\n \nc\n", encoding="utf-8")
    ids, lengths = CharacterIds(str(path))(tf.constant(["ab", "", "c a b", "x"]))
    assert lengths.numpy().tolist() == [2, 0, 5, 1]
    assert ids.numpy().tolist() == [[1, 2, 0, 0, 0], [0, 0, 0, 0, 0], [4, 3, 1, 3, 2], [5, 0, 0, 0, 0]]


def test_empty_line_in_vocabulary_is_rejected(tmp_path):
    path = tmp_path / "characters"
    path.write_text("a\n\nb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty line 2"):
        CharacterIds(str(path))


class _Frontend(tf.Module):
    def __init__(self, vocabulary_path: str):
        super().__init__()
        self.normalizer = GraphNormalizer()
        self.ids = CharacterIds(vocabulary_path)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts):
        normalized = self.normalizer(texts)
        ids, lengths = self.ids(normalized)
        return {"normalized": normalized, "ids": ids, "lengths": lengths}


_LOAD_AND_RUN = """
import json, sys
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
out = model(tf.constant(json.loads(sys.argv[2])))
assert not any(name.split(".")[0] == "tacotron" for name in sys.modules), "tacotron was imported"
print(json.dumps({key: value.numpy().tolist() for key, value in out.items()}, default=bytes.decode))
"""


def test_saved_model_round_trip_without_tacotron(tmp_path):
    texts = ["Caf\u00e9 & \u201cBar\u201d!", "", "hi \U0001f600 there, QUIZ (x)", "room 5"]
    vocabulary_dir = tmp_path / "vocabulary"
    vocabulary_dir.mkdir()
    vocabulary_path = vocabulary_dir / "characters"
    _write_vocabulary(vocabulary_path, [normalize_text(text) for text in _transcripts()], leave_out="q")
    vocabulary = _read_like_inspect_data(vocabulary_path)
    frontend = _Frontend(str(vocabulary_path))
    expected = _as_json(frontend(tf.constant(texts)))
    assert expected["normalized"] == [normalize_text(text) for text in texts[:3]] + ["room five"]
    for row, length, text in zip(expected["ids"], expected["lengths"], expected["normalized"], strict=True):
        assert row[:length] == text_to_ids(text, vocabulary)
    export = tmp_path / "export"
    tf.saved_model.save(frontend, str(export))
    # The loaded model must read its own copy of the vocabulary from the SavedModel's assets.
    vocabulary_path.unlink()
    assert (export / "assets" / "characters").exists()
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_RUN, str(export), json.dumps(texts)],
        cwd=tmp_path, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
