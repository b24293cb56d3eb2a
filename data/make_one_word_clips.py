"""Render the bundled one-word clips (data/one_word/: LJSpeech layout, 16 kHz FLAC) with espeak-ng and flite.

Short answers, names and numbers are what a TTS corpus must not lose; these clips keep the pauses the voices put
around a word (no trimming), as a recording of one word has. The tests build their adversarial corpora on them.
Needs the `espeak-ng`, `flite` and `sox` binaries:  python data/make_one_word_clips.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

WORDS = ("Yes.", "No.", "Okay.", "Hello.", "Seven.", "Thanks.", "Stop.", "Paris.", "Maybe.", "Ninety.")
VOICES = {"espeak": ["espeak-ng", "-v", "en-us", "-s", "165", "-w"], "slt": ["flite", "-voice", "slt", "-o"],
          "awb": ["flite", "-voice", "awb", "-o"]}
OUT = Path(__file__).resolve().parent / "one_word"


def render(voice: str, word: str, flac: Path, scratch: Path) -> None:
    wav = scratch / "word.wav"
    command = VOICES[voice]
    subprocess.run([*command, str(wav), word] if voice == "espeak" else [*command[:-1], "-t", word, "-o", str(wav)],
                   check=True, capture_output=True)
    # -D: no dither, so a rerun is byte-identical.
    subprocess.run(["sox", "-D", str(wav), "-r", "16000", "-b", "16", "-c", "1", str(flac), "norm", "-3"],
                   check=True, capture_output=True)


def main() -> None:
    (OUT / "wavs").mkdir(parents=True, exist_ok=True)
    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        for voice in VOICES:
            for number, word in enumerate(WORDS, start=1):
                clip = f"{voice}{number:02d}"
                render(voice, word, OUT / "wavs" / f"{clip}.flac", Path(scratch))
                lines.append(f"{clip}|{word}|{word.lower()}")
    (OUT / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
