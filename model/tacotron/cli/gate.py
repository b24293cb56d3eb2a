"""tacotron-gate: is an evaluation's metrics.json good enough to promote, and no worse than the promoted model's?
Also the gate's flags, which tacotron-evaluate takes too."""

from __future__ import annotations

import argparse
import sys

from tacotron.cli import fail
from tacotron.quality import gate

PROG = "tacotron-gate"


# What each limit means, for --help; the defaults come from tacotron.quality.gate.Thresholds.
HELP = {
    "max_failure_rate": "most utterances allowed to not stop (0..1)",
    "max_mcd": "highest mean MCD-DTW (dB) allowed",
    "min_alignment_score": "lowest mean free-running alignment score",
    "max_regression": "relative worsening allowed against --baseline",
    "min_sentence_identification": "lowest share of eval sentences recognizable from their audio",
    "min_length_ratio": "lowest mean decoded/recorded length",
    "max_length_ratio": "highest mean decoded/recorded length",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The gate's flags, shared by tacotron-gate and tacotron-evaluate."""
    parser.add_argument("--baseline", help="metrics.json of the currently promoted model to compare with")
    for name, default in gate.Thresholds().flat().items():
        off = "" if name == "max_regression" else "; 0 = not checked"
        parser.add_argument(f"--{name}", type=float, help=f"{HELP[name]} (default {default:g}{off})")


# Flags whose presence makes tacotron-evaluate apply the gate.
GATE_FLAGS = ("baseline", *(name for name in gate.Thresholds().flat() if name != "max_regression"))


def thresholds_from(args: argparse.Namespace) -> gate.Thresholds:
    """The flags given, over the defaults; ValueError for a negative one."""
    return gate.Thresholds.from_flat(**{name: getattr(args, name) for name in gate.Thresholds().flat()
                                        if getattr(args, name) is not None})


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
