"""A cheap digest of an LJSpeech-layout corpus: what the preprocessing cache key is made of."""

from __future__ import annotations

import hashlib

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.preprocess.corpus import METADATA


def fingerprint(corpus: str) -> str:
    """sha256 over metadata.csv's bytes and every file's name and size under wavs/ (a local path, gs:// or s3://)."""
    # Beam's s3:// filesystem needs options to build its client; the defaults read the AWS_* variables.
    FileSystems.set_options(PipelineOptions([]))
    digest = hashlib.sha256()
    with FileSystems.open(FileSystems.join(corpus, METADATA)) as f:
        digest.update(f.read())
    matches = FileSystems.match([FileSystems.join(corpus, "wavs", "*")])[0].metadata_list
    for entry in sorted(matches, key=lambda m: m.path):
        relative = entry.path[len(corpus):].lstrip("/")
        digest.update(f"{relative}\t{entry.size_in_bytes}\n".encode())
    return digest.hexdigest()
