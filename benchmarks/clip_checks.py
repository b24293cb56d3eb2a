"""What the preprocessing job's speech checks measure on real speech and on non-speech, and what they keep.

Measures every clip of the bundled corpus, the bundled held-out sentences and one-word clips (three voices), and the
adversarial corpora of tests/adversarial_corpus.py at two seeds, with the job's own functions: speech level, spectral
change, longest sound, speech seconds and speaking rate. Then judges every clip with `clip_checks.measure_clip` and
the corpus's rate band, as the job does, and counts good clips lost and non-speech kept.

    python benchmarks/clip_checks.py [--seeds 1 2]

Writes results/clip_checks.json (the ranges docs/PREPROCESSING.md quotes) and a row in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import pathlib
import sys

import numpy as np
from machine import describe as describe_machine  # benchmarks/ is on sys.path when a script runs

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
MEASURES = ("speech_dbfs", "longest_sound_seconds", "spectral_flatness", "spectral_change_db", "speech_seconds",
            "chars_per_second")


def measure(samples: np.ndarray, rate: int, transcript: str) -> dict[str, float]:
    """Every measure the checks use, whether or not a check would stop at an earlier one."""
    from tacotron import audio

    config = audio.AudioConfig()
    wav = audio.to_mono(samples, rate, config)
    trimmed = audio.trim_silence(wav, config)
    speaking = max(audio.speech_seconds(trimmed, config), config.hop_length / config.sample_rate)
    return {"speech_dbfs": audio.speech_level_dbfs(wav, config),
            "longest_sound_seconds": audio.longest_sound_seconds(trimmed, config),
            **audio.spectral_measures(trimmed, config),
            "speech_seconds": speaking, "chars_per_second": len(transcript) / speaking}


def recordings() -> dict[str, list[tuple[str, np.ndarray, int, str]]]:
    """(id, samples, rate, normalized transcript) of the bundled recordings, by set."""
    from tacotron import audio, text

    sets = {"bundled corpus": REPO / "data" / "sample_corpus", "held-out sentences": REPO / "data" / "held_out",
            "one-word clips": REPO / "data" / "one_word"}
    found = {}
    for name, folder in sets.items():
        clips = []
        for line in (folder / "metadata.csv").read_text(encoding="utf-8").splitlines():
            clip_id, raw = line.split("|")[:2]
            samples, rate = audio.decode(str(folder / "wavs" / f"{clip_id}.flac"))
            clips.append((clip_id, samples, rate, text.normalize_text(raw)))
        found[name] = clips
    return found


def ranges(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    return {key: {"min": float(np.min([r[key] for r in rows])), "median": float(np.median([r[key] for r in rows])),
                  "max": float(np.max([r[key] for r in rows]))} for key in MEASURES}


def judge(clips: list[tuple[str, np.ndarray, int, str]]) -> dict[str, str | None]:
    """Each clip's outcome as the job decides it: None when kept, else the rejection reason."""
    from pipelines.preprocess.clip_checks import ClipChecks, expected_rates, measure_clip, rate_band
    from tacotron import audio

    checks, config = ClipChecks(), audio.AudioConfig()
    outcomes, kept = {}, {}
    for clip_id, samples, rate, transcript in clips:
        result = measure_clip(transcript, samples, rate, checks, config)
        if isinstance(result, tuple):
            outcomes[clip_id] = result[0]
        else:
            kept[clip_id] = (result["chars_per_second"], len(transcript))
    band = rate_band(list(kept.values()), checks.rate_outlier_k)
    for clip_id, (rate, characters) in kept.items():
        expected = expected_rates(band, characters)
        outcomes[clip_id] = None if expected is None or expected[0] <= rate <= expected[1] else "implausible_rate"
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))  # the job's checks and the test generator, from the checkout
    from tacotron.text import normalize_text
    from tests import adversarial_corpus

    measured: dict[str, list[dict[str, float]]] = collections.defaultdict(list)
    lost: dict[str, list[str]] = {}
    found = recordings()
    for name, clips in found.items():
        measured[name] = [measure(samples, rate, transcript) for _, samples, rate, transcript in clips]
    # Judged as corpora users bring: the bundled sentences with the one-word clips among them, and the held-out set.
    for name, clips in {"bundled corpus with the one-word clips": found["bundled corpus"] + found["one-word clips"],
                        "held-out sentences": found["held-out sentences"]}.items():
        lost[name] = sorted(clip_id for clip_id, reason in judge(clips).items() if reason is not None)
    outcomes = {}
    for seed in args.seeds:
        clips = adversarial_corpus.generate(seed)
        as_read = [(c.id, c.signal if c.signal.ndim == 2 else c.signal[:, None], c.rate, normalize_text(c.text))
                   for c in clips]
        judged = judge(as_read)
        for clip, (_, samples, rate, transcript) in zip(clips, as_read, strict=True):
            group = "adversarial good" if clip.expected is None else f"non-speech: {clip.kind}"
            measured[group].append(measure(samples, rate, transcript))
        outcomes[seed] = {
            "good_lost": sorted(c.id for c in clips if c.expected is None and judged[c.id] is not None),
            "non_speech_kept": sorted(c.id for c in clips if c.expected is not None and judged[c.id] is None),
            "wrong_reason": sorted(c.id for c in clips if c.expected is not None and judged[c.id] not in
                                   (None, c.expected)),
            "good": sum(1 for c in clips if c.expected is None),
            "non_speech": sum(1 for c in clips if c.expected is not None),
        }
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": describe_machine(),
        "ranges": {group: {"clips": len(rows), **ranges(rows)} for group, rows in measured.items()},
        "bundled_clips_lost": lost,
        "adversarial": outcomes,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "clip_checks.json").write_text(json.dumps(result, indent=2) + "\n")
    speech = [g for g in measured if not g.startswith("non-speech")]

    def extreme(measure: str, kinds: tuple[str, ...] | None, highest: bool) -> float:
        groups = speech if kinds is None else [f"non-speech: {k}" for k in kinds if f"non-speech: {k}" in measured]
        values = [result["ranges"][g][measure]["max" if highest else "min"] for g in groups]
        return max(values) if highest else min(values)

    summary = (
        f"bundled clips lost: {sum(len(v) for v in lost.values())} "
        f"({', '.join(f'{k} {len(v)}' for k, v in lost.items())}); adversarial corpora, seeds "
        f"{', '.join(map(str, args.seeds))}: good lost "
        f"{sum(len(o['good_lost']) for o in outcomes.values())} of {sum(o['good'] for o in outcomes.values())}, "
        f"non-speech kept {sum(len(o['non_speech_kept']) for o in outcomes.values())} of "
        f"{sum(o['non_speech'] for o in outcomes.values())}, rejected for another reason "
        f"{sum(len(o['wrong_reason']) for o in outcomes.values())}; longest sound: speech "
        f"{extreme('longest_sound_seconds', None, False):.3f} s and up, clicks "
        f"{extreme('longest_sound_seconds', ('clicks',), True):.3f} at most; spectral flatness: speech "
        f"{extreme('spectral_flatness', None, False):.4f} and up, hum/tones/beeps "
        f"{extreme('spectral_flatness', ('hum', 'tone', 'beeps'), True):.5f} at most; spectral change: speech "
        f"{extreme('spectral_change_db', None, False):.2f} dB and up, steady noise "
        f"{extreme('spectral_change_db', ('white_noise', 'pink_noise', 'brown_noise'), True):.2f} at most")
    row = (f"| {result['date']} | clip_checks | {describe_machine()} | {summary} | "
           f"`python benchmarks/clip_checks.py --seeds {' '.join(map(str, args.seeds))}` |\n")
    with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
        f.write(row)
    print(summary)


if __name__ == "__main__":
    main()
