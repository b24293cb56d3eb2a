"""A cheap digest of a corpus in any layout: what the preprocessing cache key is made of."""

from __future__ import annotations

import hashlib

from tacotron import storage, text

# Tables and transcripts small enough to hash whole (a Common Voice validated.tsv is tens of MB at most).
WHOLE = (".csv", ".tsv")


def fingerprint(corpus: str) -> str:
    """sha256 over every file's path and size under the corpus (a local path, gs:// or s3://), and the bytes of its
    tables (metadata.csv, a .tsv); for a corpus given as a table, that table and the files beside it. The text
    normalizer's digest is in it too: transcripts read another way are other training data."""
    folder = corpus.rsplit("/", 1)[0] if corpus.lower().endswith(WHOLE) else corpus
    digest = hashlib.sha256(text.normalizer_digest().encode())
    if folder != corpus:
        digest.update(storage.read_bytes(corpus))
    for relative, size in storage.file_sizes(folder).items():
        digest.update(f"{relative}\t{size}\n".encode())
        if "/" not in relative and relative.lower().endswith(WHOLE):
            digest.update(storage.read_bytes(storage.join(folder, relative)))
    return digest.hexdigest()
