"""The corpus layouts the preprocessing job reads, detected or chosen with --format, listed as rows for the Beam job.

A row names a clip: its id, its transcript (or the file that holds it), and the audio files it may be in. What
cannot become a row (a malformed line, a clip without a transcript) becomes a rejected record with its reason.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import posixpath
from typing import Any

from tacotron import storage

LJSPEECH, VCTK, LIBRITTS, FOLDER, CSV = "ljspeech", "vctk", "libritts", "folder", "csv"
# Each layout as a user would recognize it: shown when a corpus matches none, or several.
FORMATS = {
    LJSPEECH: "metadata.csv (id|text|normalized text) + wavs/<id>.wav",
    VCTK: "txt/<speaker>/<id>.txt + wav48*/<speaker>/<id>[_mic1].flac",
    LIBRITTS: "<speaker>/<chapter>/<id>.wav + <id>.original.txt and <id>.normalized.txt",
    FOLDER: "<name>.wav beside <name>.txt or <name>.lab, at any depth",
    CSV: "a .csv or .tsv with a header naming the audio and text columns (Common Voice's validated.tsv)",
}
AUTO = "auto"
ORIGINAL, NORMALIZED = "original", "normalized"
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3")
METADATA = "metadata.csv"
REJECTED_UPFRONT = ("malformed_line", "unsafe_id", "missing_transcript", "undecodable_text")
# Header names of the CSV layout's columns, in order of preference.
AUDIO_COLUMNS = ("path", "audio", "audio_path", "file", "filename", "file_name", "wav", "clip")
TEXT_COLUMNS = {ORIGINAL: ("sentence", "text", "transcript", "transcription", "original_text", "normalized_text"),
                NORMALIZED: ("normalized_text", "normalized", "sentence", "text", "transcript", "transcription")}
SPEAKER_COLUMNS = ("client_id", "speaker", "speaker_id", "speaker_name")
# VCTK's audio folders: wav48 (0.80) and wav48_silence_trimmed (0.92).
VCTK_AUDIO = "wav48"
# VCTK records most sentences with two microphones; the first is the one its papers use.
VCTK_MICROPHONES = ("_mic1", "_mic2", "")


class LayoutError(Exception):
    """A corpus whose layout cannot be read: one line that says what was found and what is expected."""


@dataclasses.dataclass
class Listing:
    """What a corpus holds: the rows to process, the records already rejected, and what was not read and why."""

    layout: str
    text: str
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rejected: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    speakers: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    speaker: str | None = None
    not_read: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    @property
    def input_records(self) -> int:
        return len(self.rows) + len(self.rejected)

    def summary(self) -> dict[str, Any]:
        """The layout as report.json records it."""
        return {"format": self.layout, "text": self.text, "speaker": self.speaker,
                "speakers": dict(self.speakers.most_common(20)), "speaker_count": len(self.speakers),
                "not_read": {what: count for what, count in self.not_read.items() if count}}


def rejection(record_id: str, reason: str, detail: str, line: int | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": record_id, "reason": reason, "detail": detail}
    if line is not None:
        record["line"] = line
    return record


def unsafe_id_problem(record_id: str) -> str | None:
    """Why an id cannot name a file inside the corpus folder, or None when it can."""
    if record_id in (".", ".."):
        return "the id is a relative directory"
    if "/" in record_id or "\\" in record_id:
        return "the id contains a path separator and could escape the corpus folder"
    if ":" in record_id:
        return "the id contains ':' (a drive or URL scheme)"
    if any(ord(c) < 32 for c in record_id):
        return "the id contains control characters"
    return None


def decode_text(data: bytes) -> str | None:
    """Transcript bytes as text: UTF-8 (with or without a byte-order mark) or UTF-16 with one; None otherwise."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def undecodable(data: bytes) -> str:
    """Where bytes stop being UTF-8, for the rejection's detail."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}) nor UTF-16 with a byte-order mark"
    return "not readable text"


def is_audio(name: str) -> bool:
    return name.lower().endswith(AUDIO_EXTENSIONS)


def stem(name: str) -> str:
    """The name without its folder and its last extension."""
    return posixpath.splitext(posixpath.basename(name))[0]


def file_id(relative: str) -> str:
    """A clip's id from its path inside the corpus: the path without extension, folders joined by '_'."""
    return posixpath.splitext(relative)[0].replace("/", "_")


def detect(corpus: str, files: list[str] | None) -> str:
    """The one layout a corpus matches; LayoutError naming what it matches or what is expected."""
    if corpus.lower().endswith((".csv", ".tsv")):
        return CSV
    if files is None:
        raise LayoutError(f"corpus folder not found: {corpus}")
    found = []
    if METADATA in files:
        found.append(LJSPEECH)
    tops = {f.split("/", 1)[0] for f in files if "/" in f}
    if "txt" in tops and any(t.startswith(VCTK_AUDIO) for t in tops):
        found.append(VCTK)
    if any(f.endswith((".original.txt", ".normalized.txt")) for f in files):
        found.append(LIBRITTS)
    stems = {posixpath.splitext(f)[0] for f in files if is_audio(f)}
    if any(f.endswith((".txt", ".lab")) and posixpath.splitext(f)[0] in stems for f in files):
        found.append(FOLDER)
    if any("/" not in f and f.lower().endswith((".csv", ".tsv")) and f != METADATA for f in files) and not found:
        found.append(CSV)
    if len(found) == 1:
        return found[0]
    layouts = "; ".join(f"{name} ({FORMATS[name]})" for name in (found or FORMATS))
    if found:
        raise LayoutError(f"{corpus} matches several corpus layouts: {layouts}; choose one with --format")
    raise LayoutError(f"no corpus layout found in {corpus}; --format reads {layouts}")


def list_corpus(corpus: str, layout: str = AUTO, text: str = ORIGINAL, speaker: str | None = None) -> Listing:
    """Every clip of the corpus as a row (or a rejection), in the given layout or the one detected."""
    corpus = corpus.rstrip("/") or "/"
    is_file = corpus.lower().endswith((".csv", ".tsv"))
    if not storage.is_url(corpus) and not (storage.exists(corpus) if is_file else storage.isdir(corpus)):
        raise LayoutError(f"corpus {'file' if is_file else 'folder'} not found: {corpus}")
    files = None if is_file or (layout == LJSPEECH) else storage.walk(corpus)
    if files is not None and not files:
        raise LayoutError(f"corpus folder is empty or not found: {corpus}")
    if layout == AUTO:
        layout = detect(corpus, files)
    listing = Listing(layout, text)
    READERS[layout](corpus, files, listing)
    if not listing.rows:
        without = f" ({len(listing.rejected)} record(s) rejected while listing)" if listing.rejected else ""
        raise LayoutError(f"{corpus} holds no clips in the {layout} layout ({FORMATS[layout]}){without}")
    choose_speaker(listing, speaker)
    return listing


def choose_speaker(listing: Listing, speaker: str | None) -> None:
    """Keep one speaker's rows: the model is single-speaker. Several speakers without --speaker is an error."""
    if speaker is None:
        if len(listing.speakers) > 1:
            most = ", ".join(f"{name} ({count} clips)" for name, count in listing.speakers.most_common(5))
            more = f" and {len(listing.speakers) - 5} more" if len(listing.speakers) > 5 else ""
            raise LayoutError(f"the corpus holds {len(listing.speakers)} speakers: {most}{more}; the model speaks "
                              "in one voice: choose it with --speaker")
        listing.speaker = next(iter(listing.speakers), None)
        return
    if speaker not in listing.speakers:
        known = ", ".join(name for name, _ in listing.speakers.most_common(5)) or "none (this layout names none)"
        raise LayoutError(f"no speaker {speaker!r} in the corpus; its speakers include: {known}")
    listing.speaker = speaker
    kept = [row for row in listing.rows if row.get("speaker") == speaker]
    listing.not_read["other speakers' clips"] += len(listing.rows) - len(kept)
    listing.rows = kept
    listing.rejected = [r for r in listing.rejected if r.get("speaker", speaker) == speaker]


def read_ljspeech(corpus: str, files: list[str] | None, listing: Listing) -> None:
    path = storage.join(corpus, METADATA)
    if not storage.exists(path):
        raise LayoutError(f"no {METADATA} in corpus folder {corpus}")
    data = storage.read_bytes(path)
    content = decode_text(data)
    lines = content.splitlines() if content is not None else data.split(b"\n")
    wavs = storage.join(corpus, "wavs")
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            line = line.rstrip(b"\r")
            if not line.strip():
                continue
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                record_id = line.split(b"|", 1)[0].decode("utf-8", "replace").strip()
                listing.rejected.append(rejection(record_id, "undecodable_text", f"{METADATA}: {undecodable(line)}",
                                                  number))
                continue
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.split("|")
        record_id = fields[0].strip()
        if len(fields) not in (2, 3) or not record_id:
            detail = f"expected 'id|text|normalized_text', got {len(fields)} field(s): {line[:120]!r}"
            listing.rejected.append(rejection(record_id, "malformed_line", detail, number))
            continue
        problem = unsafe_id_problem(record_id)
        if problem:
            listing.rejected.append(rejection(record_id, "unsafe_id", problem, number))
            continue
        # The third column is LJSpeech's own normalization; the first text goes through ours, as serving text does.
        normalized = fields[2] if len(fields) == 3 and fields[2].strip() else ""
        transcript = normalized if listing.text == NORMALIZED and normalized else fields[1]
        listing.rows.append({"line": number, "id": record_id, "transcript": transcript,
                             "audio": [storage.join(wavs, record_id + ext) for ext in AUDIO_EXTENSIONS]})


def add_file_rows(corpus: str, listing: Listing, pairs: dict[str, tuple[str | None, str | None]],
                  speaker_of) -> None:
    """Rows from (transcript file, audio file) pairs by id: a missing transcript is rejected here, a missing
    audio file by the clip step (as for every layout)."""
    for number, (record_id, (transcript, audio)) in enumerate(sorted(pairs.items()), start=1):
        speaker = speaker_of(transcript or audio)
        if speaker:
            listing.speakers[speaker] += 1
        if transcript is None:
            record = rejection(record_id, "missing_transcript", f"no transcript for {audio}", number)
            listing.rejected.append({**record, "speaker": speaker} if speaker else record)
            continue
        row = {"line": number, "id": record_id, "transcript_file": storage.join(corpus, transcript),
               "audio": [storage.join(corpus, audio)] if audio else [], "source": transcript}
        listing.rows.append({**row, "speaker": speaker} if speaker else row)


def read_vctk(corpus: str, files: list[str], listing: Listing) -> None:
    transcripts = {stem(f): f for f in files if f.startswith("txt/") and f.endswith(".txt")}
    audio: dict[str, tuple[int, str]] = {}  # id -> (rank of its microphone, file)
    for f in files:
        if f.split("/", 1)[0].startswith(VCTK_AUDIO) and is_audio(f):
            rank, suffix = next((i, m) for i, m in enumerate(VCTK_MICROPHONES) if stem(f).endswith(m))
            clip = stem(f)[: len(stem(f)) - len(suffix)]
            audio[clip] = min(audio.get(clip, (rank, f)), (rank, f))
    listing.not_read["files outside txt/ and wav48*/"] += sum(
        1 for f in files if not f.startswith("txt/") and not f.split("/", 1)[0].startswith(VCTK_AUDIO))
    pairs = {i: (transcripts.get(i), audio[i][1] if i in audio else None) for i in set(transcripts) | set(audio)}
    add_file_rows(corpus, listing, pairs, lambda f: f.split("/")[1] if f.count("/") >= 2 else None)


def read_libritts(corpus: str, files: list[str], listing: Listing) -> None:
    suffix = f".{listing.text}.txt"
    transcripts = {file_id(f[: -len(suffix)]): f for f in files if f.endswith(suffix)}
    audio = {file_id(f): f for f in files if is_audio(f)}
    other = ".normalized.txt" if listing.text == ORIGINAL else ".original.txt"
    listing.not_read[f"*{other} (--text {listing.text} reads *{suffix})"] += sum(1 for f in files if f.endswith(other))
    pairs = {i: (transcripts.get(i), audio.get(i)) for i in set(transcripts) | set(audio)}
    # LibriTTS ids start with the speaker: <speaker>_<chapter>_<utterance>.
    add_file_rows(corpus, listing, pairs, lambda f: stem(f).split(".")[0].split("_")[0])


def read_folder(corpus: str, files: list[str], listing: Listing) -> None:
    audio = {file_id(f): f for f in files if is_audio(f)}
    transcripts: dict[str, str] = {}
    for f in files:
        if f.endswith((".lab", ".txt")) and (file_id(f) in audio or not f.endswith(".txt")):
            transcripts.setdefault(file_id(f), f)
    listing.not_read["files that are neither audio nor a transcript beside one"] += sum(
        1 for f in files if not is_audio(f) and f not in transcripts.values())
    pairs = {i: (transcripts.get(i), audio.get(i)) for i in set(transcripts) | set(audio)}
    add_file_rows(corpus, listing, pairs, lambda f: None)


def read_csv(corpus: str, files: list[str] | None, listing: Listing) -> None:
    if files is not None:
        tables = [f for f in files if "/" not in f and f.lower().endswith((".csv", ".tsv"))]
        if len(tables) != 1:
            raise LayoutError(f"{corpus} holds {len(tables)} .csv/.tsv files ({', '.join(tables[:5])}); "
                              "pass the one to read as --corpus")
        table, folder = storage.join(corpus, tables[0]), corpus
    else:
        table, folder = corpus, corpus.rsplit("/", 1)[0] if "/" in corpus else "."
    data = storage.read_bytes(table)
    content = decode_text(data)
    if content is None:
        raise LayoutError(f"{table}: {undecodable(data)}")
    if table.lower().endswith(".tsv"):
        # Common Voice writes its .tsv files unquoted: a quote inside a sentence is part of the sentence.
        reader = csv.reader(io.StringIO(content, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(content, newline=""), csv.Sniffer().sniff(content[:4096], ",;|\t"))
    header = [name.strip().lower() for name in next(reader, [])]
    audio_column = next((header.index(c) for c in AUDIO_COLUMNS if c in header), None)
    text_column = next((header.index(c) for c in TEXT_COLUMNS[listing.text] if c in header), None)
    speaker_column = next((header.index(c) for c in SPEAKER_COLUMNS if c in header), None)
    if audio_column is None or text_column is None:
        missing, names = ("audio", AUDIO_COLUMNS) if audio_column is None else ("text", TEXT_COLUMNS[ORIGINAL])
        raise LayoutError(f"{table}: the header {header[:8]} names no {missing} column; expected one of {names}")
    for number, fields in enumerate(reader, start=2):
        if not any(field.strip() for field in fields):
            continue
        record_id = stem(fields[audio_column].strip()) if len(fields) > audio_column else ""
        if len(fields) != len(header) or not fields[audio_column].strip():
            detail = f"expected {len(header)} fields with the audio in '{header[audio_column]}', got {len(fields)}"
            listing.rejected.append(rejection(record_id, "malformed_line", detail, number))
            continue
        relative = fields[audio_column].strip()
        speaker = fields[speaker_column].strip() if speaker_column is not None else None
        if speaker:
            listing.speakers[speaker] += 1
        # Common Voice keeps its clips in clips/ beside the tables.
        row = {"line": number, "id": record_id, "transcript": fields[text_column],
               "audio": [storage.join(folder, relative), storage.join(folder, "clips", relative)]}
        listing.rows.append({**row, "speaker": speaker} if speaker else row)


READERS = {LJSPEECH: read_ljspeech, VCTK: read_vctk, LIBRITTS: read_libritts, FOLDER: read_folder, CSV: read_csv}
