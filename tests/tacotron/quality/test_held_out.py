"""The held-out set's refusals: one line that says what is wrong with the folder."""

from __future__ import annotations

import os
import pathlib
import tempfile

import pytest

from tacotron.quality.held_out import HeldOutError, load_held_out
from tests.disks import as_nobody


def test_a_folder_without_pairs_is_refused(tmp_path):
    with pytest.raises(HeldOutError, match="has no pairs.csv"):
        load_held_out(str(tmp_path), None)


def test_a_folder_this_user_cannot_read_says_so():
    # As in a container whose user is not the owner of a mounted mode-700 folder: the folder is seen, not read.
    with tempfile.TemporaryDirectory() as parent:
        os.chmod(parent, 0o755)
        folder = pathlib.Path(parent) / "held_out"
        folder.mkdir(mode=0o700)
        (folder / "pairs.csv").write_text("a|A sentence.\n")
        with as_nobody(), pytest.raises(HeldOutError, match="permission denied"):
            load_held_out(str(folder), None)
