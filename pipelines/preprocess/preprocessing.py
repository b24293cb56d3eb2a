"""The TensorFlow Transform `preprocessing_fn`: per-bin spectrogram normalization and each frontend's vocabulary."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from tacotron import features
from tacotron.audio import AudioConfig
from tacotron.text import frontend

# A bin whose log values never vary (e.g. always at the floor) would otherwise divide by ~0.
MIN_STD = 1e-3


def _normalize_per_bin(flat: tf.SparseTensor, bins: int) -> tf.SparseTensor:
    """Standardize each frequency bin with statistics over every frame of the corpus."""
    frames = tf.reshape(flat.values, [-1, bins])  # [total frames in batch, bins]
    mean = tft.mean(frames, reduce_instance_dims=False)  # [bins]
    std = tf.sqrt(tf.maximum(tft.var(frames, reduce_instance_dims=False), MIN_STD**2))  # [bins]
    normalized = tf.reshape((frames - mean) / std, [-1])
    return tf.SparseTensor(flat.indices, normalized, flat.dense_shape)


def make_preprocessing_fn(config: AudioConfig = AudioConfig()) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The preprocessing_fn for `config`'s spectrogram sizes."""
    bins = features.bins_per_frame(config)

    def preprocessing_fn(inputs: dict[str, Any]) -> dict[str, Any]:
        outputs = {name: tf.identity(inputs[name]) for name in (features.ID, features.TEXT, features.N_FRAMES)}
        for name, (symbols_name, ids_name, length_name) in features.FRONTEND_FEATURES.items():
            symbols = tf.strings.split(inputs[symbols_name], sep=frontend.SYMBOL_SEPARATOR)  # ragged [N, T_in]
            # One OOV bucket plus the +1 shift gives tacotron.text's convention: 0 = padding, V + 1 = unknown.
            ids = tft.compute_and_apply_vocabulary(symbols.to_sparse(), num_oov_buckets=1,
                                                   vocab_filename=features.vocabulary_name(name))
            outputs[symbols_name] = tf.identity(inputs[symbols_name])
            outputs[ids_name] = tf.SparseTensor(ids.indices, ids.values + 1, ids.dense_shape)
            outputs[length_name] = symbols.row_lengths()
        outputs[features.MEL] = _normalize_per_bin(inputs[features.MEL], bins[features.MEL])
        outputs[features.LINEAR] = _normalize_per_bin(inputs[features.LINEAR], bins[features.LINEAR])
        return outputs

    return preprocessing_fn


def normalization_stats(transform_dir: str, config: AudioConfig = AudioConfig()) -> dict[str, list[float]]:
    """Read the per-bin mean and std back out of a TFT output by transforming two probe frames.

    The transform is affine per bin, so frames of all zeros and all ones pin it down exactly; this keeps the
    TFT graph the single source of the statistics.
    """
    output = tft.TFTransformOutput(transform_dir)
    raw: dict[str, Any] = {
        features.ID: tf.constant([b"probe", b"probe"]),
        features.TEXT: tf.constant([b"a", b"a"]),
        features.CHARACTERS: tf.constant([b"a", b"a"]),
        features.PHONEMES: tf.constant([b"a", b"a"]),
        features.N_FRAMES: tf.constant([1, 1], tf.int64),
    }
    for name, n in features.bins_per_frame(config).items():
        indices = [[row, col] for row in range(2) for col in range(n)]
        values = [0.0] * n + [1.0] * n
        raw[name] = tf.SparseTensor(tf.constant(indices, tf.int64), tf.constant(values), [2, n])
    transformed = output.transform_raw_features(raw)
    stats = {}
    for name in features.bins_per_frame(config):
        values = tf.sparse.to_dense(transformed[name]).numpy()
        std = 1.0 / (values[1] - values[0])
        stats[f"{name}_mean"] = (-values[0] * std).tolist()
        stats[f"{name}_std"] = std.tolist()
    return stats


def write_json(path: str, payload: dict) -> None:
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
