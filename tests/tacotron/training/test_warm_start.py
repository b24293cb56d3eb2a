"""Warm start (--init_from): weights carried over, step and optimizer fresh, embedding rows matched by character."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil

import h5py
import keras
import numpy as np
import pytest

from tacotron import dataset, text
from tacotron.cli.train import main
from tacotron.config import TacotronConfig, parse_gin
from tacotron.network.model import Tacotron
from tacotron.network.model_dir import write_model_assets
from tacotron.training import warm_start
from tacotron.training.callbacks import Checkpointer, StepCounter
from tacotron.training.optimizers import make_optimizer
from tests.training import SMALL, checkpoint_steps, rows, train

# Beam jobs, trainings or whole pipelines in subprocesses: not in `make test-fast`.
pytestmark = pytest.mark.slow

SOURCE_STEP = 7


def tiny_config() -> TacotronConfig:
    """The architecture `--gin_file tiny` trains, so that the command line accepts checkpoints made here."""
    return parse_gin(["tiny"], []).model


def build(vocabulary, optimizer: keras.optimizers.Optimizer | None = None) -> Tacotron:
    """A model as tacotron-train has it before restoring: built, compiled, optimizer state created."""
    model = Tacotron(dataclasses.replace(tiny_config(), vocab_size=text.vocabulary_size(vocabulary)))
    model(model.dummy_inputs(), training=False)
    model.compile(optimizer=optimizer or make_optimizer("adam", 1e-3, 1.0, 1))
    model.optimizer.build(model.trainable_variables)
    return model


@pytest.fixture(scope="module")
def source(sample_data, tmp_path_factory):
    """A model_dir as a run that reached step 7 leaves it (checkpoint, assets), made in-process without training: a
    step counter and optimizer moments that are not fresh, so that carrying either over would show."""
    vocabulary = dataset.inspect_data(str(sample_data)).vocabulary
    keras.utils.set_random_seed(1)
    # A plain Adam, which can take a step eagerly (the trainer's loss-scaling wrapper cannot on JAX); the optimizer's
    # state is not carried over, so its kind does not matter.
    model = build(vocabulary, keras.optimizers.Adam())
    model.step.assign(SOURCE_STEP)
    rng = np.random.default_rng(0)
    model.optimizer.apply([rng.normal(size=v.shape).astype("float32") for v in model.trainable_variables])
    model_dir = tmp_path_factory.mktemp("source")
    checkpointer = Checkpointer(str(model_dir), StepCounter(SOURCE_STEP), 1, 1)
    checkpointer.set_model(model)
    os.makedirs(checkpointer.folder)
    weights = checkpointer.save()
    write_model_assets(str(sample_data), str(model_dir), "phonemes")
    return model_dir, pathlib.Path(weights), vocabulary


def datasets(path) -> dict[str, np.ndarray]:
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: found.update({name: obj[...]}) if isinstance(obj, h5py.Dataset) else None)
    return found


def test_round_trip_takes_the_weights_and_leaves_step_and_optimizer_fresh(source, tmp_path):
    model_dir, weights, vocabulary = source
    model = build(vocabulary)
    model.save_weights(tmp_path / "fresh.weights.h5")
    resolved = warm_start.resolve(str(model_dir), str(tmp_path / "new"))
    assert resolved.checkpoint == str(weights) and resolved.step == SOURCE_STEP

    record = warm_start.initialize(model, resolved, str(tmp_path / "new"), vocabulary, 0)

    assert record["init_from"] == str(weights) and record["shared_characters"] == len(vocabulary)
    assert warm_start.read_record(str(tmp_path / "new")) == record
    model.save_weights(tmp_path / "after.weights.h5")
    old, fresh, after = (datasets(p) for p in (weights, tmp_path / "fresh.weights.h5", tmp_path / "after.weights.h5"))
    # The source's step and optimizer state are not fresh ones, so that carrying them over would show.
    assert old["vars/0"] == SOURCE_STEP
    assert any(np.any(v != 0) for n, v in old.items() if n.startswith("optimizer/") and v.dtype.kind == "f")
    assert set(after) == set(fresh)
    for name, value in after.items():
        # The learned weights are the checkpoint's; the step, seed states and optimizer are the fresh model's.
        expected = old[name] if value.dtype.kind == "f" and not name.startswith("optimizer/") else fresh[name]
        np.testing.assert_array_equal(value, expected, err_msg=name)
    assert int(model.step.numpy()) == 0 and int(model.optimizer.iterations.numpy()) == 0


def test_a_different_vocabulary_copies_shared_rows_and_initializes_new_ones(source, tmp_path, capsys):
    model_dir, weights, old_vocabulary = source
    # Another corpus: two characters gone, four new ones, and another frequency order.
    vocabulary = tuple(reversed(old_vocabulary[2:])) + ("#", "%", "&", "+")
    model = build(vocabulary)
    fresh = model.embedding.embeddings.numpy()

    record = warm_start.initialize(model, warm_start.resolve(str(weights), str(tmp_path)), str(tmp_path), vocabulary, 0)

    table = model.embedding.embeddings.numpy()
    old_table = datasets(weights)[warm_start.EMBEDDING]
    assert table.shape == (len(vocabulary) + 2, old_table.shape[1]) != old_table.shape
    for i, char in enumerate(vocabulary):
        expected = old_table[1 + old_vocabulary.index(char)] if char in old_vocabulary else fresh[1 + i]
        np.testing.assert_array_equal(table[1 + i], expected, err_msg=repr(char))
    np.testing.assert_array_equal(table[text.PAD_ID], old_table[text.PAD_ID])
    np.testing.assert_array_equal(table[text.oov_id(vocabulary)], old_table[text.oov_id(old_vocabulary)])
    shared = len(old_vocabulary) - 2
    assert (record["shared_characters"], record["new_characters"]) == (shared, ["#", "%", "&", "+"])
    assert record["dropped_characters"] == list(old_vocabulary[:2])
    assert (f"{shared} shared characters copied, 4 new initialized ('#', '%', '&', '+'), 2 of the old vocabulary "
            "unused") in capsys.readouterr().out


def test_command_line_warm_start_then_a_retry_resumes_its_own_checkpoint(source, sample_data, tmp_path, capsys):
    model_dir = tmp_path / "model"
    result = train(sample_data, model_dir, "--steps", "2", "--init_from", str(source[0]))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"initialized from {source[1]} (step {SOURCE_STEP})" in result.stdout
    assert f"{len(source[2])} shared characters copied, 0 new initialized" in result.stdout
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["start_step"] == 0 and summary["initialized_from"] == str(source[1])
    # The step counter and the optimizer started over: step 2 is saved as step 2, in the warmup's second step
    # (4 warmup steps to 1e-3, as in test_train).
    assert checkpoint_steps(model_dir) == [2]
    assert [r["learning_rate"] for r in rows(model_dir) if "loss" in r] == [pytest.approx(1e-3 * 3 / 4, rel=1e-3)]
    record = json.loads((model_dir / warm_start.RECORD_FILE).read_text())

    # A retried pod (the same calls train() makes, in-process to save a subprocess): its own checkpoint wins, the
    # model it started from may be gone by now, and the record still says where its weights came from.
    assert warm_start.resolve(str(tmp_path / "gone"), str(model_dir)) is None
    assert "--init_from ignored" in capsys.readouterr().out
    assert warm_start.initialize(None, None, str(model_dir), source[2], 2) == record


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("nothing", "no such file or directory"),
        ("no_checkpoints", "no complete checkpoint in"),
        ("other_architecture", "a different architecture: decoder/attention/query_layer/vars/0: checkpoint (128, 64) "
                               "vs model (96, 64)"),
    ],
)
def test_bad_init_from_is_one_line_and_writes_nothing(case, message, source, sample_data, tmp_path, capsys):
    init_from, args = tmp_path / "nowhere", []
    if case == "no_checkpoints":
        init_from.mkdir()
        shutil.copytree(source[0] / "assets", init_from / "assets")
    elif case == "other_architecture":
        init_from, args = source[0], ["--gin_param", "TacotronConfig.attention_rnn_units = 96"]
    model_dir = tmp_path / "model"
    # tacotron-train's main in-process: the architecture check needs a model build, which costs a subprocess a minute
    # of eager compiles on 2 busy cores and this process a few seconds.
    code = main(["--data", str(sample_data), "--model_dir", str(model_dir), *SMALL, *args, "--steps", "2",
                 "--init_from", str(init_from)])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if line.startswith("tacotron-train:")]
    assert errors == lines[-1:] and lines[-1].startswith("tacotron-train: error: --init_from "), lines
    assert message in lines[-1], lines
    assert not model_dir.exists()


def test_a_checkpoint_without_its_vocabulary_is_refused(source, tmp_path):
    (tmp_path / "checkpoints").mkdir()
    shutil.copy(source[1], tmp_path / "checkpoints")
    with pytest.raises(warm_start.WarmStartError, match="cannot be matched to characters"):
        warm_start.resolve(str(tmp_path / "checkpoints" / source[1].name), str(tmp_path / "new"))
