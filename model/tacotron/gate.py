"""Promotion gate: is an evaluation's metrics.json good enough on its own, and no worse than the promoted model's?"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from tacotron import storage

# Metrics the gate reads from metrics.json, by section, and whether lower is better.
GATED = {
    ("free_running", "sentence_identification"): False,
    ("free_running", "mcd_dtw_db"): True,
    ("free_running", "failure_rate"): True,
    ("free_running", "alignment_score"): False,
    ("teacher_forced", "loss"): True,
}


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Absolute limits (None = not checked) and the relative regression allowed against a baseline.

    The defaults refuse a model that does not say its sentences: alignment scores cannot see that (a mumbling
    model scored diagonality 0.9997), sentence identification and the decoded length can.
    """

    max_failure_rate: float | None = None
    max_mcd_db: float | None = None
    min_alignment_score: float | None = None
    max_regression: float = 0.05  # e.g. 0.05: a gated metric may be up to 5% worse than the baseline's
    min_sentence_identification: float | None = 0.9
    # Mean decoded length over recorded: stopping at half the sentence is as wrong as rambling on.
    min_length_ratio: float | None = 0.8
    max_length_ratio: float | None = 1.25


class Unavailable(ValueError):
    """The metric is in metrics.json as null: the evaluation could not compute it (see its reason there)."""


def _value(metrics: dict, section: str, name: str) -> float:
    try:
        value = metrics[section][name]
    except (KeyError, TypeError):
        raise ValueError(f"metrics lack {section}.{name} (not a tacotron-evaluate metrics.json?)") from None
    if value is None:
        reason = metrics.get(name, {}).get("reason", "not computed")
        raise Unavailable(f"{section}.{name} is not available ({reason})")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{section}.{name} is not a number: {value!r}") from None


def check(metrics: dict, thresholds: Thresholds, baseline: dict | None = None) -> list[str]:
    """Every reason the model should not be promoted; an empty list means it passes."""
    reasons = []
    limits = (
        ("free_running", "failure_rate", thresholds.max_failure_rate, True),
        ("free_running", "mcd_dtw_db", thresholds.max_mcd_db, True),
        ("free_running", "alignment_score", thresholds.min_alignment_score, False),
        ("free_running", "sentence_identification", thresholds.min_sentence_identification, False),
        ("free_running", "length_ratio", thresholds.min_length_ratio, False),
        ("free_running", "length_ratio", thresholds.max_length_ratio, True),
    )
    for section, name, limit, lower_better in limits:
        if limit is None:
            continue
        try:
            value = _value(metrics, section, name)
        except Unavailable as e:
            reasons.append(str(e))
            continue
        if (value > limit) if lower_better else (value < limit):
            relation = "above the maximum" if lower_better else "below the minimum"
            reasons.append(f"{section}.{name} = {value:.4g} is {relation} {limit:.4g}")
    if baseline is not None:
        for (section, name), lower_better in GATED.items():
            try:
                new, old = _value(metrics, section, name), _value(baseline, section, name)
            except Unavailable:
                continue  # already a reason above when it matters; a baseline without it cannot be compared
            allowed = abs(old) * thresholds.max_regression
            worse = (new > old + allowed) if lower_better else (new < old - allowed)
            if worse:
                reasons.append(
                    f"{section}.{name} = {new:.4g} is worse than the baseline's {old:.4g} "
                    f"by more than {thresholds.max_regression:.0%}"
                )
    return reasons


def verdict(metrics: dict, thresholds: Thresholds = Thresholds()) -> tuple[bool, str]:
    """Does the model speak? (yes/no, one plain sentence for a person), judged by the default thresholds."""
    free = metrics["free_running"]
    identification = metrics.get("sentence_identification", {})
    problems = []
    if not identification.get("available"):
        return False, f"cannot tell whether it speaks: {identification.get('reason', 'no sentence identification')}"
    heard = f"{identification['correct']}/{identification['utterances']} sentences recognizable"
    chance = f"chance {identification['chance']:.0%}"
    if free["sentence_identification"] < thresholds.min_sentence_identification:
        problems.append(f"only {heard} ({chance})")
    if free["failure_rate"] > 0:
        failed = round(free["failure_rate"] * identification["utterances"])
        problems.append(f"{failed} decode(s) never stopped")
    if not thresholds.min_length_ratio <= free["length_ratio"] <= thresholds.max_length_ratio:
        problems.append(f"decodes are {free['length_ratio']:.2f}x the recorded length")
    if problems:
        return False, "does not speak yet: " + "; ".join(problems)
    return True, f"speaks: {heard} ({chance})"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The gate's flags, shared by tacotron-gate and tacotron-evaluate."""
    parser.add_argument("--baseline", help="metrics.json of the currently promoted model to compare with")
    parser.add_argument("--max_regression", type=float, default=Thresholds.max_regression,
                        help="relative worsening allowed against --baseline (default %(default)s)")
    parser.add_argument("--max_failure_rate", type=float, help="most utterances allowed to not stop (0..1)")
    parser.add_argument("--max_mcd", type=float, help="highest mean MCD-DTW (dB) allowed")
    parser.add_argument("--min_alignment_score", type=float, help="lowest mean free-running alignment score")
    defaults = Thresholds()
    parser.add_argument("--min_sentence_identification", type=float,
                        help="lowest share of eval sentences recognizable from their audio, 0 = not checked "
                             f"(default {defaults.min_sentence_identification})")
    parser.add_argument("--min_length_ratio", type=float,
                        help=f"lowest mean decoded/recorded length, 0 = off (default {defaults.min_length_ratio})")
    parser.add_argument("--max_length_ratio", type=float,
                        help=f"highest mean decoded/recorded length, 0 = off (default {defaults.max_length_ratio})")


# Flags whose presence makes tacotron-evaluate apply the gate.
GATE_FLAGS = ("baseline", "max_failure_rate", "max_mcd", "min_alignment_score", "min_sentence_identification",
              "min_length_ratio", "max_length_ratio")


def thresholds_from(args: argparse.Namespace) -> Thresholds:
    if args.max_regression < 0:
        raise ValueError(f"--max_regression must be >= 0, got {args.max_regression}")
    defaults = Thresholds()

    def given(value: float | None, default: float | None) -> float | None:
        if value is None:
            return default
        return value or None  # 0 switches the check off

    return Thresholds(
        args.max_failure_rate,
        args.max_mcd,
        args.min_alignment_score,
        args.max_regression,
        given(args.min_sentence_identification, defaults.min_sentence_identification),
        given(args.min_length_ratio, defaults.min_length_ratio),
        given(args.max_length_ratio, defaults.max_length_ratio),
    )


def read_metrics(path: str) -> dict:
    try:
        return json.loads(storage.read_text(path))
    except storage.StorageError as e:
        raise ValueError(f"cannot read {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not JSON: {e}") from None


def main(argv: list[str] | None = None) -> int:
    """tacotron-gate --metrics M [--baseline B] [limits]: exit 0 to promote, 1 (with reasons) not to, 2: bad input."""
    parser = argparse.ArgumentParser(prog="tacotron-gate", description=__doc__)
    parser.add_argument("--metrics", required=True, help="metrics.json written by tacotron-evaluate")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        thresholds = thresholds_from(args)
        metrics = read_metrics(args.metrics)
        baseline = read_metrics(args.baseline) if args.baseline else None
        reasons = check(metrics, thresholds, baseline)
    except ValueError as e:
        print(f"tacotron-gate: error: {e}", file=sys.stderr)
        return 2
    if reasons:
        print("tacotron-gate: failed: " + "; ".join(reasons), file=sys.stderr)
        return 1
    print("tacotron-gate: passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
