"""tacotron-evaluate: teacher-forced losses and free-running synthesis quality on the eval split, with a report."""

from __future__ import annotations

import json
import os
import re

import numpy as np

from tacotron import storage
from tacotron.network.model_dir import ModelError
from tacotron.quality import listening
from tacotron.storage import training_log

# Teacher-forced: the model reads the recorded frames, as in training.
TEACHER_FORCED = ("loss", "mel_loss", "linear_loss", "stop_loss", "attention_loss", "stop_accuracy",
                  "text_swap_mel_loss", "text_reliance")
# Free-running: the model reads its own frames from the go frame on, as when it is used.
FREE_RUNNING = (
    "sentence_identification", "gv_ratio", "spectral_detail_ratio", "mcd_dtw_db", "diagonality", "focus",
    "alignment_score", "length_ratio", "failure_rate",
)
# What metrics.json keeps of each utterance.
ROW_FIELDS = ("id", "text", *listening.AVERAGED, "stop_accuracy", "stopped", "true_frames", "predicted_frames",
              "identified", "margin", "nearest", "unseen_words")


class EvaluationError(Exception):
    """Bad --data / --model_dir / flags; reported as one line, exit code 2."""


def _numpy(x) -> np.ndarray:
    from keras import ops

    return np.asarray(ops.convert_to_numpy(x))


def _fill(values: np.ndarray, size: int) -> np.ndarray:
    """A batch filled up to `size` rows with copies of its first row."""
    if len(values) >= size:
        return values
    return np.concatenate([values, np.repeat(values[:1], size - len(values), axis=0)])


def evaluate(
    data_dir: str, model_dir: str, output_dir: str, batch_size: int = 16, gin_params: tuple = (),
    held_out: str | None = None,
) -> tuple[dict, list[dict]]:
    """Evaluate the newest checkpoint in model_dir on the eval split of data_dir (and on a held-out set of unseen
    words, tacotron.quality.held_out, when given), writing per utterance alignment and mel PNGs and predicted/recorded
    WAVs under output_dir/utterances. Returns (metrics, report entries)."""
    from tacotron.serving.inference import Synthesizer

    loaded, info = _load(model_dir, data_dir, gin_params)
    audio_config, synthesis = loaded.configs.audio, loaded.configs.synthesis
    # One synthesizer for the eval split and the held-out set: its compiled programs are built once.
    synthesizer = Synthesizer(loaded, synthesis, audio_config)
    split = "eval" if len(info.n_frames["eval"]) else "train"
    page, teacher_forced = _score(synthesizer, _batches(info, split, batch_size, loaded), batch_size)
    if not page:
        raise EvaluationError(f"the {split} split of {data_dir!r} has no utterances that fit the model's buckets")
    free_running, identification = listening.summarize(page, audio_config)
    _mark_unseen_words(page, data_dir, split, identification)
    rows = _write_utterance_files(page, os.path.join(output_dir, "utterances"), loaded)
    teacher_forced["stop_accuracy"] = float(np.mean([row["stop_accuracy"] for row in rows]))
    result = {
        "step": loaded.step,
        "model_dir": model_dir,
        "data_dir": data_dir,
        "split": split,
        "utterances": len(rows),
        "teacher_forced": {k: teacher_forced[k] for k in TEACHER_FORCED},
        "free_running": {k: free_running[k] for k in FREE_RUNNING},
        "sentence_identification": identification,
        "config": {"model": loaded.config.to_dict(), "synthesis": synthesis.to_dict()},
        "per_utterance": rows,
    }
    if held_out:
        result["held_out"] = _held_out(synthesizer, held_out, batch_size)
    return result, page


def held_out_line(measured: dict) -> str:
    """One line for people: how many held-out sentences of unseen words are recognizable, and the minimal pairs."""
    found, pairs = measured["identification"], measured["minimal_pairs"]
    return (f"unseen words: {found['correct']}/{found['utterances']} held-out sentences recognizable, "
            f"{pairs['correct']}/{found['utterances']} minimal pairs told apart (margin {pairs['median_margin']:.2f})")


def _held_out(synthesizer, folder: str, batch_size: int) -> dict:
    from tacotron.quality import held_out

    try:
        measured = held_out.measure(synthesizer, folder, batch_size)
    except held_out.HeldOutError as e:
        raise EvaluationError(str(e)) from None
    return {"folder": folder, **measured, "summary": held_out_line(measured)}


def _load(model_dir: str, data_dir: str, gin_params: tuple):
    from tacotron import dataset
    from tacotron.network.model_dir import load_model

    try:
        loaded = load_model(model_dir, gin_params)
        info = dataset.inspect_data(data_dir, loaded.configs.audio, loaded.config.frontend)
    except (ModelError, dataset.DataError) as e:
        raise EvaluationError(str(e)) from None
    if tuple(info.vocabulary) != tuple(loaded.vocabulary):
        raise EvaluationError(
            f"{model_dir!r} was trained with a different {loaded.config.frontend} vocabulary than {data_dir!r}")
    return loaded, info


def _batches(info, split: str, batch_size: int, loaded):
    """The split in batches of one padded shape (one bucket; the last batch is filled up with copies, whose results
    are dropped): each compiled program is built once, which matters more here than padding does."""
    from tacotron import dataset

    buckets = dataset.make_buckets(np.concatenate(list(info.n_frames.values())),
                                   np.concatenate(list(info.text_lengths.values())), 1, loaded.config.reduction_factor)
    return dataset.make_dataset(info, split, batch_size, buckets, loaded.configs.audio, shuffle_buffer=0,
                                repeat=False, keep_text=True, drop_remainder=False)


def _score(synthesizer, batches, batch_size: int) -> tuple[list[dict], dict]:
    """Every utterance free-running (listening.listen), and the teacher-forced losses over the split."""
    from tacotron import dataset
    from tacotron.quality import metrics
    from tacotron.serving.inference import compiled

    loaded = synthesizer.loaded
    model, r, synthesis = loaded.model, loaded.config.reduction_factor, synthesizer.synthesis

    def teacher_forced(x):
        out = model(x, training=False)
        parts = model.loss_parts(x, out)
        return out["stop_logits"], parts | {"loss": model.total_loss(parts)}

    teacher_forced = compiled(teacher_forced, model.variables)
    losses = _TeacherForcedLosses()
    page = []
    for batch in batches:
        n = len(batch["n_frames"])
        x = {k: _fill(batch[k].numpy(), batch_size) for k in dataset.MODEL_FEATURES}
        # Teacher-forced losses, defined exactly as in training (batch means; the copies weigh in only when n is
        # below batch_size, on the last batch).
        stop_logits, parts = teacher_forced(x)
        # Does the model read its text? The same frames with another utterance's text: a model that only continues
        # the previous frame scores about the same mel loss (text_reliance near 1).
        others = np.concatenate([np.roll(np.arange(n), 1), np.arange(n, len(x["text_ids"]))])
        swapped = teacher_forced(x | {k: x[k][others] for k in ("text_ids", "text_length")})[1] if n > 1 else None
        losses.add(parts, swapped, n)
        stop_logits = _numpy(stop_logits)  # [N, T_dec]
        for i, heard in enumerate(listening.listen(synthesizer, x, n)):
            heard |= {
                "id": batch["id"][i].numpy().decode("utf-8"),
                "text": batch["text"][i].numpy().decode("utf-8"),
                "stop_accuracy": metrics.stop_accuracy(stop_logits[i], heard["true_frames"], r,
                                                       synthesis.stop_threshold),
            }
            page.append(heard)
        print(f"evaluated {len(page)} utterances", flush=True)
    return page, losses.means()


class _TeacherForcedLosses:
    """Sums of the teacher-forced loss parts over utterances, and of the mel loss with swapped texts."""

    def __init__(self):
        self.totals = {name: 0.0 for name in TEACHER_FORCED
                       if name not in ("stop_accuracy", "text_swap_mel_loss", "text_reliance")}
        self.count = 0
        # Mel loss with swapped texts, with their own, utterances: over batches of 2 or more only.
        self.swap = np.zeros(3)

    def add(self, parts: dict, swapped_parts: dict | None, n: int) -> None:
        for name in self.totals:
            self.totals[name] += float(_numpy(parts[name])) * n
        self.count += n
        if swapped_parts is not None:
            self.swap += np.array([float(_numpy(swapped_parts["mel_loss"])), float(_numpy(parts["mel_loss"])), 1]) * n

    def means(self) -> dict:
        means = {name: total / max(self.count, 1) for name, total in self.totals.items()}
        swapped, own, count = self.swap
        means["text_swap_mel_loss"] = swapped / count if count else None
        means["text_reliance"] = swapped / own if count else None
        return means


def _mark_unseen_words(page: list[dict], data_dir: str, split: str, identification: dict) -> None:
    """Words of each eval sentence that no training sentence has: does the model read letters, or recall words?"""
    from tacotron import dataset

    heard_in_training = set()
    if split == "eval":
        heard_in_training = {w for t in dataset.read_texts(data_dir, "train") for w in _words(t)}
    for u in page:
        u["unseen_words"] = [w for w in _words(u["text"]) if heard_in_training and w not in heard_in_training]
    with_unseen = [u for u in page if u["unseen_words"]]
    identification["with_unseen_words"] = {
        "utterances": len(with_unseen), "correct": sum(bool(u.get("identified")) for u in with_unseen)
    }


def _write_utterance_files(page: list[dict], folder: str, loaded) -> list[dict]:
    """Each utterance's figure and WAVs under `folder`; returns the rows metrics.json keeps."""
    from tacotron.quality import report

    audio_config = loaded.configs.audio
    os.makedirs(folder, exist_ok=True)
    rows = []
    for u in page:
        if "nearest" in u:
            u["nearest"] = page[u["nearest"]]["id"]
        stem = os.path.join(folder, u["id"])
        figure = report.utterance_figure(u["alignment"], u["predicted_mel"], u["recorded_mel"],
                                         audio_config.frame_shift_ms / 1000.0, loaded.config.reduction_factor)
        u["figure_png"] = report.write_file(figure, stem + ".png")
        u["predicted_wav"] = report.write_wav(u["predicted_wav"], stem + "_predicted.wav", audio_config.sample_rate)
        u["recorded_wav"] = report.write_wav(
            u["recorded_wav"], stem + "_recorded_griffin_lim.wav", audio_config.sample_rate
        )
        rows.append({k: v for k, v in u.items() if k in ROW_FIELDS})
    return rows


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def write_outputs(output_dir: str, result: dict, page: list[dict]) -> None:
    from tacotron.quality import gate, report

    path = os.path.join(output_dir, gate.METRICS_FILE)
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)
    curves = report.training_curves(training_log.read(result["model_dir"]))
    if curves:
        report.write_file(curves, os.path.join(output_dir, "training_curves.png"))
    report.write_html(os.path.join(output_dir, "report.html"), result, page, curves)


def run(data_dir: str, model_dir: str, output: str, batch_size: int = 16, gin_params: tuple = (),
        thresholds=None, baseline: str | None = None, held_out: str | None = None) -> dict:
    """Evaluate and write metrics.json, report.html and the utterance files to `output`; with `thresholds`
    (tacotron.quality.gate.Thresholds), also apply the gate against the metrics.json at `baseline`. Any folder may be a
    URL: a URL model_dir or data folder is read from a local download, a URL output is published when done. Returns
    metrics.json's content."""
    import contextlib

    from tacotron import dataset
    from tacotron.network.model_dir import local_model_dir
    from tacotron.quality import gate

    if batch_size < 1:
        raise EvaluationError(f"--batch_size must be at least 1, got {batch_size}")
    baseline_metrics = gate.read_metrics(baseline) if baseline else None
    with contextlib.ExitStack() as staged:
        local_model = staged.enter_context(local_model_dir(model_dir))
        data = staged.enter_context(dataset.local_data(data_dir))
        local_output = staged.enter_context(storage.local_output(output))
        result, page = evaluate(data, local_model, local_output, batch_size, gin_params, held_out)
        result.update(model_dir=model_dir, data_dir=data_dir)
        result["verdict"] = gate.verdict(result)[1]
        if thresholds is not None:
            reasons = gate.check(result, thresholds, baseline_metrics)
            result["gate"] = {"passed": not reasons, "reasons": reasons, "baseline": baseline}
        write_outputs(local_output, result, page)
    return result
