"""The trained-model folder contract: checkpoint naming, listing and restore, the assets that travel with the
weights, and loading a model_dir for inference. Training, evaluation, export and the Kubeflow artifacts all use it."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from tacotron import features, storage, text
from tacotron.config import ConfigError, Configs, TacotronConfig, read_gin
from tacotron.storage import training_log
from tacotron.text import frontend

if TYPE_CHECKING:
    import keras

# Checkpoints live in model_dir/checkpoints as ckpt-<step>.weights.h5, each complete once its ckpt-<step>.json is
# written (after the weights); the training log beside them is tacotron.storage.training_log's.
CHECKPOINT_DIR = "checkpoints"
WEIGHTS_SUFFIX = ".weights.h5"  # Keras's own suffix for save_weights; it refuses another
MARKER_SUFFIX = ".json"
_CHECKPOINT_NAME = re.compile(r"ckpt-(\d+)" + re.escape(WEIGHTS_SUFFIX) + "$")
# Every setting the model was trained with (tacotron.config.Configs.to_gin).
CONFIG_FILE = "config.gin"
# What a model_dir carries besides checkpoints so that it is usable without the data folder it was trained on: the
# vocabulary of its frontend's symbols, the normalization statistics and the frontend's settings.
ASSETS_DIR = "assets"
VOCABULARY_FILE = "vocabulary"


class ModelError(Exception):
    """The path is not a trained model (no checkpoint, no config, unreadable weights)."""


def list_checkpoints(model_dir: str) -> list[tuple[int, str]]:
    """(step, weights path) of every complete checkpoint, oldest first. A checkpoint is complete once its .json exists,
    which is written after the weights (a kill -9 mid-save leaves no .json, so that checkpoint is ignored)."""
    folder = storage.join(model_dir, CHECKPOINT_DIR)
    names = set(storage.listdir(folder))
    found = []
    for name in names:
        step = checkpoint_step(name)
        if step is not None and marker_of(name) in names:
            found.append((step, storage.join(folder, name)))
    return sorted(found)


def checkpoint_name(step: int) -> str:
    """The weights file of the checkpoint at `step`, inside CHECKPOINT_DIR."""
    return f"ckpt-{step:08d}{WEIGHTS_SUFFIX}"


def checkpoint_step(path: str) -> int | None:
    """The step a checkpoint's weights file was saved at, from its name; None for another file."""
    match = _CHECKPOINT_NAME.search(path)
    return int(match.group(1)) if match else None


def marker_of(weights: str) -> str:
    """The marker written after a checkpoint's weights (a checkpoint without it is incomplete)."""
    return weights[: -len(WEIGHTS_SUFFIX)] + MARKER_SUFFIX


def restore_latest(model: keras.Model, model_dir: str) -> int:
    """Load the newest loadable checkpoint into a built, compiled model; returns its step (0 when there is none)."""
    for step, path in reversed(list_checkpoints(model_dir)):
        try:
            with storage.local_file(path) as local:
                model.load_weights(local)
        except (OSError, ValueError) as e:
            print(f"warning: checkpoint {path} is unreadable ({e}); trying an older one", flush=True)
            continue
        return step
    return 0


def remove_scratch(model_dir: str) -> None:
    """Remove the scratch files a killed trainer left in the model folder and its checkpoints; only for the holder
    of the model folder's lease."""
    for folder in (model_dir, storage.join(model_dir, CHECKPOINT_DIR)):
        for name in storage.remove_scratch(folder):
            print(f"removed {name} from {folder}: a run killed while writing it left it", flush=True)


def write_model_assets(data_dir: str, model_dir: str, frontend_name: str) -> None:
    """Copy the frontend's vocabulary, the normalization statistics and the frontend's settings from the data folder
    into model_dir/assets."""
    target = storage.join(model_dir, ASSETS_DIR)
    vocabulary = os.path.join(data_dir, "transform_fn", "assets", features.vocabulary_name(frontend_name))
    storage.copy_file(vocabulary, storage.join(target, VOCABULARY_FILE))
    storage.copy_file(os.path.join(data_dir, features.NORMALIZATION_FILE),
                      storage.join(target, features.NORMALIZATION_FILE))
    with open(os.path.join(data_dir, features.FRONTEND_FILE), encoding="utf-8") as f:
        described = json.load(f)[frontend_name]
    storage.write_text(storage.join(target, features.FRONTEND_FILE), json.dumps(described, indent=2) + "\n")


@contextlib.contextmanager
def local_model_dir(model_dir: str) -> Iterator[str]:
    """The model_dir as a local folder: itself, or for a URL a download of what loading it needs (config, assets,
    training log and the newest checkpoint, not the older ones)."""
    if not storage.is_url(model_dir):
        yield model_dir
        return
    _, names = newest_checkpoint_entries(model_dir)
    with storage.local_folder(model_dir, names) as local:
        yield local


def newest_checkpoint_entries(model_dir: str) -> tuple[int, list[str]]:
    """The newest complete checkpoint's step, and the entries of model_dir (relative paths) that loading it needs:
    config, assets, the weights and then their marker, and the training log when there is one. The older
    checkpoints, TensorBoard and caches are left out."""
    checkpoints = list_checkpoints(model_dir)
    if not checkpoints or not storage.exists(storage.join(model_dir, CONFIG_FILE)):
        raise ModelError(f"{model_dir!r} is not a tacotron-train model_dir (no config.gin or no complete checkpoint)")
    step, weights = checkpoints[-1]
    relative = f"{CHECKPOINT_DIR}/{storage.basename(weights)}"
    names = [CONFIG_FILE, ASSETS_DIR, relative, marker_of(relative)]
    log = training_log.FILE
    return step, names + ([log] if storage.exists(storage.join(model_dir, log)) else [])


def vocabulary_file(model_dir: str) -> str:
    return os.path.join(model_dir, ASSETS_DIR, VOCABULARY_FILE)


def recorded_frontend(model_dir: str) -> dict[str, str]:
    """The frontend settings a model was trained with (tacotron.text.frontend.Frontend.describe)."""
    path = os.path.join(model_dir, ASSETS_DIR, features.FRONTEND_FILE)
    if not os.path.exists(path):
        raise ModelError(f"{model_dir!r} lacks {ASSETS_DIR}/{features.FRONTEND_FILE} (trained by an older version?)")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@dataclasses.dataclass
class LoadedModel:
    """A Tacotron with its newest checkpoint loaded, and what turns text into its input and its output into audio."""

    model: object  # tacotron.network.model.Tacotron
    step: int
    model_dir: str
    vocabulary: tuple[str, ...]  # the frontend's symbols, in id order
    mel_mean: np.ndarray
    mel_std: np.ndarray
    linear_mean: np.ndarray
    linear_std: np.ndarray
    configs: Configs = dataclasses.field(default_factory=Configs)  # what the model was trained with (config.gin)

    @property
    def config(self) -> TacotronConfig:
        return self.model.config


def read_assets(model_dir: str) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """The vocabulary (as tacotron.dataset.inspect_data reads it) and the normalization statistics."""
    vocab_path = vocabulary_file(model_dir)
    norm_path = os.path.join(model_dir, ASSETS_DIR, features.NORMALIZATION_FILE)
    for path in (vocab_path, norm_path):
        if not os.path.exists(path):
            raise ModelError(f"{model_dir!r} lacks {os.path.relpath(path, model_dir)} (trained by an older version?)")
    with open(vocab_path, encoding="utf-8") as f:
        vocabulary = tuple(line.rstrip("\n") for line in f if line.rstrip("\n"))
    with open(norm_path) as f:
        normalization = {k: np.asarray(v, np.float32) for k, v in json.load(f).items()}
    return vocabulary, normalization


def load_model(model_dir: str, gin_params: tuple[str, ...] = ()) -> LoadedModel:
    """Rebuild the model from model_dir/config.gin (with `gin_params` over it, e.g. synthesis settings) and load its
    newest checkpoint (no optimizer state). Gin's global bindings are left as they are."""
    from tacotron.network.model import Tacotron

    if not os.path.isdir(model_dir):
        raise ModelError(f"{model_dir!r} is not a directory")
    config_path = os.path.join(model_dir, CONFIG_FILE)
    checkpoints = list_checkpoints(model_dir)
    if not os.path.exists(config_path) or not checkpoints:
        raise ModelError(f"{model_dir!r} is not a tacotron-train model_dir (no config.gin or no complete checkpoint)")
    vocabulary, norm = read_assets(model_dir)
    try:
        with open(config_path, encoding="utf-8") as f:
            configs = read_gin(f.read(), gin_params)
        frontend.Frontend(configs.model.frontend).check_matches(recorded_frontend(model_dir), model_dir)
    except (ConfigError, frontend.FrontendError) as e:
        raise ModelError(str(e)) from None
    configs = dataclasses.replace(
        configs, model=dataclasses.replace(configs.model, vocab_size=text.vocabulary_size(vocabulary)))
    model = Tacotron(configs.model, configs.loss)
    model(model.dummy_inputs(), training=False)
    step, path = checkpoints[-1]
    try:
        with warnings.catch_warnings():
            # Checkpoints also hold the optimizer's state, which an inference model does not have.
            warnings.filterwarnings("ignore", message=".*optimizer.*")
            model.load_weights(path)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load {path}: {str(e).splitlines()[0]}") from None
    return LoadedModel(
        model, step, model_dir, vocabulary, norm["mel_mean"], norm["mel_std"], norm["linear_mean"], norm["linear_std"],
        configs,
    )
