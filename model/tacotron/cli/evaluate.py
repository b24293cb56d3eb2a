"""tacotron-evaluate: teacher-forced losses and free-running synthesis quality on the eval split, with a report;
optionally the promotion gate too."""

from __future__ import annotations

import argparse
import json
import sys

from tacotron import storage
from tacotron.cli import add_verbose, fail, framework_logs, gate, stops_on_sigterm

PROG = "tacotron-evaluate"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--data", required=True, help="output folder of python -m pipelines.preprocess")
    parser.add_argument("--model_dir", required=True, help="a tacotron-train --model_dir (newest checkpoint is used)")
    parser.add_argument("--output", required=True, help="where metrics.json, report.html, PNGs and WAVs go")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--held_out", help="also a held-out set of sentences with words the corpus lacks, and their "
                        "minimal pairs (data/make_sample_corpus.py --held_out_from writes one)")
    parser.add_argument("--gin_param", action="append", default=[], help="e.g. 'SynthesisConfig.griffin_lim_iters=30'")
    gate.add_arguments(parser)
    add_verbose(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Exit 0: evaluated (and the gate passed, when asked); 1: the gate failed or storage failed; 2: bad input."""
    args = parse_args(argv)
    with framework_logs(PROG, args.verbose), stops_on_sigterm(PROG):
        return run(args)


def run(args: argparse.Namespace) -> int:
    from tacotron import dataset
    from tacotron.network.model_dir import ModelError
    from tacotron.quality import evaluate

    try:
        storage.check_writable(args.output)
    except storage.StorageError as e:
        return fail(PROG, e, 2)
    try:
        # The gate applies when asked for (any of its flags); the verdict is always written.
        gated = any(getattr(args, flag) is not None for flag in gate.GATE_FLAGS)
        thresholds = gate.thresholds_from(args)
        result = evaluate.run(args.data, args.model_dir, args.output, args.batch_size, tuple(args.gin_param),
                              thresholds if gated else None, args.baseline, args.held_out)
    except (evaluate.EvaluationError, ValueError, ModelError, dataset.DataError) as e:
        return fail(PROG, e, 2)
    except storage.StorageError as e:
        return fail(PROG, e, 1)
    summary = {"step": result["step"], **result["free_running"], "loss": result["teacher_forced"]["loss"]}
    print(json.dumps(summary), flush=True)
    print(result["verdict"], flush=True)
    if "held_out" in result:
        print(result["held_out"]["summary"], flush=True)
    print(f"report: {storage.join(args.output, 'report.html')}", flush=True)
    reasons = result.get("gate", {}).get("reasons")
    if reasons:
        print(f"{PROG}: gate failed: " + "; ".join(reasons), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
