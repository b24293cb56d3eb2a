"""The one schema: every feature name, dtype and shape used by preprocessing, training and export."""

from __future__ import annotations

import dataclasses
from typing import Any

from tacotron.audio import AudioConfig
from tacotron.text import frontend

ID = "id"
TEXT = "text"  # normalized transcript
# The transcript as each frontend's symbols (tacotron.text.frontend: one string, symbols separated by spaces), then as
# vocabulary ids (tacotron.text convention: 0 = padding) and their count. The records carry both frontends, so one
# preprocessing run serves a model of either kind; the model's config chooses.
CHARACTERS = "characters"
CHARACTER_IDS = "character_ids"
CHARACTER_LENGTH = "character_length"
PHONEMES = "phonemes"
PHONEME_IDS = "phoneme_ids"
PHONEME_LENGTH = "phoneme_length"
# Frontend name -> (symbols, ids, length) features; the vocabulary asset is named for the frontend.
FRONTEND_FEATURES = {
    frontend.CHARACTERS: (CHARACTERS, CHARACTER_IDS, CHARACTER_LENGTH),
    frontend.PHONEMES: (PHONEMES, PHONEME_IDS, PHONEME_LENGTH),
}
# The model's inputs: the chosen frontend's ids and their count.
TEXT_IDS = "text_ids"
TEXT_LENGTH = "text_length"
MEL = "mel"  # log mel spectrogram, frames flattened: [n_frames * num_mels]
LINEAR = "linear"  # log linear spectrogram, frames flattened: [n_frames * num_freq]
N_FRAMES = "n_frames"

# The frontend's settings (tacotron.text.frontend.Frontend.describe) beside the TFRecords and in a model's assets.
FRONTEND_FILE = "frontend.json"
# Written beside the TFRecords: per-bin mean/std that undo the normalization (Griffin-Lim, evaluation).
NORMALIZATION_FILE = "normalization.json"
# Written beside the TFRecords: what the preprocessing job kept and rejected, and why (report.html shows it).
REPORT_FILE = "report.json"
TRAIN_PREFIX = "train"
EVAL_PREFIX = "eval"
TFRECORD_SUFFIX = ".tfrecord.gz"


@dataclasses.dataclass(frozen=True)
class Feature:
    name: str
    dtype: str  # "string", "int64" or "float32"
    varlen: bool = False  # variable length (per frame, per character), else a scalar


# What the Beam job computes per clip, before the TFT analysis.
RAW_FEATURES = (
    Feature(ID, "string"),
    Feature(TEXT, "string"),
    Feature(CHARACTERS, "string"),
    Feature(PHONEMES, "string"),
    Feature(MEL, "float32", varlen=True),
    Feature(LINEAR, "float32", varlen=True),
    Feature(N_FRAMES, "int64"),
)

# What the TFRecords hold, after the TFT transform.
TRANSFORMED_FEATURES = (
    Feature(ID, "string"),
    Feature(TEXT, "string"),
    Feature(CHARACTERS, "string"),
    Feature(PHONEMES, "string"),
    Feature(CHARACTER_IDS, "int64", varlen=True),
    Feature(CHARACTER_LENGTH, "int64"),
    Feature(PHONEME_IDS, "int64", varlen=True),
    Feature(PHONEME_LENGTH, "int64"),
    Feature(MEL, "float32", varlen=True),
    Feature(LINEAR, "float32", varlen=True),
    Feature(N_FRAMES, "int64"),
)


def vocabulary_name(frontend: str) -> str:
    """The file name of a frontend's vocabulary inside the TFT output's assets and a model's assets."""
    return frontend


def bins_per_frame(config: AudioConfig = AudioConfig()) -> dict[str, int]:
    """How many values one frame contributes to each flattened spectrogram feature."""
    return {MEL: config.num_mels, LINEAR: config.num_freq}


def feature_spec(features: tuple[Feature, ...] = TRANSFORMED_FEATURES) -> dict[str, Any]:
    """`tf.io` parsing spec for `tf.io.parse_example` and TFT metadata."""
    import tensorflow as tf

    dtypes = {"string": tf.string, "int64": tf.int64, "float32": tf.float32}
    return {
        f.name: tf.io.VarLenFeature(dtypes[f.dtype]) if f.varlen else tf.io.FixedLenFeature([], dtypes[f.dtype])
        for f in features
    }


def parse_example(serialized: Any, config: AudioConfig = AudioConfig()) -> dict[str, Any]:
    """One serialized transformed tf.Example -> dense tensors; spectrograms as [n_frames, bins]."""
    import tensorflow as tf

    parsed = tf.io.parse_single_example(serialized, feature_spec(TRANSFORMED_FEATURES))
    out = {}
    for name, value in parsed.items():
        out[name] = tf.sparse.to_dense(value) if isinstance(value, tf.SparseTensor) else value
    for name, bins in bins_per_frame(config).items():
        out[name] = tf.reshape(out[name], [-1, bins])  # [n_frames, bins]
    return out
