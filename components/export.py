"""Export component: `tacotron-export` to a SavedModel artifact, pushed to a serving folder with its metrics."""

from kfp.dsl import Artifact, Input, Model, Output


def export(
    model: Input[Model],
    evaluation: Input[Artifact],
    saved_model: Output[Model],
    serving_dir: str = "",
) -> str:
    """Returns where the model was pushed: serving_dir/<step> (a TF Serving-style version folder), or ""."""
    import os
    import subprocess
    import sys

    from components.artifacts import push
    from tacotron.serving.export import ExportError
    from tacotron.serving.validate import validate_saved_model

    # Its own process: the SavedModel needs Keras on the TensorFlow backend, and this one may already have imported
    # Keras on another (KERAS_BACKEND=jax in the task's environment) before the export could choose.
    command = [sys.executable, "-m", "tacotron.cli.export", "--verbose", "--model_dir", model.path, "--output",
               saved_model.path]
    code = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": "tensorflow"}).returncode
    if code != 0:
        raise RuntimeError(f"tacotron-export exited with {code} (see the log above)")
    # Infra validation before the push, as TFX's InfraValidator: a model TF Serving cannot load never reaches serving.
    try:
        canary = validate_saved_model(saved_model.path)
    except ExportError as e:
        raise RuntimeError(f"not pushed: {e}") from None
    print(f"validated: the canary sentence ran through TF Serving's session loader ({canary['seconds']:.2f} s of "
          "audio)", flush=True)
    return push(saved_model.path, evaluation.path, serving_dir) if serving_dir else ""
