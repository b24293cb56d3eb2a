"""Text -> 8 kHz waveform with a trained model: load a model_dir, prepare text, decode from the go frame, vocode."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import warnings
from collections.abc import Iterator

import gin
import numpy as np

from tacotron import features, storage, text
from tacotron.audio import AudioConfig
from tacotron.config import SynthesisConfig, TacotronConfig

# What a model_dir carries besides checkpoints so that it is usable without the data folder it was trained on.
ASSETS_DIR = "assets"
# Silence between the sentences of a long text that was split, in seconds.
_SENTENCE_PAUSE = 0.15
_SENTENCE_END_RE = re.compile(r"(?<=[.!?;:])\s+")


class ModelError(Exception):
    """The path is not a trained model (no checkpoint, no config, unreadable weights)."""


class TextError(ValueError):
    """The text cannot be spoken: nothing pronounceable is left after normalization."""


def write_model_assets(data_dir: str, model_dir: str) -> None:
    """Copy the vocabulary and the normalization statistics from the data folder into model_dir/assets."""
    target = storage.join(model_dir, ASSETS_DIR)
    for source in (
        os.path.join(data_dir, "transform_fn", "assets", features.VOCABULARY_NAME),
        os.path.join(data_dir, features.NORMALIZATION_FILE),
    ):
        storage.copy_file(source, storage.join(target, os.path.basename(source)))


@contextlib.contextmanager
def local_model_dir(model_dir: str) -> Iterator[str]:
    """The model_dir as a local folder: itself, or for a URL a download of what loading it needs (config, assets,
    training log and the newest checkpoint, not the older ones)."""
    from tacotron.callbacks import CHECKPOINT_DIR, METRICS_FILE, list_checkpoints

    if not storage.is_url(model_dir):
        yield model_dir
        return
    checkpoints = list_checkpoints(model_dir)
    if not checkpoints or not storage.exists(storage.join(model_dir, "config.gin")):
        raise ModelError(f"{model_dir!r} is not a tacotron-train model_dir (no config.gin or no complete checkpoint)")
    stem = f"{CHECKPOINT_DIR}/{storage.basename(checkpoints[-1][1])[: -len('.weights.h5')]}"
    names = ["config.gin", ASSETS_DIR, stem + ".weights.h5", stem + ".json"]
    names += [METRICS_FILE] if storage.exists(storage.join(model_dir, METRICS_FILE)) else []
    with storage.local_folder(model_dir, names) as local:
        yield local


def vocabulary_file(model_dir: str) -> str:
    return os.path.join(model_dir, ASSETS_DIR, features.VOCABULARY_NAME)


@dataclasses.dataclass
class LoadedModel:
    """A Tacotron with its newest checkpoint loaded, and what turns text into its input and its output into audio."""

    model: object  # tacotron.model.Tacotron
    step: int
    model_dir: str
    vocabulary: tuple[str, ...]
    mel_mean: np.ndarray
    mel_std: np.ndarray
    linear_mean: np.ndarray
    linear_std: np.ndarray

    @property
    def config(self) -> TacotronConfig:
        return self.model.config


def read_assets(model_dir: str) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """The vocabulary (as tacotron.dataset.inspect_data reads it) and the normalization statistics."""
    vocab_path = vocabulary_file(model_dir)
    norm_path = os.path.join(model_dir, ASSETS_DIR, features.NORMALIZATION_FILE)
    for path in (vocab_path, norm_path):
        if not os.path.exists(path):
            raise ModelError(f"{model_dir!r} lacks {os.path.relpath(path, model_dir)} (trained by an older version?)")
    with open(vocab_path, encoding="utf-8") as f:
        vocabulary = tuple(line.rstrip("\n") for line in f if line.rstrip("\n"))
    with open(norm_path) as f:
        normalization = {k: np.asarray(v, np.float32) for k, v in json.load(f).items()}
    return vocabulary, normalization


def load_model(model_dir: str, gin_params: tuple[str, ...] = ()) -> LoadedModel:
    """Rebuild the model from model_dir/config.gin and load its newest checkpoint (no optimizer state)."""
    from tacotron.callbacks import list_checkpoints
    from tacotron.model import Tacotron

    if not os.path.isdir(model_dir):
        raise ModelError(f"{model_dir!r} is not a directory")
    config_path = os.path.join(model_dir, "config.gin")
    checkpoints = list_checkpoints(model_dir)
    if not os.path.exists(config_path) or not checkpoints:
        raise ModelError(f"{model_dir!r} is not a tacotron-train model_dir (no config.gin or no complete checkpoint)")
    vocabulary, norm = read_assets(model_dir)
    gin.clear_config()
    try:
        gin.parse_config_files_and_bindings([config_path], list(gin_params), finalize_config=False)
    except (ValueError, KeyError, SyntaxError) as e:
        raise ModelError(f"gin: {str(e).strip().splitlines()[0]}") from None
    model = Tacotron(dataclasses.replace(TacotronConfig(), vocab_size=text.vocabulary_size(vocabulary)))
    model(model.dummy_inputs(), training=False)
    step, path = checkpoints[-1]
    try:
        with warnings.catch_warnings():
            # Checkpoints also hold the optimizer's state, which an inference model does not have.
            warnings.filterwarnings("ignore", message=".*optimizer.*")
            model.load_weights(path)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load {path}: {str(e).splitlines()[0]}") from None
    return LoadedModel(
        model, step, model_dir, vocabulary, norm["mel_mean"], norm["mel_std"], norm["linear_mean"], norm["linear_std"]
    )


def split_text(normalized: str, max_chars: int) -> list[str]:
    """Sentences of at most `max_chars` characters; a longer sentence is cut at the last space before the limit."""
    chunks = []
    for sentence in _SENTENCE_END_RE.split(normalized):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars + 1)
            cut = cut if cut > 0 else max_chars
            chunks.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence.strip():
            chunks.append(sentence.strip())
    return chunks


def prepare_text(raw: str, max_chars: int) -> list[str]:
    """Normalize one utterance and split it into speakable chunks; TextError when nothing speakable is left."""
    normalized = text.normalize_text(raw)
    if not any(char.isalnum() for char in normalized):
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise TextError(f"nothing to say in {shown!r}: no letters or numbers left after normalization")
    return split_text(normalized, max_chars)


def text_batch(chunks: list[str], vocabulary: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Normalized strings -> ids [N, T] (0-padded) and lengths [N]."""
    ids = [text.text_to_ids(chunk, vocabulary) for chunk in chunks]
    lengths = np.array([len(i) for i in ids], np.int32)
    batch = np.zeros((len(ids), int(lengths.max())), np.int32)
    for row, seq in enumerate(ids):
        batch[row, : len(seq)] = seq
    return batch, lengths


def compiled(fn, variables: list):
    """`fn` traced and compiled once per input shape: jax.jit with the weights passed in, or tf.function.

    Eager Keras on JAX would re-trace the decoder's while_loop on every call; compiled, decoding runs as one program.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def pure(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                return fn(*args)

        jitted = jax.jit(pure)
        return lambda *args: jitted([v.value for v in variables], *args)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True)
    return fn


def _round_up(value: int, multiple: int) -> int:
    return -(-max(int(value), 1) // multiple) * multiple


class Synthesizer:
    """Batched text -> waveform with a loaded model (in-process; the exported SavedModel runs the same ops).

    Inputs are padded to a few widths (text to a multiple of 16 characters, frames to a multiple of 32) so that
    compiled programs are reused; masking makes the padding invisible in the output.
    """

    TEXT_MULTIPLE = 16
    POSTNET_MULTIPLE = 32

    def __init__(self, loaded: LoadedModel, synthesis: SynthesisConfig | None = None,
                 audio_config: AudioConfig = AudioConfig()):
        from tacotron import vocoder

        self.loaded = loaded
        self.synthesis = s = synthesis or SynthesisConfig()
        self.audio_config = audio_config
        model = loaded.model
        self._decode = compiled(lambda ids, lengths: model.decode(ids, lengths, s), model.variables)
        self._postnet = compiled(model.postnet, model.variables)
        self._waveforms = compiled(
            lambda linear, n_frames: vocoder.waveforms(
                linear, n_frames, loaded.linear_mean, loaded.linear_std, audio_config, s.griffin_lim_iters,
                s.griffin_lim_power,
            ),
            [],
        )

    def decode(self, ids: np.ndarray, lengths: np.ndarray) -> dict[str, np.ndarray]:
        """Free-running model outputs as numpy, trimmed to the longest utterance (see Tacotron.infer)."""
        from keras import ops

        r = self.loaded.config.reduction_factor
        width = _round_up(ids.shape[1], self.TEXT_MULTIPLE)
        ids = np.pad(np.asarray(ids, np.int32), ((0, 0), (0, width - ids.shape[1])))
        out = {k: np.asarray(ops.convert_to_numpy(v)) for k, v in self._decode(ids, lengths).items()}
        t_out = int(out["n_frames"].max())
        padded = min(_round_up(t_out, self.POSTNET_MULTIPLE), out["mel"].shape[1])
        linear = np.asarray(ops.convert_to_numpy(self._postnet(out["mel"][:, :padded], out["n_frames"])))
        return out | {
            "mel": out["mel"][:, :t_out],
            "linear": linear[:, :t_out],
            "stop_logits": out["stop_logits"][:, : t_out // r],
            "alignments": out["alignments"][:, : t_out // r, : int(np.max(lengths))],
        }

    def vocode(self, linear: np.ndarray, n_frames: np.ndarray) -> list[np.ndarray]:
        """Normalized log linear spectrograms [N, T, F] -> one float32 waveform per row, trimmed to its length."""
        from keras import ops

        from tacotron import vocoder

        width = _round_up(linear.shape[1], vocoder.FRAME_MULTIPLE)  # as vocoder.waveforms pads, for compiled reuse
        linear = np.pad(np.asarray(linear, np.float32), ((0, 0), (0, width - linear.shape[1]), (0, 0)))
        wav, lengths = self._waveforms(linear, np.asarray(n_frames, np.int32))
        wav, lengths = np.asarray(ops.convert_to_numpy(wav)), np.asarray(ops.convert_to_numpy(lengths))
        return [w[:n].astype(np.float32) for w, n in zip(wav, lengths, strict=True)]

    def __call__(self, texts: list[str]) -> tuple[list[np.ndarray], list[bool]]:
        """Raw texts -> (waveforms, stopped): `stopped` is False when some chunk hit the step limit."""
        chunked = [prepare_text(t, self.synthesis.max_chars) for t in texts]
        flat = [chunk for chunks in chunked for chunk in chunks]
        waves, stopped = [], []
        for start in range(0, len(flat), self.synthesis.batch_size):
            ids, lengths = text_batch(flat[start : start + self.synthesis.batch_size], self.loaded.vocabulary)
            out = self.decode(ids, lengths)
            waves += self.vocode(out["linear"], out["n_frames"])
            stopped += [bool(s) for s in out["stopped"]]
        return join_chunks(waves, stopped, chunked, self.audio_config.sample_rate)


def join_chunks(
    waves: list[np.ndarray], stopped: list[bool], chunked: list[list[str]], sample_rate: int
) -> tuple[list[np.ndarray], list[bool]]:
    """Per-chunk audio back to one waveform per utterance, with a short pause between its sentences."""
    pause = np.zeros(int(_SENTENCE_PAUSE * sample_rate), np.float32)
    results, ok, i = [], [], 0
    for chunks in chunked:
        parts = waves[i : i + len(chunks)]
        results.append(np.concatenate([p for part in parts for p in (part, pause)][:-1]))
        ok.append(all(stopped[i : i + len(chunks)]))
        i += len(chunks)
    return results, ok
