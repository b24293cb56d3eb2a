"""tacotron-synthesize as users run it, on the pipeline run's model and export (conftest's pipeline_run)."""

from __future__ import annotations

import pytest
import soundfile as sf

from tests.commands import QUICK, run

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow


def test_synthesize_a_text_file_from_a_model_dir(model_dir, tmp_path):
    """From a SavedModel: the store test below (and tacotron-serve's tests, on the same export)."""
    lines = tmp_path / "lines.txt"
    lines.write_text("First line.\n\nSecond line, a little longer.\n")
    folder = tmp_path / "many"
    # A stop threshold above 1 never fires: each line decodes to its length limit, so the longer line is longer.
    never_stop = ["--gin_param", "SynthesisConfig.stop_threshold = 1.01"]
    result = run("tacotron.cli.synthesize", "--model", model_dir, "--text_file", lines, "--output", folder, *QUICK,
                 *never_stop)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in folder.iterdir()) == ["0001.wav", "0002.wav"]
    assert sf.info(folder / "0002.wav").duration > sf.info(folder / "0001.wav").duration * 1.5


@pytest.mark.parametrize(
    "text, message",
    [("", "is empty"), ("?!...", "nothing to say"), ("😀 🎉", "nothing to say"), ("中文", "nothing to say"),
     ("x" * 100_001, "most accepted")],
)
def test_synthesize_refuses_unspeakable_text_without_writing(model_dir, tmp_path, text, message):
    from tacotron.cli import synthesize

    out_wav = tmp_path / "out.wav"
    assert synthesize.main(["--model", str(model_dir), "--text", text, "--output", str(out_wav)]) == 2
    assert not out_wav.exists() and list(tmp_path.iterdir()) == []


def test_text_file_with_an_unspeakable_line_writes_nothing(model_dir, tmp_path):
    from tacotron.cli import synthesize

    lines = tmp_path / "lines.txt"
    lines.write_text("A fine sentence.\n!!!\n")
    folder = tmp_path / "out"
    assert synthesize.main(["--model", str(model_dir), "--text_file", str(lines), "--output", str(folder)]) == 2
    assert not folder.exists()
