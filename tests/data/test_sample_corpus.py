"""The bundled sample corpus stays usable: LJSpeech layout, size limit, transcripts in step with the normalizer."""

import subprocess
import sys

import soundfile as sf

from tacotron.text import SYMBOLS, normalize_text
from tests.conftest import REPO

CORPUS = REPO / "data" / "sample_corpus"


def test_layout_size_and_audio():
    rows = [line.split("|") for line in (CORPUS / "metadata.csv").read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 300 and all(len(row) == 3 for row in rows)
    assert len({row[0] for row in rows}) == len(rows)
    assert sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file()) <= 20 * 1024 * 1024
    for clip_id, _, _ in rows[::25]:
        info = sf.info(CORPUS / "wavs" / f"{clip_id}.flac")
        assert info.channels == 1 and 1.0 <= info.duration <= 4.8


def test_normalized_column_matches_the_normalizer():
    for clip_id, raw, normalized in (line.split("|") for line in
                                     (CORPUS / "metadata.csv").read_text(encoding="utf-8").splitlines()):
        assert normalized == normalize_text(raw), clip_id
        assert set(normalized) <= set(SYMBOLS)


def test_model_package_builds_on_its_own(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             str(REPO / "model"), "-w", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.glob("tacotron-*.whl")]
