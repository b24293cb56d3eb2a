"""tacotron-export's SavedModel, from the pipeline run (conftest's pipeline_run): served without G2P, refused
across G2P versions."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.commands import env, one_line_error, run
from tests.conftest import REPO

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow


SERVE = """
import json, sys
# The TF Serving contract: TensorFlow alone, no G2P and no tacotron (importing them would fail here).
for blocked in ("tacotron", "phonemizer", "espeakng_loader"):
    sys.modules[blocked] = None
import numpy as np
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
request = json.loads(sys.argv[2])
by_symbols = model.signatures["serving_default"](symbols=tf.constant(request["symbols"]))
by_ids = model.signatures["synthesize_ids"](ids=tf.constant(request["ids"], tf.int32),
                                            lengths=tf.constant(request["lengths"], tf.int32))
np.save(sys.argv[3], by_ids["waveform"].numpy())
np.save(sys.argv[4], by_ids["length"].numpy())
try:
    model.signatures["serving_default"](symbols=tf.constant([" ".join(["a"] * 1500)]))
    refused = ""
except tf.errors.InvalidArgumentError as e:
    refused = e.message
print(json.dumps({"refused": refused, "same": bool(np.array_equal(by_symbols["length"].numpy(),
                                                                 by_ids["length"].numpy())
                                                  and np.allclose(by_symbols["waveform"].numpy(),
                                                                  by_ids["waveform"].numpy(), atol=1e-5))}))
"""


IN_PROCESS = """
import json, sys
import numpy as np
from tacotron.text.frontend import Frontend
from tacotron.serving.inference import Synthesizer, text_batch
from tacotron.network.model_dir import load_model
loaded = load_model(sys.argv[1])
synthesizer = Synthesizer(loaded)
out = synthesizer.infer(*text_batch(json.loads(sys.argv[2]), loaded.vocabulary, Frontend(loaded.config.frontend)))
np.savez(sys.argv[3], *synthesizer.vocode(out["linear"], out["n_frames"]))
"""


def test_export_serves_ids_and_symbols_without_g2p_and_matches_in_process_synthesis(exported, model_dir, tmp_path):
    from tacotron.serving.export import load_exported
    from tacotron.serving.inference import text_batch
    from tacotron.text import normalize_text
    from tacotron.text.frontend import symbols_to_ids

    texts = [normalize_text("Hello world."), normalize_text("Good morning, how are you today?")]
    python_path = load_exported(str(exported))
    info = python_path.info
    assert info["frontend"] == python_path.frontend.describe() and info["frontend"]["frontend"] == "phonemes"
    symbols = python_path.symbols(texts)
    ids, lengths = text_batch(texts, tuple(info["vocabulary"]), python_path.frontend)
    assert [symbols_to_ids(s.split(), info["vocabulary"]) for s in symbols] == [
        row[:n].tolist() for row, n in zip(ids, lengths, strict=True)]
    request = {"symbols": symbols, "ids": ids.tolist(), "lengths": lengths.tolist()}
    result = subprocess.run(
        [sys.executable, "-c", SERVE, str(exported), json.dumps(request), str(tmp_path / "w.npy"),
         str(tmp_path / "n.npy")],
        cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["same"], "the symbols and the ids signatures disagree"
    assert "split the text into sentences" in report["refused"]
    served, lengths = np.load(tmp_path / "w.npy"), np.load(tmp_path / "n.npy")

    # In-process synthesis (padded to reuse compiled programs) on the SavedModel's backend. The two-step model is
    # untrained, and its free-running decoder amplifies rounding differences over hundreds of steps: measured up
    # to 3% here, and 11% since the post-net's GRU runs both directions in one scan (the graph and eager programs
    # round differently), against 1e-5 (same backend) and 8e-5 (JAX vs TensorFlow) for the 400-step tiny model.
    # Different weights or pre-net noise give differences of the order of the signal itself.
    result = subprocess.run([sys.executable, "-c", IN_PROCESS, str(model_dir), json.dumps(texts),
                             str(tmp_path / "ours.npz")], cwd=REPO, env=env(KERAS_BACKEND="tensorflow"),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ours = np.load(tmp_path / "ours.npz")
    for row in range(len(texts)):
        wav = ours[f"arr_{row}"]
        assert len(wav) == lengths[row] > 0
        reference = served[row, : lengths[row]]
        # Same weights and pre-net noise: the same audio up to that amplified rounding.
        assert np.linalg.norm(wav - reference) / np.linalg.norm(reference) < 0.15


def test_an_export_from_another_g2p_is_refused_naming_both(exported, tmp_path):
    import shutil as sh

    from tacotron.serving.export import EXPORT_INFO

    copy = tmp_path / "export"
    sh.copytree(exported, copy)
    info = json.loads((copy / EXPORT_INFO).read_text())
    info["frontend"]["espeak_version"] = "1.49.0"
    (copy / EXPORT_INFO).write_text(json.dumps(info))
    line = one_line_error(run("tacotron.cli.synthesize", "--model", copy, "--text", "hello", "--output",
                              tmp_path / "out.wav"), "tacotron-synthesize")
    assert "espeak_version 1.49.0" in line and "espeak_version 1.52" in line
    assert not (tmp_path / "out.wav").exists()


THREE_LOADERS = """
import json, os, subprocess, sys
import numpy as np
import tensorflow as tf
path, symbols, outdir = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
by_object = tf.saved_model.load(path).signatures["serving_default"](symbols=tf.constant(symbols))
# TF Serving's path: the C++ loader's TF1 session load of the serve tag, then the signature's tensors by name.
with tf.Graph().as_default(), tf.compat.v1.Session() as session:
    signature = tf.compat.v1.saved_model.loader.load(session, ["serve"], path).signature_def["serving_default"]
    by_session = session.run({k: v.name for k, v in signature.outputs.items()},
                             {signature.inputs["symbols"].name: symbols})
saved_model_cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
cli = subprocess.run([saved_model_cli, "run", "--dir", path, "--tag_set", "serve", "--signature_def",
                      "serving_default", "--input_exprs", "symbols=" + json.dumps(symbols), "--outdir", outdir],
                     capture_output=True, text=True)
if cli.returncode:
    sys.exit("saved_model_cli run failed: " + cli.stderr.strip().splitlines()[-1])
by_cli = {name: np.load(f"{outdir}/{name}.npy") for name in ("waveform", "length")}
print(json.dumps({name: [np.asarray(out[name]).tolist() for out in (by_object, by_session, by_cli)]
                  for name in ("waveform", "length")}))
"""


def test_tf_serving_session_loader_saved_model_cli_and_tf2_loader_give_the_same_waveform(exported, tmp_path):
    from tacotron.serving.export import load_exported
    from tacotron.text import normalize_text

    symbols = load_exported(str(exported)).symbols([normalize_text("Hello world."), normalize_text("Call us.")])
    result = subprocess.run([sys.executable, "-c", THREE_LOADERS, str(exported), json.dumps(symbols),
                             str(tmp_path / "cli")], cwd=tmp_path, env=env(), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = json.loads(result.stdout.strip().splitlines()[-1])
    tf2, session, cli = (np.asarray(w) for w in outputs["waveform"])
    assert outputs["length"][0] == outputs["length"][1] == outputs["length"][2]
    assert tf2.shape == session.shape == cli.shape and tf2.size > 0
    assert np.array_equal(tf2, session) and np.array_equal(tf2, cli)


def test_the_infra_validator_passed_the_pipelines_export_and_refuses_what_tf_serving_cannot_load(pipeline_run,
                                                                                                  exported, tmp_path):
    import shutil

    from tacotron.serving.export import ExportError
    from tacotron.serving.validate import validate_saved_model

    # The pipeline's export step validated its export before the push.
    assert "validated: the canary sentence ran through TF Serving's session loader" in (
        pipeline_run["workdir"] / "logs" / "export.log").read_text()
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    for variables in (broken / "variables").iterdir():
        variables.write_bytes(b"")
    with pytest.raises(ExportError) as error:
        validate_saved_model(str(broken))
    assert "session loader" in str(error.value) and "\n" not in str(error.value)
