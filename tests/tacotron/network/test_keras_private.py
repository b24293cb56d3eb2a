"""tacotron.network.keras_private: every private Keras member it touches is still there with the same signature, nothing
else in the package touches one, and the seed state it saves travels with the weights."""

from __future__ import annotations

import ast
import inspect
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from tacotron.network import keras_private
from tacotron.network.keras_private import PRIVATE
from tacotron.network.model import Tacotron
from tests.tiny_model import TINY, batch

PLAIN = [entry for entry in PRIVATE if not entry[3]]
TENSORFLOW = [entry for entry in PRIVATE if entry[3]]
LIBRARY = pathlib.Path(keras_private.__file__).parent


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


@pytest.mark.parametrize(("owner", "attribute", "parameters", "tensorflow", "user"), PLAIN,
                         ids=[f"{o.rsplit('.', 1)[1]}.{a}" for o, a, *_ in PLAIN])
def test_private_keras_api_is_still_there(owner, attribute, parameters, tensorflow, user):
    assert check(owner, attribute, parameters) is None, f"used by tacotron.network.keras_private.{user}"


@pytest.mark.slow
def test_private_keras_api_of_the_tensorflow_backend_is_still_there():
    code = ("import json; from tests.tacotron.network.test_keras_private import TENSORFLOW, check; "
            "print(json.dumps([check(o, a, p) for o, a, p, *_ in TENSORFLOW]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    problems = json.loads(result.stdout.strip().splitlines()[-1])
    changed = [(p, f"used by tacotron.network.keras_private.{user}") for p, (*_, user) in zip(problems, TENSORFLOW,
                                                                                         strict=True) if p]
    assert not changed, changed


def test_the_check_notices_a_missing_member():
    assert check("keras.layers.BatchNormalization", "_no_such_method", ["self"]) is not None
    assert keras.__version__  # the check ran against the installed Keras


def private_keras_names_used(path: pathlib.Path) -> set[str]:
    """Names of private Keras members that a module overrides (a method def) or reads (an attribute)."""
    listed = {attribute for _, attribute, *_ in PRIVATE}
    keras_private_members = {name for cls in (keras.layers.Layer, keras.layers.BatchNormalization, keras.Model,
                                              keras.optimizers.Optimizer, keras.optimizers.LossScaleOptimizer)
                             for name in dir(cls) if name.startswith("_") and not name.startswith("__")}
    suspects = listed | keras_private_members
    used = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name in suspects:
            used.add(node.name)
        elif isinstance(node, ast.Attribute) and node.attr in suspects:
            used.add(node.attr)
    return used


def test_only_the_fence_touches_private_keras_members():
    outside = {path.name: sorted(names) for path in LIBRARY.rglob("*.py")
               if path.name != "keras_private.py" and (names := private_keras_names_used(path))}
    assert not outside, f"private Keras members outside tacotron/network/keras_private.py: {outside}"
    # And the fence lists every member it touches, so the checks above cover them all.
    assert private_keras_names_used(LIBRARY / "keras_private.py") <= {attribute for _, attribute, *_ in PRIVATE}


def test_the_fence_check_finds_a_stray_override(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text("class Norm(BatchNormalization):\n    def _moments(self, inputs, mask):\n        return 0\n")
    assert private_keras_names_used(stray) == {"_moments"}


def test_dropout_seed_state_travels_with_the_weights(tmp_path):
    model = Tacotron(TINY)
    model(batch(), training=True)  # draws pre-net dropout: the seed states move on from their initial values
    path = str(tmp_path / "ckpt.weights.h5")
    model.save_weights(path)
    restored = Tacotron(TINY)
    restored(batch(), training=False)
    restored.load_weights(path)
    pairs = ((model.decoder, restored.decoder), (model.decoder.prenet, restored.decoder.prenet),
             (model.encoder_prenet, restored.encoder_prenet))
    for trained, loaded in pairs:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.seed.state.value),
                                      keras.ops.convert_to_numpy(trained.seed.state.value))
    assert not np.array_equal(keras.ops.convert_to_numpy(model.decoder.seed.state.value),
                              keras.ops.convert_to_numpy(Tacotron(TINY).decoder.seed.state.value))
