"""Every step with every folder on a GCS API (fake-gcs-server on loopback), as a Dataflow or Vertex user's bucket
holds them: preprocess, train and resume, evaluate, export, synthesize and the model server, each reading the previous
one's output there. (test_object_store.py runs the same steps on S3, with the kills and faults.)"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import soundfile

from tacotron import storage
from tacotron.storage import lease
from tests.conftest import REPO
from tests.system.test_object_store import (
    QUICK_SYNTHESIS,
    assert_published_like,
    checkpoint_steps,
    command,
    preprocess_on_store,
)
from tests.tacotron.serving.test_server import free_port
from tests.training import SMALL

# Beam jobs, trainings and a server in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def root(gcs_store) -> str:
    return f"gs://tacotron/{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def gcs_data(root, tmp_path_factory) -> str:
    return preprocess_on_store(root, tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def gcs_model(root, gcs_data) -> str:
    """Trained on gs:// to step 2, then resumed from the checkpoint there to step 4."""
    model_dir = f"{root}/model"
    for steps in (2, 4):
        result = command("-m", "tacotron.cli.train", "--data", gcs_data, "--model_dir", model_dir, *SMALL, "--steps",
                         str(steps), "--gin_param", "TrainConfig.checkpoint_every = 2")
        assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from step 2" in result.stdout
    return model_dir


@pytest.fixture(scope="module")
def gcs_export(root, gcs_model) -> str:
    serving = f"{root}/serving"
    result = command("-m", "tacotron.cli.export", "--model_dir", gcs_model, "--output", f"{serving}/1",
                     *QUICK_SYNTHESIS)
    assert result.returncode == 0, result.stderr[-3000:]
    return serving


def test_preprocessing_reads_the_corpus_from_and_publishes_to_gcs(gcs_data, sample_data):
    assert_published_like(gcs_data, sample_data)


def test_training_resumes_and_evaluates_on_gcs(gcs_model, gcs_data, root):
    assert checkpoint_steps(gcs_model)[-1] == 4
    for name in ("config.gin", "metrics.jsonl", "assets/vocabulary", "assets/normalization.json"):
        assert storage.exists(f"{gcs_model}/{name}"), name
    assert any(n.startswith("events.out.tfevents") for n in storage.listdir(f"{gcs_model}/tensorboard"))
    assert lease.read(gcs_model) is None  # released at the end
    evaluation = f"{root}/evaluation"
    result = command("-m", "tacotron.cli.evaluate", "--data", gcs_data, "--model_dir", gcs_model, "--output",
                     evaluation, *QUICK_SYNTHESIS)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(storage.read_text(f"{evaluation}/metrics.json"))
    assert metrics["model_dir"] == gcs_model and metrics["step"] == 4
    assert storage.is_complete(evaluation) and storage.exists(f"{evaluation}/report.html")
    assert not (REPO / "gs:").exists()  # no local folder made from a URL


def test_the_export_on_gcs_is_synthesized_and_served(gcs_export, root):
    exported = f"{gcs_export}/1"
    assert storage.is_complete(exported) and json.loads(storage.read_text(f"{exported}/export_info.json"))["step"] == 4
    wav = f"{root}/hello.wav"
    result = command("-m", "tacotron.cli.synthesize", "--model", exported, "--text", "Call 555-0147 at 3:30.",
                     "--output", wav)
    assert result.returncode == 0, result.stderr[-3000:]
    samples, rate = soundfile.read(io.BytesIO(storage.read_bytes(wav)))
    assert rate == 8000 and samples.ndim == 1 and len(samples) > 0

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tacotron.cli.serve", "--model", gcs_export, "--http_port",
                               str(port)], cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 240
        while True:
            assert server.poll() is None and time.monotonic() < deadline, server.communicate()[1][-3000:]
            try:
                if httpx.get(f"{base}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        answer = httpx.post(f"{base}/v1/models/tacotron:predict", json={"instances": [{"text": "Hello."}]},
                            timeout=120)
        assert answer.status_code == 200, answer.text
    finally:
        server.terminate()
        server.wait(timeout=60)
