"""Frontend symbols -> ids as TensorFlow graph ops, for the exported SavedModel.

The export has no raw-text signature: normalization and G2P (espeak-ng) run in Python (tacotron.text.frontend), before
the SavedModel. An in-graph normalizer could only read text character by character ("25" as "two five") and no
graph op runs espeak-ng, so a raw-text signature would feed the model text it never trained on.
"""

from __future__ import annotations

import tensorflow as tf

from tacotron import text
from tacotron.text import frontend


class SymbolIds(tf.Module):
    """Symbol strings (tacotron.text.frontend's SYMBOL_SEPARATOR between symbols) -> (ids int32 [N, T] padded with 0,
    lengths int32 [N]), numbered as tacotron.text.frontend.symbols_to_ids numbers them.

    The vocabulary file (one symbol a line, as tft.vocabulary writes it) is read by a TextFileInitializer, so
    tf.saved_model.save copies it into the SavedModel's assets. Ids are 1 + line number and the last id + 1 for
    anything else; this is also what the preprocessing's tft.compute_and_apply_vocabulary assigns.
    """

    def __init__(self, vocabulary_path: str, name: str | None = None):
        super().__init__(name=name)
        with tf.io.gfile.GFile(vocabulary_path) as f:
            lines = [line.rstrip("\n") for line in f]
        # TensorFlow's initializer rejects a file with an empty line at the first lookup; say so now instead.
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
    def __call__(self, symbols: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        # Runs of separators and separators at the ends make no empty symbol, as str.split() makes none.
        split = tf.strings.split(tf.strings.strip(symbols), sep=frontend.SYMBOL_SEPARATOR)  # ragged [N, T]
        split = tf.ragged.boolean_mask(split, tf.strings.length(split) > 0)
        lines = tf.ragged.map_flat_values(self._table.lookup, split)
        ids = tf.ragged.map_flat_values(
            lambda line: tf.cast(tf.where(line < 0, tf.constant(self.oov_id, tf.int64), line + 1), tf.int32), lines
        )
        return ids.to_tensor(text.PAD_ID), tf.cast(ids.row_lengths(), tf.int32)
