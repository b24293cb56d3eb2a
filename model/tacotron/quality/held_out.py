"""Held-out sentences of words a corpus never had, with minimal pairs: does the model read, or recite?

A held-out set is a folder in LJSpeech layout (`metadata.csv`, `wavs/<id>.flac`) plus `pairs.csv`
(`id|normalized_text|pair_normalized_text|original_word|replacement_word`) and `pairs/<id>.flac`: each sentence's
twin with one word changed, recorded in the same voice (data/make_sample_corpus.py --held_out_from writes one).
"""

from __future__ import annotations

import os

import numpy as np

from tacotron import audio
from tacotron.quality import listening, metrics
from tacotron.serving.inference import Synthesizer, text_batch
from tacotron.text.frontend import Frontend

PAIRS_FILE = "pairs.csv"


class HeldOutError(ValueError):
    """The folder is not a held-out set (no pairs.csv, a missing recording); one line."""


def _spectrograms(path: str) -> tuple[np.ndarray, np.ndarray]:
    if not os.path.exists(path):
        raise HeldOutError(f"held-out set: {path} is missing")
    return audio.spectrograms(audio.trim_silence(audio.read_audio(path)))


def load_held_out(folder: str, loaded) -> tuple[dict, list[str], list[np.ndarray]]:
    """The set as one model batch (recordings normalized like the training data), its normalized texts, and the log
    mels of the minimal-pair recordings."""
    pairs = os.path.join(folder, PAIRS_FILE)
    if os.path.isdir(folder) and not os.access(folder, os.R_OK | os.X_OK, effective_ids=True):
        # Otherwise it reads as a folder without pairs.csv (seen with a mode-700 folder mounted into the image).
        raise HeldOutError(f"--held_out {folder!r}: permission denied (this user cannot read the folder)")
    if not os.path.isfile(pairs):
        raise HeldOutError(f"--held_out {folder!r} has no {PAIRS_FILE} (make one with data/make_sample_corpus.py "
                           "--held_out_from)")
    with open(pairs, encoding="utf-8") as f:
        rows = [line.split("|") for line in f.read().splitlines() if line]
    if not rows:
        raise HeldOutError(f"--held_out {pairs!r} lists no sentences")
    texts = [row[1] for row in rows]
    spectra = [_spectrograms(os.path.join(folder, "wavs", f"{row[0]}.flac")) for row in rows]
    pair_mels = [_spectrograms(os.path.join(folder, "pairs", f"{row[0]}.flac"))[0] for row in rows]
    ids, lengths = text_batch(texts, loaded.vocabulary, Frontend(loaded.config.frontend))
    r = loaded.config.reduction_factor
    width = -(-max(len(mel) for mel, _ in spectra) // r) * r
    mel = np.zeros((len(rows), width, spectra[0][0].shape[1]), np.float32)  # [N, T, num_mels]
    linear = np.zeros((len(rows), width, spectra[0][1].shape[1]), np.float32)  # [N, T, num_freq]
    for i, (m, lin) in enumerate(spectra):
        mel[i, : len(m)] = (m - loaded.mel_mean) / loaded.mel_std
        linear[i, : len(lin)] = (lin - loaded.linear_mean) / loaded.linear_std
    batch = {"text_ids": ids, "text_length": lengths, "mel": mel, "linear": linear,
             "n_frames": np.array([len(m) for m, _ in spectra], np.int32)}
    return batch, texts, pair_mels


def minimal_pairs(utterances: list[dict], pair_mels: list[np.ndarray]) -> dict:
    """Share of predictions nearer their own sentence's recording than its one-word-changed twin (chance 50%), the
    median distance margin, and the same for the recordings through the same Griffin-Lim (the ceiling)."""

    def score(heard_mels: list[np.ndarray]) -> dict:
        wins, margins = [], []
        for u, heard, pair in zip(utterances, heard_mels, pair_mels, strict=True):
            cepstrum = metrics.mel_cepstrum(heard)
            own = metrics.cepstral_dtw(metrics.mel_cepstrum(u["recorded_mel"]), cepstrum)
            other = metrics.cepstral_dtw(metrics.mel_cepstrum(pair), cepstrum)
            wins.append(own < other)
            margins.append(other / max(own, 1e-9))
        return {"accuracy": float(np.mean(wins)), "correct": int(np.sum(wins)),
                "median_margin": float(np.median(margins))}

    result = score([audio.spectrograms(u["predicted_wav"])[0] for u in utterances])
    result["griffin_lim_ceiling"] = score([audio.spectrograms(u["recorded_wav"])[0] for u in utterances])
    return result


def measure(synthesizer: Synthesizer, folder: str, batch_size: int = 16) -> dict:
    """Free-running synthesis of the whole set: the free-running averages (tacotron.quality.listening), sentence
    identification among its sentences and the minimal pairs."""
    batch, _, pair_mels = load_held_out(folder, synthesizer.loaded)
    utterances = []
    for start in range(0, len(batch["n_frames"]), batch_size):
        part = {k: v[start : start + batch_size] for k, v in batch.items()}
        utterances += listening.listen(synthesizer, part, len(part["n_frames"]))
    free_running, identification = listening.summarize(utterances)
    identification.pop("per_utterance", None)
    return {**free_running, "identification": identification, "minimal_pairs": minimal_pairs(utterances, pair_mels)}
