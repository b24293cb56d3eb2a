"""English text normalization for TTS and the symbol-to-id convention shared by the whole pipeline."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

from anyascii import anyascii

# Every character normalize_text may emit. Padding is not a character: ids are assigned from the
# tft.vocabulary list (tacotron.text.frontend.symbols_to_ids), so SYMBOLS only documents and tests the output alphabet.
SYMBOLS: str = "abcdefghijklmnopqrstuvwxyz !'(),-.:;?\""

# Id convention (the TFRecord pipeline, the model's embedding table and serving all rely on it):
#   0                     padding (PAD_ID)
#   1 + i                 the i-th entry of the vocabulary list produced by tft.vocabulary
#   len(vocabulary) + 1   any character missing from the vocabulary (the single OOV bucket)
PAD_ID: int = 0

_SYMBOL_SET = frozenset(SYMBOLS)


@functools.cache
def _inflect():
    # Imported on first use: inflect takes about 2 s to import, and only spelling out numbers needs it (training
    # does not), so every command start pays it no more than it must.
    import inflect

    return inflect.engine()


# Folded explicitly because anyascii's choice is wrong for speech (e.g. "«" -> "<<", "×" -> "*"),
# or because the character must survive until the currency pass.
_UNICODE_FOLD = {
    "«": '"', "»": '"', "„": '"', "‟": '"', "‹": "'", "›": "'", "ʼ": "'",
    "—": " - ", "―": " - ", "–": "-", "‒": "-", "−": "-", "×": " times ", "⁄": "/",
    "£": "£", "€": "€",
}
_SYMBOL_WORDS = str.maketrans({
    "&": " and ", "@": " at ", "+": " plus ", "=": " equals ", "[": "(", "{": "(", "]": ")", "}": ")",
    "`": "'",
})
# Symbols that the number passes still need; whatever of them is left afterwards is read as a word.
_NUMERIC_SYMBOLS = frozenset("0123456789$£€%")
_LEFTOVER_WORDS = str.maketrans({"%": " percent ", "$": " dollars ", "£": " pounds ", "€": " euros "})

_ABBREVIATIONS = {
    "mr": "mister", "mrs": "misess", "ms": "miss", "dr": "doctor", "drs": "doctors", "st": "saint",
    "co": "company", "jr": "junior", "sr": "senior", "maj": "major", "gen": "general", "rev": "reverend",
    "lt": "lieutenant", "hon": "honorable", "sgt": "sergeant", "capt": "captain", "esq": "esquire",
    "ltd": "limited", "col": "colonel", "mt": "mount", "prof": "professor",
    "inc": "incorporated", "etc": "etcetera", "vs": "versus",
}
_CURRENCY = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
}

# re.ASCII keeps \d and \w to ASCII; by the time these run the text is ASCII apart from £ and €.
_F = re.ASCII
_INT = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
_NUM = rf"{_INT}(?:\.\d+)?"
_ABBREV_RE = re.compile(rf"(?<![\w.'])({'|'.join(_ABBREVIATIONS)})\.", _F)
_BARE_ABBREV_RE = re.compile(r"(?<![\w.'])(etc|vs)\b", _F)
_LATIN_ABBREV_RE = re.compile(r"(?<![\w.])(e\.g|i\.e)\.", _F)
_NUMBER_SIGN_RE = re.compile(r"(?<![\w.])(?:no\.|#)\s*(?=\d)", _F)
_MINUS_RE = re.compile(r"(?<![\w.-])-(?=[$£€]?\.?\d)", _F)
_TIME_RE = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)(?!\d)(?:\s?([ap])\.?\s?m\b\.?)?", _F)
_HOUR_AMPM_RE = re.compile(r"\b(1[0-2]|0?[1-9])\s?([ap])\.?m\b\.?", _F)
_CURRENCY_RE = re.compile(rf"([$£€])\s?({_NUM})(?:\s(thousand|million|billion|trillion)\b)?", _F)
_PERCENT_RE = re.compile(rf"({_NUM})\s?%", _F)
_ORDINAL_RE = re.compile(rf"\b({_INT})(?:st|nd|rd|th)\b", _F)
_DECIMAL_RE = re.compile(rf"(?<![\d.])(?:{_INT})?(?:\.\d+)+", _F)
_INTEGER_RE = re.compile(_INT, _F)
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


def _words(number: int) -> str:
    # inflect writes "one thousand, two hundred thirty-four"; commas and hyphens inside a number would
    # make the model pause mid-number, so they become spaces. The "and" in "hundred and" is dropped.
    return _inflect().number_to_words(number, andword="").replace(",", "").replace("-", " ")


def _digits(digits: str) -> str:
    return " ".join(_words(int(d)) for d in digits)


def _year(year: int) -> str:
    century, rest = divmod(year, 100)
    if 2000 <= year < 2010:
        return _words(year)
    if rest == 0:
        return f"{_words(century)} hundred"
    if rest < 10:
        return f"{_words(century)} oh {_words(rest)}"
    return f"{_words(century)} {_words(rest)}"


def _integer(token: str) -> str:
    digits = token.replace(",", "")
    if len(digits) > 1 and digits.startswith("0"):
        return _digits(digits)  # codes and ids like "007" are read digit by digit
    if len(digits) > 15:
        return _digits(digits)  # beyond inflect's range and unreadable as a quantity anyway
    if "," not in token and len(digits) == 4 and 1100 <= int(digits) <= 2099:
        return _year(int(digits))
    return _words(int(digits))


def _number(token: str) -> str:
    # Digits after a point are read one by one; "1.2.3" (versions) reads "one point two point three".
    whole, *fractions = token.split(".")
    words = [_integer(whole)] if whole else []
    return " ".join(words + [f"point {_digits(fraction)}" for fraction in fractions])


def _padded(match: re.Match[str], words: str) -> str:
    # Keeps "3g" or "US$5" from gluing the spelled number onto the neighbouring letter.
    text, start, end = match.string, match.start(), match.end()
    left = " " if start > 0 and text[start - 1].isalnum() else ""
    right = " " if end < len(text) and text[end].isalnum() else ""
    return f"{left}{words}{right}"


def _time(match: re.Match[str]) -> str:
    hour, minute, meridiem = int(match[1]), int(match[2]), match[3]
    if minute == 0:
        spoken = _words(hour) if meridiem else f"{_words(hour)} o'clock"
    elif minute < 10:
        spoken = f"{_words(hour)} oh {_words(minute)}"
    else:
        spoken = f"{_words(hour)} {_words(minute)}"
    return f"{spoken} {meridiem} m" if meridiem else spoken


def _currency(match: re.Match[str]) -> str:
    unit, units, subunit, subunits = _CURRENCY[match[1]]
    amount, scale = match[2].replace(",", ""), match[3]
    whole, _, fraction = amount.partition(".")
    if scale:
        return f"{_number(amount)} {scale} {units}"
    if len(fraction) > 2:
        return f"{_number(amount)} {units}"
    major, minor = int(whole), int(fraction.ljust(2, "0")) if fraction else 0
    parts = []
    if major or not minor:
        parts.append(f"{_words(major)} {unit if major == 1 else units}")
    if minor:
        parts.append(f"{_words(minor)} {subunit if minor == 1 else subunits}")
    return ", ".join(parts)


def _expand_abbreviation(match: re.Match[str]) -> str:
    word = _ABBREVIATIONS[match[1]]
    # The abbreviation's period doubles as a full stop at the very end of the text.
    return word + "." if match.end() == len(match.string) else word


def _keep_speakable(text: str, allowed: frozenset[str]) -> str:
    text = "".join(char if char in allowed else " " for char in text)
    text = " ".join(text.split())
    text = _SPACE_BEFORE_PUNCT_RE.sub("", text)
    return _SPACE_AFTER_PAREN_RE.sub("(", text)


def normalize_text(text: str) -> str:
    """Normalize English text into lowercase words and punctuation that are all in SYMBOLS.

    Numbers, currency, percentages, ordinals, years, times and common abbreviations are spelled out;
    anything that cannot be spoken is dropped. Never raises; whitespace-only input gives "".
    """
    text = unicodedata.normalize("NFKC", text)
    text = "".join(_fold_char(char) for char in text).lower()
    text = _NUMBER_SIGN_RE.sub("number ", text)
    # Junk is dropped before the abbreviation pass so that "mr*." cannot turn into "mr." only after it.
    text = _keep_speakable(text.translate(_SYMBOL_WORDS), _SYMBOL_SET | _NUMERIC_SYMBOLS)
    text = _MINUS_RE.sub("minus ", text)
    text = _TIME_RE.sub(lambda m: _padded(m, _time(m)), text)
    text = _HOUR_AMPM_RE.sub(lambda m: _padded(m, f"{_words(int(m[1]))} {m[2]} m"), text)
    text = _CURRENCY_RE.sub(lambda m: _padded(m, _currency(m)), text)
    text = _PERCENT_RE.sub(lambda m: _padded(m, f"{_number(m[1])} percent"), text)
    text = _ORDINAL_RE.sub(lambda m: _padded(m, _inflect().ordinal(_integer(m[1]))), text)
    text = _DECIMAL_RE.sub(lambda m: _padded(m, _number(m[0])), text)
    text = _INTEGER_RE.sub(lambda m: _padded(m, _integer(m[0])), text)
    # Abbreviations come after numbers so that "5mr." (now "five mr.") is expanded on the first pass.
    text = _LATIN_ABBREV_RE.sub(lambda m: " for example " if m[1] == "e.g" else " that is ", text)
    text = _ABBREV_RE.sub(_expand_abbreviation, text)
    text = _BARE_ABBREV_RE.sub(lambda m: _ABBREVIATIONS[m[1]], text)
    return _keep_speakable(text.translate(_LEFTOVER_WORDS), _SYMBOL_SET)


def vocabulary_size(vocabulary: Sequence[str]) -> int:
    """Number of embedding rows needed for `vocabulary`: padding + one per entry + the OOV bucket."""
    return len(vocabulary) + 2


def oov_id(vocabulary: Sequence[str]) -> int:
    """The id given to characters missing from `vocabulary`."""
    return len(vocabulary) + 1
