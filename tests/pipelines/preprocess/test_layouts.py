"""pipelines.preprocess.layouts: each corpus layout as users bring it, detection, and layouts that cannot be read."""

from __future__ import annotations

import pathlib

import pytest

from pipelines.preprocess import layouts

CLIP = b"RIFF....WAVE"  # listing never opens the audio; the Beam job does


def tree(root: pathlib.Path, files: dict[str, bytes | str]) -> pathlib.Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def ids(listing: layouts.Listing) -> list[str]:
    return [row["id"] for row in listing.rows]


def reasons(listing: layouts.Listing) -> dict[str, str]:
    return {record["id"]: record["reason"] for record in listing.rejected}


def test_ljspeech_reads_the_original_text_unless_told_otherwise(tmp_path):
    corpus = tree(tmp_path, {"metadata.csv": "a|Dr. Smith paid $5.|doctor smith paid five dollars.\nb|Two|\n",
                             "wavs/a.wav": CLIP, "wavs/b.flac": CLIP})
    listing = layouts.list_corpus(str(corpus))
    assert listing.layout == layouts.LJSPEECH and ids(listing) == ["a", "b"]
    assert [row["transcript"] for row in listing.rows] == ["Dr. Smith paid $5.", "Two"]
    normalized = layouts.list_corpus(str(corpus), text=layouts.NORMALIZED)
    # The corpus's own normalization where it has one; the original text where that column is empty.
    assert [row["transcript"] for row in normalized.rows] == ["doctor smith paid five dollars.", "Two"]
    assert str(corpus / "wavs" / "a.mp3") in listing.rows[0]["audio"]


def test_vctk_pairs_transcripts_with_the_first_microphone_and_needs_a_speaker(tmp_path):
    corpus = tree(tmp_path, {
        "txt/p225/p225_001.txt": "Please call Stella.\n", "txt/p225/p225_002.txt": "Ask her.",
        "txt/p226/p226_001.txt": "Yes.",
        "wav48_silence_trimmed/p225/p225_001_mic1.flac": CLIP, "wav48_silence_trimmed/p225/p225_001_mic2.flac": CLIP,
        "wav48_silence_trimmed/p225/p225_003_mic1.flac": CLIP,  # recorded, never transcribed
        "wav48_silence_trimmed/p226/p226_001_mic2.flac": CLIP,
        "speaker-info.txt": "ID AGE GENDER", "README.txt": "VCTK",
    })
    with pytest.raises(layouts.LayoutError, match=r"2 speakers: p225 \(3 clips\), p226 \(1 clips\).*--speaker"):
        layouts.list_corpus(str(corpus))
    listing = layouts.list_corpus(str(corpus), speaker="p225")
    assert listing.layout == layouts.VCTK and ids(listing) == ["p225_001", "p225_002"]
    assert listing.rows[0]["audio"] == [str(corpus / "wav48_silence_trimmed/p225/p225_001_mic1.flac")]
    assert listing.rows[1]["audio"] == []  # rejected as missing_audio by the clip step
    assert reasons(listing) == {"p225_003": "missing_transcript"}
    assert listing.not_read == {"other speakers' clips": 1, "files outside txt/ and wav48*/": 2}
    assert layouts.list_corpus(str(corpus), speaker="p226").rows[0]["audio"][0].endswith("p226_001_mic2.flac")
    with pytest.raises(layouts.LayoutError, match="no speaker 'p999'"):
        layouts.list_corpus(str(corpus), speaker="p999")


def test_libritts_reads_original_or_normalized_transcripts(tmp_path):
    stem = "84/121123/84_121123_000007_000001"
    corpus = tree(tmp_path, {f"{stem}.wav": CLIP, f"{stem}.original.txt": "Mr. Jones, 1850.",
                             f"{stem}.normalized.txt": "Mister Jones, eighteen fifty.",
                             "84/121123/84_121123.trans.tsv": "ignored"})
    listing = layouts.list_corpus(str(corpus))
    assert listing.layout == layouts.LIBRITTS and listing.speaker == "84"
    assert ids(listing) == ["84_121123_84_121123_000007_000001"]
    assert listing.rows[0]["transcript_file"].endswith(".original.txt")
    normalized = layouts.list_corpus(str(corpus), text=layouts.NORMALIZED)
    assert normalized.rows[0]["transcript_file"].endswith(".normalized.txt")
    assert "*.normalized.txt (--text original reads *.original.txt)" in listing.not_read


def test_a_folder_of_clips_with_lab_or_txt_transcripts(tmp_path):
    corpus = tree(tmp_path, {"one.wav": CLIP, "one.lab": "Yes", "day2/two.mp3": CLIP, "day2/two.txt": "No.",
                             "day2/three.ogg": CLIP, "notes.md": "my notes", "orphan.lab": "nobody said this"})
    listing = layouts.list_corpus(str(corpus))
    assert listing.layout == layouts.FOLDER and ids(listing) == ["day2_two", "one", "orphan"]
    assert listing.rows[2]["audio"] == []
    assert reasons(listing) == {"day2_three": "missing_transcript"}
    assert listing.not_read == {"files that are neither audio nor a transcript beside one": 1}


def test_common_voice_tsv_reads_clips_from_clips_and_chooses_a_speaker(tmp_path):
    header = "client_id\tpath\tsentence\tup_votes\tdown_votes\n"
    corpus = tree(tmp_path, {
        "validated.tsv": header + "spk1\tcv_1.mp3\tHello there.\t2\t0\nspk1\tcv_2.mp3\t\"Quoted,\" she said.\t2\t0\n"
                         "spk2\tcv_3.mp3\tOther voice.\t2\t0\nspk1\tcv_4.mp3\n",
        "train.tsv": header, "clips/cv_1.mp3": CLIP, "clips/cv_2.mp3": CLIP, "clips/cv_3.mp3": CLIP})
    with pytest.raises(layouts.LayoutError, match="holds 2 .csv/.tsv files"):
        layouts.list_corpus(str(corpus))
    listing = layouts.list_corpus(str(corpus / "validated.tsv"), speaker="spk1")
    assert listing.layout == layouts.CSV and ids(listing) == ["cv_1", "cv_2"]
    assert listing.rows[1]["transcript"] == '"Quoted," she said.'
    assert str(corpus / "clips" / "cv_1.mp3") in listing.rows[0]["audio"]
    assert reasons(listing) == {"cv_4": "malformed_line"}
    assert listing.not_read == {"other speakers' clips": 1}


def test_a_csv_with_a_header_and_commas(tmp_path):
    corpus = tree(tmp_path, {"list.csv": "file,text\na.wav,\"One, two.\"\nb.wav,Three\n", "a.wav": CLIP,
                             "b.wav": CLIP})
    listing = layouts.list_corpus(str(corpus / "list.csv"))
    assert [row["transcript"] for row in listing.rows] == ["One, two.", "Three"]


@pytest.mark.parametrize(("files", "message"), [
    ({"a.wav": CLIP}, "no corpus layout found in .*ljspeech .*vctk .*libritts .*folder .*csv"),
    ({"metadata.csv": "a|A.", "a.wav": CLIP, "a.txt": "A."}, "matches several corpus layouts: ljspeech .*folder"),
    ({"table.csv": "name,words\nx,y\n"}, r"names no audio column; expected one of \('path'"),
])
def test_a_layout_that_cannot_be_read_is_one_line_naming_the_candidates(tmp_path, files, message):
    corpus = tree(tmp_path / "corpus", files)
    with pytest.raises(layouts.LayoutError, match=message) as error:
        layouts.list_corpus(str(corpus))
    assert "\n" not in str(error.value)


def test_a_layout_chosen_that_the_corpus_is_not_in_finds_nothing_and_says_so(tmp_path):
    corpus = tree(tmp_path, {"metadata.csv": "a|A.\n", "wavs/a.wav": CLIP})
    with pytest.raises(layouts.LayoutError, match="holds no clips in the vctk layout"):
        layouts.list_corpus(str(corpus), layouts.VCTK)


def test_a_missing_corpus_is_one_line(tmp_path):
    with pytest.raises(layouts.LayoutError, match="not found"):
        layouts.list_corpus(str(tmp_path / "nowhere"))
    with pytest.raises(layouts.LayoutError, match="not found"):
        layouts.list_corpus(str(tmp_path / "nowhere.tsv"))


def test_transcripts_in_other_encodings_are_read_or_rejected_with_the_reason(tmp_path):
    assert layouts.decode_text("café".encode("utf-16")) == "café"
    assert layouts.decode_text("\ufeffcafé".encode()) == "café"
    assert layouts.decode_text("café".encode("latin-1")) is None
    assert "byte 0xe9 at offset 3" in layouts.undecodable("café".encode("latin-1"))
    corpus = tree(tmp_path, {"metadata.csv": b"a|Fine.\n" + "b|Caf\xe9.\n".encode("latin-1"),
                             "wavs/a.wav": CLIP, "wavs/b.wav": CLIP})
    listing = layouts.list_corpus(str(corpus))
    assert ids(listing) == ["a"] and reasons(listing) == {"b": "undecodable_text"}
    assert listing.rejected[0]["line"] == 2
