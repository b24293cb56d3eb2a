"""Small LJSpeech-layout corpora written to disk for tests: varied good clips and every kind of bad record."""

from __future__ import annotations

import pathlib

import numpy as np
import soundfile as sf

# reason -> the id of the record that must be rejected with it
BAD_RECORDS = {
    "unreadable_audio": "corrupt",
    "empty_file": "zerobytes",
    "no_samples": "headeronly",
    "non_finite_samples": "nans",
    "silent": "digitalsilence",
    "missing_audio": "missing",
    "empty_transcript": "blanktext",
    "unsafe_id": "../escape",
    "malformed_line": "malformed",
    "duplicate_id": "good00",
    "too_long": "toolong",
}


def tone(seconds: float, rate: int, seed: int, channels: int = 1) -> np.ndarray:
    """A speech-like harmonic signal with a moving pitch, padded with quiet noise to be trimmed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 110 + 40 * seed % 90 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 3 * t))
    pad = int(0.2 * rate)
    signal = np.concatenate([np.zeros(pad), 0.3 * voiced * envelope, np.zeros(pad)])
    signal += 1e-4 * rng.standard_normal(len(signal))
    if channels > 1:
        signal = np.stack([signal * (0.8 + 0.2 * c) for c in range(channels)], axis=1)
    return signal.astype(np.float32)


# (id, seconds, rate, subtype, format, channels): the formats users' corpora come in.
GOOD_CLIPS = [
    ("good00", 1.2, 22050, "PCM_16", "WAV", 1),
    ("good01", 2.0, 16000, "PCM_24", "WAV", 2),
    ("good02", 1.5, 44100, "FLOAT", "WAV", 1),
    ("good03", 3.1, 8000, "PCM_16", "WAV", 1),
    ("good04", 0.9, 16000, "PCM_16", "FLAC", 1),
    ("good05", 2.4, 24000, "PCM_32", "WAV", 1),
    ("good06", 1.8, 16000, "PCM_16", "WAV", 1),
    ("good07", 4.6, 11025, "PCM_16", "WAV", 1),
]
TRANSCRIPTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Dr. Smith paid $5 for 2 apples at 7:30 pm.",
    "She sells sea shells by the sea shore!",
    "Is it the 3rd time — or the 4th?",
    "“Quoted” words and café latte.",
    "Numbers like 1,200 and 3.5 are spoken.",
    "A short one.",
    "Pack my box with five dozen liquor jugs.",
]


def write_corpus(root: pathlib.Path, with_bad: bool = True) -> pathlib.Path:
    wavs = root / "wavs"
    wavs.mkdir(parents=True)
    lines = []
    for (clip_id, seconds, rate, subtype, fmt, channels), text in zip(GOOD_CLIPS, TRANSCRIPTS, strict=True):
        ext = ".flac" if fmt == "FLAC" else ".wav"
        sf.write(wavs / f"{clip_id}{ext}", tone(seconds, rate, len(lines), channels), rate, subtype=subtype,
                 format=fmt)
        lines.append(f"{clip_id}|{text}|{text}")
    if with_bad:
        (wavs / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" + bytes(range(200)))
        (wavs / "zerobytes.wav").write_bytes(b"")
        sf.write(wavs / "headeronly.wav", np.zeros(0, np.float32), 16000, subtype="PCM_16")
        nans = tone(1.0, 16000, 1)
        nans[100:110] = np.nan
        nans[200] = np.inf
        sf.write(wavs / "nans.wav", nans, 16000, subtype="FLOAT")
        sf.write(wavs / "digitalsilence.wav", np.zeros(16000, np.float32), 16000, subtype="PCM_16")
        sf.write(wavs / "blanktext.wav", tone(1.0, 16000, 2), 16000, subtype="PCM_16")
        sf.write(wavs / "toolong.wav", tone(6.0, 16000, 3), 16000, subtype="PCM_16")
        # A real file outside wavs/ that an escaping id would reach.
        sf.write(root / "escape.wav", tone(1.0, 16000, 4), 16000, subtype="PCM_16")
        lines += [
            "corrupt|Corrupt audio.|Corrupt audio.",
            "zerobytes|Empty file.|Empty file.",
            "headeronly|No samples.|No samples.",
            "nans|Not a number.|Not a number.",
            "digitalsilence|Silence.|Silence.",
            "missing|This file does not exist.|This file does not exist.",
            "blanktext|   |   ",
            "../escape|Escaping the folder.|Escaping the folder.",
            "malformed line without separators",
            "good00|A duplicate id.|A duplicate id.",
            "toolong|This clip is far too long.|This clip is far too long.",
            "",
        ]
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root
