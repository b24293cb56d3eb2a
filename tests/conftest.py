"""Shared pytest setup: quiet TensorFlow and import the repository's packages from the checkout."""

import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(REPO))
