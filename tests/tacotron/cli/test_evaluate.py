"""tacotron-evaluate as users run it, on the pipeline run's model (conftest's pipeline_run); bad model paths."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from tests.commands import QUICK, one_line_error, run
from tests.conftest import held_out_subset

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow


def test_evaluate_writes_metrics_report_and_media(evaluation, pipeline_run):
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert metrics["step"] == 2 and metrics["split"] == "eval"
    report = json.loads((pipeline_run["data"] / "report.json").read_text())
    assert metrics["utterances"] == report["written"]["eval"] == len(metrics["per_utterance"]) > 0
    assert set(metrics["teacher_forced"]) == {"loss", "mel_loss", "linear_loss", "stop_loss", "attention_loss",
                                              "stop_accuracy", "text_swap_mel_loss", "text_reliance"}
    free = metrics["free_running"]
    assert set(free) == {"sentence_identification", "gv_ratio", "spectral_detail_ratio", "mcd_dtw_db", "diagonality",
                         "focus", "alignment_score", "length_ratio", "failure_rate"}
    found = metrics["sentence_identification"]
    if metrics["utterances"] >= 2:
        assert found["utterances"] == metrics["utterances"] and found["chance"] == 1 / metrics["utterances"]
        assert found["griffin_lim_ceiling"]["utterances"] == metrics["utterances"]
        assert metrics["verdict"].startswith("does not speak yet")  # two training steps
    else:
        assert not found["available"] and "needs at least 2 utterances" in found["reason"]
        assert free.pop("sentence_identification") is None
        assert metrics["verdict"].startswith("cannot tell whether it speaks")
    assert all(np.isfinite(v) for v in free.values() if v is not None)
    assert free["mcd_dtw_db"] > 0 and 0 <= free["failure_rate"] <= 1 and 0 <= free["diagonality"] <= 1
    assert metrics["config"]["synthesis"]["griffin_lim_iters"] == 4
    page = (evaluation / "report.html").read_text()
    for row in metrics["per_utterance"]:
        stem = evaluation / "utterances" / row["id"]
        for suffix in (".png", "_predicted.wav", "_recorded_griffin_lim.wav"):
            assert (stem.parent / (stem.name + suffix)).stat().st_size > 0
        wav, rate = sf.read(stem.parent / (stem.name + "_predicted.wav"))
        assert rate == 8000 and len(wav) > 0
        assert row["id"] in page
        assert metrics["utterances"] < 2 or (row["identified"] in (True, False) and row["margin"] > 0)
    assert metrics["verdict"] in page and "Does it say the sentence?" in page and "Training curves" in page
    assert (evaluation / "training_curves.png").stat().st_size > 0
    # Self-contained: every image and audio clip is inline (one figure per utterance, and the training curves).
    assert page.count("src='data:image/png;base64,") == metrics["utterances"] + 1
    assert page.count("src='data:audio/wav;base64,") == 2 * metrics["utterances"]
    assert "src='utterances/" not in page


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_report_renders_its_images_in_headless_chromium(evaluation, tmp_path):
    output = evaluation
    shot = tmp_path / "report.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}", "--window-size=1200,3200",
         (output / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.exists(), "chromium wrote no screenshot"
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)
    # Text and tables are black, white and greys (audio controls too); only the plots' purple-green-yellow colour map
    # gives saturated pixels, so they show that the embedded images decoded and rendered.
    saturated = (pixels.max(axis=1) - pixels.min(axis=1)) > 60
    assert saturated.mean() > 0.02, f"only {saturated.mean():.2%} of the page shows plot colours"
    # The verdict comes first, on its red (does not speak) banner, then the intelligibility table and the curves.
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", (output / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    headings = [dom.find(text) for text in ("id=\"verdict\"", "Does it say the sentence?", "Training curves",
                                            "Utterances")]
    assert -1 not in headings and headings == sorted(headings), headings
    assert "speak" in dom and "alt=\"training curves\"" in dom
    banner = pixels.reshape(np.asarray(Image.open(shot)).shape[:2] + (3,))[:400]
    assert (np.abs(banner - np.array([251, 229, 229])).sum(axis=-1) < 12).mean() > 0.01, "no verdict banner"


def test_evaluation_on_held_out_sentences_of_unseen_words(pipeline_run, model_dir, tmp_path):
    # The pipeline's evaluate task measured the held-out set it was given.
    output = pipeline_run["evaluation"]
    assert "held-out sentences recognizable" in pipeline_run["result"].stdout
    measured = json.loads((output / "metrics.json").read_text())["held_out"]
    assert measured["identification"]["utterances"] == 3 and 0 <= measured["minimal_pairs"]["accuracy"] <= 1
    # The recordings through the same Griffin-Lim tell each sentence from its one-word twin.
    assert measured["minimal_pairs"]["griffin_lim_ceiling"]["accuracy"] == 1.0
    assert "held-out sentences of words the corpus never had" in (output / "report.html").read_text()
    held_out = held_out_subset(tmp_path / "held_out", 3)
    (held_out / "pairs.csv").unlink()
    line = one_line_error(run("tacotron.cli.evaluate", "--data", pipeline_run["data"], "--model_dir", model_dir,
                              "--output", tmp_path / "again", "--held_out", held_out, *QUICK), "tacotron-evaluate")
    assert "has no pairs.csv" in line


def test_bad_model_paths_and_files_are_one_line_errors(sample_data, tmp_path):
    not_a_model = tmp_path / "not_a_model"
    not_a_model.mkdir()
    (not_a_model / "notes.txt").write_text("hello")
    out_wav = tmp_path / "out.wav"
    line = one_line_error(
        run("tacotron.cli.synthesize", "--model", not_a_model, "--text", "hello", "--output", out_wav),
        "tacotron-synthesize")
    assert "not a tacotron-train model_dir" in line and not out_wav.exists()
    line = one_line_error(run("tacotron.cli.export", "--model_dir", tmp_path / "missing", "--output", tmp_path / "sm"),
                          "tacotron-export")
    assert "is not a directory" in line and not (tmp_path / "sm").exists()
    line = one_line_error(
        run("tacotron.cli.evaluate", "--data", sample_data, "--model_dir", not_a_model, "--output", tmp_path / "ev"),
        "tacotron-evaluate",
    )
    assert "not a tacotron-train model_dir" in line
