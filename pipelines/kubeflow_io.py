"""File work the Kubeflow components share: publishing a trained model_dir and pushing an exported model."""

from __future__ import annotations

import json
import os
import shutil

from tacotron.callbacks import CHECKPOINT_DIR, METRICS_FILE, list_checkpoints
from tacotron.synthesis import ASSETS_DIR
from tacotron.warm_start import RECORD_FILE


def export_model_dir(model_dir: str, destination: str) -> dict:
    """Copy what evaluation and export need (config, assets, the newest checkpoint, metrics) into the Model artifact;
    the other checkpoints and caches stay in the persistent checkpoint folder. Returns artifact metadata."""
    checkpoints = list_checkpoints(model_dir)
    if not checkpoints:
        raise RuntimeError(f"{model_dir} has no complete checkpoint")
    step, weights = checkpoints[-1]
    os.makedirs(os.path.join(destination, CHECKPOINT_DIR), exist_ok=True)
    # The warm-start record, when there is one, says which model the weights started from.
    for name in ("config.gin", "operative_config.gin", METRICS_FILE, RECORD_FILE):
        if os.path.exists(os.path.join(model_dir, name)):
            shutil.copyfile(os.path.join(model_dir, name), os.path.join(destination, name))
    shutil.copytree(os.path.join(model_dir, ASSETS_DIR), os.path.join(destination, ASSETS_DIR), dirs_exist_ok=True)
    stem = weights[: -len(".weights.h5")]
    # Marker after the weights, as the trainer writes them: the copy is complete once the .json exists.
    for source in (weights, stem + ".json"):
        shutil.copyfile(source, os.path.join(destination, CHECKPOINT_DIR, os.path.basename(source)))
    return {"step": step, "checkpoints": os.path.abspath(model_dir)}


def push(saved_model: str, evaluation: str, serving_dir: str) -> str:
    """Copy the SavedModel to serving_dir/<step>/ with the evaluation's metrics.json beside it (the next run's
    baseline); an existing version folder is replaced only once the new copy is complete."""
    with open(os.path.join(saved_model, "export_info.json")) as f:
        step = json.load(f)["step"]
    target = os.path.join(serving_dir, str(step))
    staging = target + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(saved_model, staging)
    shutil.copyfile(os.path.join(evaluation, "metrics.json"), os.path.join(staging, "metrics.json"))
    if os.path.exists(target):
        shutil.rmtree(target)
    os.replace(staging, target)
    return target
