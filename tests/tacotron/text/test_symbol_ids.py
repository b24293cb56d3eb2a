"""The export's symbol table numbers symbols as tacotron.text.frontend does, inside a SavedModel loaded by TensorFlow
alone."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tacotron import text
from tacotron.text import frontend
from tacotron.text.frontend import Frontend, symbols_to_ids
from tacotron.text.symbol_ids import SymbolIds

SENTENCES = ["Zoe fixed the jagged zipper, didn't she?", "Quentin's xylophone cost $4.50.", "Hmm... why not!"]


def _vocabulary(path, symbols, leave_out=()):
    entries = sorted({s for s in symbols if s not in leave_out})
    path.write_text("".join(f"{e}\n" for e in entries), encoding="utf-8")
    return tuple(entries)


@pytest.mark.parametrize("name", frontend.FRONTENDS)
def test_symbol_ids_match_symbols_to_ids(tmp_path, name):
    reader = Frontend(name)
    normalized = [text.normalize_text(s) for s in SENTENCES]
    strings = [reader.symbol_string(n) for n in normalized]
    symbols = [s for n in normalized for s in reader.symbols(n)]
    # A symbol left out of the vocabulary exercises the unknown id.
    vocabulary = _vocabulary(tmp_path / name, symbols, leave_out=(symbols[1],))
    ids, lengths = SymbolIds(str(tmp_path / name))(tf.constant(strings))
    ids, lengths = ids.numpy(), lengths.numpy()
    assert ids.dtype == "int32" and lengths.dtype == "int32"
    for row, length, n in zip(ids, lengths, normalized, strict=True):
        assert row[:length].tolist() == symbols_to_ids(reader.symbols(n), vocabulary)
        assert not row[length:].any()
    assert (ids == text.oov_id(vocabulary)).any()


def test_padding_lengths_and_stray_separators(tmp_path):
    path = tmp_path / "symbols"
    path.write_text("a\nb\n_\ntʃ\n", encoding="utf-8")
    ids, lengths = SymbolIds(str(path))(tf.constant(["a b", "", " tʃ  _ a ", "x"]))
    assert lengths.numpy().tolist() == [2, 0, 3, 1]
    assert ids.numpy().tolist() == [[1, 2, 0], [0, 0, 0], [4, 3, 1], [5, 0, 0]]


def test_empty_line_in_vocabulary_is_rejected(tmp_path):
    path = tmp_path / "symbols"
    path.write_text("a\n\nb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty line 2"):
        SymbolIds(str(path))


_LOAD_AND_RUN = """
import json, sys
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
ids, lengths = model(tf.constant(json.loads(sys.argv[2])))
assert not any(name.split(".")[0] == "tacotron" for name in sys.modules), "tacotron was imported"
print(json.dumps({"ids": ids.numpy().tolist(), "lengths": lengths.numpy().tolist()}))
"""


def test_saved_model_round_trip_without_tacotron(tmp_path):
    reader = Frontend(frontend.PHONEMES)
    strings = [reader.symbol_string(text.normalize_text(s)) for s in SENTENCES]
    vocabulary_dir = tmp_path / "vocabulary"
    vocabulary_dir.mkdir()
    path = vocabulary_dir / "phonemes"
    _vocabulary(path, [s for string in strings for s in string.split()])
    module = SymbolIds(str(path))
    ids, lengths = module(tf.constant(strings))
    export = tmp_path / "export"
    tf.saved_model.save(module, str(export))
    # The loaded model must read its own copy of the vocabulary from the SavedModel's assets.
    path.unlink()
    assert (export / "assets" / "phonemes").exists()
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_RUN, str(export), json.dumps(strings)],
        cwd=tmp_path, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"ids": ids.numpy().tolist(),
                                                                  "lengths": lengths.numpy().tolist()}
