"""Compare-and-swap on one small file: create it only if absent, replace it only if unchanged since it was read.

What the one-writer lease stands on. Each store's own primitive, never a read followed by a write: S3's conditional
writes (If-None-Match: * to create, If-Match on the ETag to replace), GCS's generation preconditions
(ifGenerationMatch), and on a local or mounted folder an flock of the folder around read, compare and rename (the
kernel drops the lock with its holder, so a killed process leaves none behind). A store that refuses the condition is
an error, not a reason to write unconditionally.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid

from tacotron import storage
from tacotron.storage import StorageError

# What S3 answers when a condition does not hold (412), or when a concurrent conditional write to the same key won
# (409); anything else is a failure of the store.
_S3_LOST = ("PreconditionFailed", "ConditionalRequestConflict")
_S3_REFUSED = ("NotImplemented", "InvalidArgument")


class ConditionUnsupported(StorageError):
    """The store does not honour conditional writes (an old S3-compatible server)."""


def read(path: str) -> tuple[bytes, str] | None:
    """(content, version) of the file, or None when there is none. The version is what `replace` compares."""
    if not storage.is_url(path):
        with storage._errors(path):
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                return None
        return data, _digest(data)
    scheme = path.split("://", 1)[0]
    return _s3_read(path) if scheme == "s3" else _gcs_read(path)


def create(path: str, data: bytes) -> str | None:
    """Write `data` only if `path` does not exist; its version, or None when another writer had created it."""
    return _write(path, data, None)


def replace(path: str, data: bytes, version: str) -> str | None:
    """Write `data` only if `path` is still at `version`; the new version, or None when it changed or is gone."""
    return _write(path, data, version)


def remove(path: str, version: str) -> bool:
    """Delete a local file only if it is still at `version`; whether it was deleted. (An object store keeps what its
    last writer left: deleting there cannot be made conditional on every S3-compatible store.)"""
    with _locked(path):
        current = read(path)
        if current is None or current[1] != version:
            return False
        storage.remove(path)
    return True


def _write(path: str, data: bytes, version: str | None) -> str | None:
    if not storage.is_url(path):
        return _local_write(path, data, version)
    scheme = path.split("://", 1)[0]
    return _s3_write(path, data, version) if scheme == "s3" else _gcs_write(path, data, version)


# --- a local or mounted folder -----------------------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def _locked(path: str):
    # The folder itself is what is locked: a lock file would be left behind, and unlinking one while another process
    # waits on it lets two processes each hold a lock on a different file of the same name.
    folder = os.path.dirname(path) or "."
    storage.makedirs(folder)
    with storage._errors(path):
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing drops the lock


def _local_write(path: str, data: bytes, version: str | None) -> str | None:
    with _locked(path):
        current = read(path)
        if (current is None) != (version is None) or (current is not None and current[1] != version):
            return None
        storage.write_bytes(path, data)  # beside, fsynced, renamed: readers outside the lock see old or new
    return _digest(data)


# --- S3 ----------------------------------------------------------------------------------------------------------


def _s3_code(error: BaseException) -> str:
    for candidate in (error, error.__cause__):
        response = getattr(candidate, "response", None)
        if response:
            return str(response.get("Error", {}).get("Code", ""))
    return ""


def _s3_read(path: str) -> tuple[bytes, str] | None:
    from fsspec.asyn import sync

    fs, inner = storage._fs(path)
    bucket, key = inner.split("/", 1)

    async def get() -> tuple[bytes, str]:
        # Body and ETag of one response: the bytes are those of the version the ETag names.
        answer = await fs._call_s3("get_object", Bucket=bucket, Key=key)
        async with answer["Body"] as stream:
            return await stream.read(), answer["ETag"]

    with storage._errors(path):
        try:
            return sync(fs.loop, get)
        except FileNotFoundError:
            return None


def _s3_write(path: str, data: bytes, version: str | None) -> str | None:
    fs, inner = storage._fs(path)
    bucket, key = inner.split("/", 1)
    condition = {"IfNoneMatch": "*"} if version is None else {"IfMatch": version}
    try:
        answer = fs.call_s3("put_object", Bucket=bucket, Key=key, Body=data, **condition)
    except Exception as e:
        code = _s3_code(e)
        if code in _S3_LOST:
            return None
        if code in _S3_REFUSED:
            raise ConditionUnsupported(f"{path}: the store refused a conditional write ({code}); the one-writer "
                                       "lease needs S3 conditional writes (If-None-Match, If-Match)") from None
        with storage._errors(path):
            raise
    finally:
        fs.invalidate_cache(inner)
    return answer["ETag"]


# --- GCS ---------------------------------------------------------------------------------------------------------


def _gcs_read(path: str) -> tuple[bytes, str] | None:
    fs, inner = storage._fs(path)
    bucket, key = inner.split("/", 1)
    with storage._errors(path):
        try:
            # One request: the bytes and the generation they are (a second request could meet a newer one).
            headers, data = fs.call("GET", "b/{}/o/{}", bucket, key, alt="media")
        except FileNotFoundError:
            return None
    return data, headers["X-Goog-Generation"]


def _gcs_write(path: str, data: bytes, version: str | None) -> str | None:
    fs, inner = storage._fs(path)
    bucket, key = inner.split("/", 1)
    # A multipart upload (the object's name in a JSON part, then its bytes): GCS honours the precondition on every
    # upload type, but fake-gcs-server, the tests' emulator, only on this one.
    boundary = uuid.uuid4().hex
    body = b"".join([f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
                     json.dumps({"name": key}).encode(),
                     f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n".encode(),
                     data, f"\r\n--{boundary}--".encode()])
    try:
        meta = fs.call("POST", f"{fs._location}/upload/storage/v1/b/{bucket}/o", uploadType="multipart",
                       ifGenerationMatch=version or "0", data=body, json_out=True,
                       headers={"Content-Type": f"multipart/related; boundary={boundary}"})
    except FileExistsError:  # gcsfs's name for HTTP 412, a precondition that did not hold
        return None
    except Exception:
        with storage._errors(path):
            raise
    finally:
        fs.invalidate_cache(inner)
    return str(meta["generation"])
