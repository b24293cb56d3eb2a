"""Text -> 8 kHz waveforms from an exported SavedModel or a training model_dir, and WAV files of them."""

from __future__ import annotations

import contextlib
import os

import numpy as np

from tacotron import storage


class SynthesisError(Exception):
    """Bad text or model path; one line (a command's exit code 2), nothing written."""


def synthesize(model: str, texts: list[str], gin_params: tuple = ()) -> tuple[list[np.ndarray], list[bool]]:
    """(waveform, stopped) per text, every text checked before any audio is made; `model` is a SavedModel or a
    model_dir, either may be a URL. `gin_params` override synthesis settings (and, for a model_dir, its config)."""
    from tacotron.config import ConfigError, read_gin
    from tacotron.serving.export import is_saved_model
    from tacotron.serving.inference import join_chunks

    if not storage.isdir(model):
        raise SynthesisError(f"--model {model!r} is not a directory")
    try:
        configs = read_gin("", gin_params)
    except ConfigError as e:
        raise SynthesisError(str(e)) from None
    # Text that normalizes to nothing is refused before a model is loaded.
    prepare(texts, configs.synthesis.max_chars)
    with contextlib.ExitStack() as stack:
        if is_saved_model(model):
            speaker = _load_exported(stack.enter_context(storage.local_folder(model)))
            synthesis = configs.synthesis
        else:
            speaker = _load_checkpoint(model, gin_params)
            synthesis = speaker.synthesis
        # Then with the model's frontend: text that leaves no symbols is refused too.
        chunked = prepare(texts, synthesis.max_chars, speaker.frontend)
        waves, stopped = speaker.synthesize_chunks([c for chunks in chunked for c in chunks], synthesis.batch_size)
    return join_chunks(waves, stopped, chunked, configs.audio.sample_rate)


def prepare(texts: list[str], max_chars: int, reader=None) -> list[list[str]]:
    """Every utterance normalized and split into chunks (and, given the model's frontend, checked to leave symbols),
    all checked before any audio is made."""
    from tacotron.serving.inference import TextError, prepare_text

    chunked, problems = [], []
    for number, text in enumerate(texts, 1):
        try:
            chunked.append(prepare_text(text, max_chars, reader))
        except TextError as e:
            problems.append(str(e) if len(texts) == 1 else f"line {number}: {e}")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise SynthesisError("; ".join(problems[:5]) + more)
    return chunked


def _load_exported(path: str):
    from tacotron.serving.export import ExportError, load_exported

    try:
        return load_exported(path)
    except ExportError as e:
        raise SynthesisError(f"--model {e}") from None


def _load_checkpoint(model_dir: str, gin_params: tuple):
    """A Synthesizer over model_dir's newest checkpoint."""
    from tacotron.network.model_dir import ModelError, load_model, local_model_dir
    from tacotron.serving.inference import Synthesizer

    try:
        with local_model_dir(model_dir) as local:  # a URL model_dir: its newest checkpoint, downloaded
            return Synthesizer(load_model(local, gin_params))
    except ModelError as e:
        raise SynthesisError(f"--model: {e}") from None


def write_wav(path: str, wav: np.ndarray, sample_rate: int) -> None:
    """Written whole or not at all (tacotron.storage): an interrupted run leaves no truncated WAV."""
    from tacotron.audio import wav_bytes

    storage.write_bytes(path if storage.is_url(path) else os.path.abspath(path), wav_bytes(wav, sample_rate))
