"""Numbers as a person says them: cardinals, digit strings, years, ordinals, decimals, fractions and decades."""

from __future__ import annotations

import functools


@functools.cache
def _inflect():
    # Imported on first use: inflect takes about 2 s to import, and only spelling out numbers needs it (training
    # does not), so every command start pays it no more than it must.
    import inflect

    return inflect.engine()


DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DENOMINATORS = {2: ("half", "halves"), 4: ("quarter", "quarters")}


def words(number: int) -> str:
    """125 -> "one hundred twenty five" (no "and", no commas or hyphens: those would be pauses mid-number)."""
    return _inflect().number_to_words(number, andword="").replace(",", "").replace("-", " ")


def digits(text: str) -> str:
    """"0147" -> "zero one four seven": one word per digit, as codes and phone numbers are read."""
    return " ".join(DIGIT_WORDS[int(d)] for d in text if d.isdigit())


def ordinal(number: int) -> str:
    """22 -> "twenty second"."""
    spoken = words(number)
    head, _, last = spoken.rpartition(" ")
    last = _inflect().ordinal(last)
    return f"{head} {last}" if head else last


def year(number: int) -> str:
    """1984 -> "nineteen eighty four", 1905 -> "nineteen oh five", 2000 -> "two thousand", 2024 -> "twenty twenty
    four"."""
    century, rest = divmod(number, 100)
    if 2000 <= number < 2010 or number < 1000:
        return words(number)
    if rest == 0:
        return f"{words(century)} hundred"
    if rest < 10:
        return f"{words(century)} oh {words(rest)}"
    return f"{words(century)} {words(rest)}"


def is_year(digits_text: str) -> bool:
    """Four digits that a reader takes for a year rather than a quantity."""
    return len(digits_text) == 4 and 1100 <= int(digits_text) <= 2099


def integer(token: str) -> str:
    """An integer as written ("1,234", "007", "1984") as it is read."""
    plain = token.replace(",", "")
    if len(plain) > 1 and plain.startswith("0"):
        return digits(plain)  # codes and ids like "007" are read digit by digit
    if len(plain) > 15:
        return digits(plain)  # beyond inflect's range and unreadable as a quantity anyway
    if "," not in token and is_year(plain):
        return year(int(plain))
    return words(int(plain))


def number(token: str) -> str:
    """A decimal as written ("3.14", ".5", "1,234.56"): digits after a point one by one; "1.2.3" (a version) reads
    "one point two point three"."""
    whole, *fractions = token.split(".")
    spoken = [integer(whole)] if whole else []
    return " ".join(spoken + [f"point {digits(fraction)}" for fraction in fractions])


def quantity(token: str) -> str:
    """A number read as an amount, never as a year or a code: "2000" kilograms is "two thousand"."""
    whole, _, fraction = token.replace(",", "").partition(".")
    spoken = words(int(whole)) if whole else ""
    return f"{spoken} point {digits(fraction)}".strip() if fraction else spoken


def is_one(token: str) -> bool:
    """Whether a written amount takes the singular ("1", "1.0" do; "1.5" does not)."""
    whole, _, fraction = token.replace(",", "").partition(".")
    return whole.lstrip("0") == "1" and not fraction.strip("0")


def fraction(numerator: int, denominator: int) -> str:
    """3/4 -> "three quarters", 1/3 -> "one third", 5/8 -> "five eighths"."""
    if denominator in _DENOMINATORS:
        singular, plural = _DENOMINATORS[denominator]
    else:
        singular = ordinal(denominator)
        plural = singular + "s"
    return f"{words(numerator)} {singular if numerator == 1 else plural}"


def decade(first_year: int) -> str:
    """1990 -> "nineteen nineties", 1900 -> "nineteen hundreds", 2000 -> "two thousands", 80 -> "eighties"."""
    spoken = year(first_year) if first_year >= 100 else words(first_year)
    if spoken.endswith("y"):
        return spoken[:-1] + "ies"
    return spoken + "s"
