"""English text normalization for TTS and the symbol-to-id convention shared by the whole pipeline."""

from __future__ import annotations

import hashlib
import pathlib
import re
import unicodedata
from collections.abc import Sequence

from anyascii import anyascii

from tacotron.text import classes

# Every character normalize_text may emit. Padding is not a character: ids are assigned from the
# tft.vocabulary list (tacotron.text.frontend.symbols_to_ids), so SYMBOLS only documents and tests the output alphabet.
SYMBOLS: str = "abcdefghijklmnopqrstuvwxyz !'(),-.:;?\""

# Id convention (the TFRecord pipeline, the model's embedding table and serving all rely on it):
#   0                     padding (PAD_ID)
#   1 + i                 the i-th entry of the vocabulary list produced by tft.vocabulary
#   len(vocabulary) + 1   any character missing from the vocabulary (the single OOV bucket)
PAD_ID: int = 0

_SYMBOL_SET = frozenset(SYMBOLS)
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


# Folded explicitly because anyascii's choice is wrong for speech (e.g. "«" -> "<<", "×" -> "*"),
# or because the character must survive until its class reads it (currency, degrees).
_UNICODE_FOLD = {
    "«": '"', "»": '"', "„": '"', "‟": '"', "‹": "'", "›": "'", "ʼ": "'",
    "—": " - ", "―": " - ", "–": "-", "‒": "-", "−": "-", "×": "×", "⁄": "/",
    "£": "£", "€": "€", "°": "°", "º": "°",
}
_BRACKETS = str.maketrans({"[": "(", "{": "(", "]": ")", "}": ")", "`": "'"})
# Symbols that the number pass still needs.
_NUMERIC_SYMBOLS = frozenset("0123456789")

_F = re.ASCII
_MINUS_RE = re.compile(r"(?<![\w.-])-(?=\.?\d)", _F)
_SPACE_BEFORE_PUNCT_RE = re.compile(r" +(?=[,.!?;:)])")
_SPACE_AFTER_PAREN_RE = re.compile(r"\( +")


def _fold_char(char: str) -> str:
    if char in _UNICODE_FOLD:
        return _UNICODE_FOLD[char]
    if char.isspace():
        return " "
    if char.isascii():
        return char if char.isprintable() else ""  # control characters
    category = unicodedata.category(char)
    if category[0] in "MC":
        # Combining marks left over after NFKC, format/control/private/unassigned code points.
        return ""
    if category == "Nd":
        return str(unicodedata.decimal(char))
    # Only Latin letters are transliterated: romanized CJK ("Zhong") or emoji names (":grinning:") would
    # be read out as nonsense by an English voice, so other scripts and symbols become a word break.
    if category[0] == "L" and "LATIN" not in unicodedata.name(char, ""):
        return " "
    if category in ("So", "Sc", "Sk", "Sm"):
        return " "
    folded = anyascii(char)
    return folded if folded.isascii() else " "


def _keep_speakable(text: str, allowed: frozenset[str]) -> str:
    text = "".join(char if char in allowed else " " for char in text)
    text = " ".join(text.split())
    text = _SPACE_BEFORE_PUNCT_RE.sub("", text)
    return _SPACE_AFTER_PAREN_RE.sub("(", text)


def normalize_text(text: str) -> str:
    """Normalize English text into lowercase words and punctuation that are all in SYMBOLS.

    Addresses, telephone numbers, dates, times, money, temperatures, measures, percentages, fractions, decades,
    ordinals, codes, Roman numerals, abbreviations and symbols are read as a person reads them
    (tacotron.text.classes), then the remaining numbers; anything that cannot be spoken is dropped. Never raises;
    whitespace-only input gives "".
    """
    text = unicodedata.normalize("NFKC", text)
    text = "".join(_fold_char(char) for char in text).translate(_BRACKETS)
    for read in classes.CLASSES:
        text = read(text)
    # Junk is dropped before numbers are read so that "mr*." cannot turn into "mr." only after it.
    text = _keep_speakable(text, _SYMBOL_SET | _UPPER | _NUMERIC_SYMBOLS)
    text = _MINUS_RE.sub("minus ", text)
    text = classes.cardinal(text)
    return _keep_speakable(_settled(text.lower()), _SYMBOL_SET)


def _settled(text: str) -> str:
    """The word classes again, lowercase, until nothing changes: a number read as words or an acronym's case ("VS")
    can expose an address or an abbreviation ("8.de" -> "eight.de", "mr.mr.") that a second normalization would read,
    and normalized text must read the same when normalized again. Each round removes a period, so it ends."""
    while True:
        settled = classes.abbreviation(classes.electronic(text))
        if settled == text:
            return text
        text = settled


def normalizer_digest() -> str:
    """sha256 of the text package's source (the normalizer, its classes and the frontend): part of the preprocessing
    cache key, so that a change to how text is read reruns preprocessing."""
    digest = hashlib.sha256()
    for module in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return digest.hexdigest()


def vocabulary_size(vocabulary: Sequence[str]) -> int:
    """Number of embedding rows needed for `vocabulary`: padding + one per entry + the OOV bucket."""
    return len(vocabulary) + 2


def oov_id(vocabulary: Sequence[str]) -> int:
    """The id given to characters missing from `vocabulary`."""
    return len(vocabulary) + 1
