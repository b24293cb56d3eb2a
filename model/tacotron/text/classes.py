"""The semiotic classes a telephone voice reads every minute, one function each: written form -> spoken words.

Each function takes cased, ASCII-folded text and returns it with its class spelled out; what it leaves alone the next
one may take. Case is still there on purpose: it is what tells "St. Louis" from "Main St." and "World War II" from
"I". tacotron.text.normalize_text runs them in CLASSES order, then reads the remaining plain numbers.

Why rules and not NVIDIA NeMo's normalizer (nemo-text-processing 1.2.0, measured in benchmarks/normalization.py):
its grammars took 41 s to build per cache folder, it read a sentence in 14 ms on average on these 2 cores (slowest
43 ms; the budget is 5 ms), it read 70-72% of the held-out sentences right, and it read telephone numbers as
quantities ("five hundred and fifty five-zero one four seven"), "Oak Dr." as "oak doctor" and "#A12345" as "hash a
twelve thousand ...".
"""

from __future__ import annotations

import re
from collections.abc import Callable

import tacotron.text.numbers as numbers

_F = re.ASCII
_I = re.ASCII | re.IGNORECASE
_INT = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
_NUM = rf"{_INT}(?:\.\d+)?"
# Not glued to a word or a longer number on the left / right.
_L = r"(?<![\w.,/-])"
_R = r"(?![\w/]|[.,]\d)"


def _padded(match: re.Match[str], spoken: str) -> str:
    # Keeps "3g" or "US$5" from gluing the spelled words onto a neighbouring letter.
    text, start, end = match.string, match.start(), match.end()
    left = " " if start > 0 and text[start - 1].isalnum() else ""
    right = " " if end < len(text) and text[end].isalnum() else ""
    return f"{left}{spoken}{right}"


def _sub(pattern: re.Pattern[str], read: Callable[[re.Match[str]], str | None], text: str) -> str:
    """pattern.sub with `read`'s words padded; `read` returning None leaves the match as written."""

    def replace(match: re.Match[str]) -> str:
        spoken = read(match)
        return match[0] if spoken is None else _padded(match, spoken)

    return pattern.sub(replace, text)


def spell(token: str) -> str:
    """"XK-4492" -> "x k four four nine two": letters one by one, digits one by one."""
    return " ".join(char.lower() if char.isalpha() else numbers.DIGIT_WORDS[int(char)]
                    for char in token if char.isalnum())


# --- electronic: e-mail and web addresses ----------------------------------------------------------------------
_TLDS = "com|org|net|edu|gov|mil|int|info|biz|io|ai|app|dev|co|uk|us|ca|au|de|fr|nl|ie|in|tv|me|ly"
_SPOKEN_TLDS = {"com": "com", "org": "org", "net": "net", "gov": "gov", "info": "info", "biz": "biz", "app": "app",
                "dev": "dev", "co": "co"}
_EMAIL_RE = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b", _F)
_URL_RE = re.compile(
    rf"(?<![\w@.-])(?:(?:https?://)(?:www\.)?|www\.)?"
    rf"((?:[A-Za-z0-9-]+\.)+(?:{_TLDS}))\b((?:/[A-Za-z0-9._~%?=&+#-]*)*)(?<![.,?!])", _I)
_URL_PREFIX_RE = re.compile(r"^(?:https?://)?(www\.)?", _I)
_ADDRESS_PUNCTUATION = {".": "dot", "@": "at", "-": "dash", "_": "underscore", "/": "slash", "+": "plus",
                        "?": "question mark", "=": "equals", "&": "and", "%": "percent", "~": "tilde", "#": "hash",
                        ":": "colon"}
# Said as words though short: two-letter words, and "co" of co.uk.
_SHORT_WORDS = frozenset({"my", "me", "go", "do", "to", "we", "hi", "on", "in", "at", "up", "it", "be", "no", "so",
                          "of", "or", "an", "is", "by", "he", "if", "oh", "ok", "co"})
_VOWEL_RE = re.compile(r"[aeiouy]", _I)


def _address_part(part: str, tld: bool = False) -> str:
    if tld:
        return _SPOKEN_TLDS.get(part.lower(), spell(part))
    pieces = re.findall(r"[A-Za-z]+|\d+", part)
    # A piece with a vowel and three letters or more is said as a word ("john", "example"), as are the two-letter
    # words; "jd" is spelled.
    return " ".join(piece.lower() if piece.lower() in _SHORT_WORDS or (
        piece.isalpha() and len(piece) >= 3 and _VOWEL_RE.search(piece)) else spell(piece) for piece in pieces)


def _read_address(address: str, tld_last: bool = False) -> str:
    """Reads an address symbol by symbol: words, spelled letters and digits, the symbols named."""
    tokens = re.findall(r"[A-Za-z0-9]+|[^A-Za-z0-9]", address)
    last = max((i for i, t in enumerate(tokens) if t[0].isalnum()), default=-1)
    spoken = []
    for index, token in enumerate(tokens):
        if token[0].isalnum():
            spoken.append(_address_part(token, tld=tld_last and index == last))
        elif token in _ADDRESS_PUNCTUATION:
            spoken.append(_ADDRESS_PUNCTUATION[token])
    return " ".join(spoken)


def electronic(text: str) -> str:
    """john.doe@example.com -> "john dot doe at example dot com"; www.example.org/help -> "w w w dot example dot org
    slash help"."""

    def email(match: re.Match[str]) -> str:
        return f"{_read_address(match[1])} at {_read_address(match[2], tld_last=True)}"

    def url(match: re.Match[str]) -> str | None:
        written = match[0]
        prefix = _URL_PREFIX_RE.match(written)
        host, path = match[1], match[2]
        labels = host.rstrip(".").split(".")
        if not prefix[0] and (len(labels) < 2 or len(labels[-2]) < 2):
            return None  # "e.g", "a.m" and initials are not addresses
        spoken = ["w w w dot"] if prefix[1] else []
        spoken.append(" dot ".join(_address_part(label, tld=i == len(labels) - 1) for i, label in enumerate(labels)))
        if path.strip("/"):
            spoken.append(_read_address(path))
        return " ".join(spoken)

    return _sub(_URL_RE, url, _sub(_EMAIL_RE, email, text))


# --- telephone numbers ----------------------------------------------------------------------------------------
_PHONE_NANP_RE = re.compile(
    r"(?<![\w+-])(?:(\+?1)[-. ]?)?(?:\((\d{3})\)\s?|(\d{3})[-. ])(\d{3})[-. ](\d{4})"
    r"(?:\s?(?:ext\.?|x|extension)\s?(\d{1,6}))?(?![\w-])", _I)
_PHONE_LOCAL_RE = re.compile(r"(?<![\w.,/$-])(\d{3})-(\d{4})(?![\w-]|[.,]\d)", _F)
_PHONE_INTERNATIONAL_RE = re.compile(r"(?<![\w+])\+(\d{1,3})((?:[ .-]\(?\d{1,4}\)?){2,5})(?![\w-])", _F)


def _phone_groups(*groups: str | None) -> str:
    return ", ".join(numbers.digits(group) for group in groups if group)


def _extension(digits: str | None) -> str:
    if not digits:
        return ""
    return f", extension {numbers.words(int(digits)) if len(digits) <= 2 else numbers.digits(digits)}"


def telephone(text: str) -> str:
    """555-0147 -> "five five five, zero one four seven"; (800) 555-0199 ext. 12 -> "eight zero zero, five five five,
    zero one nine nine, extension twelve": digit by digit in their groups, a pause between groups."""

    def nanp(match: re.Match[str]) -> str:
        country = "plus one" if match[1] and match[1].startswith("+") else "one" if match[1] else ""
        spoken = _phone_groups(match[2] or match[3], match[4], match[5])
        return (f"{country}, {spoken}" if country else spoken) + _extension(match[6])

    def international(match: re.Match[str]) -> str:
        return f"plus {numbers.digits(match[1])}, " + _phone_groups(*re.findall(r"\d+", match[2]))

    text = _sub(_PHONE_NANP_RE, nanp, text)
    text = _sub(_PHONE_INTERNATIONAL_RE, international, text)
    return _sub(_PHONE_LOCAL_RE, lambda m: _phone_groups(m[1], m[2]), text)


# --- dates ----------------------------------------------------------------------------------------------------
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_MONTH_NAMES = "|".join(
    [m.capitalize() for m in MONTHS] + ["Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sept", "Sep", "Oct", "Nov",
                                        "Dec"])
_WEEKDAYS = {"mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday", "thu": "thursday",
             "thur": "thursday", "thurs": "thursday", "fri": "friday", "sat": "saturday", "sun": "sunday"}
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(\d{4})"
_ISO_DATE_RE = re.compile(rf"{_L}(\d{{4}})-(\d{{2}})-(\d{{2}})(?![\w-]|[.,]\d)", _F)
_NUMERIC_DATE_RE = re.compile(rf"{_L}(\d{{1,2}})([/.-])(\d{{1,2}})\2(\d{{4}}|\d{{2}}){_R}", _F)
_MONTH_DAY_RE = re.compile(rf"\b({_MONTH_NAMES})\.?\s+{_DAY}\b(?!:)(?:(,?\s+){_YEAR}\b)?", _F)
_DAY_MONTH_RE = re.compile(rf"\b{_DAY}(\s+of)?\s+({_MONTH_NAMES})\b\.?(?:(,?\s+){_YEAR}\b)?", _F)
_MONTH_YEAR_RE = re.compile(rf"\b({_MONTH_NAMES})\.?\s+{_YEAR}\b", _F)
# "Tue, Oct 7", "Sat. 5/3": a weekday's abbreviation before a date ("the Sun, 5 million" is no date).
_WEEKDAY_RE = re.compile(rf"\b({'|'.join(w.capitalize() for w in _WEEKDAYS)})\b"
                         rf"(?:\.(?=,?\s+(?:{_MONTH_NAMES}|\d))|(?=,?\s+(?:{_MONTH_NAMES})\b))", _F)


def _month(name: str) -> str:
    return next(m for m in MONTHS if m.startswith(name.lower()[:3]))


def _date(month: int, day: int, year: int | None) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    spoken = f"{MONTHS[month - 1]} {numbers.ordinal(day)}"
    return f"{spoken}, {numbers.year(year)}" if year is not None else spoken


def _full_year(written: str) -> int:
    # "01/15/26": two-digit years are this century up to 49 and the last one after.
    value = int(written)
    if len(written) == 2:
        return 2000 + value if value < 50 else 1900 + value
    return value


def date(text: str) -> str:
    """2026-01-15, 1/15/2026, Jan. 15 -> "january fifteenth, twenty twenty six"; 5 March 2025 -> "the fifth of
    march, twenty twenty five"; Sat. before a date -> "saturday"."""

    def iso(match: re.Match[str]) -> str | None:
        return _date(int(match[2]), int(match[3]), int(match[1]))

    def numeric(match: re.Match[str]) -> str | None:
        first, second, year = int(match[1]), int(match[3]), _full_year(match[4])
        if first > 12 >= second:
            return _date(second, first, year)  # day first: 25/12/2026
        return _date(first, second, year)

    def month_day(match: re.Match[str]) -> str | None:
        return _date(MONTHS.index(_month(match[1])) + 1, int(match[2]), int(match[4]) if match[4] else None)

    def day_month(match: re.Match[str]) -> str | None:
        day = int(match[1])
        if not 1 <= day <= 31:
            return None
        # "4th of July" is said as written; "5 March" gains its "the ... of".
        spoken = f"{numbers.ordinal(day)} of {_month(match[3])}"
        spoken = spoken if match[2] else "the " + spoken
        return f"{spoken}, {numbers.year(int(match[5]))}" if match[5] else spoken

    text = _sub(_WEEKDAY_RE, lambda m: _WEEKDAYS[m[1].lower()], text)
    text = _sub(_ISO_DATE_RE, iso, text)
    text = _sub(_NUMERIC_DATE_RE, numeric, text)
    text = _sub(_MONTH_DAY_RE, month_day, text)
    text = _sub(_DAY_MONTH_RE, day_month, text)
    return _sub(_MONTH_YEAR_RE, lambda m: f"{_month(m[1])} {numbers.year(int(m[2]))}", text)


# --- times ----------------------------------------------------------------------------------------------------
# A sentence-final "p.m." keeps its period as the full stop.
_MERIDIEM = r"(?:\s?([AaPp])\.?\s?[Mm]\b(?:\.(?!\s*(?:$|[A-Z])))?)"
_CLOCK_RE = re.compile(rf"(?<![\w:.])([01]?\d|2[0-3]):([0-5]\d)(?![\d:]){_MERIDIEM}?", _F)
_HOUR_RE = re.compile(rf"(?<![\w:.])(1[0-2]|0?[1-9]){_MERIDIEM}", _F)
_CLOCK = r"\d{1,2}(?::\d{2})?"
_CLOCK_RANGE_RE = re.compile(
    rf"(?<![\w:.])({_CLOCK}{_MERIDIEM}?)\s?-\s?(?={_CLOCK}{_MERIDIEM}|\d{{1,2}}:\d{{2}})", _F)
# "between 8:00 and 8:30 a.m.": the first time of a range shares the second's a.m. and is said "eight".
_SHARED_MERIDIEM_RE = re.compile(rf"\s*(?:-|to|and|until|till|through)\s*\d{{1,2}}(?::\d{{2}})?{_MERIDIEM}", _F)
_RANGE_RE = re.compile(r"(?<![\w.,/:-])([1-9]\d*(?:\.\d+)?)\s?-\s?([1-9]\d*(?:\.\d+)?)(?![\w/:-]|[.,]\d)", _F)


def _meridiem(letter: str | None) -> str:
    return f" {letter.lower()} m" if letter else ""


def time(text: str) -> str:
    """3:30 p.m. -> "three thirty p m"; 15:45 -> "fifteen forty five"; 10:00 -> "ten o'clock"; 7am -> "seven a m"."""

    def clock(match: re.Match[str]) -> str:
        hour, minute, meridiem = int(match[1]), int(match[2]), match[3]
        if minute == 0:
            shared = not meridiem and _SHARED_MERIDIEM_RE.match(match.string, match.end())
            spoken = numbers.words(hour) if meridiem or shared else (
                f"{numbers.words(hour)} o'clock" if 1 <= hour <= 12 else f"{numbers.words(hour)} hundred")
        elif minute < 10:
            spoken = f"{numbers.words(hour)} oh {numbers.words(minute)}"
        else:
            spoken = f"{numbers.words(hour)} {numbers.words(minute)}"
        return spoken + _meridiem(meridiem)

    text = _CLOCK_RANGE_RE.sub(lambda m: f"{m[1]} to ", text)
    text = _sub(_CLOCK_RE, clock, text)
    return _sub(_HOUR_RE, lambda m: numbers.words(int(m[1])) + _meridiem(m[2]), text)


def number_range(text: str) -> str:
    """10-20% -> "10 to 20%", 9-5 -> "9 to 5": a hyphen between a smaller and a larger number, or between two hours
    of the clock, is a range (the numbers themselves are read by the classes after this one)."""

    def read(match: re.Match[str]) -> str:
        low, high = float(match[1]), float(match[2])
        return f"{match[1]} to {match[2]}" if low < high or high <= low <= 12 else match[0]

    return _RANGE_RE.sub(read, text)


# "a 5 lb bag", "your 10 mg dose", "a $500 fee": an amount between a determiner and a noun is an adjective, said in
# the singular.
_DETERMINER_BEFORE_RE = re.compile(r"\b(?:a|an|the|one|this|that|your|my|our|his|her|their|each|every|per)\s+$", _I)
_NOUN_AFTER_RE = re.compile(
    r"\s+(?!(?:and|or|of|to|in|into|on|at|for|from|with|by|per|each|is|are|was|were|will|be|been|a|an|the|long|tall|"
    r"wide|high|deep|thick|away|ago|left|more|less|than|total|daily|twice)\b)[a-z]{2,}\b")


def _adjective(match: re.Match[str]) -> bool:
    return bool(_DETERMINER_BEFORE_RE.search(match.string, 0, match.start())
                and _NOUN_AFTER_RE.match(match.string, match.end()))


# --- money ----------------------------------------------------------------------------------------------------
_CURRENCY = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
}
_SCALES = "thousand|million|billion|trillion"
_MONEY_RE = re.compile(rf"(?<![\w.-])(-?)([$£€])\s?({_NUM})(?:\s?(k|K|m|M|bn|{_SCALES})\b)?", _F)
_AMOUNT_AFTER_RE = re.compile(rf"(?<![\w.,])({_NUM})\s?([£€])", _F)
_SHORT_SCALES = {"k": "thousand", "m": "million", "bn": "billion"}


def _amount(symbol: str, amount: str, scale: str | None, adjective: bool = False) -> str:
    unit, units, subunit, subunits = _CURRENCY[symbol]
    if adjective:
        units = unit
    plain = amount.replace(",", "")
    whole, _, fraction = plain.partition(".")
    if scale:
        return f"{numbers.quantity(plain)} {_SHORT_SCALES.get(scale.lower(), scale.lower())} {units}"
    if len(fraction) > 2:
        return f"{numbers.quantity(plain)} {units}"
    major, minor = int(whole or 0), int(fraction.ljust(2, "0")) if fraction else 0
    parts = []
    if major or not minor:
        parts.append(f"{numbers.words(major)} {unit if major == 1 else units}")
    if minor:
        parts.append(f"{numbers.words(minor)} {subunit if minor == 1 else subunits}")
    return " and ".join(parts)


def money(text: str) -> str:
    """$5.50 -> "five dollars and fifty cents"; $0.99 -> "ninety nine cents"; $2.5 million / $2.5M -> "two point five
    million dollars"; 5€ -> "five euros"."""
    text = _sub(_MONEY_RE, lambda m: ("minus " if m[1] else "") + _amount(m[2], m[3], m[4], _adjective(m)), text)
    return _sub(_AMOUNT_AFTER_RE, lambda m: _amount(m[2], m[1], None), text)


# --- temperatures and measures --------------------------------------------------------------------------------
_TEMPERATURE_RE = re.compile(rf"(-?{_NUM})\s?(?:°|º|degrees?)\s?([FCK])\b|(-?{_NUM})\s?[°º]", _F)
_SCALE_NAMES = {"F": "fahrenheit", "C": "celsius", "K": "kelvin"}
# unit: (singular, plural); the unit must follow a number, and is matched with its case ("m" is not "M").
_UNITS = {
    "mg": ("milligram", "milligrams"), "kg": ("kilogram", "kilograms"), "g": ("gram", "grams"),
    "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"),
    "mm": ("millimeter", "millimeters"), "cm": ("centimeter", "centimeters"), "m": ("meter", "meters"),
    "km": ("kilometer", "kilometers"), "mi": ("mile", "miles"), "ft": ("foot", "feet"), "yd": ("yard", "yards"),
    "in": ("inch", "inches"), "sq ft": ("square foot", "square feet"), "sq m": ("square meter", "square meters"),
    "ml": ("milliliter", "milliliters"), "mL": ("milliliter", "milliliters"), "L": ("liter", "liters"),
    "l": ("liter", "liters"), "gal": ("gallon", "gallons"), "fl oz": ("fluid ounce", "fluid ounces"),
    "mph": ("mile per hour", "miles per hour"), "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"), "m/s": ("meter per second", "meters per second"),
    "KB": ("kilobyte", "kilobytes"), "kB": ("kilobyte", "kilobytes"), "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"), "TB": ("terabyte", "terabytes"), "Mbps": ("megabit per second",
                                                                                "megabits per second"),
    "Gbps": ("gigabit per second", "gigabits per second"), "Hz": ("hertz", "hertz"), "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"), "GHz": ("gigahertz", "gigahertz"), "V": ("volt", "volts"),
    "W": ("watt", "watts"), "kW": ("kilowatt", "kilowatts"), "kWh": ("kilowatt hour", "kilowatt hours"),
    "mAh": ("milliamp hour", "milliamp hours"), "ms": ("millisecond", "milliseconds"),
    "sec": ("second", "seconds"), "secs": ("second", "seconds"), "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"),
}
_UNIT_NAMES = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
# "in" is a unit only where a preposition cannot be: at the end of a clause, or before a size word or "x".
_MEASURE_RE = re.compile(
    rf"(?<![\w.,$£€])({_NUM})\s?({_UNIT_NAMES})\.?(?![\w/])(?:(?<=in)(?=\s*(?:[,.;:!?)]|$|x\b|by\b|tall|long|wide|"
    rf"high|deep|thick|screen|display))|(?<!in)(?<!in\.))", _F)
_LENGTH_WORDS = "feet|foot|inches|inch|meters|metres|yards|miles|centimeters|millimeters|kilometers"
# "12 x 14 ft", "2 x 4 x 8": sizes are said "by"; "2 x 3 = 6" stays a product.
_DIMENSION_RE = re.compile(
    rf"(?<![\w.])({_NUM})\s*[xX×]\s*(?=(?:{_NUM})\s*(?:[xX×]\s*\d|(?:{_UNIT_NAMES}|{_LENGTH_WORDS})\b|['\"]))", _F)
_DIMENSION_CHAIN_RE = re.compile(rf"(\bby\s+{_NUM})\s*[xX×]\s*(?=\d)", _F)
_PER_RE = re.compile(r"(?<=[a-z])/(hour|hr|day|week|month|mo|year|yr|night|person|unit|each|minute|min|mile)\b")
_PER_WORDS = {"hr": "hour", "mo": "month", "yr": "year", "min": "minute"}


def temperature(text: str) -> str:
    """72°F -> "seventy two degrees fahrenheit"; -5 °C -> "minus five degrees celsius"; 30° -> "thirty degrees"."""

    def read(match: re.Match[str]) -> str:
        amount = match[1] or match[3]
        value = ("minus " if amount.startswith("-") else "") + numbers.quantity(amount.lstrip("-"))
        degrees = "degree" if numbers.is_one(amount.lstrip("-")) else "degrees"
        return f"{value} {degrees} {_SCALE_NAMES[match[2]]}" if match[2] else f"{value} {degrees}"

    return _sub(_TEMPERATURE_RE, read, text)


def measure(text: str) -> str:
    """5 kg -> "five kilograms"; 1 ft -> "one foot"; 60 mph -> "sixty miles per hour"; $5/month -> "... per
    month"."""

    def read(match: re.Match[str]) -> str | None:
        if len(match[2]) == 1 and match.end(1) == match.start(2):
            return None  # "3g", "5m": a glued single letter is as often a name ("3G network") as a unit
        singular, plural = _UNITS[match[2]]
        return f"{numbers.quantity(match[1])} {singular if _adjective(match) or numbers.is_one(match[1]) else plural}"

    text = _DIMENSION_RE.sub(lambda m: f"{m[1]} by ", text)
    text = _DIMENSION_CHAIN_RE.sub(lambda m: f"{m[1]} by ", text)
    text = _sub(_MEASURE_RE, read, text)
    return _PER_RE.sub(lambda m: f" per {_PER_WORDS.get(m[1], m[1])}", text)


# --- fractions, percentages, ordinals, decades ----------------------------------------------------------------
_MIXED_FRACTION_RE = re.compile(rf"{_L}(\d+)\s+(\d{{1,2}})/(\d{{1,3}}){_R}", _F)
_FRACTION_RE = re.compile(rf"{_L}(\d{{1,2}})/(\d{{1,3}}){_R}", _F)
_PERCENT_RE = re.compile(rf"(?<![\w.])({_NUM})\s?(?:%|percent\b)", _F)
_ORDINAL_RE = re.compile(rf"(?<![\w.,]){_INT}(?:st|nd|rd|th)\b", _I)
_DECADE_RE = re.compile(r"(?<![\w.,])(?:(\d{2})(\d0)|'(\d0)|(\d0))'?s\b", _F)
_FRACTION_DENOMINATORS = frozenset({2, 3, 4, 5, 6, 8, 10, 12, 16, 32, 64, 100})


def fraction(text: str) -> str:
    """1/2 -> "one half"; 2 1/2 -> "two and a half"; 3/4 -> "three quarters"; 24/7 -> "twenty four seven". A
    numeric m/d that is no common fraction is a date: 12/25 -> "december twenty fifth"."""

    def mixed(match: re.Match[str]) -> str | None:
        top, bottom = int(match[2]), int(match[3])
        if not 0 < top < bottom or bottom not in _FRACTION_DENOMINATORS:
            return None
        part = "a half" if (top, bottom) == (1, 2) else "a quarter" if (top, bottom) == (1, 4) else \
            numbers.fraction(top, bottom)
        return f"{numbers.words(int(match[1]))} and {part}"

    def simple(match: re.Match[str]) -> str | None:
        top, bottom = int(match[1]), int(match[2])
        if (top, bottom) == (24, 7):
            return "twenty four seven"
        if 0 < top < bottom and bottom in _FRACTION_DENOMINATORS:
            return ("one half" if (top, bottom) == (1, 2) else numbers.fraction(top, bottom))
        return _date(top, bottom, None)

    return _sub(_FRACTION_RE, simple, _sub(_MIXED_FRACTION_RE, mixed, text))


def percent(text: str) -> str:
    """15% -> "fifteen percent"; 0.25% -> "zero point two five percent"."""
    return _sub(_PERCENT_RE, lambda m: f"{numbers.quantity(m[1])} percent", text)


def ordinal(text: str) -> str:
    """22nd -> "twenty second"."""
    return _sub(_ORDINAL_RE, lambda m: numbers.ordinal(int(m[0][:-2].replace(",", ""))), text)


def decade(text: str) -> str:
    """1990s -> "nineteen nineties"; '80s and 80s -> "eighties"."""

    def read(match: re.Match[str]) -> str:
        if match[1]:
            return numbers.decade(int(match[1] + match[2]))
        return numbers.decade(int(match[3] or match[4]))

    return _sub(_DECADE_RE, read, text)


# --- codes: order numbers, accounts, PINs, ZIP codes, flights -------------------------------------------------
_CODE_WORDS = (r"order|confirmation|reference|ref|tracking|account|card|pin|zip|postal|flight|ticket|case|claim|"
               r"invoice|policy|member|customer|booking|reservation|transaction|serial|model|id|code|passcode|"
               r"password|voucher|coupon|badge|extension|ext|unit|gate|seat|route|bus|train|item|sku|part|room|"
               r"suite|apartment|apt")
_CODE_FILLER = r"(?:\s+(?:number|no\.?|code|id|ID|#|is|was|ending|ends|in|with|:))*\s*:?\s*#?\s*(?:[A-Z]{2,3}\s+)?"
_CODE_AFTER_WORD_RE = re.compile(rf"\b((?:{_CODE_WORDS})\.?{_CODE_FILLER})(\d[\d -]*\d|\d)(?![\w.,]\d|\w)", _I)
_ALPHANUMERIC_RE = re.compile(
    r"(?<![\w.@/-])((?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)(?![\w@/]|-\w)", _F)
_NUMBER_SIGN_IN_FILLER_RE = re.compile(r"\s*(?:\bno\.|#)\s*", _I)
_DIMENSIONS_RE = re.compile(r"\d+[xX]\d+")
_CODE_SIGN_RE = re.compile(r"(?<![\w&#])#\s*(?=[A-Za-z]*\d)")
# "#42" is a rank, said as a number; "#6023145" (a prescription, an invoice) is an identifier, said digit by digit.
_LONG_NUMBER_SIGN_RE = re.compile(r"(?<![\w&#])#\s*(\d{5,})(?![\w.,]\d|\w)")
_KEEP_AS_NUMBER_AFTER = frozenset({"gate", "seat", "route", "bus", "train", "room", "suite", "apartment", "apt",
                                   "unit", "item", "part", "model", "extension", "ext"})


def code(text: str) -> str:
    """Codes are read character by character: "order 48213" -> "order four eight two one three", "XK-4492" -> "x k
    four four nine two", "account ending in 0076" -> "... zero zero seven six"."""

    def after_word(match: re.Match[str]) -> str | None:
        word = match[1].split()[0].lower().rstrip(".:#")
        digits = re.sub(r"\D", "", match[2])
        if word in _KEEP_AS_NUMBER_AFTER and len(digits) <= 3 and not digits.startswith("0"):
            return None  # "gate 12", "room 204": small numbers there are said as numbers
        if len(digits) < 3 and not digits.startswith("0"):
            return None
        said = _NUMBER_SIGN_IN_FILLER_RE.sub(" number ", match[1])
        return said + numbers.digits(digits)

    def alphanumeric(match: re.Match[str]) -> str | None:
        if _DIMENSIONS_RE.fullmatch(match[1]):
            return None  # "4x4" is a size, read by `symbol`
        return " ".join(spell(part) for part in match[1].split("-"))

    text = _CODE_AFTER_WORD_RE.sub(lambda m: after_word(m) or m[0], text)
    text = _sub(_LONG_NUMBER_SIGN_RE, lambda m: "number " + numbers.digits(m[1]), text)
    return _sub(_ALPHANUMERIC_RE, alphanumeric, _CODE_SIGN_RE.sub("number ", text))


# --- Roman numerals -------------------------------------------------------------------------------------------
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_ROMAN = r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_ROMAN_RE = re.compile(rf"\b([A-Z][A-Za-z]*\.?)(\s+)({_ROMAN})\b(?!['\w-])", _F)
# Words after which a numeral is a count ("World War II" -> "two"); after a name it is a rank ("the eighth").
_COUNTED = frozenset({
    "war", "chapter", "part", "volume", "vol", "vol.", "act", "scene", "book", "section", "article", "title",
    "phase", "round", "bowl", "type", "class", "grade", "level", "stage", "apollo", "rocky", "episode", "season",
    "appendix", "schedule", "annex", "tier", "mark", "mk", "series", "psalm", "canto", "unit", "step", "figure",
    "table", "division", "league", "generation", "vatican", "council",
})
_REGNAL = frozenset({
    "henry", "elizabeth", "louis", "george", "edward", "charles", "james", "richard", "william", "john", "paul",
    "benedict", "pius", "leo", "gregory", "innocent", "clement", "alexander", "frederick", "philip", "peter",
    "catherine", "mary", "victoria", "anne", "napoleon", "ramses", "constantine", "nicholas", "ivan", "otto",
    "carlos", "juan", "felipe", "gustav", "christian", "olaf", "harald", "haakon", "frederik", "willem", "friedrich",
    "wilhelm", "ludwig", "francis", "pope", "king", "queen",
})


def _roman_value(numeral: str) -> int:
    values = [_ROMAN_VALUES[c] for c in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def roman(text: str) -> str:
    """World War II -> "World War two"; Henry VIII -> "Henry the eighth"; "I" stays a pronoun unless a word that
    counts or a monarch's name comes before it."""

    def read(match: re.Match[str]) -> str | None:
        before, space, numeral = match[1], match[2], match[3]
        if not numeral:
            return None
        word = before.lower().rstrip(".")
        value = _roman_value(numeral)
        if word in _COUNTED:
            return f"{before}{space}{numbers.words(value)}"
        if word in _REGNAL or (len(numeral) >= 2 and before[0].isupper() and not before.isupper() and value <= 40):
            return f"{before}{space}the {numbers.ordinal(value)}"
        return None

    return _ROMAN_RE.sub(lambda m: read(m) or m[0], text)


# --- abbreviations --------------------------------------------------------------------------------------------
# Read the same wherever they stand.
_ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miz", "messrs": "messieurs", "drs": "doctors", "prof": "professor",
    "jr": "junior", "sr": "senior", "co": "company", "corp": "corporation", "inc": "incorporated", "ltd": "limited",
    "llc": "l l c", "maj": "major", "gen": "general", "rev": "reverend", "lt": "lieutenant", "hon": "honorable",
    "sgt": "sergeant", "capt": "captain", "col": "colonel", "esq": "esquire", "etc": "etcetera", "vs": "versus",
    "ave": "avenue", "blvd": "boulevard", "rd": "road", "ln": "lane", "hwy": "highway", "pkwy": "parkway",
    "ste": "suite", "apt": "apartment", "bldg": "building", "fl": "floor", "dept": "department",
    "approx": "approximately", "est": "established", "ext": "extension", "tel": "telephone", "no": "number",
    "nos": "numbers", "ref": "reference",
    "mt": "mount", "ft": "fort", "pt": "point", "jan": "january", "feb": "february", "aug": "august",
    "sept": "september", "oct": "october", "nov": "november", "dec": "december", "min": "minutes", "hr": "hour",
    "hrs": "hours",
    "wk": "week", "mo": "month", "yr": "year", "yrs": "years", "fig": "figure", "vol": "volume", "ch": "chapter",
    "pp": "pages", "cf": "compare", "govt": "government", "intl": "international", "univ": "university",
    "assn": "association", "bros": "brothers", "ctr": "center", "sq": "square", "pl": "place", "ct": "court",
}
# Said one way before a name and another after one: "St. Louis" / "Main St.", "Dr. Smith" / "Oak Dr.".
_BEFORE_OR_AFTER_NAME = {"st": ("saint", "street"), "dr": ("doctor", "drive")}
_NEEDS_DIGIT_AFTER = frozenset({"no", "nos", "pp", "fig", "vol", "ch", "ext", "tel", "apt", "ste", "fl", "pt"})
_ABBREVIATION_NAMES = "|".join(sorted(set(_ABBREVIATIONS) | set(_BEFORE_OR_AFTER_NAME), key=len, reverse=True))
_ABBREVIATION_RE = re.compile(rf"(?<![A-Za-z0-9.'@])({_ABBREVIATION_NAMES})\b(\.)?(?=(\s*)(\S?))", _I)
# Digits, or a number an earlier class has read ("apt. 4B" is "apt. four b" by now).
_NUMBER_AFTER_RE = re.compile(
    rf"\s*(?:[#\d]|(?:{'|'.join(numbers.DIGIT_WORDS)}|ten|eleven|twelve|\w+teen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred)\b)", _I)
_LATIN_RE = re.compile(r"(?<![\w.])(e\.g|i\.e)\.", _I)
_NAME_BEFORE_RE = re.compile(r"[A-Z][\w']*\.?\s*$|\d(?:st|nd|rd|th)?\s*$")


def _said_with_case(written: str, spoken: str) -> str:
    return spoken.capitalize() if written[:1].isupper() else spoken


def abbreviation(text: str) -> str:
    """Mrs. Jones -> "missus Jones"; St. Louis -> "saint Louis", Main St. -> "Main street"; Dr. Lee -> "doctor Lee",
    Oak Dr. -> "Oak drive"; no. 5 -> "number 5"."""

    def read(match: re.Match[str]) -> str:
        written, dot, space, following = match[1], match[2], match[3], match[4]
        key = written.lower()
        before = match.string[: match.start()]
        if written.isupper() and len(written) > 1 and key not in ("st", "dr", "mr", "mrs", "ms"):
            return match[0]  # an acronym ("NO", "CO", "PT") is left to the reader
        if key in _BEFORE_OR_AFTER_NAME:
            if not written[0].isupper():
                return match[0]
            before_name, after_name = _BEFORE_OR_AFTER_NAME[key]
            name_follows = bool(following) and following[0].isupper() and space != ""
            name_precedes = bool(_NAME_BEFORE_RE.search(before))
            if name_precedes and not name_follows:
                spoken = after_name
            elif name_follows or dot:
                spoken = before_name
            else:
                return match[0]
        else:
            if not dot and key not in ("etc", "vs"):
                return match[0]  # without its period it is likely a word: "no", "co", "min", "fig"
            if key in _NEEDS_DIGIT_AFTER and not _NUMBER_AFTER_RE.match(match.string, match.end()):
                return match[0]
            spoken = _ABBREVIATIONS[key]
        # The abbreviation's period doubles as a full stop at the very end of the text.
        end = "." if dot and match.end() == len(match.string) else " " if following.isalnum() else ""
        return _said_with_case(written, spoken) + end

    text = _LATIN_RE.sub(lambda m: " for example " if m[1].lower() == "e.g" else " that is ", text)
    return _ABBREVIATION_RE.sub(read, text)


# --- acronyms -------------------------------------------------------------------------------------------------
_SHORT_CAPS_RE = re.compile(r"\b([A-Z]{2,3}|[B-DF-HJ-NP-TV-Z]{4,5})(s?)\b(?!['.-]\w)", _F)
# Capitals that are words: said, not spelled (emphasis, or acronyms said as words).
_CAPS_WORDS = frozenset({
    "A", "AN", "AS", "AT", "BE", "BY", "DO", "GO", "HE", "IF", "IN", "IS", "IT", "ME", "MY", "NO", "OF", "ON", "OR",
    "SO", "TO", "UP", "WE", "AM", "AND", "ANY", "ARE", "ALL", "BUT", "CAN", "DAY", "DID", "FOR", "GET", "HAS", "HAD",
    "HER", "HIM", "HIS", "HOW", "NEW", "NOT", "NOW", "OFF", "OLD", "ONE", "OUR", "OUT", "SEE", "SHE", "THE", "TOO",
    "TWO", "USE", "WAS", "WAY", "WHO", "WHY", "YES", "YOU", "LET", "PUT", "SAY", "BIG", "TOP", "HOT", "END", "BAD",
    "PIN", "ZIP", "SIM", "RAM", "GIF", "NET", "SUN", "WIN", "BUY", "OWN", "PAY", "DUE", "FAX", "GAS", "TAX",
})
_OKAY_RE = re.compile(r"\bOK\b", _F)


def acronym(text: str) -> str:
    """UK -> "u k", APR -> "a p r", IDs -> "i d s", HTTP -> "h t t p", OK -> "okay": capitals of two or three letters
    (or more without a vowel) are spelled, unless they are a word; a text in capitals throughout is not spelled."""
    letters = [char for char in text if char.isalpha()]
    if len(letters) >= 8 and sum(char.isupper() for char in letters) > 0.6 * len(letters):
        return text  # shouting
    text = _OKAY_RE.sub("okay", text)
    return _SHORT_CAPS_RE.sub(
        lambda m: m[0] if m[1] in _CAPS_WORDS else spell(m[1]) + (" s" if m[2] else ""), text)


# --- symbols --------------------------------------------------------------------------------------------------
_TIMES_RE = re.compile(r"(?<=\d)\s+[xX×*]\s+(?=\d)")
_BY_RE = re.compile(r"(?<=\d)[xX×](?=\d)")
_AMPERSAND_ACRONYM_RE = re.compile(r"\b([A-Z]{1,2})&([A-Z]{1,2})\b")
_KEY_RE = re.compile(r"(?<![\w#*])([#*])(?![\w#*])")
_NUMBER_SIGN_RE = re.compile(r"(?<![\w&])#\s*(?=\d)")
_WORD_SLASH_RE = re.compile(r"\b([A-Za-z]+)/(?=([A-Za-z]+)\b)")
_APPROX_RE = re.compile(r"(?<![\w~])~\s*(?=\d)")
_SYMBOL_WORDS = {"&": " and ", "@": " at ", "+": " plus ", "=": " equals ", "<": " less than ", ">": " more than ",
                 "%": " percent ", "$": " dollars ", "£": " pounds ", "€": " euros ", "°": " degrees ",
                 "º": " degrees ", "×": " times "}


def symbol(text: str) -> str:
    """2 x 3 -> "2 times 3", 4x4 -> "4 by 4", AT&T -> "a t and t", press # -> "press pound", #5 -> "number 5",
    and/or -> "and or", = + & @ < > as words."""
    text = _TIMES_RE.sub(" times ", text)
    text = _BY_RE.sub(" by ", text)
    text = _AMPERSAND_ACRONYM_RE.sub(lambda m: f"{spell(m[1])} and {spell(m[2])}", text)
    text = _NUMBER_SIGN_RE.sub("number ", text)
    # On a telephone keypad # is "pound" and * is "star".
    text = _KEY_RE.sub(lambda m: " pound " if m[1] == "#" else " star ", text)
    # "yes/no" is "yes or no"; "and/or" is said as written; "a/b" names two letters.
    text = _WORD_SLASH_RE.sub(
        lambda m: f"{m[1]} or " if min(len(m[1]), len(m[2])) > 1 and "or" not in (m[1].lower(), m[2].lower())
        else f"{m[1]} ", text)
    text = _APPROX_RE.sub("about ", text)
    return "".join(_SYMBOL_WORDS.get(char, char) for char in text)


# --- numbers no class took -----------------------------------------------------------------------------------
_DECIMAL_RE = re.compile(rf"(?<![\d.])(?:{_INT})?(?:\.\d+)+", _F)
_INTEGER_RE = re.compile(_INT, _F)


def cardinal(text: str) -> str:
    """The numbers left once the classes have read theirs: 1,234 -> "one thousand two hundred thirty four", 1984 ->
    "nineteen eighty four", 3.14 -> "three point one four", 007 -> "zero zero seven"."""
    text = _sub(_DECIMAL_RE, lambda m: numbers.number(m[0]), text)
    return _sub(_INTEGER_RE, lambda m: numbers.number(m[0]), text)


# In reading order: addresses and telephone numbers hold dots, dashes and digits that later classes would take apart;
# dates before times, fractions and codes; units before codes ("5kg" is a measure, "4B" a code); Roman numerals and
# abbreviations once the numbers are words. `cardinal` is not among them: it reads what is left after junk is dropped.
CLASSES: tuple[Callable[[str], str], ...] = (
    electronic, telephone, date, time, number_range, money, temperature, measure, percent, fraction, decade, ordinal,
    code, roman, abbreviation, acronym, symbol,
)
