"""tacotron-train: train (or resume) a Tacotron on the output of the preprocessing job."""

from __future__ import annotations

import argparse
import json
import sys

from tacotron.cli import add_verbose, fail, framework_logs, stops_on_sigterm

PROG = "tacotron-train"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--data", required=True, help="output folder of python -m pipelines.preprocess")
    parser.add_argument("--model_dir", required=True, help="checkpoints, metrics.jsonl, TensorBoard logs; resumed from")
    parser.add_argument("--gin_file", action="append", default=[], help="a .gin path or a shipped config name")
    parser.add_argument("--gin_param", action="append", default=[], help="a binding, e.g. 'TrainConfig.batch_size=64'")
    parser.add_argument("--steps", type=int, default=None, help="train until this global step (default: the config's)")
    parser.add_argument(
        "--init_from",
        default=None,
        help="warm start: a trained model_dir (its newest checkpoint) or one .weights.h5 checkpoint of the same "
        "architecture; its weights only, the step and optimizer start fresh, embedding rows are matched by character. "
        "Ignored when --model_dir has checkpoints of its own: a resumed run resumes its own progress",
    )
    add_verbose(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Exit 0: trained; 1: training or storage failed (a retry may succeed); 2: bad input; 143: preempted."""
    args = parse_args(argv)
    with framework_logs(PROG, args.verbose), stops_on_sigterm(PROG):
        return run(args)


def run(args: argparse.Namespace) -> int:
    from tacotron.config import ConfigError, parse_gin

    try:
        configs = parse_gin(args.gin_file or ["base_8khz"], args.gin_param)
    except ConfigError as e:
        return fail(PROG, e, 2)
    from tacotron.callbacks import TrainingError
    from tacotron.distribute import DistributionError
    from tacotron.lease import LeaseHeld
    from tacotron.storage import StorageError
    from tacotron.train import Preempted, SetupError, train
    from tacotron.warm_start import WarmStartError

    try:
        summary = train(args.data, args.model_dir, configs, args.steps, args.init_from)
    except (SetupError, DistributionError, WarmStartError, LeaseHeld) as e:
        return fail(PROG, e, 2)
    except (TrainingError, StorageError) as e:
        return fail(PROG, e, 1)
    except Preempted as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 143
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
