"""The text frontend: raw text -> normalized text -> symbols (characters or espeak-ng phonemes) -> ids.

Every path that feeds the model goes through here: the preprocessing job, training data, evaluation, synthesis and
the exported model's symbol signature. A symbol sequence travels as one string, its symbols separated by
SYMBOL_SEPARATOR, so that TensorFlow (TFT's vocabulary, the SavedModel) splits it exactly as Python does.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
import unicodedata
from collections.abc import Sequence

from tacotron import text

CHARACTERS = "characters"
PHONEMES = "phonemes"
FRONTENDS = (CHARACTERS, PHONEMES)

SYMBOL_SEPARATOR = " "
# Between words, in both frontends; the normalizer never emits it, so it cannot collide with a character.
WORD_BOUNDARY = "_"
# The espeak-ng voice: American English.
ESPEAK_VOICE = "en-us"

# What the normalizer lets through besides letters and spaces, folded to the marks that every read corpus has: a
# symbol the training corpus never had would reach the model as the unknown id. Quotes are not spoken; brackets,
# colons, semicolons and a spaced dash are pauses inside a sentence, as a comma is.
_PAUSE = ","
_PUNCTUATION_FOLD = str.maketrans({";": _PAUSE, ":": _PAUSE, "(": _PAUSE, ")": _PAUSE, '"': " "})
_SENTENCE_MARKS = frozenset(".?!" + _PAUSE)
_SPACED_DASH_RE = re.compile(r"(?:^|\s)-+(?:\s|$)")
_EDGE_QUOTE_RE = re.compile(r"(?<![a-z])'|'(?![a-z])")
_REPEATED_PAUSE_RE = re.compile(r"[,\s]*,[,\s]*")
_STRESS = frozenset("ˈˌ")


class FrontendError(ValueError):
    """An unknown frontend, or one that differs from the frontend a model or its data was made with."""


def fold_punctuation(normalized: str) -> str:
    """normalize_text's output with its punctuation folded to `.?!,` and hyphens between words made word breaks."""
    folded = _SPACED_DASH_RE.sub(f"{_PAUSE} ", normalized).translate(_PUNCTUATION_FOLD)
    # A hyphen inside a compound ("well-known") separates two words; espeak-ng would otherwise fuse them.
    folded = folded.replace("-", " ")
    folded = _EDGE_QUOTE_RE.sub(" ", folded)
    folded = _REPEATED_PAUSE_RE.sub(f"{_PAUSE} ", folded)
    folded = re.sub(r"\s+([.?!,])", r"\1", " ".join(folded.split()))
    return folded.lstrip(" ,")


def character_symbols(normalized: str) -> list[str]:
    """The characters of normalized text, one symbol each, with WORD_BOUNDARY for a space."""
    return [WORD_BOUNDARY if char == " " else char for char in fold_punctuation(normalized)]


@functools.cache
def _espeak():
    # phonemizer finds espeak-ng through a process-wide setting; pointing it at the wheel's library (not a system one)
    # is what makes the phonemes the same on every machine. Imported on first use: characters need none of it.
    import espeakng_loader
    from phonemizer.backend import EspeakBackend
    from phonemizer.backend.espeak.wrapper import EspeakWrapper

    EspeakWrapper.set_library(espeakng_loader.get_library_path())
    EspeakWrapper.set_data_path(espeakng_loader.get_data_path())
    backend = EspeakBackend(ESPEAK_VOICE, preserve_punctuation=True, with_stress=True,
                            language_switch="remove-flags", words_mismatch="ignore")
    return backend, threading.Lock()


def espeak_version() -> str:
    """The version of the espeak-ng library that phonemizes (the wheel's, not the system's)."""
    from phonemizer.backend import EspeakBackend

    _espeak()
    return ".".join(str(part) for part in EspeakBackend.version())


@functools.lru_cache(maxsize=65536)
def _phonemes(folded: str) -> tuple[str, ...]:
    from phonemizer.separator import Separator

    backend, lock = _espeak()
    # espeak-ng splits phones itself (tʃ, aɪ, iː stay whole); "|" between phones and " " between words.
    with lock:  # one espeak-ng instance per process, not reentrant
        (out,) = backend.phonemize([folded], separator=Separator(phone="|", word=" ", syllable=""), strip=True,
                                   njobs=1)
    symbols: list[str] = []
    for word in out.split():
        if symbols:
            symbols.append(WORD_BOUNDARY)
        for phone in word.split("|"):
            symbols += _split_phone(phone)
    return tuple(symbols)


def _split_phone(phone: str) -> list[str]:
    # phonemizer glues punctuation to the neighbouring phone ("s," or "(j"), and espeak-ng writes stress as a prefix
    # of the vowel ("ˈaɪ"): stress and punctuation become their own symbols, shared by every vowel.
    out: list[str] = []
    core = phone
    while core and core[0] in _SENTENCE_MARKS | _STRESS:
        out.append(core[0])
        core = core[1:]
    trailing = []
    while core and core[-1] in _SENTENCE_MARKS:
        trailing.insert(0, core[-1])
        core = core[:-1]
    return out + ([core] if core else []) + trailing


def phoneme_symbols(normalized: str) -> list[str]:
    """espeak-ng en-us phonemes of normalized text: IPA phones (affricates, diphthongs and long vowels whole), stress
    marks and `.?!,` as symbols of their own, WORD_BOUNDARY between words."""
    folded = fold_punctuation(normalized)
    return list(_phonemes(folded)) if folded else []


def dropped_characters(raw: str) -> list[str]:
    """Characters of `raw` that the frontend cannot read and drops (emoji, other scripts, control characters)."""
    # ASCII symbols are read in context ("#5" is "number five"), and a combining mark with the letter before it, so
    # neither is judged alone; any other character that says nothing by itself is dropped.
    return [char for char in dict.fromkeys(raw)
            if not (char.isascii() and char.isprintable()) and not char.isspace()
            and unicodedata.category(char)[0] != "M" and not text.normalize_text(char)]


def describe_character(char: str) -> str:
    """'U+1F600 GRINNING FACE' for a warning that names a dropped character."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"


@dataclasses.dataclass(frozen=True)
class Frontend:
    """One way of turning text into the model's input: `name` is CHARACTERS or PHONEMES."""

    name: str = PHONEMES

    def __post_init__(self):
        if self.name not in FRONTENDS:
            raise FrontendError(f"unknown frontend {self.name!r}; choose one of {', '.join(FRONTENDS)}")

    def symbols(self, normalized: str) -> list[str]:
        """Already-normalized text -> its symbols."""
        return phoneme_symbols(normalized) if self.name == PHONEMES else character_symbols(normalized)

    def symbol_string(self, normalized: str) -> str:
        """The symbols as the one string that the TFRecords, TFT and the export's symbol signature carry."""
        return SYMBOL_SEPARATOR.join(self.symbols(normalized))

    def describe(self) -> dict[str, str]:
        """What must match between a model and whoever feeds it text: the frontend, and for phonemes the G2P."""
        if self.name == CHARACTERS:
            return {"frontend": CHARACTERS}
        return {"frontend": PHONEMES, "g2p": "espeak-ng", "espeak_version": espeak_version(), "voice": ESPEAK_VOICE}

    def check_matches(self, recorded: dict[str, str], where: str) -> None:
        """FrontendError naming both sides when `recorded` (what `where` was made with) is not this frontend now."""
        current = self.describe()
        if recorded != current:
            raise FrontendError(f"{where} was made with {_show(recorded)}, but this installation has {_show(current)}: "
                                "its ids would mean other sounds; install the same version or retrain")


def _show(described: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in described.items())


def symbols_to_ids(symbols: Sequence[str], vocabulary: Sequence[str]) -> list[int]:
    """Symbols -> ids: 1 + index in `vocabulary`, or the unknown id (tacotron.text's convention)."""
    index: dict[str, int] = {}
    for position, entry in enumerate(vocabulary):
        key = entry.decode("utf-8") if isinstance(entry, bytes) else entry
        index.setdefault(key, position + 1)
    unknown = text.oov_id(vocabulary)
    return [index.get(symbol, unknown) for symbol in symbols]
