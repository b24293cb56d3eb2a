"""tacotron-gate: is an evaluation's metrics.json good enough to promote, and no worse than the promoted model's?
Also the gate's flags, which tacotron-evaluate takes too."""

from __future__ import annotations

import argparse
import sys

from tacotron import gate
from tacotron.cli import fail

PROG = "tacotron-gate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The gate's flags, shared by tacotron-gate and tacotron-evaluate."""
    parser.add_argument("--baseline", help="metrics.json of the currently promoted model to compare with")
    parser.add_argument("--max_regression", type=float, default=gate.Thresholds.max_regression,
                        help="relative worsening allowed against --baseline (default %(default)s)")
    parser.add_argument("--max_failure_rate", type=float, help="most utterances allowed to not stop (0..1)")
    parser.add_argument("--max_mcd", type=float, help="highest mean MCD-DTW (dB) allowed")
    parser.add_argument("--min_alignment_score", type=float, help="lowest mean free-running alignment score")
    defaults = gate.Thresholds()
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


def thresholds_from(args: argparse.Namespace) -> gate.Thresholds:
    if args.max_regression < 0:
        raise ValueError(f"--max_regression must be >= 0, got {args.max_regression}")
    defaults = gate.Thresholds()

    def given(value: float | None, default: float | None) -> float | None:
        if value is None:
            return default
        return value or None  # 0 switches the check off

    return gate.Thresholds(
        args.max_failure_rate,
        args.max_mcd,
        args.min_alignment_score,
        args.max_regression,
        given(args.min_sentence_identification, defaults.min_sentence_identification),
        given(args.min_length_ratio, defaults.min_length_ratio),
        given(args.max_length_ratio, defaults.max_length_ratio),
    )


def main(argv: list[str] | None = None) -> int:
    """tacotron-gate --metrics M [--baseline B] [limits]: exit 0 to promote, 1 (with reasons) not to, 2: bad input."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--metrics", required=True, help="metrics.json written by tacotron-evaluate")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        thresholds = thresholds_from(args)
        metrics = gate.read_metrics(args.metrics)
        baseline = gate.read_metrics(args.baseline) if args.baseline else None
        reasons = gate.check(metrics, thresholds, baseline)
    except ValueError as e:
        return fail(PROG, e, 2)
    if reasons:
        print(f"{PROG}: failed: " + "; ".join(reasons), file=sys.stderr)
        return 1
    print(f"{PROG}: passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
