"""pipelines.preprocess.corpus: a row's transcript file that cannot be read or decoded is a reason, not a crash."""

from __future__ import annotations

from pipelines.preprocess.corpus import MeasureClip


def test_transcript_files_are_read_decoded_or_named_with_the_reason(tmp_path):
    (tmp_path / "a.lab").write_text("Two\nlines.\n", encoding="utf-16")
    (tmp_path / "b.txt").write_bytes("Caf\xe9".encode("latin-1"))
    (tmp_path / "c.txt").mkdir()  # a folder where the transcript should be: cannot be opened
    assert MeasureClip._transcript({"transcript_file": str(tmp_path / "a.lab")}) == "Two lines."
    reason, detail = MeasureClip._transcript({"transcript_file": str(tmp_path / "b.txt")})
    assert reason == "undecodable_text" and "b.txt" in detail and "byte 0xe9" in detail
    reason, detail = MeasureClip._transcript({"transcript_file": str(tmp_path / "c.txt")})
    assert reason == "unreadable_transcript" and "c.txt" in detail
    assert MeasureClip._transcript({"transcript": "As listed."}) == "As listed."
