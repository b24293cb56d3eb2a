"""Text normalization and character ids as TensorFlow graph ops, for the exported SavedModel."""

# How the graph differs from tacotron.text.normalize_text. The graph maps every code point on its own through
# a table built from the Python pipeline, so it has none of the context-dependent passes:
#   - digits are read one by one ("25" -> "two five", not "twenty five"); "#5" reads "five", not "number five";
#   - no currency, percent, time or ordinal readings, no leading "minus" ("$5" -> "dollars five");
#   - abbreviations (mr., dr., etc, vs, e.g., i.e., no.) are left as written;
#   - unassigned and private-use code points become a word break instead of being dropped;
#   - NFKC is applied per code point, so a base character and a following combining mark are never composed
#     ("=" + U+0338 reads "equals" where Python composes "≠" and drops it).
# On text with none of these it gives exactly normalize_text's output, and it leaves normalize_text's output
# unchanged, so normalizing in Python first and again in the graph is harmless.

from __future__ import annotations

import functools
import sys
import unicodedata

import tensorflow as tf

from tacotron import text

_WORD_BREAK = " "
_UNASSIGNED = frozenset({"Cn", "Co", "Cs"})
_DIGIT_WORDS = {str(digit): f" {text._words(digit)} " for digit in range(10)}


def _spoken(char: str) -> str:
    """What normalize_text's character-level steps make of `char` alone, digits read as words."""
    folded = "".join(text._fold_char(c) for c in unicodedata.normalize("NFKC", char)).lower()
    folded = folded.translate(text._SYMBOL_WORDS).translate(text._LEFTOVER_WORDS)
    folded = "".join(_DIGIT_WORDS.get(c, c) for c in folded)
    return "".join(c if c in text._SYMBOL_SET else _WORD_BREAK for c in folded)


@functools.cache
def code_point_table() -> dict[int, str]:
    """Every assigned code point whose reading is not a plain word break (the table's default)."""
    table = {}
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        if unicodedata.category(char) in _UNASSIGNED:
            continue
        spoken = _spoken(char)
        if spoken != _WORD_BREAK:
            table[code_point] = spoken
    return table


class GraphNormalizer(tf.Module):
    """normalize_text as graph ops (see the module comment for what differs); tf.string [N] -> tf.string [N].

    The table is built here rather than inside the traced function so that tf.saved_model.save can track it;
    keep the instance as an attribute of the module being saved.
    """

    def __init__(self, name: str | None = None):
        super().__init__(name=name)
        table = code_point_table()
        # A scan of all of Unicode: the passes in text.py are per character, so characters from any block can
        # fold to Latin letters, punctuation or digits (fullwidth forms, mathematical letters, other digits).
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(table), tf.int64), tf.constant(list(table.values()), tf.string)
            ),
            default_value=_WORD_BREAK,
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts: tf.Tensor) -> tf.Tensor:
        code_points = tf.strings.unicode_decode(texts, "UTF-8", errors="replace")  # ragged [N, chars]
        pieces = tf.ragged.map_flat_values(lambda cp: self._table.lookup(tf.cast(cp, tf.int64)), code_points)
        joined = tf.strings.reduce_join(pieces, axis=-1)
        # The table only emits SYMBOLS, so " " is the only whitespace left; these are _keep_speakable's steps.
        joined = tf.strings.strip(tf.strings.regex_replace(joined, " +", " "))
        joined = tf.strings.regex_replace(joined, r" ([,.!?;:)])", r"\1")
        return tf.strings.regex_replace(joined, r"\( ", "(")


@functools.cache
def _default_normalizer() -> GraphNormalizer:
    # init_scope: a first call from inside a tf.function must still create the table eagerly, not in the trace.
    with tf.init_scope():
        return GraphNormalizer()


def normalize_graph(texts: tf.Tensor) -> tf.Tensor:
    """GraphNormalizer()(texts) with one shared instance; for export, hold a GraphNormalizer on the saved module."""
    return _default_normalizer()(texts)


class CharacterIds(tf.Module):
    """Normalized text -> (ids int32 [N, T] padded with 0, lengths int32 [N]), as text.text_to_ids numbers them.

    The vocabulary file (tft.vocabulary's `characters` asset, one entry a line) is read by a TextFileInitializer,
    so tf.saved_model.save copies it into the SavedModel's assets. Ids are 1 + line number and the last id + 1
    for anything else; this is also what the preprocessing's tft.compute_and_apply_vocabulary assigns.
    """

    def __init__(self, vocabulary_path: str, name: str | None = None):
        super().__init__(name=name)
        with tf.io.gfile.GFile(vocabulary_path) as f:
            lines = [line.rstrip("\n") for line in f]
        # dataset.inspect_data skips empty lines, which would shift its indices away from the line numbers used
        # here; TensorFlow's initializer rejects such a file anyway, so say so now rather than at the first lookup.
        if "" in lines:
            raise ValueError(f"{vocabulary_path}: empty line {lines.index('') + 1}; not a tft vocabulary file")
        self.vocabulary: tuple[str, ...] = tuple(lines)
        self.oov_id: int = text.oov_id(self.vocabulary)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                vocabulary_path,
                key_dtype=tf.string,
                key_index=tf.lookup.TextFileIndex.WHOLE_LINE,
                value_dtype=tf.int64,
                value_index=tf.lookup.TextFileIndex.LINE_NUMBER,
            ),
            default_value=-1,
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        characters = tf.strings.unicode_split(texts, "UTF-8")  # ragged [N, chars], as text_to_ids iterates
        lines = tf.ragged.map_flat_values(self._table.lookup, characters)
        ids = tf.ragged.map_flat_values(
            lambda line: tf.cast(tf.where(line < 0, tf.constant(self.oov_id, tf.int64), line + 1), tf.int32), lines
        )
        return ids.to_tensor(text.PAD_ID), tf.cast(ids.row_lengths(), tf.int32)
