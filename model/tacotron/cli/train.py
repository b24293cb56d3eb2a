"""tacotron-train: train (or resume) a Tacotron on the output of the preprocessing job."""

from __future__ import annotations

import argparse
import json
import os
import sys

from tacotron.cli import add_verbose, fail, framework_log, framework_logs, stops_on_sigterm, supervise
from tacotron.training.cluster import Cluster, ClusterError, ClusterSettingError, cluster_from, join_cluster

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
    parser.add_argument(
        "--join_timeout", type=int, default=300,
        help="in a JAX cluster (JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID set, as Kubeflow Trainer's "
        "JAX runtime sets them): seconds to wait for the coordinator and every other process (default: 300)",
    )
    add_verbose(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Exit 0: trained; 1: training or storage failed, or the cluster did (a retry may succeed); 2: bad input;
    143: preempted."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        cluster = cluster_from(os.environ)
    except ClusterSettingError as e:
        return fail(PROG, e, 2)
    if cluster is not None and not supervise.is_member():
        log = None if args.verbose else framework_log(PROG)
        return supervise.supervise(PROG, "tacotron.cli.train", argv, cluster, log)
    with framework_logs(PROG, args.verbose), stops_on_sigterm(PROG):
        code = run(args, cluster)
    if cluster is not None and code != 0:
        # The JAX runtime's exit waits for every other process to exit too, which a failed cluster never does.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def run(args: argparse.Namespace, cluster: Cluster | None = None) -> int:
    from tacotron.config import ConfigError, parse_gin

    try:
        configs = parse_gin(args.gin_file or ["base_8khz"], args.gin_param)
    except ConfigError as e:
        return fail(PROG, e, 2)
    if cluster is not None:
        try:
            join_cluster(cluster, args.join_timeout)
        except ClusterError as e:
            return fail(PROG, e, 1)
        supervise.report_joined()
    from tacotron.network.distribute import DistributionError
    from tacotron.storage import StorageError, cause
    from tacotron.storage.lease import LeaseHeld
    from tacotron.training.callbacks import TrainingError
    from tacotron.training.train import Preempted, SetupError, train
    from tacotron.training.warm_start import WarmStartError

    try:
        summary = train(args.data, args.model_dir, configs, args.steps, args.init_from)
    except (SetupError, DistributionError, WarmStartError, LeaseHeld) as e:
        return fail(PROG, e, 2)
    except (TrainingError, StorageError, ClusterError) as e:
        return fail(PROG, e, 1)
    except Preempted as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 143
    except Exception as e:
        if cluster is None:
            raise
        # A peer lost in the middle of a step fails that step's collective here (gloo's "Connection closed by peer").
        return fail(PROG, f"{cluster}: training stopped: {cause(e)}", 1, raised=e)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
