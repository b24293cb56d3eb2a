"""tacotron-evaluate: teacher-forced losses and free-running synthesis quality on the eval split, with a report."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys

import numpy as np

# Keras reads the backend at import; same default as tacotron-train (tacotron.train sets it too).
os.environ.setdefault("KERAS_BACKEND", "jax")

from tacotron import gate as gate_lib  # noqa: E402
from tacotron import listening, storage  # noqa: E402
from tacotron.model_dir import ModelError, local_model_dir  # noqa: E402

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
    data_dir: str, model_dir: str, output_dir: str, batch_size: int = 16, gin_params: tuple = ()
) -> tuple[dict, list[dict]]:
    """Evaluate the newest checkpoint in model_dir on the eval split of data_dir, writing per utterance alignment
    and mel PNGs and predicted/recorded WAVs under output_dir/utterances. Returns (metrics, report entries)."""
    from tacotron import dataset, metrics, report
    from tacotron.audio import AudioConfig
    from tacotron.config import SynthesisConfig
    from tacotron.inference import Synthesizer, compiled
    from tacotron.model_dir import ModelError, load_model

    audio_config = AudioConfig()
    try:
        loaded = load_model(model_dir, gin_params)
        info = dataset.inspect_data(data_dir, audio_config)
    except (ModelError, dataset.DataError) as e:
        raise EvaluationError(str(e)) from None
    if tuple(info.vocabulary) != tuple(loaded.vocabulary):
        raise EvaluationError(f"{model_dir!r} was trained with a different character vocabulary than {data_dir!r}")
    model, config = loaded.model, loaded.config
    r = config.reduction_factor
    synthesis = SynthesisConfig()
    synthesizer = Synthesizer(loaded, synthesis, audio_config)
    split = "eval" if len(info.n_frames["eval"]) else "train"
    # One padded shape for every batch (one bucket; the last batch filled up with copies, whose results are
    # dropped): each compiled program is built once, which matters more here than padding does.
    buckets = dataset.make_buckets(
        np.concatenate(list(info.n_frames.values())), np.concatenate(list(info.text_lengths.values())), 1, r
    )
    data = dataset.make_dataset(
        info, split, batch_size, buckets, audio_config,
        shuffle_buffer=0, repeat=False, keep_text=True, drop_remainder=False,
    )
    pictures = os.path.join(output_dir, "utterances")
    os.makedirs(pictures, exist_ok=True)

    def teacher_forced(x):
        out = model(x, training=False)
        parts = model.loss_parts(x, out)
        return out["stop_logits"], parts | {"loss": model.total_loss(parts)}

    teacher_forced = compiled(teacher_forced, model.variables)
    totals = {name: 0.0 for name in TEACHER_FORCED if name not in ("stop_accuracy", "text_swap_mel_loss",
                                                                   "text_reliance")}
    swap_totals = np.zeros(3)  # mel loss with swapped texts, with their own, utterances: over batches of 2 or more
    rows, page = [], []
    for batch in data:
        n = len(batch["n_frames"])
        x = {k: _fill(batch[k].numpy(), batch_size) for k in dataset.MODEL_FEATURES}
        # Teacher-forced losses, defined exactly as in training (batch means; the copies weigh in only when n is
        # below batch_size, on the last batch).
        stop_logits, parts = teacher_forced(x)
        # Does the model read its text? The same frames with another utterance's text: a model that only continues
        # the previous frame scores about the same mel loss (text_reliance near 1).
        others = np.concatenate([np.roll(np.arange(n), 1), np.arange(n, len(x["text_ids"]))])
        swapped = x | {k: x[k][others] for k in ("text_ids", "text_length")}
        if n > 1:
            _, swapped_parts = teacher_forced(swapped)
            swap_totals += np.array([float(_numpy(swapped_parts["mel_loss"])), float(_numpy(parts["mel_loss"])), 1]) * n
        for name in totals:
            totals[name] += float(_numpy(parts[name])) * n
        stop_logits = _numpy(stop_logits)  # [N, T_dec]
        for i, heard in enumerate(listening.listen(synthesizer, x, n)):
            uid = batch["id"][i].numpy().decode("utf-8")
            heard |= {
                "id": uid,
                "text": batch["text"][i].numpy().decode("utf-8"),
                "stop_accuracy": metrics.stop_accuracy(stop_logits[i], heard["true_frames"], r,
                                                       synthesis.stop_threshold),
            }
            page.append(heard)
        print(f"evaluated {len(page)} utterances", flush=True)
    if not page:
        raise EvaluationError(f"the {split} split of {data_dir!r} has no utterances that fit the model's buckets")
    free_running, identification = listening.summarize(page, audio_config)
    # Words of each eval sentence that no training sentence has: does the model read letters, or recall words?
    heard_in_training = set()
    if split == "eval":
        heard_in_training = {w for t in dataset.read_texts(data_dir, "train") for w in _words(t)}
    for u in page:
        u["unseen_words"] = [w for w in _words(u["text"]) if heard_in_training and w not in heard_in_training]
    with_unseen = [u for u in page if u["unseen_words"]]
    identification["with_unseen_words"] = {
        "utterances": len(with_unseen), "correct": sum(bool(u.get("identified")) for u in with_unseen)
    }
    for u in page:
        if "nearest" in u:
            u["nearest"] = page[u["nearest"]]["id"]
        stem = os.path.join(pictures, u["id"])
        figure = report.utterance_figure(u["alignment"], u["predicted_mel"], u["recorded_mel"],
                                         audio_config.frame_shift_ms / 1000.0, r)
        u["figure_png"] = report.write_file(figure, stem + ".png")
        u["predicted_wav"] = report.write_wav(u["predicted_wav"], stem + "_predicted.wav", audio_config.sample_rate)
        u["recorded_wav"] = report.write_wav(
            u["recorded_wav"], stem + "_recorded_griffin_lim.wav", audio_config.sample_rate
        )
        rows.append({k: v for k, v in u.items() if k in ROW_FIELDS})
    count = len(rows)
    teacher_forced = {name: totals[name] / count for name in totals}
    teacher_forced["stop_accuracy"] = float(np.mean([row["stop_accuracy"] for row in rows]))
    swapped, own, swap_count = swap_totals
    teacher_forced["text_swap_mel_loss"] = swapped / swap_count if swap_count else None
    teacher_forced["text_reliance"] = swapped / own if swap_count else None
    result = {
        "step": loaded.step,
        "model_dir": model_dir,
        "data_dir": data_dir,
        "split": split,
        "utterances": count,
        "teacher_forced": {k: teacher_forced[k] for k in TEACHER_FORCED},
        "free_running": {k: free_running[k] for k in FREE_RUNNING},
        "sentence_identification": identification,
        "config": {"model": config.to_dict(), "synthesis": synthesis.to_dict()},
        "per_utterance": rows,
    }
    return result, page


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def read_training_log(model_dir: str) -> list[dict]:
    """The rows of model_dir/metrics.jsonl (empty when there is none; a torn last line is skipped)."""
    rows = []
    try:
        lines = storage.read_text(storage.join(model_dir, "metrics.jsonl")).splitlines()
    except storage.StorageError:
        return []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def write_outputs(output_dir: str, result: dict, page: list[dict]) -> None:
    from tacotron import report

    tmp = os.path.join(output_dir, "metrics.json.tmp")
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, os.path.join(output_dir, "metrics.json"))
    curves = report.training_curves(read_training_log(result["model_dir"]))
    if curves:
        report.write_file(curves, os.path.join(output_dir, "training_curves.png"))
    report.write_html(os.path.join(output_dir, "report.html"), result, page, curves)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tacotron-evaluate", description=__doc__)
    parser.add_argument("--data", required=True, help="output folder of python -m pipelines.preprocess")
    parser.add_argument("--model_dir", required=True, help="a tacotron-train --model_dir (newest checkpoint is used)")
    parser.add_argument("--output", required=True, help="where metrics.json, report.html, PNGs and WAVs go")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--gin_param", action="append", default=[], help="e.g. 'SynthesisConfig.griffin_lim_iters=30'")
    gate_lib.add_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Exit 0: evaluated (and the gate passed, when asked); 1: the gate failed; 2: bad input."""
    args = parse_args(argv)
    from tacotron import dataset

    try:
        storage.check_writable(args.output)
    except storage.StorageError as e:
        print(f"tacotron-evaluate: error: {e}", file=sys.stderr)
        return 2
    try:
        if args.batch_size < 1:
            raise EvaluationError(f"--batch_size must be at least 1, got {args.batch_size}")
        thresholds = gate_lib.thresholds_from(args)
        baseline = gate_lib.read_metrics(args.baseline) if args.baseline else None
        with contextlib.ExitStack() as staged:
            # A URL model_dir or data folder is read from a local download; a URL output is published when done.
            model_dir = staged.enter_context(local_model_dir(args.model_dir))
            data = staged.enter_context(dataset.local_data(args.data))
            output = staged.enter_context(storage.local_output(args.output))
            result, page = evaluate(data, model_dir, output, args.batch_size, tuple(args.gin_param))
            result.update(model_dir=args.model_dir, data_dir=args.data)
            # The gate applies when asked for (any of its flags); the verdict is always written.
            gated = any(getattr(args, flag) is not None for flag in gate_lib.GATE_FLAGS)
            reasons = gate_lib.check(result, thresholds, baseline) if gated else []
            result["verdict"] = gate_lib.verdict(result)[1]
            if gated:
                result["gate"] = {"passed": not reasons, "reasons": reasons, "baseline": args.baseline}
            write_outputs(output, result, page)
    except (EvaluationError, ValueError, ModelError, dataset.DataError) as e:
        print(f"tacotron-evaluate: error: {e}", file=sys.stderr)
        return 2
    except storage.StorageError as e:
        print(f"tacotron-evaluate: error: {e}", file=sys.stderr)
        return 1
    summary = {"step": result["step"], **result["free_running"], "loss": result["teacher_forced"]["loss"]}
    print(json.dumps(summary), flush=True)
    print(result["verdict"], flush=True)
    print(f"report: {storage.join(args.output, 'report.html')}", flush=True)
    if reasons:
        print("tacotron-evaluate: gate failed: " + "; ".join(reasons), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
