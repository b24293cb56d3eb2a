"""tacotron.dataset: length buckets pad as little as possible."""

from __future__ import annotations

import numpy as np

from tacotron import dataset


def test_buckets_pad_as_little_as_possible():
    import itertools

    rng = np.random.default_rng(0)
    for _ in range(50):
        lengths = rng.integers(1, 60, size=rng.integers(1, 25))
        count = int(rng.integers(1, 5))
        buckets = dataset.make_buckets(lengths, lengths, count, 4)
        rounded = np.ceil(lengths / 4).astype(int) * 4

        def padded(bounds, rounded=rounded) -> int:
            return sum(min(b for b in bounds if b >= v) for v in rounded)

        candidates = np.unique(rounded)
        best = min(
            padded(combo)
            for k in range(1, count + 1)
            for combo in itertools.combinations(candidates, k)
            if combo[-1] == candidates[-1]
        )
        assert len(buckets.frames) <= count and padded(buckets.frames) == best
    # One long clip no longer stretches a bucket shared by shorter ones.
    lengths = np.array([100] * 30 + [120] * 30 + [160] * 30 + [336])
    assert dataset.make_buckets(lengths, lengths, 4, 4).frames == (100, 120, 160, 336)
