"""tf.data input pipeline: preprocessed TFRecords -> shuffled, length-bucketed, floor-padded batches."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from tacotron import features, storage
from tacotron.audio import AudioConfig
from tacotron.text.frontend import Frontend, FrontendError

# Features a batch carries into the model (strings stay out: JAX cannot hold them).
MODEL_FEATURES = (features.TEXT_IDS, features.TEXT_LENGTH, features.MEL, features.LINEAR, features.N_FRAMES)


class DataError(Exception):
    """The --data folder is missing, empty, or not what the preprocessing job writes."""


@contextlib.contextmanager
def local_data(data_dir: str) -> Iterator[str]:
    """The data folder as a local folder (tf.data cannot read s3://): itself, or a download of a URL folder that a
    preprocessing run finished publishing."""
    if storage.is_url(data_dir) and not storage.is_complete(data_dir):
        raise DataError(f"--data {data_dir}: not a finished preprocessing output (no {storage.COMPLETE_MARKER} "
                        "marker: the run that writes it did not complete)")
    with storage.local_folder(data_dir) as local:
        yield local


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What training needs to know about a preprocessed data folder, read once up front."""

    data_dir: str
    frontend: str  # whose symbols the model reads: tacotron.text.frontend.CHARACTERS or PHONEMES
    vocabulary: tuple[str, ...]
    mel_mean: np.ndarray
    mel_std: np.ndarray
    linear_mean: np.ndarray
    linear_std: np.ndarray
    n_frames: dict[str, np.ndarray]  # per split, every utterance's frame count
    text_lengths: dict[str, np.ndarray]  # per split

    @property
    def vocab_size(self) -> int:
        """Embedding rows: padding (0) + vocabulary + out-of-vocabulary (tacotron.text convention)."""
        return len(self.vocabulary) + 2

    def floor_values(self, config: AudioConfig = AudioConfig()) -> dict[str, np.ndarray]:
        """The normalized log-floor per bin: what silence looks like, so padding is silence, not the mean."""
        floor = config.log_floor_value
        return {
            features.MEL: ((floor - self.mel_mean) / self.mel_std).astype(np.float32),
            features.LINEAR: ((floor - self.linear_mean) / self.linear_std).astype(np.float32),
        }


def split_files(data_dir: str, split: str) -> list[str]:
    return sorted(tf.io.gfile.glob(os.path.join(data_dir, f"{split}-*{features.TFRECORD_SUFFIX}")))


def _read_lengths(files: list[str], frontend: str) -> tuple[np.ndarray, np.ndarray]:
    length = features.FRONTEND_FEATURES[frontend][2]
    spec = {
        features.N_FRAMES: tf.io.FixedLenFeature([], tf.int64),
        length: tf.io.FixedLenFeature([], tf.int64),
    }
    n_frames, text_lengths = [], []
    # File by file, so that a shard cut short or not of this schema is named.
    for path in files:
        ds = tf.data.TFRecordDataset(path, compression_type="GZIP").batch(1024)
        try:
            for batch in ds.map(lambda s: tf.io.parse_example(s, spec)):
                n_frames.append(batch[features.N_FRAMES].numpy())
                text_lengths.append(batch[length].numpy())
        except tf.errors.DataLossError as e:
            raise DataError(f"{path} is cut short or corrupt ({_tf_cause(e)})") from None
        except tf.errors.InvalidArgumentError as e:
            raise DataError(f"{path}: records do not match the schema ({_tf_cause(e)})") from None
    if not n_frames:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(n_frames), np.concatenate(text_lengths)


def _tf_cause(error: Exception) -> str:
    """A TensorFlow error's message without the op, device and function names around it."""
    message = str(getattr(error, "message", error)).strip().splitlines()[0]
    message = re.sub(r"\{\{[^}]*\}\}\s*", "", message)
    return re.sub(r"\s*\[Op:.*$", "", message).strip(" '")


def read_texts(data_dir: str, split: str) -> list[str]:
    """The normalized transcripts of one split, in file order."""
    spec = {features.TEXT: tf.io.FixedLenFeature([], tf.string)}
    ds = tf.data.TFRecordDataset(split_files(data_dir, split), compression_type="GZIP").batch(1024)
    return [t.decode("utf-8") for batch in ds.map(lambda s: tf.io.parse_example(s, spec))
            for t in batch[features.TEXT].numpy()]


def inspect_data(data_dir: str, config: AudioConfig = AudioConfig(), frontend: str = "phonemes") -> DataInfo:
    """Check a preprocessed folder against the schema and read what training needs for a model that reads
    `frontend`'s symbols; DataError names the problem."""
    try:
        reader = Frontend(frontend)
    except FrontendError as e:
        raise DataError(str(e)) from None
    if not data_dir or not tf.io.gfile.isdir(data_dir):
        raise DataError(f"--data {data_dir!r} is not a directory")
    if not split_files(data_dir, features.TRAIN_PREFIX):
        raise DataError(f"--data {data_dir!r} has no {features.TRAIN_PREFIX}-*{features.TFRECORD_SUFFIX} files")
    norm_path = os.path.join(data_dir, features.NORMALIZATION_FILE)
    frontend_path = os.path.join(data_dir, features.FRONTEND_FILE)
    vocab_path = os.path.join(data_dir, "transform_fn", "assets", features.vocabulary_name(frontend))
    for path in (norm_path, frontend_path, vocab_path):
        if not tf.io.gfile.exists(path):
            raise DataError(f"--data {data_dir!r} lacks {os.path.relpath(path, data_dir)} (not a preprocessing output, "
                            "or one made before the phoneme frontend: preprocess the corpus again)")
    with tf.io.gfile.GFile(norm_path) as f:
        norm = {k: np.asarray(v, np.float32) for k, v in json.load(f).items()}
    with tf.io.gfile.GFile(vocab_path) as f:
        vocabulary = tuple(line.rstrip("\n") for line in f if line.rstrip("\n"))
    with tf.io.gfile.GFile(frontend_path) as f:
        recorded = json.load(f).get(frontend, {})
    try:
        # A model must be fed at synthesis time the symbols it was trained on: the G2P that made them must be this one.
        reader.check_matches(recorded, f"--data {data_dir!r}")
    except FrontendError as e:
        raise DataError(str(e)) from None
    bins = features.bins_per_frame(config)
    for key, name in (("mel", features.MEL), ("linear", features.LINEAR)):
        for stat in ("mean", "std"):
            value = norm.get(f"{key}_{stat}")
            if value is None or value.shape != (bins[name],):
                shape = None if value is None else value.shape
                raise DataError(
                    f"{features.NORMALIZATION_FILE}: {key}_{stat} has shape {shape}, expected ({bins[name]},)"
                )
    n_frames, text_lengths = {}, {}
    for split in (features.TRAIN_PREFIX, features.EVAL_PREFIX):
        n_frames[split], text_lengths[split] = _read_lengths(split_files(data_dir, split), frontend)
    if len(n_frames[features.TRAIN_PREFIX]) == 0:
        raise DataError(f"--data {data_dir!r}: the train split has no records")
    _check_spectrogram_shapes(data_dir, config)
    return DataInfo(
        data_dir,
        frontend,
        vocabulary,
        norm["mel_mean"],
        norm["mel_std"],
        norm["linear_mean"],
        norm["linear_std"],
        n_frames,
        text_lengths,
    )


def _check_spectrogram_shapes(data_dir: str, config: AudioConfig) -> None:
    """One record fully parsed: the flattened spectrograms must hold n_frames x bins values."""
    first = next(
        iter(tf.data.TFRecordDataset(split_files(data_dir, features.TRAIN_PREFIX)[:1], compression_type="GZIP"))
    )
    try:
        example = features.parse_example(first, config)
    except (tf.errors.InvalidArgumentError, ValueError) as e:
        raise DataError(f"train records in {data_dir!r} do not match the schema: {str(e).splitlines()[0]}") from None
    for name in (features.MEL, features.LINEAR):
        if example[name].shape[0] != int(example[features.N_FRAMES]):
            raise DataError(
                f"train records in {data_dir!r}: {name} holds {example[name].shape[0]} frames, n_frames says "
                f"{int(example[features.N_FRAMES])} (audio settings differ from preprocessing?)"
            )


@dataclasses.dataclass(frozen=True)
class Buckets:
    """Padded shapes: utterances of up to frames[i] frames are padded to exactly (frames[i], text[i])."""

    frames: tuple[int, ...]
    text: tuple[int, ...]


def make_buckets(n_frames: np.ndarray, text_lengths: np.ndarray, count: int, multiple: int) -> Buckets:
    """At most `count` length buckets, each a multiple of `multiple` frames, placed to pad as little as possible.

    A handful of fixed shapes keeps traced / XLA steps from recompiling per batch. Equal-count (quantile) buckets
    let one long clip stretch the last bucket (23% of the bundled corpus's compute was padding); the boundaries
    here minimize the padded total exactly, by dynamic programming over the distinct rounded lengths.
    """
    n_frames = np.asarray(n_frames)
    rounded = np.ceil(n_frames / multiple).astype(np.int64) * multiple
    lengths, counts = np.unique(rounded, return_counts=True)  # candidate boundaries: [m]
    m, most = len(lengths), min(count, len(lengths))
    upto = np.concatenate([[0], np.cumsum(counts)])  # utterances with a length < lengths[i]: upto[i]
    # best[b, i]: least padded total covering lengths[0..i] with b buckets; start[b, i]: where its last bucket starts.
    best = np.full((most + 1, m), np.inf)
    start = np.zeros((most + 1, m), np.int64)
    best[1] = upto[1:] * lengths
    for b in range(2, most + 1):
        for i in range(1, m):
            # The last bucket holds lengths[j..i] (j = 1..i), padded to lengths[i], after the best cover of 0..j-1.
            totals = best[b - 1, :i] + (upto[i + 1] - upto[1 : i + 1]) * lengths[i]
            start[b, i] = int(np.argmin(totals)) + 1
            best[b, i] = totals[start[b, i] - 1]
    b = int(np.argmin(best[1:, m - 1])) + 1
    bounds, i = [], m - 1
    while b >= 1:
        bounds.append(int(lengths[i]))
        i, b = start[b, i] - 1, b - 1
    frames = sorted(bounds)
    text, lower = [], 0
    for upper in frames:
        inside = (n_frames > lower) & (n_frames <= upper)
        text.append(int(np.asarray(text_lengths)[inside].max()) if inside.any() else 1)
        lower = upper
    return Buckets(tuple(frames), tuple(text))


def padding_fraction(n_frames: np.ndarray, buckets: Buckets) -> float:
    """Share of padded (wasted) frames when every utterance is padded to its bucket's length."""
    index = np.searchsorted(np.asarray(buckets.frames), n_frames)
    padded = np.asarray(buckets.frames)[index]
    return float(1.0 - n_frames.sum() / padded.sum())


def make_dataset(
    info: DataInfo,
    split: str,
    batch_size: int,
    buckets: Buckets,
    config: AudioConfig = AudioConfig(),
    shuffle_buffer: int = 2048,
    seed: int | None = None,
    repeat: bool = True,
    keep_text: bool = False,
    drop_remainder: bool = True,
) -> tf.data.Dataset:
    """Batches of dense features; spectrogram frames past n_frames hold the normalized log floor."""
    files = split_files(info.data_dir, split)
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_buffer:
        ds = ds.shuffle(len(files), seed=seed)
    ds = ds.interleave(
        lambda f: tf.data.TFRecordDataset(f, compression_type="GZIP"),
        cycle_length=min(len(files), 4),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=seed is not None,
    )
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        ds = ds.repeat()
    keep = MODEL_FEATURES + ((features.ID, features.TEXT) if keep_text else ())

    _, ids_name, length_name = features.FRONTEND_FEATURES[info.frontend]

    def parse(serialized):
        example = features.parse_example(serialized, config)
        # The chosen frontend's ids become the model's text input.
        example |= {features.TEXT_IDS: example[ids_name], features.TEXT_LENGTH: example[length_name]}
        out = {k: example[k] for k in keep}
        for k in (features.TEXT_IDS, features.TEXT_LENGTH, features.N_FRAMES):
            out[k] = tf.cast(out[k], tf.int32)
        return out

    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    frame_bounds = tf.constant(buckets.frames, tf.int64)
    text_bounds = tf.constant(buckets.text, tf.int64)
    bins = features.bins_per_frame(config)

    def bucket_of(example):
        n = tf.cast(example[features.N_FRAMES], tf.int64)
        return tf.minimum(tf.reduce_sum(tf.cast(frame_bounds < n, tf.int64)), len(buckets.frames) - 1)

    def batch_bucket(key, window):
        shapes = {
            features.TEXT_IDS: tf.reshape(text_bounds[key], [1]),
            features.TEXT_LENGTH: [],
            features.N_FRAMES: [],
            features.MEL: tf.stack([frame_bounds[key], bins[features.MEL]]),
            features.LINEAR: tf.stack([frame_bounds[key], bins[features.LINEAR]]),
        }
        shapes.update({k: [] for k in keep if k not in shapes})
        # Training keeps every batch the same size (one compiled step, even replica splits); evaluation keeps all.
        return window.padded_batch(batch_size, padded_shapes=shapes, drop_remainder=drop_remainder)

    # Longer than the last bucket (a rerun of preprocessing with a larger --max_seconds): cannot be padded to a
    # fixed shape, so it is left out here and counted by inspect_data's caller.
    ds = ds.filter(lambda e: tf.cast(e[features.N_FRAMES], tf.int64) <= frame_bounds[-1])
    ds = ds.group_by_window(bucket_of, batch_bucket, window_size=batch_size)
    floors = {k: tf.constant(v) for k, v in info.floor_values(config).items()}

    def pad_with_floor(batch):
        frames = tf.shape(batch[features.MEL])[1]
        real = tf.sequence_mask(batch[features.N_FRAMES], frames)[..., None]  # [N, T, 1]
        for name, floor in floors.items():
            batch[name] = tf.where(real, batch[name], floor)
        return batch

    return ds.map(pad_with_floor, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
