"""tacotron.network.alignment: the scores tell a diagonal alignment from a uniform or stuck one."""

from __future__ import annotations

import numpy as np
import pytest

from tacotron.network import alignment


def test_alignment_scores_tell_diagonal_from_uniform_and_stuck():
    steps, chars = 20, 10
    diagonal = np.zeros((1, steps, chars), np.float32)
    diagonal[0, np.arange(steps), np.arange(steps) * chars // steps] = 1.0
    uniform = np.full((1, steps, chars), 1.0 / chars, np.float32)
    stuck = np.zeros((1, steps, chars), np.float32)
    stuck[0, :, 0] = 1.0
    lengths, text = np.array([steps]), np.array([chars])

    def score(a):
        return float(alignment.focus(a, lengths)[0]), float(alignment.diagonality(a, lengths, text)[0])

    assert score(diagonal) == pytest.approx((1.0, 1.0))
    focus, diag = score(uniform)
    assert focus == pytest.approx(0.1) and diag < 0.5
    focus, diag = score(stuck)
    assert focus == 1.0 and diag < 0.35  # only the first steps, where the diagonal passes character 0
    assert float(alignment.alignment_score(diagonal, lengths, text)[0]) > 0.9
    assert float(alignment.alignment_score(uniform, lengths, text)[0]) < 0.1
