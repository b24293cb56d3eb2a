"""Tests for tacotron.text.classes: each semiotic class read as a person reads it, through normalize_text, and what
each class leaves alone. (The held-out sentences of benchmarks/normalization.py are not used here: they measure.)"""

import pytest

from tacotron.text import classes, normalize_text

CASES = {
    "telephone": [
        ("Call 555-0199 today.", "call five five five, zero one nine nine today."),
        ("Dial (212) 555-0100.", "dial two one two, five five five, zero one zero zero."),
        ("Toll free: 1-888-555-0123", "toll free: one, eight eight eight, five five five, zero one two three"),
        ("Text 415.555.0172 now", "text four one five, five five five, zero one seven two now"),
        ("Abroad, dial +1 617 555 0111.", "abroad, dial plus one, six one seven, five five five, zero one one one."),
        ("Reach us at 800-555-0100 ext. 345", "reach us at eight zero zero, five five five, zero one zero zero, "
                                              "extension three four five"),
        ("In London call +44 20 7946 0000", "in london call plus four four, two zero, seven nine four six, zero zero "
                                            "zero zero"),
    ],
    "date": [
        ("Due 2025-03-09.", "due march ninth, twenty twenty five."),
        ("Born 12/31/1999", "born december thirty first, nineteen ninety nine"),
        ("Paid on 31/12/2024", "paid on december thirty first, twenty twenty four"),
        ("Expires 06/30/27", "expires june thirtieth, twenty twenty seven"),
        ("See you Aug. 21!", "see you august twenty first!"),
        ("Opened September 2nd, 2019", "opened september second, twenty nineteen"),
        ("Held 14 February 2026", "held the fourteenth of february, twenty twenty six"),
        ("Closed Fri., Dec. 26", "closed friday, december twenty sixth"),
        ("Since July 2020", "since july twenty twenty"),
    ],
    "time": [
        ("Open at 8:15 a.m. daily", "open at eight fifteen a m daily"),
        ("Doors close at 21:30", "doors close at twenty one thirty"),
        ("Boarding 06:05", "boarding six oh five"),
        ("Call by 5PM", "call by five p m"),
        ("Lunch 12:00-1:00 p.m.", "lunch twelve to one p m."),
        ("We are open 9-6.", "we are open nine to six."),
        ("It left at 19:00.", "it left at nineteen hundred."),
    ],
    "money": [
        ("Total: $19.95", "total: nineteen dollars and ninety five cents"),
        ("Just $0.25!", "just twenty five cents!"),
        ("A $12,500 loan", "a twelve thousand five hundred dollar loan"),
        ("Raised $3M in funding", "raised three million dollars in funding"),
        ("Fee: £2.05", "fee: two pounds and five pence"),
        ("A $40k salary", "a forty thousand dollar salary"),
    ],
    "measure": [
        ("Drink 250 ml daily", "drink two hundred fifty milliliters daily"),
        ("It is 1 km away", "it is one kilometer away"),
        ("Limit 65 mph", "limit sixty five miles per hour"),
        ("A 64 GB card", "a sixty four gigabyte card"),
        ("Ran 3.5 mi today", "ran three point five miles today"),
        ("He is 6 ft 2 in tall", "he is six feet two inches tall"),
        ("Put 2 in the box", "put two in the box"),
        ("An 800 sq ft flat", "an eight hundred square foot flat"),
        ("$30/month plan", "thirty dollars per month plan"),
    ],
    "temperature": [
        ("Low of 28°F tonight", "low of twenty eight degrees fahrenheit tonight"),
        ("Store at -18 °C.", "store at minus eighteen degrees celsius."),
        ("A 1° rise", "a one degree rise"),
        ("Bake at 350 degrees F", "bake at three hundred fifty degrees fahrenheit"),
    ],
    "fraction": [
        ("Add 3/4 cup", "add three quarters cup"),
        ("About 1/3 of them", "about one third of them"),
        ("Cut 5/16 inch", "cut five sixteenths inch"),
        ("Wait 1 1/2 hours", "wait one and a half hours"),
        ("Open 24/7", "open twenty four seven"),
        ("Due 11/15", "due november fifteenth"),
    ],
    "percent": [
        ("Save 20% now", "save twenty percent now"),
        ("A 4.25% rate", "a four point two five percent rate"),
        ("Only 0.1 % left", "only zero point one percent left"),
        ("Scores rose 5-10%", "scores rose five to ten percent"),
    ],
    "ordinal": [
        ("The 3rd floor", "the third floor"),
        ("Her 21st birthday", "her twenty first birthday"),
        ("The 112th day", "the one hundred twelfth day"),
    ],
    "decade": [
        ("Music of the 1960s", "music of the nineteen sixties"),
        ("Back in the '70s", "back in the seventies"),
        ("Born in the 2000s", "born in the two thousands"),
        ("The 50s were quiet", "the fifties were quiet"),
    ],
    "code": [
        ("Your order 70513 shipped", "your order seven zero five one three shipped"),
        ("Confirmation: QX7-22B", "confirmation: q x seven two two b"),
        ("Card ending in 4410", "card ending in four four one zero"),
        ("PIN 0919", "pin zero nine one nine"),
        ("Reference number 118204", "reference number one one eight two zero four"),
        ("Go to gate 12", "go to gate twelve"),
        ("Ticket #8812", "ticket number eight eight one two"),
        ("We were #3 and then #12", "we were number three and then number twelve"),
        ("Invoice #0042 and #7710023",
         "invoice number zero zero four two and number seven seven one zero zero two three"),
        ("Ref. no. 4471", "reference number four four seven one"),
        ("Vitamin B12 helps", "vitamin b one two helps"),
    ],
    "roman": [
        ("Read Chapter XII first", "read chapter twelve first"),
        ("Louis XIV built it", "louis the fourteenth built it"),
        ("King Charles III spoke", "king charles the third spoke"),
        ("Rocky II is fun", "rocky two is fun"),
        ("Then I left, and I smiled", "then i left, and i smiled"),
        ("MIX IT WELL", "mix it well"),
        ("Elizabeth I ruled", "elizabeth the first ruled"),
    ],
    "abbreviation": [
        ("Mr. and Mrs. Okafor", "mister and missus okafor"),
        ("Ms. Patel called", "miz patel called"),
        ("St. Paul is cold", "saint paul is cold"),
        ("Turn onto Pine St. now", "turn onto pine street now"),
        ("Meet at 40 Oak St.", "meet at forty oak street."),
        ("Dr. Osei will see you", "doctor osei will see you"),
        ("Park on Maple Dr. tonight", "park on maple drive tonight"),
        ("Go to 9 Elm Ave.", "go to nine elm avenue."),
        ("Mt. Hood is tall", "mount hood is tall"),
        ("Approx. 20 people", "approximately twenty people"),
        ("See fig. 3", "see figure three"),
        ("A fig tree", "a fig tree"),
    ],
    "electronic": [
        ("Write to help@acme.io", "write to help at acme dot i o"),
        ("Mail jane_roe@mail.example.org", "mail jane underscore roe at mail dot example dot org"),
        ("Go to www.city.gov/parking.", "go to w w w dot city dot gov slash parking."),
        ("See https://shop.example.com/faq", "see shop dot example dot com slash faq"),
        ("Visit example.co.uk today", "visit example dot co dot u k today"),
        ("Etc. and e.g. are not sites", "etcetera and for example are not sites"),
    ],
    "symbol": [
        ("Press * then #.", "press star then pound."),
        ("5 + 5 = 10", "five plus five equals ten"),
        ("Ask about R&D", "ask about r and d"),
        ("Tom & Jerry", "tom and jerry"),
        ("A 2x6 board", "a two by six board"),
        ("Room 10 x 12 ft", "room ten by twelve feet"),
        ("Check in/out times", "check in or out times"),
        ("~40 people came", "about forty people came"),
    ],
    "acronym": [
        ("Visit the ATM", "visit the a t m"),
        ("Bring two IDs", "bring two i d s"),
        ("Is that OK?", "is that okay?"),
        ("Enter your PIN", "enter your pin"),
        ("The NATO summit", "the nato summit"),
        ("PLEASE HOLD THE LINE", "please hold the line"),
    ],
}


@pytest.mark.parametrize(("written", "spoken"),
                         [pytest.param(w, s, id=f"{name}-{i}") for name, cases in CASES.items()
                          for i, (w, s) in enumerate(cases)])
def test_each_class_reads_as_a_person_would(written: str, spoken: str) -> None:
    assert normalize_text(written) == spoken


@pytest.mark.parametrize("written", [w for cases in CASES.values() for w, _ in cases])
def test_reading_is_idempotent(written: str) -> None:
    once = normalize_text(written)
    assert normalize_text(once) == once


@pytest.mark.parametrize(("read", "untouched"), [
    (classes.telephone, "In 1990-2000 we sold 5,550 units, 3.5 each."),
    (classes.date, "Pay 3/4 of $10 at 3:30."),
    (classes.time, "The ratio was 3:1, not 12:75."),
    (classes.code, "We sold 48213 units to 12 people."),
    (classes.roman, "I said I would, and I did."),
    (classes.abbreviation, "The dr said no to the st of it."),
    (classes.electronic, "Mr.Smith, e.g.this, 3.14 and a.m."),
    (classes.acronym, "Plain words stay, and so does I."),
])
def test_a_class_leaves_other_text_alone(read, untouched: str) -> None:
    assert read(untouched) == untouched


def test_every_class_runs_in_the_normalizer() -> None:
    assert len(set(classes.CLASSES)) == len(classes.CLASSES)
    for name in ("electronic", "telephone", "date", "time", "money", "temperature", "measure", "percent", "fraction",
                 "decade", "ordinal", "code", "roman", "abbreviation", "acronym", "symbol"):
        assert getattr(classes, name) in classes.CLASSES, name
