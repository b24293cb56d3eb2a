"""TensorBoard event files: scalars, images and audio at the global step, on a local folder or an object store."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import numpy as np

from tacotron import storage


def to_image(matrix: np.ndarray) -> np.ndarray:
    """[rows, cols] -> uint8 [rows, cols, 1], low rows at the bottom as plots show them."""
    lo, hi = float(np.min(matrix)), float(np.max(matrix))
    scaled = (matrix - lo) / (hi - lo + 1e-8)
    return (255 * scaled[::-1, :, None]).astype(np.uint8)


class TensorBoardWriter:
    """Scalars, images and audio at the true global step (so resumed runs continue the same curves).

    TensorFlow's summary writer cannot write to s3://: for a URL it writes into a local folder whose event files are
    uploaded after every flush.
    """

    def __init__(self, log_dir: str):
        import tensorflow as tf

        self.tf = tf
        self.log_dir = log_dir
        self.local = tempfile.mkdtemp(prefix="tensorboard-") if storage.is_url(log_dir) else log_dir
        try:
            self.writer = tf.summary.create_file_writer(self.local)
        except Exception as e:  # a TensorFlow OpError when the events file cannot be created (full, read-only)
            raise storage.StorageError(f"{log_dir}: cannot write TensorBoard events ({storage.cause(e)})") from None

    def scalars(self, step: int, values: dict[str, float]):
        with self._events(step):
            for name, value in values.items():
                self.tf.summary.scalar(name, value)

    def image(self, step: int, name: str, image: np.ndarray):
        with self._events(step):
            self.tf.summary.image(name, image[None])

    def audio(self, step: int, name: str, wav: np.ndarray, sample_rate: int):
        with self._events(step):
            self.tf.summary.audio(name, wav.astype(np.float32)[None, :, None], sample_rate)

    @contextlib.contextmanager
    def _events(self, step: int) -> Iterator[None]:
        """Summaries written at `step` and flushed, then uploaded for a URL. TensorFlow fails to write them (a full or
        read-only disk) in the summary ops or in the flush: either is a StorageError."""
        try:
            with self.writer.as_default(step=step):
                yield
            self.writer.flush()
        except Exception as e:
            # TensorFlow's message is "{{function_node ...}} FILE; No space left on device": the cause is its tail.
            reason = storage.cause(e).rsplit("; ", 1)[-1]
            raise storage.StorageError(f"{self.log_dir}: cannot write TensorBoard events ({reason})") from None
        if self.local != self.log_dir:
            for name in os.listdir(self.local):
                storage.copy_file(os.path.join(self.local, name), storage.join(self.log_dir, name))
