"""tacotron.storage on a flaky S3 API (tests/flaky_store.py in front of moto's server): 5xx answers, timeouts and
connections dropped mid-upload make it slower, never wrong."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest
import s3fs

from tacotron import storage
from tests.flaky_store import FlakyStore

# Retries wait out botocore's backoff and the client's timeouts: about a minute in all, so not in `make test-fast`.
pytestmark = pytest.mark.slow

FAULTS = ("503", "500", "timeout", "drop")
# The client's read timeout here (storage.READ_TIMEOUT_S is 30 s): how long a request the store holds takes to fail.
READ_TIMEOUT_S = 1


@pytest.fixture
def flaky(object_store, monkeypatch) -> Iterator[FlakyStore]:
    """The session's S3 server behind a FlakyStore, which every storage call of the test goes through."""
    with FlakyStore(object_store["AWS_ENDPOINT_URL"]).running() as store:
        monkeypatch.setenv("AWS_ENDPOINT_URL", store.url)
        monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
        monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
        monkeypatch.setattr(storage, "READ_TIMEOUT_S", READ_TIMEOUT_S)
        # fsspec reuses a filesystem made with the same arguments, and its client would still talk to the server.
        s3fs.S3FileSystem.clear_instance_cache()
        yield store
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def server(object_store) -> s3fs.S3FileSystem:
    """The S3 server itself, past the proxy: what the store really holds."""
    return s3fs.S3FileSystem(endpoint_url=object_store["AWS_ENDPOINT_URL"], key=object_store["AWS_ACCESS_KEY_ID"],
                             secret=object_store["AWS_SECRET_ACCESS_KEY"], skip_instance_cache=True)


@pytest.fixture
def root() -> str:
    return f"s3://tacotron/flaky-{uuid.uuid4().hex[:8]}"


def held(server: s3fs.S3FileSystem, path: str) -> bytes | None:
    key = path.removeprefix("s3://")
    server.invalidate_cache()
    return server.cat_file(key) if server.exists(key) else None


@pytest.mark.parametrize("kind", FAULTS)
def test_faults_on_uploads_are_retried_and_the_objects_are_whole(flaky, server, root, kind, tmp_path):
    data = os.urandom(300_000)
    local = tmp_path / "local.bin"
    local.write_bytes(data)
    flaky.fail(kind)
    storage.write_bytes(f"{root}/written.bin", data)
    flaky.fail(kind)
    storage.copy_file(str(local), f"{root}/copied.bin")
    flaky.fail(kind)
    storage.append_text(f"{root}/log.txt", "one\n")
    assert flaky.served[kind] == 3
    assert held(server, f"{root}/written.bin") == data and held(server, f"{root}/copied.bin") == data
    assert held(server, f"{root}/log.txt") == b"one\n"


@pytest.mark.parametrize("kind", FAULTS)
def test_faults_on_reads_are_retried(flaky, root, kind):
    data = os.urandom(300_000)
    path = f"{root}/object.bin"
    storage.write_bytes(path, data)
    flaky.fail(kind, methods=("HEAD",))
    assert storage.exists(path)
    flaky.fail(kind, methods=("GET",), path_contains="/object.bin")
    assert storage.read_bytes(path) == data  # a "drop" here cuts the download off half-way through its body
    flaky.fail(kind, methods=("GET",), path_contains="list-type")
    assert storage.listdir(root) == ["object.bin"]
    assert flaky.served[kind] == 3


# Faults served before one write gives up, with AWS_MAX_ATTEMPTS=2: botocore's 2 attempts, twice for what s3fs's own
# loop of storage.S3FS_TRIES retries too (SlowDown, a timeout). A dropped connection is resent once more by aiohttp (a
# PUT is idempotent); it then reaches s3fs as a closed connection, which s3fs retries (8), or, when the reset came
# while the body was being sent, as a connection error, which it does not (4).
@pytest.mark.parametrize("kind, least, most", [("503", 4, 4), ("500", 2, 2), ("timeout", 4, 4), ("drop", 4, 8)])
def test_a_store_that_keeps_failing_is_one_line_in_bounded_time(flaky, server, root, monkeypatch, kind, least, most):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # a user's setting wins over storage.S3_ATTEMPTS
    path = f"{root}/never.bin"
    flaky.fail(kind, count=1000)
    start = time.monotonic()
    with pytest.raises(storage.StorageError) as error:
        storage.write_bytes(path, os.urandom(300_000))
    # A store that never answers ("timeout") still ends: 4 attempts of READ_TIMEOUT_S each, and backoff.
    assert time.monotonic() - start < 60
    message = str(error.value)
    assert message.startswith(f"{path}: ") and len(message) > len(path) + 2 and "\n" not in message, message
    assert least <= flaky.served[kind] <= most, message
    assert held(server, path) is None


def test_without_user_settings_a_request_is_tried_s3_attempts_times(flaky, root):
    path = f"{root}/never.bin"
    flaky.fail("500", count=1000)
    with pytest.raises(storage.StorageError, match="internal error"):
        storage.write_bytes(path, b"x")
    assert flaky.served["500"] == storage.S3_ATTEMPTS


def test_a_dropped_upload_never_leaves_a_half_object(flaky, server, root, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    old, new = os.urandom(300_000), os.urandom(300_000)
    storage.write_bytes(f"{root}/ckpt.bin", old)
    (tmp_path / "new.bin").write_bytes(new)
    # Every upload cut off half-way: the proxy has passed half of each body on to the server.
    flaky.fail("drop", count=1000)
    with pytest.raises(storage.StorageError):
        storage.write_bytes(f"{root}/ckpt.bin", new)
    with pytest.raises(storage.StorageError):
        storage.copy_file(str(tmp_path / "new.bin"), f"{root}/fresh.bin")
    assert flaky.served["drop"] > 0
    assert held(server, f"{root}/ckpt.bin") == old and held(server, f"{root}/fresh.bin") is None

    export = tmp_path / "export"
    (export / "variables").mkdir(parents=True)
    (export / "saved_model.pb").write_bytes(new)
    (export / "variables" / "variables.data").write_bytes(old)
    target = f"{root}/export"
    # Uploads of the folder's files dropped, then only the marker's: either way the folder is not complete.
    for path_contains in ("/export/", storage.COMPLETE_MARKER):
        flaky.heal()
        flaky.fail("drop", count=1000, path_contains=path_contains)
        with pytest.raises(storage.StorageError):
            storage.publish_folder(str(export), target)
        flaky.heal()
        assert not storage.is_complete(target)
    assert held(server, f"{target}/saved_model.pb") == new  # the files went up; the marker did not
    storage.publish_folder(str(export), target)
    assert storage.is_complete(target)
