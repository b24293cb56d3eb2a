"""File access for every path a user gives: local paths, s3:// and gs:// URLs (fsspec), with atomic publishing.

Object stores have no rename and no append. A file is published by one upload (a PUT is atomic on S3 and GCS); a
folder by uploading its files and then a completion marker, which readers check; an appended log is rewritten whole.
Local files are written beside their target, flushed, fsynced and renamed into place. Every failure, local or remote,
becomes a StorageError whose one line names the path and the cause.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator

# What the store layer accepts; S3 endpoint and credentials come from the AWS_* variables every AWS client reads.
SCHEMES = ("s3", "gs")
# Written last into a folder published to an object store: the folder is complete once this exists.
COMPLETE_MARKER = "_COMPLETE"
# How long one S3 or GCS request may wait to connect, and then between two reads of its answer: a store that stops
# answering fails that attempt instead of hanging the run.
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 30
# botocore's attempts per request ("standard" mode: 5xx, SlowDown and other throttling, timeouts and dropped
# connections, with jittered exponential backoff). s3fs wraps each call in its own loop of S3FS_TRIES, which alone
# retries a download cut off in its body and throttling that outlasts botocore's attempts. A store that never answers
# fails after at most S3_ATTEMPTS * S3FS_TRIES attempts: 10 * 30 s plus backoff, about 5 minutes.
S3_ATTEMPTS = 5
S3FS_TRIES = 2
# gcsfs tries each GCS request 6 times (its own fixed loop: 5xx, 429, timeouts and dropped connections, with jittered
# exponential backoff up to 32 s); its per-request timeouts are ours above.


class StorageError(Exception):
    """A path cannot be read or written (no space, no permission, no bucket, no credentials, store unreachable)."""


def is_url(path: str) -> bool:
    return "://" in path


def join(base: str, *parts: str) -> str:
    if is_url(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return os.path.join(base, *parts)


def basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] if is_url(path) else os.path.basename(path)


def _fs(path: str):
    """(fsspec filesystem, path inside it) for a URL."""
    import fsspec

    scheme = path.split("://", 1)[0]
    if scheme not in SCHEMES:
        raise StorageError(f"{path}: unknown storage scheme {scheme!r} (use a local path, s3:// or gs://)")
    try:
        if scheme == "gs":
            return fsspec.core.url_to_fs(path, requests_timeout=_gcs_timeout())
        fs, inner = fsspec.core.url_to_fs(path, config_kwargs=_s3_config())
    except (ImportError, ValueError) as e:
        raise StorageError(f"{path}: {e}") from None
    fs.retries = S3FS_TRIES  # s3fs takes the length of its loop as an attribute only, not as an argument
    return fs, inner


def _gcs_timeout():
    """aiohttp's timeouts for each of gcsfs's requests: the same two limits as botocore's."""
    import aiohttp

    return aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S)


def _s3_config() -> dict:
    """botocore's client settings: timeouts and retries, the one place they are set."""
    # botocore reads a user's AWS_RETRY_MODE and AWS_MAX_ATTEMPTS only for what the client config leaves out: they
    # win over these defaults.
    retries: dict = {}
    if "AWS_RETRY_MODE" not in os.environ:
        retries["mode"] = "standard"
    if "AWS_MAX_ATTEMPTS" not in os.environ:
        retries["total_max_attempts"] = S3_ATTEMPTS
    return {"connect_timeout": CONNECT_TIMEOUT_S, "read_timeout": READ_TIMEOUT_S, "retries": retries}


@contextlib.contextmanager
def _errors(path: str) -> Iterator[None]:
    """Any failure of the store or the disk as one StorageError naming `path` and the cause."""
    try:
        yield
    except StorageError:
        raise
    except OSError as e:
        raise StorageError(f"{path}: {cause(e)}") from None
    except Exception as e:
        # botocore, aiohttp and google-auth raise their own classes (no credentials, endpoint unreachable, access
        # denied); any exception inside a file operation here is a failure of that operation.
        raise StorageError(f"{path}: {cause(e)}") from None


def cause(error: BaseException) -> str:
    """The first line of what went wrong, or the system's wording for the errors a user can act on."""
    if isinstance(error, OSError) and error.errno and error.strerror:
        return error.strerror  # without the path, which the message names already
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# --- reading ---------------------------------------------------------------------------------------------------------


def exists(path: str) -> bool:
    if not is_url(path):
        return os.path.exists(path)
    fs, inner = _fs(path)
    with _errors(path):
        return fs.exists(inner)


def isdir(path: str) -> bool:
    if not is_url(path):
        return os.path.isdir(path)
    fs, inner = _fs(path)
    with _errors(path):
        return fs.isdir(inner)


def listdir(path: str) -> list[str]:
    """Names directly inside `path`; [] when it does not exist."""
    if not is_url(path):
        return sorted(os.listdir(path)) if os.path.isdir(path) else []
    fs, inner = _fs(path)
    with _errors(path):
        if not fs.exists(inner):
            return []
        fs.invalidate_cache(inner)
        return sorted(entry.rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(inner, detail=False))


def file_sizes(path: str) -> dict[str, int]:
    """Every file under `path`, at any depth: its path relative to `path` ('/'-separated) -> its size in bytes, in
    sorted order; {} when `path` does not exist."""
    if not is_url(path):
        found = {}
        for folder, _, names in os.walk(path):
            for name in names:
                full = os.path.join(folder, name)
                with _errors(full):
                    found[os.path.relpath(full, path).replace(os.sep, "/")] = os.path.getsize(full)
        return dict(sorted(found.items()))
    fs, inner = _fs(path)
    with _errors(path):
        if not fs.exists(inner):
            return {}
        fs.invalidate_cache(inner)
        root = inner.rstrip("/") + "/"
        return dict(sorted((name[len(root):], int(info.get("size") or 0))
                           for name, info in fs.find(inner, detail=True).items() if name.startswith(root)))


def walk(path: str) -> list[str]:
    """Every file under `path`, at any depth, as a path relative to it ('/'-separated), sorted."""
    return list(file_sizes(path))


def read_bytes(path: str) -> bytes:
    if not is_url(path):
        with _errors(path), open(path, "rb") as f:
            return f.read()
    fs, inner = _fs(path)
    with _errors(path):
        return fs.cat_file(inner)


def read_text(path: str) -> str:
    return read_bytes(path).decode("utf-8")


def get_file(path: str, local: str) -> None:
    """Download (or copy) one file to a local path."""
    if not is_url(path):
        with _errors(path):
            shutil.copyfile(path, local)
        return
    fs, inner = _fs(path)
    with _errors(path):
        fs.get_file(inner, local)


@contextlib.contextmanager
def local_file(path: str) -> Iterator[str]:
    """A local path holding the file at `path` (the path itself when local; a temporary download otherwise)."""
    if not is_url(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="tacotron-") as scratch:
        local = os.path.join(scratch, basename(path))
        get_file(path, local)
        yield local


@contextlib.contextmanager
def local_folder(path: str, names: list[str] | None = None) -> Iterator[str]:
    """A local folder holding the folder at `path` (itself when local; a temporary download of the whole folder, or
    only `names` inside it, otherwise)."""
    if not is_url(path):
        yield path
        return
    fs, inner = _fs(path)
    with tempfile.TemporaryDirectory(prefix="tacotron-") as scratch:
        local = os.path.join(scratch, basename(path) or "folder")
        with _errors(path):
            if not fs.isdir(inner):
                raise FileNotFoundError(errno.ENOENT, "no such folder")
            if names is None:
                fs.get(inner.rstrip("/") + "/", local + "/", recursive=True)
        if names is not None:
            get_entries(path, names, local)
        yield local


def get_entries(path: str, names: list[str], local: str) -> None:
    """Copy the files and folders `names` (relative paths) inside the folder `path`, local or URL, into the local
    folder `local`, keeping their relative paths."""
    for name in names:
        source, target = join(path, name), os.path.join(local, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not is_url(source):
            with _errors(source):
                if os.path.isdir(source):
                    shutil.copytree(source, target, dirs_exist_ok=True)
                else:
                    shutil.copyfile(source, target)
            continue
        fs, inner = _fs(source)
        with _errors(source):
            if fs.isdir(inner):
                fs.get(inner.rstrip("/") + "/", target + "/", recursive=True)
            else:
                fs.get_file(inner, target)


@contextlib.contextmanager
def local_output(path: str) -> Iterator[str]:
    """A local folder to write an output folder into, which replaces the folder at `path` only when the block ends
    without an exception: a staging folder beside it when local (renamed into place), a temporary folder published
    to `path` (publish_folder) for a URL. A failed block leaves the old folder as it was and no staging behind."""
    if not is_url(path):
        staging = path.rstrip("/") + ".partial"
        with _errors(path):
            shutil.rmtree(staging, ignore_errors=True)
            os.makedirs(staging)
        try:
            try:
                yield staging
            except OSError as e:  # the block's own writes into the staging folder: a full disk is this folder's
                raise StorageError(f"{path}: {cause(e)}") from None
            with _errors(path):
                _fsync_tree(staging)
                if os.path.exists(path):
                    shutil.rmtree(path)
                os.replace(staging, path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return
    with tempfile.TemporaryDirectory(prefix="tacotron-") as scratch:
        yield scratch
        publish_folder(scratch, path)


# --- writing ---------------------------------------------------------------------------------------------------------


def makedirs(path: str) -> None:
    """Local folders only: an object store has no folders, and none is ever created locally from a URL."""
    if not is_url(path):
        with _errors(path):
            os.makedirs(path, exist_ok=True)


SCRATCH_PREFIX = ".tmp-"


def scratch_path(path: str) -> str:
    """Where to write a file before `publish_file(scratch, path)`: beside the target when local (same disk, so the
    rename is atomic), in the system's temporary folder when `path` is a URL."""
    # The target's name stays the suffix: some writers check it (Keras wants ".weights.h5").
    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:8]}-{basename(path)}"
    if is_url(path):
        return os.path.join(tempfile.gettempdir(), name)
    return os.path.join(os.path.dirname(path) or ".", name)


def remove_scratch(folder: str) -> list[str]:
    """Remove the scratch files that a killed writer left in the local `folder` (SIGKILL gives it no chance to);
    returns their names. Only for a folder with one writer, which is the caller: another's scratch is in use."""
    if is_url(folder) or not os.path.isdir(folder):
        return []
    left = [name for name in os.listdir(folder) if name.startswith(SCRATCH_PREFIX)]
    for name in left:
        remove(os.path.join(folder, name))
    return left


def _discard(scratch: str) -> None:
    """Remove a local scratch file after a failure, whatever its state: gone already, or never made (a read-only
    disk); the failure being reported is the one that counts."""
    with contextlib.suppress(OSError):
        os.remove(scratch)


def publish_file(local: str, path: str) -> None:
    """Move the finished local file `local` to `path` in one step; `local` is gone afterwards, also on failure."""
    try:
        if not is_url(path):
            with _errors(path):
                with open(local, "rb+") as f:
                    os.fsync(f.fileno())
                os.replace(local, path)
            return
        fs, inner = _fs(path)
        with _errors(path):
            fs.put_file(local, inner)
    finally:
        _discard(local)


def write_bytes(path: str, data: bytes) -> None:
    """Write a whole file atomically: readers see the old content or the new, never a part."""
    if not is_url(path):
        makedirs(os.path.dirname(path) or ".")
    scratch = scratch_path(path)
    try:
        with _errors(path), open(scratch, "wb") as f:
            f.write(data)
            f.flush()
    except StorageError:
        _discard(scratch)
        raise
    publish_file(scratch, path)


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def append_text(path: str, text: str) -> None:
    """Append whole lines to a log file. Locally an append: one that fails (a full disk) is cut back to where it
    began, and a line left torn by a killed writer is ended first, so every line but a torn one stays whole. On an
    object store, which cannot append, the file is rewritten (the logs appended to here are small and written every
    many steps)."""
    if not is_url(path):
        data = memoryview(text.encode("utf-8"))
        # Unbuffered, so a failed append can be cut back: a buffer would retry the rest of the bytes on close.
        with _errors(path), open(path, "a+b", buffering=0) as f:
            start = f.seek(0, os.SEEK_END)
            if start and os.pread(f.fileno(), 1, start - 1) != b"\n":
                data = memoryview(b"\n" + bytes(data))
            try:
                while data:
                    data = data[f.write(data):]
            except OSError:
                f.truncate(start)
                raise
        return
    old = read_text(path) if exists(path) else ""
    write_text(path, old + text)


def copy_file(source: str, path: str) -> None:
    """Copy one file between any two places (local or URL) atomically at the destination."""
    if is_url(path) and not is_url(source):
        # One upload is already atomic on an object store: no local scratch copy first.
        if not os.path.isfile(source):
            raise StorageError(f"{source}: No such file or directory")
        fs, inner = _fs(path)
        with _errors(path):
            fs.put_file(source, inner)
        return
    scratch = scratch_path(path)
    if not is_url(path):
        makedirs(os.path.dirname(path) or ".")
    try:
        if is_url(source) or not os.path.isfile(source):
            get_file(source, scratch)  # a download, or a missing source: named as the source
        else:
            with _errors(path):  # reading a local file that exists hardly fails; writing it (a full disk) names path
                shutil.copyfile(source, scratch)
    except StorageError:
        _discard(scratch)
        raise
    publish_file(scratch, path)


def remove(path: str) -> None:
    """Remove one file; a missing file is not an error."""
    if not is_url(path):
        with _errors(path), contextlib.suppress(FileNotFoundError):
            os.remove(path)
        return
    fs, inner = _fs(path)
    with _errors(path):
        if fs.exists(inner):
            fs.rm_file(inner)


def remove_tree(path: str) -> None:
    if not is_url(path):
        with _errors(path):
            shutil.rmtree(path, ignore_errors=not os.path.exists(path))
        return
    fs, inner = _fs(path)
    with _errors(path):
        if fs.exists(inner):
            fs.rm(inner, recursive=True)


def publish_folder(local: str, path: str) -> None:
    """Replace the folder at `path` by a copy of the local folder `local`, visible only once complete.

    Locally: a copy beside the target, renamed into place. On an object store: the old folder is removed, the files
    are uploaded and COMPLETE_MARKER is written last; `is_complete` tells a finished folder from one cut short.
    """
    if not is_url(path):
        with local_output(path) as staging, _errors(path):
            shutil.copytree(local, staging, dirs_exist_ok=True)
        return
    fs, inner = _fs(path)
    with _errors(path):
        if fs.exists(inner):
            fs.rm(inner, recursive=True)
        fs.put(local.rstrip("/") + "/", inner.rstrip("/") + "/", recursive=True)
        fs.pipe_file(f"{inner.rstrip('/')}/{COMPLETE_MARKER}", b"")


def upload_folder(local: str, path: str) -> None:
    """Copy a local folder's files under `path` (no marker: for callers that mark completion themselves)."""
    if not is_url(path):
        with _errors(path):
            shutil.copytree(local, path, dirs_exist_ok=True)
        return
    fs, inner = _fs(path)
    with _errors(path):
        fs.put(local.rstrip("/") + "/", inner.rstrip("/") + "/", recursive=True)


def is_complete(path: str) -> bool:
    """A folder written by `publish_folder` is all there (locally: it exists under its final name)."""
    return exists(join(path, COMPLETE_MARKER)) if is_url(path) else os.path.isdir(path)


def check_writable(path: str) -> None:
    """Fail early, before anything is written, when `path` cannot be written: a URL whose bucket does not exist or
    whose credentials are missing, a local folder on a read-only mount or without permission."""
    if is_url(path):
        fs, inner = _fs(path)
        bucket = inner.split("/", 1)[0]
        with _errors(path):
            if not fs.exists(bucket):
                raise StorageError(f"{path}: bucket {bucket!r} does not exist (or these credentials cannot see it)")
        return
    folder = os.path.abspath(path)
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.access(folder, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        raise StorageError(f"{path}: {folder} is not writable (permission denied or read-only mount)")


def _fsync_tree(folder: str) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb+") as f:
                os.fsync(f.fileno())
