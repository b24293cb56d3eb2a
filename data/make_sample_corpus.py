"""Generate espeak-ng corpora (LJSpeech layout, 16 kHz FLAC): the bundled sample, larger ones, held-out sets."""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "data" / "sample_corpus"

SAMPLE_RATE = 16000
# The corpus advertises clips of 1-4.5 s; anything outside is dropped and the next sentence is tried.
MIN_SECONDS = 1.0
MAX_SECONDS = 4.5
# Roughly the share of sentences whose raw text needs normalization (digits, currency, abbreviations...).
NORMALIZATION_SHARE = 0.15
# Fixed so that the same voice always sounds the same and a small model has one speaker to learn.
SPEED_WPM = 170
PITCH = 50
# --voice flite:slt renders with flite instead of espeak-ng.
FLITE_PREFIX = "flite:"

# ----------------------------------------------------------------------------------------------------
# Word lists, all original; chosen to cover every letter of the alphabet, rare ones (j, q, x, z) too.
# ----------------------------------------------------------------------------------------------------

NAMES = [
    "Olivia", "Marcus", "Priya", "Kenji", "Zoe", "Xavier", "Quentin", "Yusuf", "Hannah", "Victor",
    "Wendy", "Felix", "Beatrice", "Igor", "Julia", "Leo", "Nadia", "Oscar", "Rosa", "Tomas",
    "Uma", "Gabriel", "Dmitri", "Chloe", "Ezra", "Amara", "Jasper", "Kwame", "Lucia", "Mateo",
]  # fmt: skip

SURNAMES = [
    "Smith", "Jones", "Patel", "Garcia", "Kowalski", "Nguyen", "Okafor", "Quinn", "Zimmerman", "Yates",
    "Vasquez", "Hughes", "Fitzgerald", "Baxter", "Jensen", "Lindqvist", "Moreau", "Dalton",
]  # fmt: skip

# Common-noun subjects take "the", "my", "our" or "a" in front of them.
ROLES = [
    "baker", "farmer", "pilot", "teacher", "librarian", "neighbor", "carpenter", "sailor", "doctor",
    "gardener", "jeweler", "zookeeper", "violinist", "mechanic", "painter", "plumber", "quilter",
    "waiter", "youngster", "explorer", "knight", "tailor", "nurse", "wizard", "judge", "cook",
]  # fmt: skip

DETERMINERS = ["the", "my", "our", "a", "that", "their"]

ADJECTIVES = [
    "yellow", "ancient", "fragile", "heavy", "shiny", "muddy", "quirky", "velvet", "zigzag", "jagged",
    "dusty", "bright", "enormous", "tiny", "gentle", "noisy", "frozen", "crooked", "elegant", "wobbly",
    "fuzzy", "hollow", "plump", "rusty", "smooth", "knotted", "purple", "silver", "quiet", "lazy",
    "cozy", "tired", "brave", "curious", "orange", "wooden", "glossy", "sturdy", "vivid", "extra large",
]  # fmt: skip

# Concrete, portable things, so that almost any verb below makes sense with them.
NOUNS = [
    "box", "jacket", "kettle", "violin", "lantern", "quilt", "zipper", "basket", "ladder", "map",
    "puzzle", "xylophone", "wagon", "umbrella", "key", "feather", "helmet", "notebook", "pumpkin",
    "vase", "blanket", "bucket", "candle", "drum", "envelope", "flag", "guitar", "hammer", "jar",
    "kite", "lamp", "mirror", "necklace", "oar", "pillow", "radio", "saddle", "teapot", "wallet",
    "yo-yo", "sweater", "telescope", "bicycle", "suitcase", "compass", "trophy", "crayon", "banjo",
]  # fmt: skip

# Nouns whose plural is just "+s"; used with numbers ("3 cats").
COUNTABLE = [
    "cats", "apples", "pencils", "tickets", "candles", "boxes", "oranges", "chairs", "books", "eggs",
    "kites", "jars", "violins", "lemons", "buttons", "quilts", "zebras", "yachts", "wagons", "maps",
]  # fmt: skip

# (base, past) pairs: the templates need both tenses.
VERBS = [
    ("carry", "carried"), ("paint", "painted"), ("fix", "fixed"), ("find", "found"), ("wash", "washed"),
    ("borrow", "borrowed"), ("hide", "hid"), ("drop", "dropped"), ("open", "opened"), ("move", "moved"),
    ("clean", "cleaned"), ("polish", "polished"), ("lift", "lifted"), ("pack", "packed"),
    ("wrap", "wrapped"), ("sell", "sold"), ("buy", "bought"), ("bring", "brought"), ("catch", "caught"),
    ("keep", "kept"), ("throw", "threw"), ("shake", "shook"), ("fold", "folded"), ("juggle", "juggled"),
    ("weigh", "weighed"), ("examine", "examined"), ("deliver", "delivered"), ("squeeze", "squeezed"),
    ("sketch", "sketched"), ("measure", "measured"), ("return", "returned"), ("forget", "forgot"),
    ("quietly move", "quietly moved"), ("zip up", "zipped up"), ("give away", "gave away"),
]  # fmt: skip

# (base, past) pairs of verbs that need no object, for the short sentences.
INTRANSITIVE = [
    ("laugh", "laughed"), ("wait", "waited"), ("sneeze", "sneezed"), ("jump", "jumped"), ("yawn", "yawned"),
    ("smile", "smiled"), ("vanish", "vanished"), ("shiver", "shivered"), ("whistle", "whistled"),
    ("giggle", "giggled"), ("dance", "danced"), ("jog", "jogged"), ("frown", "frowned"), ("quit", "quit"),
    ("relax", "relaxed"), ("sing", "sang"), ("swim", "swam"), ("kneel", "knelt"), ("zigzag", "zigzagged"),
]  # fmt: skip

ADVERBS = [
    "quickly", "slowly", "carefully", "proudly", "gently", "nervously", "happily", "eagerly",
    "quietly", "boldly", "lazily", "joyfully", "wisely", "vaguely", "fiercely",
]  # fmt: skip

PLACES = [
    "in the kitchen", "near the river", "behind the barn", "at the market", "under the bridge",
    "on the roof", "by the harbor", "inside the museum", "across the valley", "next to the zoo",
    "at the train station", "in the library", "beside the lake", "outside the jazz club", "upstairs",
    "in the garden", "at the bakery", "on the porch", "in the attic", "along the quay", "at the plaza",
    "in the village", "by the fountain", "near the old windmill", "on the yacht",
]  # fmt: skip

PAST_TIMES = [
    "this morning", "last night", "on Tuesday", "before lunch", "after the storm", "in July",
    "at dawn", "yesterday", "last winter", "on Friday", "after dinner", "at midnight", "in the spring",
]  # fmt: skip

FUTURE_TIMES = [
    "tomorrow", "next week", "on Monday", "after breakfast", "this evening", "in October",
    "next summer", "on Saturday", "before noon", "later today", "at sunrise",
]  # fmt: skip

EXCLAMATIONS = ["Wow", "Oh no", "Hooray", "Look", "Goodness", "Yikes", "Quick", "Hey"]

EVENTS = ["concert", "parade", "festival", "match", "fair", "lecture", "market", "wedding"]

TITLES = ["Dr.", "Mr.", "Mrs.", "Ms."]

# ----------------------------------------------------------------------------------------------------
# Extra word lists for --vocabulary large and the held-out sets; original too. The a/an rule in
# with_article still holds: no silent h, no "u" or "eu" read as "you", no "one-".
# ----------------------------------------------------------------------------------------------------

EXTRA_NAMES = [
    "Abigail", "Adrian", "Agnes", "Ahmed", "Aiko", "Alba", "Alejandro", "Alfie", "Alina", "Ambrose",
    "Anika", "Anton", "Arjun", "Astrid", "Aurelio", "Bashir", "Bianca", "Boris", "Bruno", "Camille",
    "Carmen", "Cedric", "Celeste", "Chidi", "Clara", "Cosmo", "Dalia", "Damian", "Delphine", "Desmond",
    "Dorothea", "Edgar", "Elif", "Elodie", "Emeka", "Esther", "Fabian", "Farida", "Fatima", "Florian",
    "Freya", "Giorgio", "Greta", "Gustav", "Hamid", "Harriet", "Hector", "Hiroshi", "Ingrid", "Isadora",
    "Ivan", "Jamal", "Javier", "Jonas", "Josephine", "Kalani", "Karim", "Katya", "Keiko", "Lars",
    "Leila", "Lorenzo", "Magnus", "Malik", "Marisol", "Matilda", "Maxim", "Mei", "Milo", "Miriam",
    "Nikolai", "Nina", "Noor", "Octavia", "Odette", "Orson", "Pablo", "Petra", "Philippa", "Raffaele",
    "Rashid", "Renata", "Rupert", "Sakura", "Salma", "Sanjay", "Selma", "Silas", "Sofia", "Stellan",
    "Svetlana", "Tariq", "Thea", "Theodore", "Ulrich", "Ursula", "Valentina", "Vikram", "Wilhelmina",
    "Winston", "Yara", "Yasmin", "Yelena", "Zara", "Zachary", "Zeynep", "Zoltan", "Ingmar", "Bertram",
    "Cordelia", "Dagny", "Evander", "Fenella", "Gideon", "Horatio", "Isolde", "Lysander", "Mirela",
    "Neville", "Ottilie", "Percival", "Quincy", "Rosalind", "Seraphina", "Tobias", "Ulla", "Vera",
    "Wanda", "Xenia", "Yannick", "Zelda", "Benedikt", "Consuelo", "Imogen", "Jolene", "Kasimir",
]  # fmt: skip

EXTRA_SURNAMES = [
    "Abernathy", "Bergstrom", "Castellano", "Delacroix", "Eriksen", "Ferreira", "Gallagher", "Haddad",
    "Jablonski", "Kaminski", "Larsen", "Nakamura", "Oyelaran", "Pellegrini", "Rasmussen", "Sandoval",
    "Takahashi", "Underwood", "Valdivia", "Whitfield", "Xiong", "Yamamoto", "Zielinski", "Ashworth",
    "Blackwood", "Carrington", "Donnelly", "Esposito", "Fairbanks", "Grimaldi", "Holloway", "Iqbal",
    "Jovanovic", "Kavanagh", "Lombardi", "MacAllister", "Novak", "Okonkwo", "Petrov", "Quintero",
]  # fmt: skip

EXTRA_ROLES = [
    "acrobat", "architect", "astronaut", "auctioneer", "banker", "barber", "beekeeper", "blacksmith",
    "bookbinder", "butcher", "captain", "cashier", "chemist", "clockmaker", "coach", "courier",
    "dentist", "detective", "diver", "drummer", "editor", "electrician", "engineer", "farmhand",
    "firefighter", "fisherman", "florist", "goalkeeper", "harpist", "hiker", "historian", "illustrator",
    "inventor", "janitor", "jockey", "juggler", "lawyer", "locksmith", "lifeguard", "magician",
    "mapmaker", "merchant", "miner", "musician", "novelist", "optician", "organist", "pharmacist",
    "photographer", "physicist", "potter", "poet", "porter", "ranger", "reporter", "sculptor",
    "shepherd", "shopkeeper", "singer", "skater", "soldier", "surgeon", "surveyor", "swimmer",
    "trumpeter", "tutor", "typist", "umpire", "usher", "weaver", "welder", "woodcutter", "writer",
    "yodeler", "zoologist", "referee", "cobbler", "glassblower", "puppeteer", "navigator",
]  # fmt: skip

EXTRA_ADJECTIVES = [
    "amber", "angry", "anxious", "awkward", "bashful", "bitter", "brittle", "bumpy", "busy", "calm",
    "cheerful", "chilly", "clever", "cloudy", "clumsy", "colorful", "crisp", "crunchy", "damp", "dainty",
    "dark", "delicate", "dizzy", "drowsy", "faded", "famous", "fancy", "fierce", "flat", "fluffy",
    "foggy", "fresh", "friendly", "gigantic", "gloomy", "golden", "graceful", "greasy", "green",
    "grumpy", "handsome", "hasty", "humble", "hungry", "icy", "itchy", "jolly", "jumpy", "kind",
    "lanky", "large", "little", "lively", "lonely", "loud", "lucky", "magnetic", "messy", "mighty",
    "misty", "modern", "narrow", "neat", "nimble", "odd", "old", "pale", "patient", "pink", "plain",
    "polite", "precious", "prickly", "proud", "rare", "red", "rough", "round", "royal", "salty",
    "sandy", "scarlet", "scratchy", "shabby", "sharp", "shy", "silky", "silly", "sleepy", "slender",
    "slippery", "small", "soft", "soggy", "solid", "sour", "sparkly", "speckled", "square", "stale",
    "sticky", "stiff", "stormy", "strange", "striped", "sunny", "sweet", "tall", "tangled", "tender",
    "thick", "thin", "tidy", "vast", "weary", "wet", "wicked", "wild", "windy", "witty", "woolly",
    "wrinkled", "young", "zesty", "zany", "quaint", "jazzy", "juicy", "jumbo", "khaki", "kooky",
    "ivory", "indigo", "emerald", "azure", "ornate", "oval", "oily", "olive", "upbeat", "uneven",
    "early", "eager", "grimy", "nervous", "gleaming", "shaggy", "lumpy", "frosty", "chubby", "peculiar",
]  # fmt: skip

EXTRA_NOUNS = [
    "acorn", "anchor", "apron", "backpack", "badge", "balloon", "bandage", "barrel", "baton", "bell",
    "belt", "blender", "bottle", "bowl", "bracelet", "briefcase", "broom", "brush", "bugle", "button",
    "cabbage", "calendar", "camera", "canoe", "carpet", "carrot", "cushion", "chisel", "clarinet",
    "clock", "coat", "comb", "cookie", "crate", "crown", "cup", "cupcake", "dictionary", "dish", "doll",
    "doormat", "easel", "eggplant", "flashlight", "flute", "fork", "frame", "glove", "goblet",
    "hairbrush", "handbag", "harmonica", "hat", "headband", "hose", "inkwell", "jigsaw", "jug", "kayak",
    "kazoo", "keyboard", "knapsack", "ladle", "laptop", "leash", "locket", "lunchbox", "magnet",
    "mallet", "marble", "mask", "microscope", "mitten", "mop", "mug", "napkin", "needle", "net",
    "nutcracker", "oboe", "onion", "ornament", "pan", "parcel", "pearl", "pebble", "pepper", "pickaxe",
    "pinecone", "pitcher", "plate", "pot", "potato", "poster", "pouch", "quiver", "racket", "rake",
    "ribbon", "ring", "robe", "rocket", "rope", "ruler", "sack", "sandal", "satchel", "saucepan",
    "scarf", "scooter", "screwdriver", "shawl", "shovel", "skateboard", "sled", "slipper", "spatula",
    "sponge", "spoon", "stapler", "statue", "stool", "straw", "tambourine", "tent", "thermos", "thimble",
    "toaster", "toolbox", "towel", "tray", "trombone", "trowel", "trumpet", "tuba", "tulip", "vest",
    "walnut", "wheelbarrow", "wreath", "yardstick", "zucchini", "orchid", "igloo", "accordion",
    "almanac", "anvil", "atlas", "cauldron", "goggles", "hammock", "lasso", "mandolin", "padlock",
]  # fmt: skip

# Spelled out rather than derived, because "+s" is wrong for some ("potatoes", "boxes").
EXTRA_COUNTABLE = [
    "acorns", "anchors", "balloons", "bells", "bottles", "bowls", "brushes", "cookies", "cups", "feathers",
    "forks", "gloves", "hats", "keys", "lanterns", "marbles", "mugs", "napkins", "onions", "pebbles",
    "pears", "plates", "potatoes", "ribbons", "rings", "rockets", "shells", "socks", "spoons", "stamps",
    "tomatoes", "towels", "trumpets", "tulips", "walnuts", "whistles", "carrots", "cupcakes", "mittens",
]  # fmt: skip

EXTRA_VERBS = [
    ("scrub", "scrubbed"), ("rinse", "rinsed"), ("stack", "stacked"), ("tie", "tied"), ("untie", "untied"),
    ("label", "labeled"), ("inspect", "inspected"), ("repair", "repaired"), ("decorate", "decorated"),
    ("hold", "held"), ("lend", "lent"), ("send", "sent"), ("trade", "traded"), ("steal", "stole"),
    ("grab", "grabbed"), ("drag", "dragged"), ("push", "pushed"), ("pull", "pulled"), ("kick", "kicked"),
    ("toss", "tossed"), ("hug", "hugged"), ("sniff", "sniffed"), ("touch", "touched"), ("admire", "admired"),
    ("describe", "described"), ("draw", "drew"), ("photograph", "photographed"), ("hang", "hung"),
    ("bury", "buried"), ("rescue", "rescued"), ("unwrap", "unwrapped"), ("unpack", "unpacked"),
    ("fill", "filled"), ("spill", "spilled"), ("balance", "balanced"), ("rattle", "rattled"),
    ("bend", "bent"), ("break", "broke"), ("mend", "mended"), ("sew", "sewed"), ("knit", "knitted"),
    ("dust", "dusted"), ("sweep", "swept"), ("chase", "chased"), ("follow", "followed"),
    ("notice", "noticed"), ("count", "counted"), ("sort", "sorted"), ("share", "shared"),
    ("offer", "offered"), ("order", "ordered"), ("rent", "rented"), ("donate", "donated"),
    ("mail", "mailed"), ("lose", "lost"), ("seize", "seized"), ("snatch", "snatched"), ("swap", "swapped"),
    ("tug", "tugged"), ("nudge", "nudged"), ("poke", "poked"), ("tap", "tapped"), ("stir", "stirred"),
    ("chop", "chopped"), ("peel", "peeled"), ("slice", "sliced"), ("boil", "boiled"), ("bake", "baked"),
    ("freeze", "froze"), ("dry", "dried"), ("soak", "soaked"), ("splash", "splashed"), ("wipe", "wiped"),
    ("scrape", "scraped"), ("glue", "glued"), ("tape", "taped"), ("lock", "locked"), ("unlock", "unlocked"),
    ("seal", "sealed"), ("stamp", "stamped"), ("sign", "signed"), ("mark", "marked"), ("test", "tested"),
    ("study", "studied"), ("copy", "copied"), ("fetch", "fetched"), ("win", "won"), ("choose", "chose"),
    ("lower", "lowered"), ("raise", "raised"), ("rotate", "rotated"), ("flip", "flipped"),
    ("smuggle", "smuggled"), ("store", "stored"), ("stash", "stashed"), ("weave", "wove"),
    ("carve", "carved"), ("mold", "molded"), ("tune", "tuned"), ("recover", "recovered"),
    ("discover", "discovered"), ("misplace", "misplaced"), ("abandon", "abandoned"), ("spin", "spun"),
    ("roll", "rolled"), ("bounce", "bounced"), ("hurl", "hurled"), ("fling", "flung"), ("grip", "gripped"),
    ("clutch", "clutched"), ("cradle", "cradled"), ("rock", "rocked"), ("inherit", "inherited"),
    ("auction", "auctioned"), ("unfold", "unfolded"), ("oil", "oiled"), ("assemble", "assembled"),
]  # fmt: skip

EXTRA_INTRANSITIVE = [
    ("cough", "coughed"), ("blink", "blinked"), ("nod", "nodded"), ("stumble", "stumbled"),
    ("shrug", "shrugged"), ("wander", "wandered"), ("hum", "hummed"), ("sigh", "sighed"), ("wink", "winked"),
    ("gasp", "gasped"), ("grin", "grinned"), ("chuckle", "chuckled"), ("tremble", "trembled"),
    ("hesitate", "hesitated"), ("hurry", "hurried"), ("linger", "lingered"), ("pause", "paused"),
    ("rest", "rested"), ("sleep", "slept"), ("snore", "snored"), ("sit", "sat"), ("stand", "stood"),
    ("run", "ran"), ("hop", "hopped"), ("skip", "skipped"), ("crawl", "crawled"), ("climb", "climbed"),
    ("bow", "bowed"), ("cheer", "cheered"), ("clap", "clapped"), ("shout", "shouted"),
    ("whisper", "whispered"), ("mumble", "mumbled"), ("stutter", "stuttered"), ("weep", "wept"),
    ("sob", "sobbed"), ("blush", "blushed"), ("pout", "pouted"), ("panic", "panicked"),
    ("arrive", "arrived"), ("depart", "departed"), ("float", "floated"), ("sink", "sank"),
    ("drift", "drifted"), ("glide", "glided"), ("march", "marched"), ("stroll", "strolled"),
    ("limp", "limped"), ("tiptoe", "tiptoed"), ("waddle", "waddled"), ("ski", "skied"), ("surf", "surfed"),
    ("dive", "dove"), ("fall", "fell"), ("rise", "rose"), ("wake", "woke"), ("doze", "dozed"),
    ("nap", "napped"), ("meditate", "meditated"), ("stretch", "stretched"), ("complain", "complained"),
    ("apologize", "apologized"), ("agree", "agreed"), ("argue", "argued"), ("listen", "listened"),
    ("improvise", "improvised"), ("squeal", "squealed"), ("scowl", "scowled"), ("babble", "babbled"),
]  # fmt: skip

EXTRA_ADVERBS = [
    "angrily", "anxiously", "briskly", "calmly", "cheerfully", "clumsily", "cautiously", "cleverly",
    "curiously", "deliberately", "eventually", "faithfully", "foolishly", "gracefully", "gladly", "grimly",
    "hastily", "hungrily", "innocently", "kindly", "loudly", "madly", "merrily", "mysteriously", "neatly",
    "obediently", "patiently", "politely", "promptly", "rapidly", "reluctantly", "roughly", "sadly",
    "secretly", "sheepishly", "shyly", "silently", "softly", "sternly", "suddenly", "swiftly",
    "tenderly", "thoughtfully", "urgently", "warmly", "wearily", "wildly", "zealously", "jokingly",
]  # fmt: skip

EXTRA_PLACES = [
    "in the cellar", "near the lighthouse", "behind the theater", "at the bus stop", "on the balcony",
    "by the campfire", "inside the greenhouse", "across the meadow", "next to the chapel", "at the airport",
    "in the hallway", "beside the pond", "outside the bank", "in the orchard", "at the dock",
    "on the hilltop", "in the basement", "along the canal", "at the carnival", "in the forest",
    "by the waterfall", "near the castle", "on the ferry", "in the classroom", "under the staircase",
    "at the post office", "behind the warehouse", "near the volcano", "in the workshop", "at the circus",
]  # fmt: skip

EXTRA_PAST_TIMES = [
    "last spring", "on Sunday", "on Wednesday", "after school", "at noon", "in August", "in March",
    "two days ago", "last month", "at sunset", "during the storm", "on Thursday", "in November",
]  # fmt: skip

EXTRA_FUTURE_TIMES = [
    "next month", "on Thursday", "on Sunday", "in December", "next spring", "after the concert",
    "before sunset", "next Friday", "in January", "this weekend", "in an hour",
]  # fmt: skip

EXTRA_EXCLAMATIONS = ["Gosh", "Whoa", "Oops", "Bravo", "Aha", "Ouch"]

EXTRA_EVENTS = ["carnival", "tournament", "recital", "picnic", "auction", "rally", "banquet", "regatta", "ceremony"]


@dataclass(frozen=True)
class Lexicon:
    """The word lists one vocabulary draws from; `large` also turns on the extra templates."""

    names: list[str]
    surnames: list[str]
    roles: list[str]
    adjectives: list[str]
    nouns: list[str]
    countable: list[str]
    verbs: list[tuple[str, str]]
    intransitive: list[tuple[str, str]]
    adverbs: list[str]
    places: list[str]
    past_times: list[str]
    future_times: list[str]
    exclamations: list[str]
    events: list[str]
    large: bool = False


def reserved(word: str) -> bool:
    """True for the fifth of the extra words that no corpus uses, kept for held-out sets."""
    # A checksum, not Python's salted hash(): the split must be the same in every process.
    return zlib.crc32(word.encode()) % 5 == 0


def _merge(base: list, extra: list, *, reserve: bool = True) -> list:
    """`base` followed by the entries of `extra` that are new and (when `reserve`) not reserved."""
    out, have = list(base), set(base)
    for entry in extra:
        head = entry[0] if isinstance(entry, tuple) else entry
        if entry not in have and not (reserve and reserved(head)):
            out.append(entry)
            have.add(entry)
    return out


SMALL = Lexicon(
    NAMES, SURNAMES, ROLES, ADJECTIVES, NOUNS, COUNTABLE, VERBS, INTRANSITIVE, ADVERBS, PLACES, PAST_TIMES,
    FUTURE_TIMES, EXCLAMATIONS, EVENTS,
)  # fmt: skip
LARGE = Lexicon(
    _merge(NAMES, EXTRA_NAMES),
    _merge(SURNAMES, EXTRA_SURNAMES, reserve=False),
    _merge(ROLES, EXTRA_ROLES),
    _merge(ADJECTIVES, EXTRA_ADJECTIVES),
    _merge(NOUNS, EXTRA_NOUNS),
    # Plurals, places, times, ... are never held out: held-out sentences do not use them.
    _merge(COUNTABLE, EXTRA_COUNTABLE, reserve=False),
    _merge(VERBS, EXTRA_VERBS),
    _merge(INTRANSITIVE, EXTRA_INTRANSITIVE),
    _merge(ADVERBS, EXTRA_ADVERBS),
    _merge(PLACES, EXTRA_PLACES, reserve=False),
    _merge(PAST_TIMES, EXTRA_PAST_TIMES, reserve=False),
    _merge(FUTURE_TIMES, EXTRA_FUTURE_TIMES, reserve=False),
    _merge(EXCLAMATIONS, EXTRA_EXCLAMATIONS, reserve=False),
    _merge(EVENTS, EXTRA_EVENTS, reserve=False),
    large=True,
)
VOCABULARIES = {"small": SMALL, "large": LARGE}


@dataclass
class Candidate:
    """One sentence to synthesize; `serial` names its scratch files."""

    serial: int
    text: str
    normalized: str
    needs_normalization: bool


@dataclass
class Clip:
    """A synthesized candidate with its measured duration."""

    candidate: Candidate
    path: Path
    seconds: float


def with_article(rng: random.Random, noun_phrase: str) -> str:
    """Prefix 'a'/'an' (by first letter) or 'the', picked at random."""
    if rng.random() < 0.4:
        return f"the {noun_phrase}"
    # Spelling-based a/an is right for every word in the lists above (no silent h, no "uni-").
    return f"{'an' if noun_phrase[0] in 'aeiou' else 'a'} {noun_phrase}"


def fix_articles(text: str) -> str:
    """Turn 'a' into 'an' before a vowel (templates like "What a {adj} {noun}!" write a bare 'a')."""
    return re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", r"\1n ", text)


def subject(rng: random.Random, lex: Lexicon = SMALL) -> str:
    """A name or a determiner + (adjective) + role."""
    if rng.random() < 0.45:
        return rng.choice(lex.names)
    role = rng.choice(lex.roles)
    if rng.random() < 0.35:
        role = f"{rng.choice(lex.adjectives)} {role}"
    det = rng.choice(DETERMINERS)
    if det == "a":
        return with_article(rng, role)
    return f"{det} {role}"


def obj(rng: random.Random, lex: Lexicon = SMALL) -> str:
    """A thing, sometimes with an adjective."""
    noun = rng.choice(lex.nouns)
    if rng.random() < 0.5:
        noun = f"{rng.choice(lex.adjectives)} {noun}"
    return with_article(rng, noun)


def cap(text: str) -> str:
    """Capitalize the first letter only (str.capitalize would lowercase names)."""
    return text[:1].upper() + text[1:]


def plain_sentence(rng: random.Random, lex: Lexicon = SMALL) -> str:
    """A statement, question, exclamation or command made only of words (no digits or symbols)."""
    s, o = subject(rng, lex), obj(rng, lex)
    base, past = rng.choice(lex.verbs)
    ibase, ipast = rng.choice(lex.intransitive)
    adj, noun, name = rng.choice(lex.adjectives), rng.choice(lex.nouns), rng.choice(lex.names)
    place, ptime, ftime = rng.choice(lex.places), rng.choice(lex.past_times), rng.choice(lex.future_times)
    # Mostly short sentences (about 1-2 s): they keep the bundled corpus small, and a short utterance is
    # where a small Tacotron first learns to align.
    short: list[Callable[[], str]] = [
        lambda: f"{name} {ipast}.",
        lambda: f"{cap(s)} {ipast} {ptime}.",
        lambda: f"{name} {ipast} {place}.",
        lambda: f"Why did {name} {ibase}?",
        lambda: f"Did the {rng.choice(lex.roles)} {ibase}?",
        lambda: f"Please {ibase}, {name}.",
        lambda: f"The {noun} is {adj}.",
        lambda: f"Where is the {noun}?",
        lambda: f"Is it {adj}?",
        lambda: f"What a {adj} {noun}!",
        lambda: f"{rng.choice(lex.exclamations)}, {name} {ipast}!",
        lambda: f"{name} {past} it.",
        lambda: f"{name} {past} {o}.",
        lambda: f"Thank you, {name}.",
        lambda: f"Come back {ftime}, {name}!",
        lambda: f"Who {past} the {noun}?",
        lambda: f"Never {ibase} {place}!",
    ]
    # Only appended for the large vocabulary: a longer list would change every choice of the bundled corpus.
    if lex.large:
        short += [
            lambda: f"{name} {ipast} {rng.choice(lex.adverbs)}.",
            lambda: f"The {adj} {rng.choice(lex.roles)} {ipast}.",
            lambda: f"Has anyone seen my {noun}?",
            lambda: f"Is the {noun} {adj} or {rng.choice(lex.adjectives)}?",
            lambda: f"{name} and {rng.choice(lex.names)} {ipast}.",
            lambda: f"Careful, the {noun} is {adj}!",
            lambda: f"My {noun} is {place}.",
            lambda: f"Let us {base} the {noun}.",
            lambda: f"{cap(s)} will {ibase} {ftime}.",
            lambda: f"Everyone {ipast} {place}.",
            lambda: f"How {adj} is your {noun}?",
            lambda: f"Do not {base} my {noun}, {name}.",
        ]
    if rng.random() < 0.75:
        return rng.choice(short)()
    templates: list[Callable[[], str]] = [
        lambda: f"{cap(s)} {past} {o}.",
        lambda: f"{cap(s)} {past} {o} {place}.",
        lambda: f"{cap(s)} {past} {o} {ptime}.",
        lambda: f"{cap(ptime)}, {s} {rng.choice(lex.adverbs)} {past} {o}.",
        lambda: f"{cap(s)} will {base} {o} {ftime}.",
        lambda: f"Did {s} {base} {o}?",
        lambda: f"Where did {s} {base} {o}?",
        lambda: f"Why did {s} {base} {o} {ptime}?",
        lambda: f"Can you {base} {o} {place}?",
        lambda: f"Is the {noun} {place} {adj}?",
        lambda: f"Why is the {noun} so {adj}?",
        lambda: f"Who left {o} {place}?",
        lambda: f"What a {adj} {noun}!",
        lambda: f"{rng.choice(lex.exclamations)}, the {noun} is {adj}!",
        lambda: f"Look at that {adj} {noun}!",
        lambda: f"Never {base} {o} {place}!",
        lambda: f"Please {base} {o} {ftime}.",
        lambda: f"{cap(s)} and {subject(rng, lex)} {past} {o}.",
        lambda: f"I think {s} {past} {o}.",
        lambda: f"Nobody knew why {s} {past} {o}.",
        lambda: f"The {noun} {place} looks {adj}.",
        lambda: f"{cap(s)} {rng.choice(lex.adverbs)} {past} it.",
        lambda: f"Yes, {s} {past} it {ptime}.",
        lambda: f"No, the {noun} was {adj}.",
        lambda: f"Bring the {adj} {noun} {place}, please.",
        # Two long shapes, so the corpus also covers utterances near the 4.5 s limit.
        lambda: f"{cap(s)} {past} {o} {place} {ptime}.",
        lambda: f"{cap(s)} {past} {o}, and then {subject(rng, lex)} {ipast}.",
    ]
    if lex.large:
        templates += [
            lambda: f"{cap(s)} {past} the {adj} {noun} {place}.",
            lambda: f"When {s} {ipast}, {subject(rng, lex)} {past} {o}.",
            lambda: f"{cap(s)} {past} {o} because it was {rng.choice(lex.adjectives)}.",
            lambda: f"If {s} can {base} the {noun}, {name} will {ibase}.",
            lambda: f"{cap(s)} never {past} the {noun} {ptime}.",
            lambda: f"{cap(ftime)}, {s} will {base} {o} {place}.",
            lambda: f"Before {name} could {ibase}, {s} {past} the {noun}.",
            lambda: f"{cap(s)} {rng.choice(lex.adverbs)} {ipast} {place}.",
            lambda: f"The {adj} {noun} that {s} {past} was {rng.choice(lex.adjectives)}.",
            lambda: f"Would you {base} my {adj} {noun}, {name}?",
            lambda: f"{name} asked {s} to {base} {o}.",
            lambda: f"{cap(s)} wanted to {base} {o}, but {name} {ipast}.",
            lambda: f"Why would {s} {base} a {adj} {noun} {place}?",
            lambda: f"{cap(s)} and {name} {ipast} {rng.choice(lex.adverbs)} {ptime}.",
            lambda: f"After {s} {ipast}, {name} {rng.choice(lex.adverbs)} {past} the {noun}.",
        ]
    return rng.choice(templates)()


def ordinal(n: int) -> str:
    """1 -> 1st, 22 -> 22nd, 13 -> 13th."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def normalization_sentence(rng: random.Random, lex: Lexicon = SMALL) -> str:
    """A sentence whose written and spoken forms differ: numbers, money, times, abbreviations, quotes."""
    name, name2 = rng.sample(lex.names, 2)
    title, surname = rng.choice(TITLES), rng.choice(lex.surnames)
    things, noun, adj = rng.choice(lex.countable), rng.choice(lex.nouns), rng.choice(lex.adjectives)
    base, past = rng.choice(lex.verbs)
    hour, minute = rng.randint(1, 12), rng.choice([0, 5, 10, 15, 20, 30, 40, 45, 50])
    clock = f"{hour}:{minute:02d}"
    dollars = rng.choice([f"${rng.randint(2, 99)}", f"${rng.randint(1, 40)}.{rng.randint(10, 99)}"])
    templates: list[Callable[[], str]] = [
        lambda: f"{name} {past} {rng.randint(2, 19)} {things}.",
        lambda: f"We counted {rng.randint(21, 99)} {things} {rng.choice(lex.places)}.",
        lambda: f"About {rng.randint(1, 9)},{rng.randint(1, 9)}00 people came to the {rng.choice(lex.events)}.",
        lambda: f"Take the {ordinal(rng.randint(2, 9))} door on the left.",
        lambda: f"{name} finished {ordinal(rng.randint(1, 31))} in the race.",
        lambda: f"The {noun} costs {dollars}.",
        lambda: f"{name} paid {dollars} for the {adj} {noun}.",
        lambda: f"Prices rose by {rng.randint(2, 60)}% {rng.choice(lex.past_times)}.",
        lambda: f"Only {rng.randint(5, 95)}% of the {things} were {adj}.",
        lambda: f"The train leaves at {clock}.",
        lambda: f"Meet me {rng.choice(lex.places)} at {clock}.",
        lambda: f"{title} {surname} will {base} the {noun} {rng.choice(lex.future_times)}.",
        lambda: f"{title} {surname} {past} a {adj} {noun}.",
        lambda: f"Did {title} {surname} call at {clock}?",
        lambda: f"\u201c{name}, wait!\u201d shouted {name2}.",
        lambda: f"\u201cIs it {adj}?\u201d asked {title} {surname}.",
        lambda: f"It\u2019s {adj}, isn\u2019t it?",
        lambda: f"The {noun} \u2014 the {adj} one \u2014 is {rng.choice(lex.places)}.",
        lambda: f"Wait \u2014 is the {noun} {adj}?",
        lambda: f"{name} came back\u2014finally!",
        lambda: f"Stop \u2013 the {noun} is {adj}!",
        lambda: f"{name} was born in {rng.randint(1950, 2015)}.",
        lambda: f"Room {rng.randint(100, 999)} is on the {ordinal(rng.randint(2, 12))} floor.",
    ]
    return rng.choice(templates)()


def sentence_makers(lex: Lexicon) -> tuple[Callable[[random.Random], str], Callable[[random.Random], str]]:
    """The (plain, normalization) sentence functions for one vocabulary."""
    if lex is SMALL:
        # Untouched, so the default build still reproduces the bundled corpus.
        return plain_sentence, normalization_sentence
    return (
        lambda rng: fix_articles(plain_sentence(rng, lex)),
        lambda rng: fix_articles(normalization_sentence(rng, lex)),
    )


def candidates(
    rng: random.Random,
    make: Callable[[random.Random], str],
    normalize: Callable[[str], str],
    flag: bool,
    seen: set[str],
    serials: Iterator[int],
) -> Iterator[Candidate]:
    """Endless stream of sentences from `make` that have not been produced before."""
    misses = 0
    while True:
        text = make(rng)
        if text in seen:
            misses += 1
            # The template space is far larger than any sensible --count; this only trips on a logic error.
            if misses > 10_000:
                raise RuntimeError("ran out of distinct sentences")
            continue
        misses = 0
        seen.add(text)
        normalized = normalize(text)
        if not normalized or any(sep in text + normalized for sep in "|\r\n"):
            raise ValueError(f"sentence unusable in metadata.csv: {text!r} -> {normalized!r}")
        yield Candidate(next(serials), text, normalized, flag)


def run(cmd: list[str]) -> str:
    """Run a command, returning stdout; raise with its stderr on failure."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)!r} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def speak_command(voice: str, text: str, wav: Path) -> list[str]:
    """The command that renders `text` to `wav`: an espeak-ng voice ("en-us"), or "flite:NAME" for one of flite's
    voices built from a person's recordings (slt, awb, rms), whose pronunciations are not espeak-ng's."""
    if voice.startswith(FLITE_PREFIX):
        return ["flite", "-voice", voice[len(FLITE_PREFIX):], "-t", text, "-o", str(wav)]
    return ["espeak-ng", "-v", voice, "-s", str(SPEED_WPM), "-p", str(PITCH), "-w", str(wav), text]


def synthesize(cand: Candidate, scratch: Path, voice: str) -> Clip:
    """espeak-ng or flite -> 16 kHz mono 16-bit FLAC, trimmed and peak-normalized; returns its measured duration."""
    wav = scratch / f"c{cand.serial:05d}.wav"
    flac = scratch / f"c{cand.serial:05d}.flac"
    # The voice reads the normalized text, not the raw one: the model is trained on normalized_text, and
    # espeak's own expansions disagree with it ("$6" -> "dollar six", "6:00" -> "six zero zero",
    # "1973" -> "nineteen hundred seventy three", "Ms." -> "M S"). For plain sentences both give the
    # same phonemes.
    run(speak_command(voice, cand.normalized, wav))
    # -D: no dither, so reruns are byte-identical and espeak's digital silence stays silent (smaller FLACs).
    # The silence effects cut espeak's ~0.35 s trailing pause; pad puts back a short, uniform margin.
    run(
        ["sox", "-D", str(wav), "-r", str(SAMPLE_RATE), "-b", "16", "-c", "1", str(flac)]
        + ["silence", "1", "0.01", "0.1%", "reverse", "silence", "1", "0.01", "0.1%", "reverse"]
        + ["pad", "0.05", "0.1", "norm", "-1"]
    )
    wav.unlink()
    return Clip(cand, flac, float(run(["soxi", "-D", str(flac)]).strip()))


def fits(clip: Clip) -> bool:
    """Whether a clip's duration is within the corpus limits."""
    return MIN_SECONDS <= clip.seconds <= MAX_SECONDS


def collect(
    stream: Iterator[Candidate], want: int, render: Callable[[Candidate], Clip], pool: ThreadPoolExecutor
) -> list[Clip]:
    """Render candidates in order until `want` of them fall within the duration limits."""
    kept: list[Clip] = []
    while len(kept) < want:
        # Batches keep both workers busy while the accept/reject order stays that of the stream (determinism).
        batch = [next(stream) for _ in range(max(8, want - len(kept)))]
        for clip in pool.map(render, batch):
            if len(kept) < want and fits(clip):
                kept.append(clip)
            else:
                clip.path.unlink(missing_ok=True)
    return kept


def select_clips(
    count: int,
    seed: int,
    lexicon: Lexicon,
    normalize: Callable[[str], str],
    render: Callable[[Candidate], Clip],
    jobs: int,
) -> list[Clip]:
    """The corpus's clips in metadata order; `render` synthesizes (a test may pass a stand-in)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    serials = iter(range(1, 1_000_000))
    n_norm = round(count * NORMALIZATION_SHARE)
    plain, numeric = sentence_makers(lexicon)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        clips = collect(candidates(rng, plain, normalize, False, seen, serials), count - n_norm, render, pool)
        clips += collect(candidates(rng, numeric, normalize, True, seen, serials), n_norm, render, pool)
    # Interleave the two kinds so any prefix or split of the corpus has both.
    rng.shuffle(clips)
    return clips


def load_normalizer() -> tuple[Callable[[str], str], str]:
    """The project's normalize_text, or a documented stand-in if model/tacotron/text/__init__.py is unavailable."""
    sys.path.insert(0, str(REPO_ROOT / "model"))
    try:
        from tacotron.text import normalize_text
    except ImportError as err:
        print(
            f"WARNING: tacotron.text.normalize_text unavailable ({err}); using lowercase + whitespace "
            "collapse for column 3. Rerun once model/tacotron/text/__init__.py exists.",
            file=sys.stderr,
        )
        return (lambda text: " ".join(text.lower().split())), "fallback (lowercase + whitespace collapse)"
    return normalize_text, "tacotron.text.normalize_text"


# The README's last section; also pasted into data/sample_corpus/README.md, so keep the two in step.
REGENERATING = """## Regenerating

```
python data/make_sample_corpus.py            # --output, --count, --voice, --seed, --jobs
```

With the defaults (`--vocabulary small --count 400 --seed 1234`) this rebuilds the bundled corpus.
Larger corpora with more varied words (extra names, roles, nouns, verbs, adjectives, adverbs and
sentence shapes, over 1,100 words; a fifth of the extra words is kept out for held-out sets):

```
python data/make_sample_corpus.py --vocabulary large --count 4000 --output /tmp/corpus_large
```

A held-out set for word-level intelligibility: sentences none of whose content words occur in a
training corpus's `metadata.csv`, each with a minimal pair (one content word swapped for another
unseen word of the same category and similar length), in the training corpus's voice:

```
python data/make_sample_corpus.py --held_out_from data/sample_corpus --output /tmp/held_out --count 100
```

It writes `metadata.csv` and `wavs/` (LJSpeech layout, so it can be preprocessed), plus `pairs.csv`
(`id|normalized_text|pair_normalized_text|original_word|replacement_word`) and `pairs/<id>.flac`.
From Python: `build(output, count, voice, seed, jobs, vocabulary)` and
`build_held_out(train_corpus, output, count, seed, jobs)`.

Needs the `espeak-ng` and `sox` binaries and the `tacotron` package's dependencies (for
`normalize_text`). With the same espeak-ng version and seed the output is identical.
"""


def espeak_version() -> str:
    """e.g. 'espeak-ng 1.51'; recorded because another release may pronounce (and time) sentences differently."""
    found = re.search(r"\d+\.\d+\S*", run(["espeak-ng", "--version"]))
    return f"espeak-ng {found[0] if found else 'unknown version'}"


def voice_description(voice: str) -> str:
    """The README's voice line. The phoneme frontend's espeak-ng is the `espeakng-loader` wheel's, which may be another
    release than the system's espeak-ng that renders the corpus: both are named."""
    if voice.startswith(FLITE_PREFIX):
        # flite --version exits 1 after printing its version.
        printed = subprocess.run(["flite", "--version"], capture_output=True, text=True).stdout
        found = re.search(r"flite-[\w.]+", printed)
        return f"flite `{voice}` ({found[0] if found else 'unknown version'}), its own pronunciations, speed and pitch"
    return f"espeak-ng `{voice}`, speed {SPEED_WPM} wpm, pitch {PITCH} ({espeak_version()}; {wheel_espeak_version()})"


def wheel_espeak_version() -> str:
    try:
        from tacotron.text.frontend import espeak_version as frontend_version
    except ImportError:
        return "the phoneme frontend is not installed"
    return f"the phoneme frontend's espeak-ng: {frontend_version()}"


def write_readme(
    path: Path, clips: list[Clip], voice: str, seed: int, normalizer: str, vocabulary: str = "small"
) -> None:
    """Describe the corpus, with the counts of this particular build."""
    seconds = [c.seconds for c in clips]
    n_norm = sum(c.candidate.needs_normalization for c in clips)
    # Only for non-default builds, so that regenerating the bundled corpus reproduces its README too.
    vocabulary_row = "" if vocabulary == "small" else f"| Vocabulary | {vocabulary} (`--vocabulary {vocabulary}`) |\n"
    path.write_text(
        f"""# Sample corpus

A small synthetic speech corpus in LJSpeech layout, bundled so the pipeline can be run and tested
end to end without downloading a real data set.

- `metadata.csv`: `id|text|normalized_text`, UTF-8, no header. `text` is the written sentence;
  `normalized_text` is `text` passed through {normalizer}.
  The audio is espeak-ng reading `normalized_text`, so it says exactly what that column spells out
  (espeak's own reading of `$6` or `6:00` would be "dollar six", "six zero zero"). For the sentences
  without digits, symbols or abbreviations this sounds the same as reading `text`.
- `wavs/<id>.flac`: mono, {SAMPLE_RATE} Hz, 16-bit FLAC (the preprocessing job resamples to 8 kHz).

| | |
|---|---|
| Voice | {voice_description(voice)} |
| Clips | {len(clips)} ({n_norm} with numbers, money, times, abbreviations or typographic quotes) |
| Total duration | {sum(seconds):.1f} s ({sum(seconds) / 60:.1f} min) |
| Clip duration | {min(seconds):.2f} s to {max(seconds):.2f} s |
{vocabulary_row}| Seed | {seed} |

## License

The audio is generated by espeak-ng (GPL-3.0-or-later software; the GPL does not cover the speech it
outputs). The
sentences are original, built procedurally from word lists and templates in
`data/make_sample_corpus.py`; no third-party text is included.

{REGENERATING}""",
        encoding="utf-8",
    )


@contextmanager
def staged(output: Path) -> Iterator[Path]:
    """A scratch directory next to `output` that replaces it when the block succeeds."""
    output.parent.mkdir(parents=True, exist_ok=True)
    # Same filesystem as the output, so the final swap is a rename; a failed run leaves the old corpus alone.
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        yield staging
        backup = output.with_name(f".{output.name}.old")
        shutil.rmtree(backup, ignore_errors=True)
        if output.exists():
            output.rename(backup)
        staging.rename(output)
        shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def build(output: Path, count: int, voice: str, seed: int, jobs: int, vocabulary: str = "small") -> list[Clip]:
    """Build a corpus of `count` clips in `output` (replaced); `vocabulary` is "small" or "large"."""
    normalize, normalizer_name = load_normalizer()
    with staged(output) as staging:
        scratch, wavs = staging / "scratch", staging / "wavs"
        scratch.mkdir()
        wavs.mkdir()
        clips = select_clips(
            count, seed, VOCABULARIES[vocabulary], normalize, lambda c: synthesize(c, scratch, voice), jobs
        )
        lines = []
        for i, clip in enumerate(clips, start=1):
            clip_id = f"S{i:04d}"
            clip.path = clip.path.rename(wavs / f"{clip_id}.flac")
            lines.append(f"{clip_id}|{clip.candidate.text}|{clip.candidate.normalized}\n")
        scratch.rmdir()
        (staging / "metadata.csv").write_text("".join(lines), encoding="utf-8")
        write_readme(staging / "README.md", clips, voice, seed, normalizer_name, vocabulary)
    for clip in clips:
        clip.path = output / "wavs" / clip.path.name
    return clips


# ----------------------------------------------------------------------------------------------------
# Held-out sets: sentences whose content words a training corpus lacks, each with a minimal pair.
# ----------------------------------------------------------------------------------------------------

# The only words a held-out sentence may share with the training corpus; every other word fills a slot.
FUNCTION_WORDS = frozenset(
    "a an and are at be but by did do does for from had has have in is it my no not of on or our so "
    "that the their this to very was were where who why will with".split()
)

# Slot -> (word category, index of the form in the entry): verbs are (base, past) entries.
SLOTS = {
    "name": ("name", 0), "role": ("role", 0), "noun": ("noun", 0), "adjective": ("adjective", 0),
    "adverb": ("adverb", 0), "verb": ("verb", 0), "past": ("verb", 1), "iverb": ("intransitive", 0),
    "ipast": ("intransitive", 1),
}  # fmt: skip

# No "a"/"an": swapping the word after it could force the article to change too, and a pair must
# differ in exactly one word. Every template has a slot that is neither its first nor its last word.
HELD_OUT_TEMPLATES = [
    "{name} {past} the {adjective} {noun}.",
    "Did {name} {verb} the {noun}?",
    "The {adjective} {role} {ipast}.",
    "Why is the {noun} so {adjective}?",
    "Where did the {role} {verb} my {noun}?",
    "{name} will {verb} the {adjective} {noun}.",
    "The {role} {past} the {noun} and the {noun}.",
    "Is the {noun} {adjective} or {adjective}?",
    "{name} {ipast}, and the {role} {ipast}.",
    "Our {adjective} {role} {past} their {noun}.",
    "Why did {name} {verb} the {adjective} {noun}?",
    "The {role} was very {adjective}.",
    "{name} {adverb} {past} the {noun}.",
    "The {role} and {name} {ipast} {adverb}.",
    "Did the {adjective} {role} {iverb}?",
    "My {noun} was not {adjective}, {name}.",
    "{name} {past} the {noun} of the {role}.",
    "Why did the {role} {iverb} so {adverb}?",
    "Where will {name} {verb} the {adjective} {noun}?",
    "The {noun} and the {noun} were {adjective}.",
]

WORD_RE = re.compile(r"[a-z]+(?:['-][a-z]+)*")


@dataclass
class PairCandidate:
    """A held-out sentence and its minimal pair: the same sentence with one content word swapped."""

    sentence: Candidate
    pair: Candidate
    original: str
    replacement: str


@dataclass
class HeldOutClip:
    """A synthesized held-out sentence and its pair, both within the duration limits."""

    sentence: Clip
    pair: Clip
    original: str
    replacement: str


def words(text: str) -> list[str]:
    """The lowercase words of a text, hyphenated and apostrophe words kept whole."""
    return WORD_RE.findall(text.lower())


def vocabulary_of(metadata: Path) -> set[str]:
    """Every word of a metadata.csv's normalized_text column, plus the parts of hyphenated words."""
    vocab: set[str] = set()
    for line in metadata.read_text(encoding="utf-8").splitlines():
        for word in words(line.split("|")[-1]):
            vocab.add(word)
            vocab.update(re.split(r"['-]", word))
    return vocab


def inflections(word: str) -> set[str]:
    """A word and its simple +s/+es/+d/+ed/+ing variants (and the reverse for a trailing s)."""
    w = word.lower()
    forms = {w, f"{w}s", f"{w}es", f"{w}d", f"{w}ed", f"{w}ing"}
    if w.endswith("s"):
        forms.add(w[:-1])
    return forms


def unseen(entry: tuple[str, ...], vocab: set[str]) -> bool:
    """No form of the entry, nor a simple inflection of one, occurs in `vocab`."""
    # "cats" in the training text has taught most of "cat"; a held-out word should be new as a whole.
    return not any(inflections(form) & vocab for form in entry)


def held_out_pools(vocab: set[str]) -> dict[str, list[tuple[str, ...]]]:
    """Per category, every single-word entry of all word lists (reserved ones too) that `vocab` lacks."""
    lists: dict[str, list] = {
        "name": NAMES + EXTRA_NAMES,
        "role": ROLES + EXTRA_ROLES,
        "noun": NOUNS + EXTRA_NOUNS,
        "adjective": ADJECTIVES + EXTRA_ADJECTIVES,
        "adverb": ADVERBS + EXTRA_ADVERBS,
        "verb": VERBS + EXTRA_VERBS,
        "intransitive": INTRANSITIVE + EXTRA_INTRANSITIVE,
    }
    pools: dict[str, list[tuple[str, ...]]] = {}
    taken: set[str] = set()
    for category, entries in lists.items():
        pool = []
        for entry in entries:
            forms = entry if isinstance(entry, tuple) else (entry,)
            # A word listed in two categories ("zigzag") is used in one only, so a sentence never repeats it.
            if all(form.isalpha() for form in forms) and forms[0] not in taken and unseen(forms, vocab):
                pool.append(forms)
                taken.add(forms[0])
        pools[category] = pool
    return pools


def syllables(word: str) -> int:
    """A rough syllable count (vowel groups), enough to keep a pair's words of similar length."""
    return max(1, len(re.findall(r"[aeiouy]+", word.lower().removesuffix("e"))))


def replacements(word: str, pool: list[str]) -> list[str]:
    """The words of `pool` closest in length to `word`: same syllables and +-1 letter, else +-2 and +-1."""
    for max_letters, max_syllables in ((1, 0), (2, 1)):
        close = [
            w
            for w in pool
            if abs(len(w) - len(word)) <= max_letters and abs(syllables(w) - syllables(word)) <= max_syllables
        ]
        if close:
            return close
    return []


def held_out_pair(rng: random.Random, pools: dict[str, list[tuple[str, ...]]]) -> tuple[str, str, str, str] | None:
    """(sentence, pair sentence, original word, replacement word) from one random template, or None."""
    tokens = rng.choice(HELD_OUT_TEMPLATES).split()
    slots = [(i, m[1], m[2]) for i, tok in enumerate(tokens) if (m := re.fullmatch(r"\{(\w+)\}(\W*)", tok))]
    needed: dict[str, int] = {}
    for _, slot, _ in slots:
        needed[SLOTS[slot][0]] = needed.get(SLOTS[slot][0], 0) + 1
    if any(len(pools[category]) < n for category, n in needed.items()):
        return None
    picks = {category: rng.sample(pools[category], n) for category, n in needed.items()}
    used = {entry for entries in picks.values() for entry in entries}
    filled = list(tokens)
    chosen: dict[int, tuple[str, ...]] = {}
    for i, slot, punct in slots:
        entry = picks[SLOTS[slot][0]].pop()
        chosen[i] = entry
        filled[i] = entry[SLOTS[slot][1]] + punct
    # The swapped word sits mid-sentence where possible: its neighbours then shape how it is spoken.
    inner = [s for s in slots if 0 < s[0] < len(tokens) - 1] or slots
    rng.shuffle(inner)
    for i, slot, punct in inner:
        category, form = SLOTS[slot]
        original = chosen[i][form]
        pool = [e[form] for e in pools[category] if e not in used]
        options = replacements(original, pool)
        if options:
            replacement = rng.choice(options)
            paired = list(filled)
            paired[i] = replacement + punct
            return cap(" ".join(filled)), cap(" ".join(paired)), original.lower(), replacement.lower()
    return None


def held_out_candidates(
    rng: random.Random, vocab: set[str], normalize: Callable[[str], str]
) -> Iterator[PairCandidate]:
    """Endless stream of distinct held-out sentences with their pairs, none of their content words in `vocab`."""
    pools = held_out_pools(vocab)
    seen: set[str] = set()
    serials = iter(range(1, 1_000_000))
    misses = 0
    while True:
        made = held_out_pair(rng, pools)
        if made is None or made[0] in seen or made[1] in seen:
            misses += 1
            if misses > 10_000:
                raise RuntimeError(
                    "ran out of held-out sentences: the training corpus covers nearly all the word lists "
                    f"(unseen words per category: { {c: len(p) for c, p in pools.items()} })"
                )
            continue
        misses = 0
        text, pair_text, original, replacement = made
        seen.update((text, pair_text))
        yield PairCandidate(
            Candidate(next(serials), text, normalize(text), False),
            Candidate(next(serials), pair_text, normalize(pair_text), False),
            original,
            replacement,
        )


def corpus_voice(corpus: Path, default: str = "en-us") -> str:
    """The voice named in a corpus README written by this script, else `default`."""
    readme = corpus / "README.md"
    found = re.search(r"(?:espeak-ng|flite) `([^`]+)`", readme.read_text(encoding="utf-8")) if readme.exists() else None
    return found[1] if found else default


def select_held_out(
    count: int,
    seed: int,
    vocab: set[str],
    normalize: Callable[[str], str],
    render: Callable[[Candidate], Clip],
    jobs: int,
) -> list[HeldOutClip]:
    """`count` held-out sentences whose sentence and pair clips both fit the duration limits, in stream order."""
    stream = held_out_candidates(random.Random(seed), vocab, normalize)
    kept: list[HeldOutClip] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while len(kept) < count:
            batch = [next(stream) for _ in range(max(4, count - len(kept)))]
            flat = list(pool.map(render, [c for item in batch for c in (item.sentence, item.pair)]))
            for item, clip, pair in zip(batch, flat[::2], flat[1::2], strict=True):
                if len(kept) < count and fits(clip) and fits(pair):
                    kept.append(HeldOutClip(clip, pair, item.original, item.replacement))
                else:
                    clip.path.unlink(missing_ok=True)
                    pair.path.unlink(missing_ok=True)
    return kept


def build_held_out(
    train_corpus: Path, output: Path, count: int, seed: int = 1234, jobs: int = 1, voice: str | None = None
) -> list[HeldOutClip]:
    """Write `count` held-out sentences (wavs/, metadata.csv) and their pairs (pairs/, pairs.csv) to `output`.

    The voice defaults to the one the training corpus's README names, so both sound the same.
    """
    train_corpus, output = train_corpus.resolve(), output.resolve()
    if output == train_corpus or output in train_corpus.parents:
        raise ValueError(f"--output {output} would replace the training corpus {train_corpus}")
    vocab = vocabulary_of(train_corpus / "metadata.csv")
    voice = voice or corpus_voice(train_corpus)
    normalize, _ = load_normalizer()
    with staged(output) as staging:
        scratch, wavs, pairs = staging / "scratch", staging / "wavs", staging / "pairs"
        for folder in (scratch, wavs, pairs):
            folder.mkdir()
        held = select_held_out(count, seed, vocab, normalize, lambda c: synthesize(c, scratch, voice), jobs)
        metadata, pair_lines = [], []
        for i, item in enumerate(held, start=1):
            clip_id = f"H{i:04d}"
            item.sentence.path = item.sentence.path.rename(wavs / f"{clip_id}.flac")
            item.pair.path = item.pair.path.rename(pairs / f"{clip_id}.flac")
            s, p = item.sentence.candidate, item.pair.candidate
            metadata.append(f"{clip_id}|{s.text}|{s.normalized}\n")
            pair_lines.append(f"{clip_id}|{s.normalized}|{p.normalized}|{item.original}|{item.replacement}\n")
        scratch.rmdir()
        (staging / "metadata.csv").write_text("".join(metadata), encoding="utf-8")
        (staging / "pairs.csv").write_text("".join(pair_lines), encoding="utf-8")
        seconds = [c.seconds for item in held for c in (item.sentence, item.pair)]
        shown = train_corpus.relative_to(REPO_ROOT) if train_corpus.is_relative_to(REPO_ROOT) else train_corpus
        (staging / "README.md").write_text(
            f"""# Held-out sentences

Sentences none of whose content words (names, nouns, verbs, adjectives, adverbs) occur, even with a
simple inflection, in the normalized text of `{shown}/metadata.csv`; only function words
("the", "and", "of", ...) are shared. Same LJSpeech layout as the training corpus.

- `metadata.csv`, `wavs/<id>.flac`: the sentences (`id|text|normalized_text`).
- `pairs.csv`: `id|normalized_text|pair_normalized_text|original_word|replacement_word`; the pair is the
  sentence with one content word swapped for another unseen word of the same category and similar
  length. `pairs/<id>.flac` is its audio.

| | |
|---|---|
| Voice | {voice_description(voice)} |
| Sentences | {len(held)} (and as many pairs) |
| Clip duration | {min(seconds):.2f} s to {max(seconds):.2f} s |
| Seed | {seed} |

Generated by `python data/make_sample_corpus.py --held_out_from {shown} --count {count} --seed {seed}`.
""",
            encoding="utf-8",
        )
    for item in held:
        item.sentence.path = output / "wavs" / item.sentence.path.name
        item.pair.path = output / "pairs" / item.pair.path.name
    return held


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--output", type=Path, help=f"corpus directory, replaced (default {DEFAULT_OUTPUT.relative_to(REPO_ROOT)})"
    )
    parser.add_argument("--count", type=int, default=400, help="number of clips (of sentences with --held_out_from)")
    parser.add_argument("--voice", help="espeak-ng voice, or flite:slt / flite:awb / flite:rms for a flite voice "
                        "built from a person's recordings (default en-us; with --held_out_from the corpus's voice)")
    parser.add_argument("--seed", type=int, default=1234, help="random seed for the sentence set")
    parser.add_argument("--jobs", type=int, default=2, help="parallel espeak-ng/sox workers")
    parser.add_argument(
        "--vocabulary", choices=sorted(VOCABULARIES), default="small", help="word lists and templates to draw from"
    )
    parser.add_argument(
        "--held_out_from",
        type=Path,
        metavar="CORPUS_DIR",
        help="write a held-out set (with minimal pairs) whose content words CORPUS_DIR/metadata.csv lacks",
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be positive")
    if args.held_out_from is not None:
        if args.output is None:
            parser.error("--held_out_from needs an explicit --output")
        if args.vocabulary != "small":
            parser.error("--vocabulary does not apply to --held_out_from (held-out sets draw on every word list)")
        if not (args.held_out_from / "metadata.csv").is_file():
            parser.error(f"{args.held_out_from / 'metadata.csv'} not found")
    for tool in ("flite" if (args.voice or "").startswith(FLITE_PREFIX) else "espeak-ng", "sox", "soxi"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} not found on PATH")

    output = (args.output or DEFAULT_OUTPUT).resolve()
    if args.held_out_from is not None:
        train = args.held_out_from.resolve()
        if output == train or output in train.parents:
            parser.error(f"--output {args.output} would replace the training corpus {args.held_out_from}")
        held = build_held_out(args.held_out_from, output, args.count, args.seed, args.jobs, args.voice)
        seconds = [c.seconds for item in held for c in (item.sentence, item.pair)]
    else:
        clips = build(output, args.count, args.voice or "en-us", args.seed, args.jobs, args.vocabulary)
        seconds = [c.seconds for c in clips]
    size = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    print(
        f"{len(seconds)} clips, {sum(seconds):.1f} s total ({min(seconds):.2f}-{max(seconds):.2f} s each), "
        f"{size / 2**20:.1f} MiB in {output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
