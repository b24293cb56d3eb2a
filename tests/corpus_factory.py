"""Small LJSpeech-layout corpora written to disk for tests: varied good clips and every kind of bad record."""

from __future__ import annotations

import functools
import pathlib

import librosa
import numpy as np
import soundfile as sf

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "data" / "sample_corpus"
# (reason, id of the record that must be rejected with it)
BAD_RECORDS = [
    ("unreadable_audio", "corrupt"),
    ("empty_file", "zerobytes"),
    ("no_samples", "headeronly"),
    ("non_finite_samples", "nans"),
    ("silent", "digitalsilence"),
    ("silent", "dither"),
    ("silent", "hiss"),
    ("silent", "mutedchannel"),
    ("clipped", "clipped"),
    ("implausible_rate", "toofast"),
    ("implausible_rate", "tooslow"),
    ("implausible_rate", "rateoutlier"),
    ("too_short", "onesample"),
    ("missing_audio", "missing"),
    ("empty_transcript", "blanktext"),
    ("unsafe_id", "../escape"),
    ("malformed_line", "malformed"),
    ("duplicate_id", "good00"),
    ("too_long", "toolong"),
]
# A good clip with three short runs at full scale: kept, and counted as a warning.
MILDLY_CLIPPED = "good05"
# Good clips are spoken at about this many characters of normalized transcript per second.
CHARS_PER_SECOND = 15.0


@functools.lru_cache(maxsize=64)
def _bundled(index: int) -> np.ndarray:
    """The bundled corpus's clip `index` (cycling), 16 kHz mono, without its silent margins (joined clips then
    speak on without a gap at the joins)."""
    lines = (CORPUS / "metadata.csv").read_text(encoding="utf-8").splitlines()
    signal, _ = sf.read(CORPUS / "wavs" / f"{lines[index % len(lines)].split('|')[0]}.flac", dtype="float32")
    return librosa.effects.trim(signal, top_db=40)[0]


def speech(seconds: float, rate: int, seed: int, channels: int = 1) -> np.ndarray:
    """`seconds` of recorded speech (the bundled corpus's clips from `seed` on, joined and cut), peaking at 0.5,
    padded with 0.2 s of quiet noise to be trimmed, at `rate`."""
    rng = np.random.default_rng(seed)
    parts, length, index = [], 0, seed
    while length < seconds * 16000:
        parts.append(_bundled(index))
        length += len(parts[-1])
        index += 1
    voiced = np.concatenate(parts)[: int(seconds * 16000)]
    voiced = librosa.resample(0.5 * voiced / np.abs(voiced).max(), orig_sr=16000, target_sr=rate)
    pad = int(0.2 * rate)
    signal = np.concatenate([np.zeros(pad), voiced, np.zeros(pad)])
    signal += 1e-4 * rng.standard_normal(len(signal))
    if channels > 1:
        signal = np.stack([signal * (0.8 + 0.2 * c) for c in range(channels)], axis=1)
    return signal.astype(np.float32)


# (id, rate, subtype, format, channels): the formats users' corpora come in. "muted": one of two channels is silent.
GOOD_CLIPS = [
    ("good00", 22050, "PCM_16", "WAV", 1),
    ("good01", 16000, "PCM_24", "WAV", 2),
    ("good02", 44100, "FLOAT", "WAV", 1),
    ("good03", 8000, "PCM_16", "WAV", 1),
    ("good04", 16000, "PCM_16", "FLAC", 1),
    ("good05", 24000, "PCM_32", "WAV", 1),
    ("good06", 16000, "PCM_16", "WAV", "muted"),
    ("good07", 11025, "PCM_16", "WAV", 1),
    ("good08", 96000, "PCM_16", "WAV", 6),
    ("good09", 16000, "PCM_U8", "WAV", 1),
]
TRANSCRIPTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Dr. Smith paid $5 for 2 apples at 7:30 pm.",
    "She sells sea shells by the sea shore!",
    "Is it the 3rd time — or the 4th?",
    "“Quoted” words and café latte.",
    "Numbers like 1,200 are spoken.",
    "A short one, said twice: a short one.",
    "Pack my box with five dozen liquor jugs.",
    "Six channels at ninety six kilohertz.",
    "Eight bits a sample, and still speech.",
]


def speech_seconds(transcript: str, index: int, chars_per_second: float = CHARS_PER_SECOND) -> float:
    """How long a clip speaking `transcript` lasts at about `chars_per_second` (+-8%, varied by index)."""
    from tacotron.text import normalize_text

    return len(normalize_text(transcript)) / (chars_per_second * (1 + 0.08 * np.sin(index)))


def layout(signal: np.ndarray, channels: int | str) -> np.ndarray:
    """A mono signal as the file's channels: copies at slightly different gains, or one muted channel of two."""
    if channels == "muted":
        return np.stack([np.zeros_like(signal), signal], axis=1)
    if channels == 1:
        return signal
    return np.stack([signal * (0.8 + 0.2 * c / channels) for c in range(channels)], axis=1)


def write_corpus(root: pathlib.Path, with_bad: bool = True) -> pathlib.Path:
    wavs = root / "wavs"
    wavs.mkdir(parents=True)
    lines = []
    for index, ((clip_id, rate, subtype, fmt, channels), text) in enumerate(zip(GOOD_CLIPS, TRANSCRIPTS,
                                                                                strict=True)):
        ext = ".flac" if fmt == "FLAC" else ".wav"
        signal = layout(speech(speech_seconds(text, index), rate, index), channels)
        if clip_id == MILDLY_CLIPPED:
            for start in (rate // 2, rate, 3 * rate // 2):
                signal[start:start + 4] = 1.0
        sf.write(wavs / f"{clip_id}{ext}", signal, rate, subtype=subtype, format=fmt)
        lines.append(f"{clip_id}|{text}|{text}")
    if with_bad:
        rng = np.random.default_rng(0)
        lsb = 1 / 32768
        (wavs / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" + bytes(range(200)))
        (wavs / "zerobytes.wav").write_bytes(b"")
        sf.write(wavs / "headeronly.wav", np.zeros(0, np.float32), 16000, subtype="PCM_16")
        nans = speech(1.0, 16000, 1)
        nans[100:110] = np.nan
        nans[200] = np.inf
        sf.write(wavs / "nans.wav", nans, 16000, subtype="FLOAT")
        sf.write(wavs / "digitalsilence.wav", np.zeros(16000, np.float32), 16000, subtype="PCM_16")
        # What a muted recorder or sox writes: +-1 LSB of dither, about -90 dBFS.
        sf.write(wavs / "dither.wav", rng.integers(-1, 2, 16000) * lsb, 16000, subtype="PCM_16")
        sf.write(wavs / "hiss.wav", 10 ** (-65 / 20) * rng.standard_normal(16000), 16000, subtype="PCM_16")
        muted = np.stack([np.zeros(16000), rng.integers(-1, 2, 16000) * lsb], axis=1)
        sf.write(wavs / "mutedchannel.wav", muted, 16000, subtype="PCM_16")
        sf.write(wavs / "clipped.wav", np.clip(6 * speech(2.5, 16000, 5), -1, 1), 16000, subtype="PCM_16")
        sf.write(wavs / "toofast.wav", speech(0.8, 16000, 6), 16000, subtype="PCM_16")
        sf.write(wavs / "tooslow.wav", speech(4.5, 16000, 7), 16000, subtype="PCM_16")
        # 1.7 times the corpus's rate: inside the absolute limits, far outside this corpus's own band.
        outlier_text = "Spoken much faster than every other clip here."
        sf.write(wavs / "rateoutlier.wav", speech(speech_seconds(outlier_text, 0, 1.7 * CHARS_PER_SECOND), 16000, 8),
                 16000, subtype="PCM_16")
        sf.write(wavs / "onesample.wav", np.full(1, 0.5), 16000, subtype="PCM_16")
        sf.write(wavs / "blanktext.wav", speech(1.0, 16000, 2), 16000, subtype="PCM_16")
        sf.write(wavs / "toolong.wav", speech(6.0, 16000, 3), 16000, subtype="PCM_16")
        # A real file outside wavs/ that an escaping id would reach.
        sf.write(root / "escape.wav", speech(1.0, 16000, 4), 16000, subtype="PCM_16")
        twenty_words = ("One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                        "sixteen seventeen eighteen nineteen twenty.")
        lines += [
            "corrupt|Corrupt audio.|Corrupt audio.",
            "zerobytes|Empty file.|Empty file.",
            "headeronly|No samples.|No samples.",
            "nans|Not a number.|Not a number.",
            "digitalsilence|Silence.|Silence.",
            "dither|Dithered silence.|Dithered silence.",
            "hiss|Only hiss on this tape.|Only hiss on this tape.",
            "mutedchannel|A muted channel.|A muted channel.",
            "clipped|Far too loud for the converter.|Far too loud for the converter.",
            f"toofast|{twenty_words}|{twenty_words}",
            "tooslow|Three words only.|Three words only.",
            f"rateoutlier|{outlier_text}|{outlier_text}",
            "onesample|One sample.|One sample.",
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
