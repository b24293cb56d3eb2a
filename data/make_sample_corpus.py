"""Regenerate the bundled espeak-ng sample corpus (LJSpeech layout, 16 kHz FLAC) from procedural sentences."""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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


def subject(rng: random.Random) -> str:
    """A name or a determiner + (adjective) + role."""
    if rng.random() < 0.45:
        return rng.choice(NAMES)
    role = rng.choice(ROLES)
    if rng.random() < 0.35:
        role = f"{rng.choice(ADJECTIVES)} {role}"
    det = rng.choice(DETERMINERS)
    if det == "a":
        return with_article(rng, role)
    return f"{det} {role}"


def obj(rng: random.Random) -> str:
    """A thing, sometimes with an adjective."""
    noun = rng.choice(NOUNS)
    if rng.random() < 0.5:
        noun = f"{rng.choice(ADJECTIVES)} {noun}"
    return with_article(rng, noun)


def cap(text: str) -> str:
    """Capitalize the first letter only (str.capitalize would lowercase names)."""
    return text[:1].upper() + text[1:]


def plain_sentence(rng: random.Random) -> str:
    """A statement, question, exclamation or command made only of words (no digits or symbols)."""
    s, o = subject(rng), obj(rng)
    base, past = rng.choice(VERBS)
    ibase, ipast = rng.choice(INTRANSITIVE)
    adj, noun, name = rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(NAMES)
    place, ptime, ftime = rng.choice(PLACES), rng.choice(PAST_TIMES), rng.choice(FUTURE_TIMES)
    # Mostly short sentences (about 1-2 s): they keep the bundled corpus small, and a short utterance is
    # where a small Tacotron first learns to align.
    short: list[Callable[[], str]] = [
        lambda: f"{name} {ipast}.",
        lambda: f"{cap(s)} {ipast} {ptime}.",
        lambda: f"{name} {ipast} {place}.",
        lambda: f"Why did {name} {ibase}?",
        lambda: f"Did the {rng.choice(ROLES)} {ibase}?",
        lambda: f"Please {ibase}, {name}.",
        lambda: f"The {noun} is {adj}.",
        lambda: f"Where is the {noun}?",
        lambda: f"Is it {adj}?",
        lambda: f"What a {adj} {noun}!",
        lambda: f"{rng.choice(EXCLAMATIONS)}, {name} {ipast}!",
        lambda: f"{name} {past} it.",
        lambda: f"{name} {past} {o}.",
        lambda: f"Thank you, {name}.",
        lambda: f"Come back {ftime}, {name}!",
        lambda: f"Who {past} the {noun}?",
        lambda: f"Never {ibase} {place}!",
    ]
    if rng.random() < 0.75:
        return rng.choice(short)()
    templates: list[Callable[[], str]] = [
        lambda: f"{cap(s)} {past} {o}.",
        lambda: f"{cap(s)} {past} {o} {place}.",
        lambda: f"{cap(s)} {past} {o} {ptime}.",
        lambda: f"{cap(ptime)}, {s} {rng.choice(ADVERBS)} {past} {o}.",
        lambda: f"{cap(s)} will {base} {o} {ftime}.",
        lambda: f"Did {s} {base} {o}?",
        lambda: f"Where did {s} {base} {o}?",
        lambda: f"Why did {s} {base} {o} {ptime}?",
        lambda: f"Can you {base} {o} {place}?",
        lambda: f"Is the {noun} {place} {adj}?",
        lambda: f"Why is the {noun} so {adj}?",
        lambda: f"Who left {o} {place}?",
        lambda: f"What a {adj} {noun}!",
        lambda: f"{rng.choice(EXCLAMATIONS)}, the {noun} is {adj}!",
        lambda: f"Look at that {adj} {noun}!",
        lambda: f"Never {base} {o} {place}!",
        lambda: f"Please {base} {o} {ftime}.",
        lambda: f"{cap(s)} and {subject(rng)} {past} {o}.",
        lambda: f"I think {s} {past} {o}.",
        lambda: f"Nobody knew why {s} {past} {o}.",
        lambda: f"The {noun} {place} looks {adj}.",
        lambda: f"{cap(s)} {rng.choice(ADVERBS)} {past} it.",
        lambda: f"Yes, {s} {past} it {ptime}.",
        lambda: f"No, the {noun} was {adj}.",
        lambda: f"Bring the {adj} {noun} {place}, please.",
        # Two long shapes, so the corpus also covers utterances near the 4.5 s limit.
        lambda: f"{cap(s)} {past} {o} {place} {ptime}.",
        lambda: f"{cap(s)} {past} {o}, and then {subject(rng)} {ipast}.",
    ]
    return rng.choice(templates)()


def ordinal(n: int) -> str:
    """1 -> 1st, 22 -> 22nd, 13 -> 13th."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def normalization_sentence(rng: random.Random) -> str:
    """A sentence whose written and spoken forms differ: numbers, money, times, abbreviations, quotes."""
    name, name2 = rng.sample(NAMES, 2)
    title, surname = rng.choice(TITLES), rng.choice(SURNAMES)
    things, noun, adj = rng.choice(COUNTABLE), rng.choice(NOUNS), rng.choice(ADJECTIVES)
    base, past = rng.choice(VERBS)
    hour, minute = rng.randint(1, 12), rng.choice([0, 5, 10, 15, 20, 30, 40, 45, 50])
    clock = f"{hour}:{minute:02d}"
    dollars = rng.choice([f"${rng.randint(2, 99)}", f"${rng.randint(1, 40)}.{rng.randint(10, 99)}"])
    templates: list[Callable[[], str]] = [
        lambda: f"{name} {past} {rng.randint(2, 19)} {things}.",
        lambda: f"We counted {rng.randint(21, 99)} {things} {rng.choice(PLACES)}.",
        lambda: f"About {rng.randint(1, 9)},{rng.randint(1, 9)}00 people came to the {rng.choice(EVENTS)}.",
        lambda: f"Take the {ordinal(rng.randint(2, 9))} door on the left.",
        lambda: f"{name} finished {ordinal(rng.randint(1, 31))} in the race.",
        lambda: f"The {noun} costs {dollars}.",
        lambda: f"{name} paid {dollars} for the {adj} {noun}.",
        lambda: f"Prices rose by {rng.randint(2, 60)}% {rng.choice(PAST_TIMES)}.",
        lambda: f"Only {rng.randint(5, 95)}% of the {things} were {adj}.",
        lambda: f"The train leaves at {clock}.",
        lambda: f"Meet me {rng.choice(PLACES)} at {clock}.",
        lambda: f"{title} {surname} will {base} the {noun} {rng.choice(FUTURE_TIMES)}.",
        lambda: f"{title} {surname} {past} a {adj} {noun}.",
        lambda: f"Did {title} {surname} call at {clock}?",
        lambda: f"\u201c{name}, wait!\u201d shouted {name2}.",
        lambda: f"\u201cIs it {adj}?\u201d asked {title} {surname}.",
        lambda: f"It\u2019s {adj}, isn\u2019t it?",
        lambda: f"The {noun} \u2014 the {adj} one \u2014 is {rng.choice(PLACES)}.",
        lambda: f"Wait \u2014 is the {noun} {adj}?",
        lambda: f"{name} came back\u2014finally!",
        lambda: f"Stop \u2013 the {noun} is {adj}!",
        lambda: f"{name} was born in {rng.randint(1950, 2015)}.",
        lambda: f"Room {rng.randint(100, 999)} is on the {ordinal(rng.randint(2, 12))} floor.",
    ]
    return rng.choice(templates)()


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


def synthesize(cand: Candidate, scratch: Path, voice: str) -> Clip:
    """espeak-ng -> 16 kHz mono 16-bit FLAC, trimmed and peak-normalized; returns its measured duration."""
    wav = scratch / f"c{cand.serial:05d}.wav"
    flac = scratch / f"c{cand.serial:05d}.flac"
    # espeak-ng reads the normalized text, not the raw one: the model is trained on normalized_text, and
    # espeak's own expansions disagree with it ("$6" -> "dollar six", "6:00" -> "six zero zero",
    # "1973" -> "nineteen hundred seventy three", "Ms." -> "M S"). For plain sentences both give the
    # same phonemes.
    speak = ["espeak-ng", "-v", voice, "-s", str(SPEED_WPM), "-p", str(PITCH), "-w", str(wav)]
    run([*speak, cand.normalized])
    # -D: no dither, so reruns are byte-identical and espeak's digital silence stays silent (smaller FLACs).
    # The silence effects cut espeak's ~0.35 s trailing pause; pad puts back a short, uniform margin.
    run(
        ["sox", "-D", str(wav), "-r", str(SAMPLE_RATE), "-b", "16", "-c", "1", str(flac)]
        + ["silence", "1", "0.01", "0.1%", "reverse", "silence", "1", "0.01", "0.1%", "reverse"]
        + ["pad", "0.05", "0.1", "norm", "-1"]
    )
    wav.unlink()
    return Clip(cand, flac, float(run(["soxi", "-D", str(flac)]).strip()))


def collect(
    stream: Iterator[Candidate], want: int, scratch: Path, voice: str, pool: ThreadPoolExecutor
) -> list[Clip]:
    """Synthesize candidates in order until `want` of them fall within the duration limits."""
    kept: list[Clip] = []
    while len(kept) < want:
        # Batches keep both workers busy while the accept/reject order stays that of the stream (determinism).
        batch = [next(stream) for _ in range(max(8, want - len(kept)))]
        for clip in pool.map(lambda c: synthesize(c, scratch, voice), batch):
            if len(kept) < want and MIN_SECONDS <= clip.seconds <= MAX_SECONDS:
                kept.append(clip)
            else:
                clip.path.unlink()
    return kept


def load_normalizer() -> tuple[Callable[[str], str], str]:
    """The project's normalize_text, or a documented stand-in if model/tacotron/text.py is unavailable."""
    sys.path.insert(0, str(REPO_ROOT / "model"))
    try:
        from tacotron.text import normalize_text
    except ImportError as err:
        print(
            f"WARNING: tacotron.text.normalize_text unavailable ({err}); using lowercase + whitespace "
            "collapse for column 3. Rerun once model/tacotron/text.py exists.",
            file=sys.stderr,
        )
        return (lambda text: " ".join(text.lower().split())), "fallback (lowercase + whitespace collapse)"
    return normalize_text, "tacotron.text.normalize_text"


def write_readme(path: Path, clips: list[Clip], voice: str, seed: int, normalizer: str) -> None:
    """Describe the corpus, with the counts of this particular build."""
    seconds = [c.seconds for c in clips]
    n_norm = sum(c.candidate.needs_normalization for c in clips)
    # Recorded because another espeak-ng release may pronounce (and time) the same sentences differently.
    found = re.search(r"\d+\.\d+\S*", run(["espeak-ng", "--version"]))
    espeak_version = f"espeak-ng {found[0] if found else 'unknown version'}"
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
| Voice | espeak-ng `{voice}`, speed {SPEED_WPM} wpm, pitch {PITCH} ({espeak_version}) |
| Clips | {len(clips)} ({n_norm} with numbers, money, times, abbreviations or typographic quotes) |
| Total duration | {sum(seconds):.1f} s ({sum(seconds) / 60:.1f} min) |
| Clip duration | {min(seconds):.2f} s to {max(seconds):.2f} s |
| Seed | {seed} |

## License

The audio is generated by espeak-ng (GPL-3.0-or-later software; the GPL does not cover the speech it
outputs). The
sentences are original, built procedurally from word lists and templates in
`data/make_sample_corpus.py`; no third-party text is included.

## Regenerating

```
python data/make_sample_corpus.py            # --output, --count, --voice, --seed, --jobs
```

Needs the `espeak-ng` and `sox` binaries and the `tacotron` package's dependencies (for
`normalize_text`). With the same espeak-ng version and seed the output is identical.
""",
        encoding="utf-8",
    )


def build(output: Path, count: int, voice: str, seed: int, jobs: int) -> list[Clip]:
    """Build the corpus in a scratch directory next to `output`, then swap it into place."""
    normalize, normalizer_name = load_normalizer()
    output.parent.mkdir(parents=True, exist_ok=True)
    # Same filesystem as the output, so the final swap is a rename; a failed run leaves the old corpus alone.
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        scratch, wavs = staging / "scratch", staging / "wavs"
        scratch.mkdir()
        wavs.mkdir()
        rng = random.Random(seed)
        seen: set[str] = set()
        serials = iter(range(1, 1_000_000))
        n_norm = round(count * NORMALIZATION_SHARE)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            clips = collect(
                candidates(rng, plain_sentence, normalize, False, seen, serials),
                count - n_norm,
                scratch,
                voice,
                pool,
            )
            clips += collect(
                candidates(rng, normalization_sentence, normalize, True, seen, serials),
                n_norm,
                scratch,
                voice,
                pool,
            )
        # Interleave the two kinds so any prefix or split of the corpus has both.
        rng.shuffle(clips)
        lines = []
        for i, clip in enumerate(clips, start=1):
            clip_id = f"S{i:04d}"
            clip.path = clip.path.rename(wavs / f"{clip_id}.flac")
            lines.append(f"{clip_id}|{clip.candidate.text}|{clip.candidate.normalized}\n")
        scratch.rmdir()
        (staging / "metadata.csv").write_text("".join(lines), encoding="utf-8")
        write_readme(staging / "README.md", clips, voice, seed, normalizer_name)

        backup = output.with_name(f".{output.name}.old")
        shutil.rmtree(backup, ignore_errors=True)
        if output.exists():
            output.rename(backup)
        staging.rename(output)
        shutil.rmtree(backup, ignore_errors=True)
        for clip in clips:
            clip.path = output / "wavs" / clip.path.name
        return clips
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="corpus directory (replaced)")
    parser.add_argument("--count", type=int, default=400, help="number of clips")
    parser.add_argument("--voice", default="en-us", help="espeak-ng voice")
    parser.add_argument("--seed", type=int, default=1234, help="random seed for the sentence set")
    parser.add_argument("--jobs", type=int, default=2, help="parallel espeak-ng/sox workers")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be positive")
    for tool in ("espeak-ng", "sox", "soxi"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} not found on PATH")

    clips = build(args.output.resolve(), args.count, args.voice, args.seed, args.jobs)
    seconds = [c.seconds for c in clips]
    size = sum(p.stat().st_size for p in args.output.resolve().rglob("*") if p.is_file())
    print(
        f"{len(clips)} clips, {sum(seconds):.1f} s total ({min(seconds):.2f}-{max(seconds):.2f} s each), "
        f"{size / 2**20:.1f} MiB in {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
