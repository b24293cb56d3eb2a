"""File work the Kubeflow components share: publishing a trained model_dir, pushing an exported model, and finding
the promoted one. Every folder a user names (checkpoint_root, serving_dir) may be a URL; artifact paths are local."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from tacotron import storage
from tacotron.network.model_dir import newest_checkpoint_entries
from tacotron.quality.gate import METRICS_FILE
from tacotron.serving.export import EXPORT_INFO
from tacotron.training.warm_start import RECORD_FILE


def export_model_dir(model_dir: str, destination: str) -> dict:
    """Copy what evaluation and export need (config, assets, the newest checkpoint, metrics) into the Model artifact;
    the other checkpoints and caches stay in the persistent checkpoint folder. Returns artifact metadata."""
    step, names = newest_checkpoint_entries(model_dir)
    # The warm-start record, when there is one, says which model the weights started from.
    names += [RECORD_FILE] if storage.exists(storage.join(model_dir, RECORD_FILE)) else []
    storage.get_entries(model_dir, names, destination)
    where = model_dir if storage.is_url(model_dir) else os.path.abspath(model_dir)
    return {"step": step, "checkpoints": where}


def push(saved_model: str, evaluation: str, serving_dir: str) -> str:
    """Publish the SavedModel to serving_dir/<step>/ with the evaluation's metrics.json beside it (the next run's
    baseline); an existing version folder is replaced only once the new copy is complete (tacotron.storage)."""
    with open(os.path.join(saved_model, EXPORT_INFO)) as f:
        step = json.load(f)["step"]
    target = storage.join(serving_dir, str(step))
    with tempfile.TemporaryDirectory(prefix="push-") as scratch:
        version = os.path.join(scratch, str(step))
        shutil.copytree(saved_model, version)
        shutil.copyfile(os.path.join(evaluation, METRICS_FILE), os.path.join(version, METRICS_FILE))
        storage.publish_folder(version, target)
    return target


def promoted(serving_dir: str) -> str | None:
    """The version folder a server would serve: the highest-numbered complete one with its metrics (None if none)."""
    versions = sorted((int(name) for name in storage.listdir(serving_dir) if name.isdigit()), reverse=True)
    for version in versions:
        folder = storage.join(serving_dir, str(version))
        if storage.is_complete(folder) and storage.exists(storage.join(folder, METRICS_FILE)):
            return folder
    return None


def gin_flags(gin_params: str) -> list[str]:
    """A component's `gin_params` ("binding; binding", as a pipeline parameter holds them) -> --gin_param flags."""
    return [flag for binding in gin_params.split(";") if binding.strip() for flag in ("--gin_param", binding.strip())]
