"""Text normalization: the share of held-out sentences read as a person reads them, per class, and the time per
sentence; the same for NVIDIA NeMo's English normalizer with --peer nemo.

The held-out sets (data/normalization/*.tsv: class, written, spoken) were written apart from the rules, each row with
every way a careful announcer would say it (" | " between them). A reading counts as right when it equals one
of them once both are lowercased and reduced to words (punctuation, which only places pauses, is not compared).

The peer runs in its own virtualenv (--peer_venv, made when missing, `pip install nemo-text-processing==1.2.0`); its
install time, size, grammar build time (first, and from its cache) and per-sentence time are recorded beside ours.

    python benchmarks/normalization.py                 # ours
    python benchmarks/normalization.py --peer nemo     # and NeMo's, installed into out/peers/nemo
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime
import json
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks import machine  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
# held_out: written first; its misses on the first run were fixed, so it is no longer blind. held_out_blind: written by
# another hand once the rules were done; its first run is in docs/BENCHMARKS.md (one rule changed after it).
HELD_OUT_SETS = [REPO / "data" / "normalization" / name for name in ("held_out.tsv", "held_out_blind.tsv")]
DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "text_normalization.json"
PEER_SPEC = "nemo-text-processing==1.2.0"
GOAL_RIGHT = 0.95
GOAL_MS = 5.0
TIMING_REPEATS = 5

# Runs inside the peer's venv: builds the grammars (timed) and reads every sentence (timed), prints JSON.
PEER_WORKER = r"""
import json, sys, time
t0 = time.perf_counter()
from nemo_text_processing.text_normalization.normalize import Normalizer
t1 = time.perf_counter()
normalizer = Normalizer(input_case="cased", lang="en", cache_dir=sys.argv[2])
t2 = time.perf_counter()
sentences = json.load(open(sys.argv[1]))
normalizer.normalize("warm up 5.")
outputs, seconds = [], []
for sentence in sentences:
    start = time.perf_counter()
    outputs.append(normalizer.normalize(sentence, punct_post_process=True))
    seconds.append(time.perf_counter() - start)
print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1, "outputs": outputs, "seconds": seconds}))
"""


_CAPITALS_RE = re.compile(r"\b[A-Z]{2,4}\b")
_NUMBER_AND_RE = re.compile(r"\b(hundred|thousand|million|billion) and (?=(?:one|two|three|four|five|six|seven|eight|"
                            r"nine|ten|eleven|twelve|\w+teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\b)")


def words(text: str) -> str:
    """What is compared: lowercase words, hyphens as spaces, no punctuation. What a voice says alike is made alike, so
    that no normalizer loses on spelling alone: capitals are letters ("PM" is "p m", as a frontend spells it), the
    British "hundred and fifty" is "hundred fifty", a lone "o" for zero is "oh"."""
    text = _CAPITALS_RE.sub(lambda m: " ".join(m[0]), text).lower().replace("-", " ")
    text = " ".join(re.sub(r"[^a-z' ]+", " ", text).replace("'", "").split())
    return " ".join("oh" if word == "o" else word for word in _NUMBER_AND_RE.sub(r"\1 ", text).split())


def read_held_out(path: pathlib.Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [{"class": r["class"], "written": r["written"],
             "spoken": [alt.strip() for alt in r["spoken"].split(" | ")]} for r in rows]


def score(rows: list[dict], outputs: list[str]) -> dict:
    """Share right overall and per class, and every miss with what was said and what was expected."""
    per_class = collections.defaultdict(lambda: [0, 0])
    misses = []
    for row, said in zip(rows, outputs, strict=True):
        right = words(said) in {words(alt) for alt in row["spoken"]}
        per_class[row["class"]][0] += right
        per_class[row["class"]][1] += 1
        if not right:
            misses.append({"class": row["class"], "written": row["written"], "said": said,
                           "expected": row["spoken"][0]})
    total_right = sum(r for r, _ in per_class.values())
    return {"right": total_right, "total": len(rows), "share": total_right / len(rows),
            "per_class": {c: {"right": r, "total": t} for c, (r, t) in sorted(per_class.items())}, "misses": misses}


def time_ours(sentences: list[str]) -> dict:
    from tacotron.text import normalize_text

    normalize_text("warm up 5.")  # the first call imports inflect
    per_sentence = []
    for _ in range(TIMING_REPEATS):
        start = time.perf_counter()
        for sentence in sentences:
            normalize_text(sentence)
        per_sentence.append((time.perf_counter() - start) / len(sentences))
    worst = max(sentences, key=lambda s: _time_one(normalize_text, s))
    return {"mean_ms": statistics.median(per_sentence) * 1000, "slowest_ms": _time_one(normalize_text, worst) * 1000,
            "outputs": [normalize_text(s) for s in sentences]}


def _time_one(fn, sentence: str, repeats: int = 20) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn(sentence)
    return (time.perf_counter() - start) / repeats


def _du_mb(path: pathlib.Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def run_nemo(sentences: list[str], venv: pathlib.Path) -> dict:
    python = venv / "bin" / "python"
    install_s = None
    if not python.exists():
        print(f"installing {PEER_SPEC} into {venv} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEER_SPEC], check=True)
        install_s = time.perf_counter() - start
    runs = []
    with tempfile.TemporaryDirectory(prefix="nemo-") as scratch:
        inputs = pathlib.Path(scratch) / "sentences.json"
        inputs.write_text(json.dumps(sentences), encoding="utf-8")
        cache = pathlib.Path(scratch) / "cache"
        for _ in range(2):  # the first builds the grammars into the cache, the second reads them from it
            out = subprocess.run([str(python), "-c", PEER_WORKER, str(inputs), str(cache)], capture_output=True,
                                 text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        cache_mb = _du_mb(cache)
    cached = runs[1]
    return {"spec": PEER_SPEC, "venv": str(venv), "install_s": install_s, "venv_mb": _du_mb(venv),
            "grammar_cache_mb": cache_mb, "build_first_s": runs[0]["build_s"], "build_cached_s": cached["build_s"],
            "import_s": cached["import_s"], "mean_ms": statistics.mean(cached["seconds"]) * 1000,
            "slowest_ms": max(cached["seconds"]) * 1000, "outputs": cached["outputs"]}


def summary(name: str, result: dict) -> str:
    parts = []
    for set_name, s in result["scores"].items():
        classes = ", ".join(f"{c} {v['right']}/{v['total']}" for c, v in s["per_class"].items())
        parts.append(f"{set_name} {s['right']}/{s['total']} right ({s['share']:.1%}; {classes})")
    return f"{name}: " + "; ".join(parts) + (f"; {result['mean_ms']:.2f} ms/sentence (slowest "
                                             f"{result['slowest_ms']:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held_out", type=pathlib.Path, nargs="+", default=HELD_OUT_SETS,
                        help="tab-separated class, written, spoken files")
    parser.add_argument("--peer", choices=["nemo"], help="also measure this normalizer, in its own venv")
    parser.add_argument("--peer_venv", type=pathlib.Path, default=REPO / "out" / "peers" / "nemo")
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no_row", action="store_true", help="do not append a row to docs/BENCHMARKS.md")
    args = parser.parse_args()

    sets = {path.stem: read_held_out(path) for path in args.held_out}
    rows = [row for set_rows in sets.values() for row in set_rows]
    sentences = [r["written"] for r in rows]

    def scores(outputs: list[str]) -> dict:
        by_set, start = {}, 0
        for name, set_rows in sets.items():
            by_set[name] = score(set_rows, outputs[start:start + len(set_rows)])
            start += len(set_rows)
        return by_set

    ours = time_ours(sentences)
    ours["scores"] = scores(ours.pop("outputs"))
    result = {"benchmark": "normalization", "date": datetime.date.today().isoformat(), "machine": machine.describe(),
              "held_out": [str(p.resolve().relative_to(REPO)) for p in args.held_out], "ours": ours}
    text = summary("ours (tacotron.text)", ours)
    shares = {name: s["share"] for name, s in ours["scores"].items()}
    goals = [f"{GOAL_RIGHT:.0%} right {'met' if min(shares.values()) >= GOAL_RIGHT else 'MISSED'}",
             f"<= {GOAL_MS:.0f} ms/sentence {'met' if ours['mean_ms'] <= GOAL_MS else 'MISSED'}"]
    if args.peer == "nemo":
        nemo = run_nemo(sentences, args.peer_venv.resolve())
        nemo["scores"] = scores(nemo.pop("outputs"))
        result["nemo"] = nemo
        install = f"installed in {nemo['install_s']:.0f} s, " if nemo["install_s"] else ""
        text += (f"; {summary(PEER_SPEC, nemo)}, {install}venv {nemo['venv_mb']:.0f} MB, grammars built in "
                 f"{nemo['build_first_s']:.0f} s first ({nemo['grammar_cache_mb']:.0f} MB cache), "
                 f"{nemo['build_cached_s']:.1f} s from the cache")
    text += "; goals (ours): " + ", ".join(goals)
    result["row"] = text
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, s in ours["scores"].items():
        for miss in s["misses"]:
            print(f"MISS {name} [{miss['class']}] {miss['written']!r}\n  said     {miss['said']!r}\n  expected "
                  f"{miss['expected']!r}")
    print(text)
    if not args.no_row:
        command = "python benchmarks/normalization.py" + (f" --peer {args.peer}" if args.peer else "")
        machine.append_row(result["date"], "normalization", result["machine"], text, command)


if __name__ == "__main__":
    main()
