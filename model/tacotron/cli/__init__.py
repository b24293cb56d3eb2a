"""The console commands (tacotron-train, -evaluate, -gate, -export, -synthesize): argparse, one-line errors and exit
codes around the library. Importing this package sets the Keras backend default, once, before Keras is imported."""

import os
import sys

# Keras reads the backend once, at import. JAX is the default because it measured faster for this model
# (docs/BENCHMARKS.md, benchmarks/train_throughput.py); KERAS_BACKEND=tensorflow selects the other.
os.environ.setdefault("KERAS_BACKEND", "jax")


def fail(prog: str, error: object, code: int) -> int:
    """Report an error as the one line `prog: error: ...` on stderr; returns the exit code."""
    print(f"{prog}: error: {error}", file=sys.stderr)
    return code
