"""Text -> 8 kHz waveform with a loaded model_dir model: prepare text, decode from the go frame, vocode."""

from __future__ import annotations

import re
import warnings

import numpy as np

from tacotron import text
from tacotron.audio import AudioConfig
from tacotron.config import SynthesisConfig
from tacotron.network.model_dir import LoadedModel
from tacotron.text import frontend

# Silence between the sentences of a long text that was split, in seconds.
SENTENCE_PAUSE_S = 0.15
_SENTENCE_END_RE = re.compile(r"(?<=[.!?;:])\s+")


class TextError(ValueError):
    """The text cannot be spoken: nothing pronounceable is left after normalization or after G2P."""


def split_text(normalized: str, max_chars: int) -> list[str]:
    """Chunks of at most `max_chars` characters: whole sentences packed together, a longer sentence cut at the last
    space before the limit. Text that fits stays whole, as a training clip with initials ("j. r. smith") or two
    sentences is."""
    pieces = []
    for sentence in _SENTENCE_END_RE.split(normalized.strip()):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars + 1)
            cut = cut if cut > 0 else max_chars
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence.strip():
            pieces.append(sentence.strip())
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 1 + len(piece) <= max_chars:
            chunks[-1] += " " + piece
        else:
            chunks.append(piece)
    return chunks


def first_sentence_apart(chunks: list[str]) -> list[str]:
    """The chunks with the first sentence of the first one on its own: what a stream sends first, soonest."""
    first, _, rest = _SENTENCE_END_RE.sub("\n", chunks[0], count=1).partition("\n")
    return [first, *([rest] if rest else []), *chunks[1:]]


def prepare_text(raw: str, max_chars: int, reader: frontend.Frontend | None = None) -> list[str]:
    """Normalize one utterance and split it into speakable chunks; TextError when nothing speakable is left (for
    `reader`'s symbols too, when given). Characters the frontend cannot read are dropped with a warning."""
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    dropped = frontend.dropped_characters(raw)
    if dropped:
        warnings.warn(f"dropped what cannot be read in {shown!r}: "
                      f"{', '.join(frontend.describe_character(c) for c in dropped)}", stacklevel=2)
    normalized = text.normalize_text(raw)
    if not any(char.isalnum() for char in normalized):
        raise TextError(f"nothing to say in {shown!r}: no letters or numbers left after normalization")
    chunks = split_text(normalized, max_chars)
    if reader is not None and not any(reader.symbols(chunk) for chunk in chunks):
        raise TextError(f"nothing to say in {shown!r}: no {reader.name} left after G2P")
    return chunks


def text_batch(chunks: list[str], vocabulary: tuple[str, ...],
               reader: frontend.Frontend) -> tuple[np.ndarray, np.ndarray]:
    """Normalized strings -> `reader`'s symbol ids [N, T] (0-padded) and lengths [N]."""
    ids = [frontend.symbols_to_ids(reader.symbols(chunk), vocabulary) or [text.oov_id(vocabulary)]
           for chunk in chunks]
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
        from tacotron.audio import vocoder

        self.loaded = loaded
        self.synthesis = s = synthesis or loaded.configs.synthesis
        self.audio_config = audio_config
        self.frontend = frontend.Frontend(loaded.config.frontend)
        model = loaded.model
        self._infer_frames = compiled(lambda ids, lengths: model.infer_frames(ids, lengths, s), model.variables)
        self._postnet = compiled(model.postnet, model.variables)
        self._waveforms = compiled(
            lambda linear, n_frames: vocoder.waveforms(
                linear, n_frames, loaded.linear_mean, loaded.linear_std, audio_config, s.griffin_lim_iters,
                s.griffin_lim_power,
            ),
            [],
        )

    def infer(self, ids: np.ndarray, lengths: np.ndarray) -> dict[str, np.ndarray]:
        """Free-running model outputs as numpy, trimmed to the longest utterance (see Tacotron.infer)."""
        return self.postnet(self.infer_frames(ids, lengths))

    def infer_frames(self, ids: np.ndarray, lengths: np.ndarray) -> dict[str, np.ndarray]:
        """The decoder's free-running mel frames, stop logits and alignments, trimmed to the longest utterance."""
        from keras import ops

        r = self.loaded.config.reduction_factor
        width = _round_up(ids.shape[1], self.TEXT_MULTIPLE)
        ids = np.pad(np.asarray(ids, np.int32), ((0, 0), (0, width - ids.shape[1])))
        out = {k: np.asarray(ops.convert_to_numpy(v)) for k, v in self._infer_frames(ids, lengths).items()}
        t_out = int(out["n_frames"].max())
        return out | {
            "mel": out["mel"][:, :t_out],
            "stop_logits": out["stop_logits"][:, : t_out // r],
            "alignments": out["alignments"][:, : t_out // r, : int(np.max(lengths))],
        }

    def postnet(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """`infer_frames`'s output with the post-net's linear spectrogram added."""
        from keras import ops

        mel, t_out = out["mel"], out["mel"].shape[1]
        # Frames past n_frames are masked, so zero padding up to a reused width changes nothing.
        padded = np.pad(mel, ((0, 0), (0, _round_up(t_out, self.POSTNET_MULTIPLE) - t_out), (0, 0)))
        linear = np.asarray(ops.convert_to_numpy(self._postnet(padded, out["n_frames"])))
        return out | {"linear": linear[:, :t_out]}

    def vocode(self, linear: np.ndarray, n_frames: np.ndarray) -> list[np.ndarray]:
        """Normalized log linear spectrograms [N, T, F] -> one float32 waveform per row, trimmed to its length."""
        from keras import ops

        from tacotron.audio import vocoder

        width = _round_up(linear.shape[1], vocoder.FRAME_MULTIPLE)  # as vocoder.waveforms pads, for compiled reuse
        linear = np.pad(np.asarray(linear, np.float32), ((0, 0), (0, width - linear.shape[1]), (0, 0)))
        wav, lengths = self._waveforms(linear, np.asarray(n_frames, np.int32))
        wav, lengths = np.asarray(ops.convert_to_numpy(wav)), np.asarray(ops.convert_to_numpy(lengths))
        return [w[:n].astype(np.float32) for w, n in zip(wav, lengths, strict=True)]

    def __call__(self, texts: list[str]) -> tuple[list[np.ndarray], list[bool]]:
        """Raw texts -> (waveforms, stopped): `stopped` is False when some chunk hit the step limit."""
        chunked = [prepare_text(t, self.synthesis.max_chars, self.frontend) for t in texts]
        waves, stopped = self.synthesize_chunks([chunk for chunks in chunked for chunk in chunks],
                                                self.synthesis.batch_size)
        return join_chunks(waves, stopped, chunked, self.audio_config.sample_rate)

    def synthesize_chunks(self, chunks: list[str], batch_size: int) -> tuple[list[np.ndarray], list[bool]]:
        """(waveform, stopped) per normalized chunk (prepare_text's output), `batch_size` chunks decoded together."""
        waves, stopped = [], []
        for start in range(0, len(chunks), batch_size):
            ids, lengths = text_batch(chunks[start : start + batch_size], self.loaded.vocabulary, self.frontend)
            out = self.infer(ids, lengths)
            waves += self.vocode(out["linear"], out["n_frames"])
            stopped += [bool(s) for s in out["stopped"]]
        return waves, stopped


def join_chunks(
    waves: list[np.ndarray], stopped: list[bool], chunked: list[list[str]], sample_rate: int
) -> tuple[list[np.ndarray], list[bool]]:
    """Per-chunk audio back to one waveform per utterance, with a short pause between its sentences."""
    pause = np.zeros(int(SENTENCE_PAUSE_S * sample_rate), np.float32)
    results, ok, i = [], [], 0
    for chunks in chunked:
        parts = waves[i : i + len(chunks)]
        results.append(np.concatenate([p for part in parts for p in (part, pause)][:-1]))
        ok.append(all(stopped[i : i + len(chunks)]))
        i += len(chunks)
    return results, ok
