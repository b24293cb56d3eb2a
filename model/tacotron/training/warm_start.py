"""Warm start (fine-tuning): a new run takes another model's weights, not its optimizer state or step counter."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import h5py

from tacotron import storage, text
from tacotron.network.keras_private import weights_file_bytes
from tacotron.network.model_dir import (
    CHECKPOINT_DIR,
    WEIGHTS_SUFFIX,
    ModelError,
    checkpoint_step,
    list_checkpoints,
    vocabulary_file,
)

if TYPE_CHECKING:
    import keras

# What a warm-started model_dir was initialized from. Whether to initialize is decided by the checkpoints (none of
# its own yet); this is what a resumed run, or anyone holding the model later, reads to know where it started.
RECORD_FILE = "warm_start.json"
# Keras writes each object's variables under "<attribute path>/vars/<index>" in a .weights.h5 file; the Tacotron
# keeps its character embedding in the attribute `embedding`.
EMBEDDING = "embedding/vars/0"
# The model's own optimizer; its state is the old run's and must not carry over.
_OPTIMIZER_PREFIX = "optimizer/"


class WarmStartError(Exception):
    """--init_from names no usable checkpoint, or one whose architecture differs: one line, exit code 2."""


@dataclasses.dataclass(frozen=True)
class Source:
    """A checkpoint to initialize from, with the vocabulary its embedding rows follow."""

    checkpoint: str  # a .weights.h5 file
    step: int | None  # the step it was saved at, when its name says so
    vocabulary: tuple[str, ...]


def read_record(model_dir: str) -> dict | None:
    """What model_dir was initialized from (None when it was not warm-started)."""
    path = storage.join(model_dir, RECORD_FILE)
    if not storage.exists(path):
        return None
    return json.loads(storage.read_text(path))


@contextlib.contextmanager
def local_source(init_from: str) -> Iterator[str]:
    """`init_from` as a local path: itself, or for a URL a download of what a warm start reads (its assets and its
    newest checkpoint, or the one checkpoint named), since h5py reads local files only."""
    from tacotron.network.model_dir import ASSETS_DIR, local_model_dir

    if not storage.is_url(init_from):
        yield init_from
        return
    try:
        if not init_from.endswith(WEIGHTS_SUFFIX):
            with local_model_dir(init_from) as local:
                yield local
            return
        folder = init_from.rsplit("/", 1)[0]
        home = folder.rsplit("/", 1)[0] if storage.basename(folder) == CHECKPOINT_DIR else folder
        relative = init_from[len(home) + 1 :]
        with storage.local_folder(home, [ASSETS_DIR, relative]) as local:
            yield os.path.join(local, relative)
    except (storage.StorageError, ModelError) as e:
        raise WarmStartError(f"--init_from {init_from}: {e}") from None


def resolve(init_from: str, model_dir: str) -> Source | None:
    """The checkpoint `init_from` names: a model_dir (its newest loadable checkpoint) or one .weights.h5 file.

    None when model_dir already has checkpoints: a resumed run continues its own progress, and must not fail
    because the model it started from has since moved or rotated its checkpoints away. Reads, never writes.
    """
    if list_checkpoints(model_dir):
        print(f"--init_from ignored: {model_dir} has checkpoints of its own and resumes from them", flush=True)
        return None
    flag = f"--init_from {init_from}"
    if os.path.isdir(init_from):
        candidates = [path for _, path in reversed(list_checkpoints(init_from))]
        if not candidates:
            raise WarmStartError(f"{flag}: no complete checkpoint in {os.path.join(init_from, CHECKPOINT_DIR)}")
        home = init_from
    elif os.path.isfile(init_from):
        if not init_from.endswith(WEIGHTS_SUFFIX):
            raise WarmStartError(f"{flag}: not a model_dir or a .weights.h5 checkpoint")
        candidates = [init_from]
        folder = os.path.dirname(os.path.abspath(init_from))
        home = os.path.dirname(folder) if os.path.basename(folder) == CHECKPOINT_DIR else folder
    else:
        raise WarmStartError(f"{flag}: no such file or directory")

    vocab_path = vocabulary_file(home)
    if not os.path.exists(vocab_path):
        raise WarmStartError(f"{flag}: no {os.path.relpath(vocab_path, home)} in {home}, so its embedding rows "
                             "cannot be matched to characters")
    with open(vocab_path, encoding="utf-8") as f:
        # Read as tacotron.network.model_dir.read_assets reads it: one entry a line, the space included.
        vocabulary = tuple(line.rstrip("\n") for line in f if line.rstrip("\n"))

    problems = []
    for path in candidates:
        # Like restore_latest: a checkpoint cut short by a crash is skipped for the one before it.
        try:
            with h5py.File(path, "r") as f:
                rows = f[EMBEDDING].shape[0] if EMBEDDING in f else None
        except OSError as e:
            problems.append(f"{os.path.basename(path)} is unreadable ({str(e).splitlines()[0]})")
            continue
        if rows is None:
            raise WarmStartError(f"{flag}: {os.path.basename(path)} is not a Tacotron checkpoint (no {EMBEDDING})")
        if rows != text.vocabulary_size(vocabulary):
            raise WarmStartError(f"{flag}: its embedding has {rows} rows but its vocabulary {vocab_path} needs "
                                 f"{text.vocabulary_size(vocabulary)}")
        return Source(os.path.abspath(path), checkpoint_step(os.path.basename(path)), vocabulary)
    raise WarmStartError(f"{flag}: {'; '.join(problems)}")


def embedding_rows(
    old_vocabulary: Sequence[str], new_vocabulary: Sequence[str]
) -> tuple[list[tuple[int, int]], list[str], list[str]]:
    """(new row, old row) for padding, every shared character and the unknown-character bucket (tacotron.text ids);
    then the characters only the new vocabulary has, and those only the old one had."""
    old_ids = {char: i for i, char in enumerate(old_vocabulary)}
    pairs = [(text.PAD_ID, text.PAD_ID)]
    new = []
    for i, char in enumerate(new_vocabulary):
        if char in old_ids:
            pairs.append((1 + i, 1 + old_ids[char]))
        else:
            new.append(char)
    pairs.append((text.oov_id(new_vocabulary), text.oov_id(old_vocabulary)))
    dropped = [char for char in old_vocabulary if char not in set(new_vocabulary)]
    return pairs, new, dropped


def _weights(f: h5py.File) -> dict[str, h5py.Dataset]:
    """The model's floating-point variables. The integer ones (the step counter, dropout seed states) belong to the
    new run: schedules restart at step 0 and TrainConfig.seed still decides the dropout noise."""
    found = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f" and not name.startswith(_OPTIMIZER_PREFIX):
            found[name] = obj

    f.visititems(visit)
    return found


def first_mismatch(checkpoint: dict, model: dict) -> str | None:
    """The first variable (in name order) that the two {name: shape} maps disagree on, as a phrase; None if none.
    Embedding rows are not compared: they follow the vocabulary and are mapped by character."""
    for name in sorted(set(checkpoint) | set(model)):
        if name not in model:
            return f"{name}: in the checkpoint, not in the model"
        if name not in checkpoint:
            return f"{name}: in the model, not in the checkpoint"
        theirs, ours = tuple(checkpoint[name]), tuple(model[name])
        if (theirs[1:] != ours[1:]) if name == EMBEDDING else (theirs != ours):
            return f"{name}: checkpoint {theirs} vs model {ours}"
    return None


def initialize(
    model: keras.Model, source: Source | None, model_dir: str, vocabulary: Sequence[str], start_step: int,
    record: bool = True,
) -> dict | None:
    """Give a built, compiled `model` (restored to `start_step` from model_dir) the weights of `source`.

    Only a run starting at step 0 is initialized; a resumed one keeps its own weights. The optimizer state and the
    step counter stay fresh. Embedding rows of characters both vocabularies share are copied; new characters keep
    their fresh initialization. Writes model_dir/warm_start.json (unless not `record`: a process of a cluster that
    does not write model_dir), and nothing at all before the checks pass. Returns what model_dir was initialized
    from (None when it was not).
    """
    if start_step or source is None:
        if not start_step and record:
            # A run that starts over without --init_from is not warm-started, whatever an earlier attempt was.
            storage.remove(storage.join(model_dir, RECORD_FILE))
        return read_record(model_dir)
    # What the fresh model would save (its step 0, its new optimizer state, its own seeds), with the learned weights
    # replaced by the checkpoint's, edited in memory (an HDF5 file is never written onto a disk that could fill:
    # tacotron.network.keras_private.weights_file_bytes); loading it is Keras's own restore, so every variable lands
    # where Keras puts it.
    merged = io.BytesIO(weights_file_bytes(model))
    with h5py.File(source.checkpoint, "r") as old, h5py.File(merged, "r+") as new:
        theirs, ours = _weights(old), _weights(new)
        mismatch = first_mismatch({k: v.shape for k, v in theirs.items()}, {k: v.shape for k, v in ours.items()})
        if mismatch:
            raise WarmStartError(f"--init_from {source.checkpoint}: a different architecture: {mismatch}")
        for name, dataset in ours.items():
            if name != EMBEDDING:
                dataset[...] = theirs[name][...]
        pairs, new_chars, dropped = embedding_rows(source.vocabulary, vocabulary)
        table = ours[EMBEDDING][...]
        old_table = theirs[EMBEDDING][...]
        for row, old_row in pairs:
            table[row] = old_table[old_row]
        ours[EMBEDDING][...] = table
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "merged" + WEIGHTS_SUFFIX)
        storage.write_bytes(path, merged.getvalue())
        model.load_weights(path)  # Keras loads weights from a path only
    written = {
        "init_from": source.checkpoint,
        "source_step": source.step,
        "shared_characters": len(pairs) - 2,
        "new_characters": new_chars,
        "dropped_characters": dropped,
        "time": time.time(),
    }
    if record:
        storage.write_text(storage.join(model_dir, RECORD_FILE), json.dumps(written))
    shown = ", ".join(repr(c) for c in new_chars[:20]) + (" ..." if len(new_chars) > 20 else "")
    at = f" (step {source.step})" if source.step is not None else ""
    print(
        f"initialized from {source.checkpoint}{at}: weights only, step and optimizer state start "
        f"fresh; embedding rows: {len(pairs) - 2} shared characters copied, {len(new_chars)} new initialized"
        + (f" ({shown})" if new_chars else "")
        + (f", {len(dropped)} of the old vocabulary unused" if dropped else ""),
        flush=True,
    )
    return written

