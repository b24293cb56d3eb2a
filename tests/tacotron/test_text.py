"""Tests for tacotron.text: normalization cases, output alphabet, idempotence and the id convention."""

import random

import pytest

from tacotron.text import PAD_ID, SYMBOLS, normalize_text, oov_id, vocabulary_size

CASES = [
    # integers, thousands separators, negatives, decimals
    ("I have 5 cats", "i have five cats"),
    ("103 dalmatians", "one hundred three dalmatians"),
    ("0", "zero"),
    ("1,000 apples.", "one thousand apples."),
    ("1,234,567", "one million two hundred thirty four thousand five hundred sixty seven"),
    ("It was -5 outside", "it was minus five outside"),
    ("-12.5", "minus twelve point five"),
    ("pi is 3.14", "pi is three point one four"),
    ("0.05", "zero point zero five"),
    (".5 cm", "point five cm"),
    ("1,234.56", "one thousand two hundred thirty four point five six"),
    ("007", "zero zero seven"),
    ("3g network", "three g network"),
    ("(42)", "(forty two)"),
    ("1234567890123456", "one two three four five six seven eight nine zero one two three four five six"),
    # ordinals
    ("1st", "first"),
    ("the 22nd and 103rd", "the twenty second and one hundred third"),
    ("4th of July", "fourth of july"),
    ("11th hour", "eleventh hour"),
    # currency
    ("$5", "five dollars"),
    ("$1", "one dollar"),
    ("$5.50", "five dollars and fifty cents"),
    ("$0.01", "one cent"),
    ("$1,000", "one thousand dollars"),
    ("$2.5 million", "two point five million dollars"),
    ("-$5", "minus five dollars"),
    ("£3", "three pounds"),
    ("£1.50", "one pound and fifty pence"),
    ("€2", "two euros"),
    ("€1", "one euro"),
    ("it costs 5€", "it costs five euros"),
    # percentages
    ("50%", "fifty percent"),
    ("12.5 %", "twelve point five percent"),
    ("100% sure", "one hundred percent sure"),
    # years
    ("1984", "nineteen eighty four"),
    ("In 2005.", "in two thousand five."),
    ("1900", "nineteen hundred"),
    ("1905", "nineteen oh five"),
    ("2024", "twenty twenty four"),
    ("2000", "two thousand"),
    ("1066", "one thousand sixty six"),
    ("1,984", "one thousand nine hundred eighty four"),
    # times
    ("3:30 pm", "three thirty p m"),
    ("at 3:30 P.M.", "at three thirty p m."),
    ("10:00", "ten o'clock"),
    ("7:05", "seven oh five"),
    ("11:45 am", "eleven forty five a m"),
    ("12:00 pm", "twelve p m"),
    ("5 am", "five a m"),
    ("9pm", "nine p m"),
    # abbreviations
    ("Mr. Smith", "mister smith"),
    ("Mrs. Jones", "missus jones"),
    ("Dr. Who", "doctor who"),
    ("St. Louis", "saint louis"),
    ("Acme Co. and Sons", "acme company and sons"),
    ("John Smith Jr.", "john smith junior."),
    ("apples, pears, etc.", "apples, pears, etcetera."),
    ("cats vs. dogs", "cats versus dogs"),
    ("No. 5", "number five"),
    ("no. you may not", "no. you may not"),
    ("#1 fan", "number one fan"),
    ("e.g. this, i.e. that", "for example this, that is that"),
    # symbols
    ("rock & roll", "rock and roll"),
    ("me@home", "me at home"),
    ("2+2=4", "two plus two equals four"),
    ("#hashtag *bold* a/b", "hashtag bold a b"),
    ("[note]", "(note)"),
    # unicode punctuation, quotes, dashes, spaces
    ("\u201cHello,\u201d she said", '"hello," she said'),
    ("it\u2019s \u2018quoted\u2019", "it's 'quoted'"),
    ("wait\u2014what", "wait - what"),
    ("pages 1\u20132", "pages one to two"),
    ("and so\u2026", "and so..."),
    ("\u00abbonjour\u00bb", '"bonjour"'),
    ("a\u00a0b\u2009c", "a b c"),
    ("\u22125", "minus five"),
    # accented and other Latin letters
    ("caf\u00e9", "cafe"),
    ("na\u00efve fa\u00e7ade", "naive facade"),
    ("Stra\u00dfe \u00c6r\u00f8", "strasse aero"),
    ("cafe\u0301", "cafe"),
    ("\uff28\uff49", "hi"),
    # dropped: emoji, CJK, other scripts, control characters
    ("hi \U0001f600 there", "hi there"),
    ("good\U0001f44dday", "good day"),
    ("\u4e2d\u6587 text", "text"),
    ("\u041f\u0440\u0438\u0432\u0435\u0442", ""),
    ("\U0001f600\U0001f600", ""),
    ("a\x00b\u200bc", "abc"),
    # empty input and whitespace
    ("", ""),
    ("   ", ""),
    ("\t\n\r ", ""),
    ("  Hello \n\n  World  ", "hello world"),
    ("wait ,what ?", "wait,what?"),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize("raw", [raw for raw, _ in CASES])
def test_normalize_text_is_idempotent(raw: str) -> None:
    once = normalize_text(raw)
    assert normalize_text(once) == once


def test_symbols_are_unique_single_characters() -> None:
    assert len(set(SYMBOLS)) == len(SYMBOLS)
    assert set("abcdefghijklmnopqrstuvwxyz ") <= set(SYMBOLS)
    assert not set(SYMBOLS) & set("ABCXYZ0123456789\t\n")


def _random_text(rng: random.Random) -> str:
    # Mixes ASCII (digits and punctuation exercise the number rules) with code points from every plane,
    # including surrogates, private use and unassigned ones.
    pieces = []
    for _ in range(rng.randint(0, 40)):
        roll = rng.random()
        if roll < 0.4:
            pieces.append(chr(rng.randint(0x20, 0x7E)))
        elif roll < 0.5:
            pieces.append(rng.choice(["$", "£", "€", "%", ":", ".", ",", "-", "#", " ", "09", "pm", "mr."]))
        elif roll < 0.7:
            pieces.append(chr(rng.randint(0x80, 0xFFFF)))
        else:
            pieces.append(chr(rng.randint(0, 0x10FFFF)))
    return "".join(pieces)


def test_normalize_text_random_unicode_stays_in_symbols() -> None:
    rng = random.Random(1234)
    allowed = set(SYMBOLS)
    for _ in range(3000):
        raw = _random_text(rng)
        out = normalize_text(raw)
        assert set(out) <= allowed, (raw, out)
        assert out == out.strip() and "  " not in out, (raw, out)
        assert normalize_text(out) == out, (raw, out)


VOCABULARY = ["a", "b", "_", "c"]


def test_id_convention() -> None:
    assert PAD_ID == 0
    assert oov_id(VOCABULARY) == len(VOCABULARY) + 1
    assert vocabulary_size(VOCABULARY) == len(VOCABULARY) + 2
    assert vocabulary_size([]) == 2
