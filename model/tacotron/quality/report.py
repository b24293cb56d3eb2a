"""The evaluation report: PNG plots and WAVs on disk, and one self-contained HTML page that embeds them."""

from __future__ import annotations

import base64
import html
import io
import os

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only: no display, and no GUI toolkit imported in a headless pod

from matplotlib import pyplot as plt  # noqa: E402

from tacotron import audio
from tacotron.storage import training_log  # noqa: E402

_DPI = 100


def figure_png(figure) -> bytes:
    """A matplotlib figure as PNG bytes; the figure is closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def utterance_figure(
    alignment: np.ndarray, predicted_mel: np.ndarray, recorded_mel: np.ndarray, frame_seconds: float,
    reduction_factor: int,
) -> bytes:
    """PNG: free-running alignment [T_dec, T_in] on top, then the predicted and the recorded log mel [T, num_mels]
    on one time axis and one colour scale, so a blurred or cut-short prediction shows at a glance."""
    width = max(len(predicted_mel), len(recorded_mel), 1) * frame_seconds
    lo = float(min(predicted_mel.min(initial=0.0), recorded_mel.min(initial=0.0)))
    hi = float(max(predicted_mel.max(initial=0.0), recorded_mel.max(initial=0.0)))
    figure, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True, height_ratios=(1, 1, 1))
    step_seconds = frame_seconds * reduction_factor
    axes[0].imshow(alignment.T, origin="lower", aspect="auto", interpolation="nearest", cmap="viridis",
                   extent=(0, len(alignment) * step_seconds, 0, alignment.shape[1]), vmin=0.0, vmax=1.0)
    axes[0].set_ylabel("character")
    axes[0].set_title("attention (free-running)")
    for ax, mel, title in ((axes[1], predicted_mel, "predicted (free-running)"), (axes[2], recorded_mel, "recorded")):
        image = ax.imshow(mel.T, origin="lower", aspect="auto", interpolation="nearest", cmap="magma",
                          extent=(0, len(mel) * frame_seconds, 0, mel.shape[1]), vmin=lo, vmax=hi)
        ax.set_ylabel("mel bin")
        ax.set_title(f"{title} log mel")
        figure.colorbar(image, ax=ax, pad=0.01, label="log magnitude")
    figure.colorbar(axes[0].images[0], ax=axes[0], pad=0.01, label="weight")
    axes[2].set_xlabel("time (s)")
    axes[2].set_xlim(0, width)
    return figure_png(figure)


# Training-log fields drawn in the training curves, by panel: (title, row kind, fields); None = training rows. The
# free-running measurements are quality rows (their attention scores are free-running too).
_CURVES = (
    ("loss (teacher-forced)", None, ("loss", "mel_loss", "linear_loss", "stop_loss")),
    ("attention (teacher-forced)", None, ("alignment_score", "diagonality", "focus")),
    ("quality (free-running, eval split)", training_log.QUALITY, ("sentence_identification", "gv_ratio",
                                                                 "length_ratio")),
)


def training_curves(log: training_log.TrainingLog) -> bytes | None:
    """PNG of the training log: losses, attention scores, and the free-running quality figures where the trainer
    measured them; None when there is nothing to draw."""
    if not log.rows:
        return None
    panels = [(title, [r for r in (log.events(kind) if kind else log.training) if "step" in r], names)
              for title, kind, names in _CURVES]
    panels = [(title, kept, names) for title, kept, names in panels if any(n in r for r in kept for n in names)]
    if not panels:
        return None
    figure, axes = plt.subplots(len(panels), 1, figsize=(10, 3 * len(panels)), sharex=True, squeeze=False)
    for ax, (title, kept, names) in zip(axes[:, 0], panels, strict=True):
        for name in names:
            points = [(row["step"], row[name]) for row in kept if row.get(name) is not None]
            if points:
                steps, values = zip(*points, strict=True)
                ax.plot(steps, values, marker="o" if len(points) < 30 else None, label=name)
        if title.startswith("loss"):
            ax.set_yscale("log")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    axes[-1, 0].set_xlabel("training step")
    return figure_png(figure)


def write_file(data: bytes, path: str) -> bytes:
    with open(path, "wb") as f:
        f.write(data)
    return data


def write_wav(wav: np.ndarray, path: str, sample_rate: int) -> bytes:
    return write_file(audio.wav_bytes(wav, sample_rate), path)


def data_uri(data: bytes, mime: str) -> str:
    """Bytes as a data: URI, so that one HTML file carries its images and audio."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _fmt(value) -> str:
    if value is None:
        return "not available"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def _table(rows: list[tuple[str, object]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in rows)
    return f"<table class='summary'>{body}</table>"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f4f4f4; }
.verdict { font-size: 1.4em; padding: 0.6em 1em; border-radius: 6px; }
.speaks { background: #e3f6e3; color: #135e13; }
.mumbles { background: #fbe5e5; color: #8a1010; }
.utterance { border-top: 1px solid #ddd; padding: 1em 0; }
.utterance img, .curves { display: block; margin: 0.4em 0; max-width: 100%; }
.failed { color: #b00; font-weight: bold; }
.ok { color: #135e13; font-weight: bold; }
.caption { color: #555; font-size: 0.9em; }
"""

# How many utterances the page shows in full (all of them are in metrics.json and under utterances/).
SHOWN_UTTERANCES = 48


def _intelligibility(metrics: dict) -> list[tuple[str, object]]:
    free = metrics["free_running"]
    found = metrics.get("sentence_identification", {})
    if not found.get("available"):
        return [("sentence identification", f"not available: {found.get('reason', 'not computed')}"),
                *_held_out_rows(metrics.get("held_out"))]
    ceiling = found["griffin_lim_ceiling"]
    return [
        ("sentences recognizable (own recording nearest)", f"{found['correct']}/{found['utterances']} "
                                                          f"({found['accuracy']:.0%}; chance {found['chance']:.0%})"),
        ("median margin (nearest other / own distance)", found["median_margin"]),
        ("recordings through the same Griffin-Lim (ceiling)", f"{ceiling['correct']}/{ceiling['utterances']}"),
        ("of these, sentences with words never heard in training", _unseen(found.get("with_unseen_words"))),
        ("global variance ratio (1 = as lively as recorded)", free["gv_ratio"]),
        ("spectral detail ratio (1 = as sharp as recorded)", free["spectral_detail_ratio"]),
        ("length ratio (decoded / recorded)", free["length_ratio"]),
        ("decodes that never stopped", free["failure_rate"]),
        *_held_out_rows(metrics.get("held_out")),
    ]


def _held_out_rows(measured: dict | None) -> list[tuple[str, object]]:
    if not measured:
        return []
    found, pairs = measured["identification"], measured["minimal_pairs"]
    return [
        ("held-out sentences of words the corpus never had: recognizable",
         f"{found['correct']}/{found['utterances']} (chance {found['chance']:.0%}; "
         f"margin {found['median_margin']:.2f})"),
        ("their minimal pairs (one word changed) told apart",
         f"{pairs['correct']}/{found['utterances']} (chance 50%; margin {pairs['median_margin']:.2f}, recordings "
         f"{pairs['griffin_lim_ceiling']['median_margin']:.2f})"),
    ]


def _unseen(counts: dict | None) -> str:
    if not counts or not counts["utterances"]:
        return "none in this split"
    return f"{counts['correct']}/{counts['utterances']} recognizable"


def write_html(path: str, metrics: dict, utterances: list[dict], curves_png: bytes | None = None) -> None:
    """One page: the verdict and intelligibility first, training curves, the full tables, then per utterance its
    text, scores, alignment and spectrograms, and audio.

    Each utterance dict holds id, text, the per-utterance metrics, `figure_png` (see utterance_figure) and WAV
    bytes under predicted_wav and recorded_wav.
    """
    speaks = metrics.get("verdict", "").startswith("speaks")
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Tacotron evaluation, step {metrics['step']}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Tacotron evaluation: step {metrics['step']}</h1>",
        f"<p class='verdict {'speaks' if speaks else 'mumbles'}' id='verdict'>"
        f"{html.escape(metrics.get('verdict', 'no verdict'))}</p>",
        f"<p>{metrics['utterances']} utterances of the {html.escape(metrics['split'])} split of "
        f"<code>{html.escape(metrics['data_dir'])}</code>; model <code>{html.escape(metrics['model_dir'])}</code>. "
        "Every figure below is from free-running synthesis (the model reads its own frames from the go frame on, as "
        "when it is used), unless marked teacher-forced.</p>",
        "<h2 id='intelligibility'>Does it say the sentence?</h2>",
        "<p class='caption'>Each prediction's audio is compared (DTW over mel cepstra) with the recordings of the "
        "other eval sentences; it counts when its own recording is nearest.</p>",
        _table(_intelligibility(metrics)),
    ]
    if metrics.get("gate"):
        gate = metrics["gate"]
        verdict = "passed" if gate["passed"] else "failed: " + "; ".join(gate["reasons"])
        parts.append(f"<h2>Gate</h2><p class='{'ok' if gate['passed'] else 'failed'}'>{html.escape(verdict)}</p>")
    if curves_png:
        parts += ["<h2 id='training'>Training curves</h2>",
                  f"<img class='curves' alt='training curves' src='{data_uri(curves_png, 'image/png')}'>"]
    parts += [
        "<h2>All free-running figures</h2>",
        _table(list(metrics["free_running"].items())),
        "<h2>Teacher-forced (as in training)</h2>",
        _table(list(metrics["teacher_forced"].items())),
        "<h2 id='utterances'>Utterances</h2>",
    ]
    if len(utterances) > SHOWN_UTTERANCES:
        parts.append(f"<p>The first {SHOWN_UTTERANCES} of {len(utterances)}; the rest are in metrics.json and "
                     "utterances/.</p>")
    for u in utterances[:SHOWN_UTTERANCES]:
        status = "" if u["stopped"] else " <span class='failed'>did not stop (hit the length limit)</span>"
        if "identified" in u:
            heard = ("<span class='ok'>recognizable</span>" if u["identified"]
                     else f"<span class='failed'>not recognizable: nearer {html.escape(u['nearest'])}</span>")
            status += f" {heard} (margin {u['margin']:.2f})"
        scores = ", ".join(
            f"{k} {_fmt(u[k])}"
            for k in ("gv_ratio", "spectral_detail_ratio", "mcd_dtw_db", "diagonality", "focus", "length_ratio",
                      "stop_accuracy")
        )
        parts += [
            f"<div class='utterance' id='{html.escape(u['id'])}'><h3>{html.escape(u['id'])}{status}</h3>",
            f"<p>{html.escape(u['text'])}</p>",
            f"<p class='caption'>never heard in training: {html.escape(', '.join(u['unseen_words']))}</p>"
            if u.get("unseen_words") else "",
            f"<p class='caption'>{scores}</p>",
            f"<img alt='alignment and mel {html.escape(u['id'])}' src='{data_uri(u['figure_png'], 'image/png')}'>",
            "<p>Predicted <audio controls src='" + data_uri(u["predicted_wav"], "audio/wav") + "'></audio></p>",
            "<p>Recorded, through the same Griffin-Lim <audio controls src='"
            + data_uri(u["recorded_wav"], "audio/wav")
            + "'></audio></p></div>",
        ]
    parts.append("</body></html>")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(parts))
    os.replace(tmp, path)
