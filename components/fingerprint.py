"""Corpus fingerprint component: a digest of the corpus's files (names, sizes, its tables' bytes), the preprocessing
cache key."""


def fingerprint_corpus(corpus: str) -> str:
    """Changes whenever a transcript, an audio file's name or its size changes (cheap on a bucket of any size)."""
    from pipelines.preprocess.fingerprint import fingerprint

    return fingerprint(corpus)
