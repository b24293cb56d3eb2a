"""tacotron-export: a trained model_dir -> a TensorFlow SavedModel whose serving signature turns strings into 8 kHz
waveforms."""

from __future__ import annotations

import argparse
import os
import sys

from tacotron import storage
from tacotron.cli import add_verbose, fail, framework_logs, stops_on_sigterm

PROG = "tacotron-export"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--model_dir", required=True, help="a tacotron-train --model_dir (newest checkpoint is used)")
    parser.add_argument("--output", required=True, help="the SavedModel directory to write")
    parser.add_argument("--gin_param", action="append", default=[], help="e.g. 'SynthesisConfig.griffin_lim_iters=30'")
    add_verbose(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Exit 0: exported; 1: storage failed; 2: bad input."""
    args = parse_args(argv)
    with framework_logs(PROG, args.verbose), stops_on_sigterm(PROG):
        return run(args)


def run(args: argparse.Namespace) -> int:
    # The SavedModel is a TensorFlow graph, so the model is rebuilt on Keras's TensorFlow backend; checkpoints are
    # backend-independent .weights.h5 files, so a model trained on JAX exports the same weights.
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras

    if keras.backend.backend() != "tensorflow":
        return fail(PROG, "Keras was imported with another backend first", 2)
    from tacotron.serving.export import ExportError, export

    try:
        storage.check_writable(args.output)
    except storage.StorageError as e:
        return fail(PROG, e, 2)
    try:
        info = export(args.model_dir, args.output, tuple(args.gin_param))
    except ExportError as e:
        return fail(PROG, e, 2)
    except storage.StorageError as e:
        return fail(PROG, e, 1)
    print(f"exported step {info['step']} to {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
