"""A cheap digest of an LJSpeech-layout corpus: what the preprocessing cache key is made of."""

from __future__ import annotations

import hashlib

from apache_beam.io.filesystems import FileSystems

from pipelines.preprocess import METADATA


def fingerprint(corpus: str) -> str:
    """sha256 over metadata.csv's bytes and every file's name and size under wavs/ (local paths or gs://...)."""
    digest = hashlib.sha256()
    with FileSystems.open(FileSystems.join(corpus, METADATA)) as f:
        digest.update(f.read())
    matches = FileSystems.match([FileSystems.join(corpus, "wavs", "*")])[0].metadata_list
    for entry in sorted(matches, key=lambda m: m.path):
        relative = entry.path[len(corpus):].lstrip("/")
        digest.update(f"{relative}\t{entry.size_in_bytes}\n".encode())
    return digest.hexdigest()
