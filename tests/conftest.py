"""Shared pytest setup: quiet TensorFlow and import the repository's packages from the checkout."""

import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(REPO))
# The model runs on whichever Keras backend is imported first; tests that need another one use a subprocess.
os.environ.setdefault("KERAS_BACKEND", "jax")

import shutil  # noqa: E402
import subprocess  # noqa: E402

import pytest  # noqa: E402

# Clips of the bundled corpus that the training tests preprocess: enough for batches of 4, small enough to be quick.
TRAINING_CLIPS = 24


@pytest.fixture(scope="session")
def sample_data(tmp_path_factory) -> pathlib.Path:
    """The first TRAINING_CLIPS clips of the bundled corpus, preprocessed by the real Beam job (all in train)."""
    corpus = tmp_path_factory.mktemp("corpus24")
    source = REPO / "data" / "sample_corpus"
    lines = (source / "metadata.csv").read_text().splitlines()[:TRAINING_CLIPS]
    (corpus / "metadata.csv").write_text("\n".join(lines) + "\n")
    (corpus / "wavs").mkdir()
    for line in lines:
        clip = line.split("|")[0]
        shutil.copy(source / "wavs" / f"{clip}.flac", corpus / "wavs" / f"{clip}.flac")
    output = tmp_path_factory.mktemp("data24")
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.preprocess", "--corpus", str(corpus), "--output", str(output),
         "--eval_fraction", "0.1"],
        cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return output
