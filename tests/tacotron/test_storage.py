"""tacotron.storage on local disk and on a real S3 API (moto's server on loopback)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tacotron import storage
from tests.conftest import REPO
from tests.disks import small_disk


def test_files_are_written_read_listed_and_removed(root):
    path = storage.join(root, "sub", "a.txt")
    storage.write_text(path, "one\n")
    storage.append_text(path, "two\n")
    assert storage.read_text(path) == "one\ntwo\n"
    assert storage.exists(path) and storage.isdir(storage.join(root, "sub"))
    storage.write_bytes(storage.join(root, "sub", "b.bin"), b"\0\1")
    assert storage.listdir(storage.join(root, "sub")) == ["a.txt", "b.bin"]
    assert storage.listdir(storage.join(root, "nothing")) == []
    storage.remove(path)
    storage.remove(path)  # a missing file is not an error
    assert storage.listdir(storage.join(root, "sub")) == ["b.bin"]


def test_a_published_folder_replaces_the_old_one_only_when_complete(root, tmp_path):
    source = tmp_path / "source"
    (source / "inner").mkdir(parents=True)
    (source / "inner" / "x.bin").write_bytes(b"new")
    target = storage.join(root, "published")
    storage.write_text(storage.join(target, "stale.txt"), "old version")
    storage.publish_folder(str(source), target)
    assert storage.is_complete(target)
    assert storage.read_bytes(storage.join(target, "inner", "x.bin")) == b"new"
    assert not storage.exists(storage.join(target, "stale.txt"))
    with storage.local_folder(target) as local:
        assert open(os.path.join(local, "inner", "x.bin"), "rb").read() == b"new"


def test_named_entries_are_copied_and_nothing_else(root, tmp_path):
    for name in ("keep.txt", "sub/a.bin", "sub/b.bin", "other/big.bin"):
        storage.write_text(storage.join(root, name), name)
    local = tmp_path / "out"
    storage.get_entries(root, ["keep.txt", "sub"], str(local))
    assert sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file()) == [
        "keep.txt", "sub/a.bin", "sub/b.bin"]
    assert (local / "sub" / "b.bin").read_text() == "sub/b.bin"


def test_publish_file_moves_a_scratch_file_into_place(root):
    path = storage.join(root, "ckpt.weights.h5")
    storage.makedirs(root)
    scratch = storage.scratch_path(path)
    assert scratch.endswith(".weights.h5") and not storage.is_url(scratch)
    with open(scratch, "wb") as f:
        f.write(b"weights")
    storage.publish_file(scratch, path)
    assert not os.path.exists(scratch)
    assert storage.read_bytes(path) == b"weights"


def test_a_url_never_creates_a_local_folder(object_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    storage.makedirs("s3://tacotron/never/local")
    storage.write_text("s3://tacotron/never/local/x.txt", "x")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "path, message",
    [
        ("foo://bucket/x", "unknown storage scheme 'foo'"),
        ("s3://no-such-bucket/x", "bucket 'no-such-bucket' does not exist"),
    ],
)
def test_unusable_urls_are_one_line(object_store, path, message):
    with pytest.raises(storage.StorageError, match=message) as error:
        storage.check_writable(path)
    assert "\n" not in str(error.value)


def test_missing_credentials_are_one_line(object_store):
    script = "from tacotron import storage\ntry:\n    storage.check_writable('s3://tacotron/x')\nexcept " \
             "storage.StorageError as e:\n    print(e)"
    variables = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    variables.update(AWS_ENDPOINT_URL=object_store["AWS_ENDPOINT_URL"], AWS_EC2_METADATA_DISABLED="true",
                     AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent")
    result = subprocess.run([sys.executable, "-c", script], env=variables, capture_output=True, text=True,
                            timeout=120, cwd=REPO)
    assert result.stdout.strip().startswith("s3://tacotron/x: "), result.stdout + result.stderr[-2000:]
    assert "credentials" in result.stdout.lower() and len(result.stdout.strip().splitlines()) == 1


def test_a_full_disk_is_one_line_and_leaves_the_old_file(tmp_path):
    with small_disk(tmp_path / "small", "64k") as mount:
        path = str(mount / "metrics.json")
        storage.write_text(path, "old")
        with pytest.raises(storage.StorageError, match="No space left on device") as error:
            storage.write_bytes(path, b"x" * 200_000)
        assert str(error.value).startswith(path)
        assert storage.read_text(path) == "old"
        assert os.listdir(mount) == ["metrics.json"]  # the scratch file is gone
