"""The private Keras APIs the model overrides or reads, each with why no public API does it: a Keras upgrade that
renames or reshapes one fails here, by name, instead of changing training silently."""

import inspect
import json
import os
import subprocess
import sys

import keras
import pytest

# (owner in Keras, attribute, its parameters or None for a plain attribute, where we use it and why)
PRIVATE = [
    ("keras.layers.BatchNormalization", "_moments", ["self", "inputs", "mask"],
     "tacotron.modules.GlobalBatchNormalization: masked statistics across tf.distribute replicas; "
     "`synchronized=True` is TensorFlow-only and ignores masks"),
    ("keras.layers.BatchNormalization", "_reduction_axes", None,
     "tacotron.modules.GlobalBatchNormalization: the axes Keras reduces over"),
    ("keras.layers.Layer", "_trainable_variables", None,
     "tacotron.modules.SavesSeed: a layer's own weights, after which the dropout seed state is saved (Keras saves "
     "no SeedGenerator state)"),
    ("keras.layers.Layer", "_non_trainable_variables", None, "tacotron.modules.SavesSeed, as above"),
]
# Members of the TensorFlow backend's classes, checked in a process with that backend.
PRIVATE_TF = [
    ("keras.src.backend.tensorflow.trainer.TensorFlowTrainer", "_maybe_symbolic_build",
     ["self", "iterator", "data_batch"],
     "tacotron.model.Tacotron: skips Keras' symbolic build, whose strategy.reduce of a dict batch fails under "
     "MultiWorkerMirroredStrategy (keras-team/keras#20329)"),
    ("keras.src.backend.tensorflow.optimizer.TFOptimizer", "_all_reduce_sum_gradients", ["self", "grads_and_vars"],
     "tacotron.optimizers._SumsOnce: LossScaleOptimizer already summed the replicas' gradients"),
]


def resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def check(owner: str, attribute: str, parameters: list[str] | None) -> str | None:
    cls = resolve(owner)
    if parameters is None:
        instance = cls(**({"units": 1} if owner.endswith("Dense") else {}))
        instance.build((1, 3))
        return None if hasattr(instance, attribute) else f"{owner}.{attribute} is gone"
    member = getattr(cls, attribute, None)
    if member is None:
        return f"{owner}.{attribute} is gone"
    found = list(inspect.signature(member).parameters)
    return None if found == parameters else f"{owner}.{attribute} now takes {found}, not {parameters}"


@pytest.mark.parametrize(("owner", "attribute", "parameters", "why"), PRIVATE,
                         ids=[f"{o.rsplit('.', 1)[1]}.{a}" for o, a, _, _ in PRIVATE])
def test_private_keras_api_is_still_there(owner, attribute, parameters, why):
    assert check(owner, attribute, parameters) is None, why


@pytest.mark.slow
def test_private_keras_api_of_the_tensorflow_backend_is_still_there():
    code = ("import json, sys; from tests.test_keras_private import PRIVATE_TF, check; "
            "print(json.dumps([check(o, a, p) for o, a, p, _ in PRIVATE_TF]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    problems = json.loads(result.stdout.strip().splitlines()[-1])
    changed = [(p, why) for p, (*_, why) in zip(problems, PRIVATE_TF, strict=True) if p]
    assert not changed, changed


def test_the_check_notices_a_missing_member():
    assert check("keras.layers.BatchNormalization", "_no_such_method", ["self"]) is not None
    assert keras.__version__  # the check ran against the installed Keras
