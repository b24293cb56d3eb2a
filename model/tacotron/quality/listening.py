"""Free-running quality on recorded utterances: decode from the go frame, vocode, and measure what a listener gets."""

from __future__ import annotations

import numpy as np
from keras import ops

from tacotron import audio
from tacotron.network import alignment
from tacotron.quality import metrics

# Free-running figures per utterance that are averaged over the split.
AVERAGED = ("gv_ratio", "spectral_detail_ratio", "mcd_dtw_db", "diagonality", "focus", "alignment_score",
            "length_ratio")


def listen(synthesizer, x: dict, n: int) -> list[dict]:
    """Decode the first `n` rows of a model batch `x` free-running and vocode them; per utterance its figures
    (see AVERAGED, `stopped`, frame counts) and what the report draws and plays: `predicted_mel`, `recorded_mel`
    (log magnitudes [T, num_mels]), `alignment` [T_dec, T_in], `predicted_wav` and `recorded_wav` (the recording's
    own spectrogram through the same Griffin-Lim)."""
    loaded = synthesizer.loaded
    r = loaded.config.reduction_factor
    free = synthesizer.infer(x["text_ids"], x["text_length"])
    predicted = synthesizer.vocode(free["linear"][:n], free["n_frames"][:n])
    recorded = synthesizer.vocode(x["linear"][:n], x["n_frames"][:n])
    steps = np.maximum(free["n_frames"] // r, 1)
    focus = np.asarray(ops.convert_to_numpy(alignment.focus(free["alignments"], steps)))
    diagonality = np.asarray(ops.convert_to_numpy(alignment.diagonality(free["alignments"], steps, x["text_length"])))
    utterances = []
    for i in range(n):
        true_frames, predicted_frames = int(x["n_frames"][i]), int(free["n_frames"][i])
        true_mel = x["mel"][i, :true_frames] * loaded.mel_std + loaded.mel_mean  # [T, num_mels] log magnitudes
        predicted_mel = free["mel"][i, :predicted_frames] * loaded.mel_std + loaded.mel_mean
        utterances.append({
            "gv_ratio": metrics.global_variance_ratio(true_mel, predicted_mel),
            "spectral_detail_ratio": metrics.spectral_detail(predicted_mel) / metrics.spectral_detail(true_mel),
            "mcd_dtw_db": metrics.mcd_dtw(true_mel, predicted_mel),
            "diagonality": float(diagonality[i]),
            "focus": float(focus[i]),
            "alignment_score": float(diagonality[i] * focus[i]),
            "length_ratio": metrics.length_ratio(predicted_frames, true_frames),
            "stopped": bool(free["stopped"][i]),
            "true_frames": true_frames,
            "predicted_frames": predicted_frames,
            "predicted_mel": predicted_mel,
            "recorded_mel": true_mel,
            "alignment": free["alignments"][i, : steps[i], : int(x["text_length"][i])],
            "predicted_wav": predicted[i],
            "recorded_wav": recorded[i],
        })
    return utterances


def summarize(utterances: list[dict], config: audio.AudioConfig = audio.AudioConfig()) -> tuple[dict, dict]:
    """(free-running averages with failure_rate and sentence_identification, identification details).

    Identification compares the log mel of each predicted waveform (what a listener hears) with the recordings;
    the recordings' own Griffin-Lim audio gives the ceiling this vocoder allows. Its per-utterance results are
    written back into `utterances` (identified, margin, nearest: an index).
    """
    recordings = [u["recorded_mel"] for u in utterances]
    heard = [audio.spectrograms(u["predicted_wav"], config)[0] for u in utterances]
    resynthesized = [audio.spectrograms(u["recorded_wav"], config)[0] for u in utterances]
    identification = metrics.sentence_identification(heard, recordings)
    ceiling = metrics.sentence_identification(resynthesized, recordings)
    ceiling.pop("per_utterance", None)
    for u, item in zip(utterances, identification.pop("per_utterance", []), strict=False):
        u |= {"identified": item["correct"], "margin": item["margin"], "nearest": item["nearest"]}
    free_running = {name: float(np.mean([u[name] for u in utterances])) for name in AVERAGED}
    free_running["failure_rate"] = float(np.mean([not u["stopped"] for u in utterances]))
    free_running["sentence_identification"] = identification.get("accuracy")
    return free_running, identification | {"griffin_lim_ceiling": ceiling}
