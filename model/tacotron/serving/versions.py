"""Numbered version folders, as TF Serving reads them: a serving folder's newest complete SavedModel, and a model that
follows it."""

from __future__ import annotations

import contextlib
import dataclasses
import threading

from tacotron import storage
from tacotron.serving.export import ExportedModel, ExportError, is_saved_model


@dataclasses.dataclass(frozen=True)
class Version:
    number: int | None  # None: --model named a SavedModel itself, not a folder of versions
    path: str


def newest_version(path: str) -> Version | None:
    """The SavedModel at `path` itself, or the highest-numbered complete SavedModel in it (None if it has none)."""
    if is_saved_model(path):
        return Version(None, path)
    numbers = sorted((int(name) for name in storage.listdir(path) if name.isdigit()), reverse=True)
    for number in numbers:
        folder = storage.join(path, str(number))
        if is_saved_model(folder):
            return Version(number, folder)
    return None


def load_version(version: Version) -> ExportedModel:
    """A version loaded for serving and warmed up: the first call traces the serving function (seconds), which no
    request should wait for. A URL is downloaded first; the model is in memory once loaded."""
    with storage.local_folder(version.path) as local:
        model = ExportedModel(local)
    model(["Hello."])
    return model


class FollowedModel:
    """The newest version of a serving folder, swapped for a newer one when it appears (requests in flight finish on
    the version they started with)."""

    def __init__(self, path: str):
        self.path = path
        version = newest_version(path)
        if version is None:
            raise ExportError(f"--model {path!r} holds no SavedModel: neither a tacotron-export output nor numbered "
                              "version folders of them")
        self.version = version
        self.model = load_version(version)
        self._refused: set[int] = set()
        self._lock = threading.Lock()

    def current(self) -> tuple[Version, ExportedModel]:
        with self._lock:
            return self.version, self.model

    def refresh(self) -> Version | None:
        """Load a newer version if the folder has one; the version now served when it changed, else None. A version
        that fails to load is skipped (the served one stays) and reported by the ExportError raised."""
        if self.version.number is None:
            return None
        with contextlib.suppress(storage.StorageError):
            newest = newest_version(self.path)
            if (newest is None or newest.number is None or newest.number <= self.version.number
                    or newest.number in self._refused):
                return None
            try:
                model = load_version(newest)
            except ExportError:
                self._refused.add(newest.number)  # said once, not at every poll
                raise
            with self._lock:
                self.version, self.model = newest, model
            return newest
        return None
