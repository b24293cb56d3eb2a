"""Adversarial corpora for the preprocessing job: speech it must keep and non-speech it must reject, many kinds of
each, generated from a seed and written in the layouts users bring (VCTK folders, a Common Voice TSV).

The speech is real recordings: the bundled corpus's sentences and data/one_word/'s single words, in three voices,
made quiet, padded with silence, slowed, hurried, resampled, split into channels and re-encoded. The non-speech is
synthesized at three levels, each with a transcript whose length fits its duration, so that only the speech checks
can tell.
"""

from __future__ import annotations

import dataclasses
import pathlib
import random

import librosa
import numpy as np
import soundfile as sf

REPO = pathlib.Path(__file__).resolve().parents[1]
LEVELS_DBFS = (-42.0, -28.0, -14.0)
# What each kind of clip must come to: None, kept; else the reason it is rejected with.
EXPECTED = {
    "one_word": None, "quiet": None, "leading_silence": None, "slow": None, "fast": None, "stereo": None,
    "one_channel": None, "high_rate": None,
    "hum": "tonal", "tone": "tonal", "beeps": "tonal", "white_noise": "steady_signal",
    "pink_noise": "steady_signal", "brown_noise": "steady_signal", "clicks": "clicks", "clipped": "clipped",
}
FORMATS = (("FLAC", "PCM_16", ".flac"), ("OGG", "VORBIS", ".ogg"), ("MP3", "MPEG_LAYER_III", ".mp3"),
           ("WAV", "PCM_16", ".wav"))
# Text spoken at about this many characters per second fills a non-speech clip's duration.
CHARS_PER_SECOND = 15.0
FILLER = ("the clock on the wall kept its own time while the rain came down over the empty harbor and nobody "
          "answered the door ")


@dataclasses.dataclass
class Clip:
    id: str
    kind: str
    text: str
    signal: np.ndarray  # [n] or [n, channels]
    rate: int
    format: tuple[str, str, str]

    @property
    def expected(self) -> str | None:
        return EXPECTED[self.kind]


def _read(path: pathlib.Path) -> tuple[np.ndarray, int]:
    signal, rate = sf.read(path, dtype="float32")
    return signal, rate


def _at_level(signal: np.ndarray, dbfs: float) -> np.ndarray:
    """`signal` scaled so that its 95th-percentile frame RMS (the job's speech level) sits at `dbfs`."""
    frames = librosa.util.frame(np.pad(signal, (0, 2048)), frame_length=800, hop_length=200)
    level = np.percentile(np.sqrt((frames ** 2).mean(axis=0)), 95)
    return (signal * 10 ** (dbfs / 20) / max(level, 1e-9)).astype(np.float32)


def _text_for(seconds: float) -> str:
    count = max(4, int(seconds * CHARS_PER_SECOND))
    return (FILLER * 4)[:count].rsplit(" ", 1)[0].strip().capitalize() + "."


def good_clips(rng: random.Random) -> list[Clip]:
    corpus = REPO / "data" / "sample_corpus"
    sentences = [line.split("|") for line in (corpus / "metadata.csv").read_text().splitlines()]
    words = [line.split("|") for line in (REPO / "data" / "one_word" / "metadata.csv").read_text().splitlines()]
    clips = []
    for index, (clip_id, text, _) in enumerate(rng.sample(words, 3)):
        signal, rate = _read(REPO / "data" / "one_word" / "wavs" / f"{clip_id}.flac")
        clips.append(Clip(f"one_word_{index}", "one_word", text, signal, rate, FORMATS[index % len(FORMATS)]))
    picked = rng.sample(sentences, 7)
    signals = [_read(corpus / "wavs" / f"{clip_id}.flac") for clip_id, _, _ in picked]
    texts = [text for _, text, _ in picked]
    rng_np = np.random.default_rng(rng.randrange(2**32))
    (quiet, rate), (lead, _), (slow, _), (fast, _), (stereo, _), (mono, _), (high, _) = signals
    room = 10 ** (-70 / 20) * rng_np.standard_normal(2 * rate).astype(np.float32)
    made = [
        ("quiet", _at_level(quiet, -42.0), rate, 1),
        ("leading_silence", np.concatenate([room, lead]), rate, 1),
        ("slow", librosa.effects.time_stretch(slow, rate=0.85), rate, 1),
        ("fast", librosa.effects.time_stretch(fast, rate=1.2), rate, 1),
        ("stereo", np.stack([stereo, 0.7 * stereo], axis=1), rate, 2),
        ("one_channel", np.stack([np.zeros_like(mono), mono], axis=1), rate, 2),
        ("high_rate", librosa.resample(high, orig_sr=rate, target_sr=44100), 44100, 1),
    ]
    for index, ((kind, signal, clip_rate, _), text) in enumerate(zip(made, texts, strict=True)):
        clips.append(Clip(kind, kind, text, signal.astype(np.float32), clip_rate, FORMATS[(index + 3) % len(FORMATS)]))
    return clips


def bad_clips(rng: random.Random) -> list[Clip]:
    rng_np = np.random.default_rng(rng.randrange(2**32))
    rate = 16000
    clips = []
    for level_index, dbfs in enumerate(LEVELS_DBFS):
        seconds = rng.uniform(1.5, 3.5)
        t = np.arange(int(seconds * rate)) / rate
        mains = rng.choice((50.0, 60.0))
        tone = rng.choice((220.0, 440.0, 1000.0, 2500.0))
        noise = rng_np.standard_normal(len(t))
        spectrum = np.fft.rfft(noise)
        pink = np.fft.irfft(spectrum / np.maximum(np.sqrt(np.arange(len(spectrum))), 1.0), len(t))
        brown = np.cumsum(noise)
        brown -= np.convolve(brown, np.ones(801) / 801, "same")
        beeps = np.sin(2 * np.pi * tone * t) * (np.sin(2 * np.pi * rng.uniform(1.5, 4.0) * t) > 0)
        clicks = np.zeros(len(t))
        if level_index % 2:
            clicks[rng_np.integers(0, len(t), rng.randrange(4, 12))] = 1.0
        else:
            clicks[:: int(rate / rng.uniform(1.0, 4.0))] = 1.0
        clicks = np.convolve(clicks, np.hanning(rng.randrange(8, 40)), "same") + 1e-4 * noise
        signals = {
            "hum": sum(np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 9)),
            "tone": np.sin(2 * np.pi * tone * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.5 * t)),
            "beeps": beeps,
            "white_noise": noise,
            "pink_noise": pink,
            "brown_noise": brown,
        }
        for kind, signal in signals.items():
            clips.append(Clip(f"{kind}_{level_index}", kind, _text_for(seconds), _at_level(signal, dbfs), rate,
                              FORMATS[(level_index + len(clips)) % len(FORMATS)]))
        peak = 10 ** (dbfs / 20) * 4
        clips.append(Clip(f"clicks_{level_index}", "clicks", _text_for(seconds), (clicks * peak).astype(np.float32),
                          rate, FORMATS[level_index % len(FORMATS)]))
    corpus = REPO / "data" / "sample_corpus"
    clip_id, text, _ = rng.choice([line.split("|") for line in (corpus / "metadata.csv").read_text().splitlines()])
    speech, speech_rate = _read(corpus / "wavs" / f"{clip_id}.flac")
    clips.append(Clip("clipped", "clipped", text, np.clip(speech * 30.0, -1.0, 1.0), speech_rate, FORMATS[0]))
    return clips


def generate(seed: int) -> list[Clip]:
    """Every clip of one adversarial corpus: the same seed gives the same corpus."""
    rng = random.Random(seed)
    return good_clips(rng) + bad_clips(rng)


def _write_audio(clip: Clip, path: pathlib.Path) -> pathlib.Path:
    fmt, subtype, ext = clip.format
    path = path.with_suffix(ext)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, clip.signal, clip.rate, format=fmt, subtype=subtype)
    return path


def write_vctk(root: pathlib.Path, clips: list[Clip], speaker: str = "p900") -> pathlib.Path:
    """VCTK 0.92's layout: txt/<speaker>/<id>.txt and wav48_silence_trimmed/<speaker>/<id>_mic1.<ext>."""
    for clip in clips:
        name = f"{speaker}_{clip.id}"
        (root / "txt" / speaker).mkdir(parents=True, exist_ok=True)
        (root / "txt" / speaker / f"{name}.txt").write_text(clip.text + "\n", encoding="utf-8")
        _write_audio(clip, root / "wav48_silence_trimmed" / speaker / f"{name}_mic1")
    return root


def write_common_voice(root: pathlib.Path, clips: list[Clip], client: str = "c0ffee") -> pathlib.Path:
    """Common Voice's layout: validated.tsv (client_id, path, sentence, ...) and clips/<file>; returns the TSV."""
    rows = ["client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\tsegment"]
    for clip in clips:
        audio = _write_audio(clip, root / "clips" / f"common_voice_en_{clip.id}")
        rows.append(f"{client}\t{audio.name}\t{clip.text}\t2\t0\t\t\t\ten\t")
    table = root / "validated.tsv"
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return table
