"""The evaluation report: PNG plots and WAVs on disk, and one self-contained HTML page that embeds them."""

from __future__ import annotations

import base64
import html
import io
import os

import numpy as np
import soundfile as sf
from PIL import Image

# A perceptually ordered dark-blue -> green -> yellow ramp (viridis anchors), so plots read the same everywhere.
_ANCHORS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], np.float32
)


def colorize(matrix: np.ndarray, scale: int = 2) -> Image.Image:
    """[rows, cols] -> RGB image, row 0 at the bottom (as spectrograms and alignments are drawn), pixels x `scale`."""
    m = np.asarray(matrix, np.float32)
    lo, hi = (float(m.min()), float(m.max())) if m.size else (0.0, 1.0)
    t = (m - lo) / (hi - lo + 1e-8) * (len(_ANCHORS) - 1)  # [rows, cols] in [0, 4]
    rgb = np.stack([np.interp(t, np.arange(len(_ANCHORS)), _ANCHORS[:, c]) for c in range(3)], axis=-1)
    image = Image.fromarray(rgb[::-1].astype(np.uint8), "RGB")
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST)


def write_png(matrix: np.ndarray, path: str, scale: int = 2) -> bytes:
    buffer = io.BytesIO()
    colorize(matrix, scale).save(buffer, format="PNG")
    data = buffer.getvalue()
    with open(path, "wb") as f:
        f.write(data)
    return data


def write_wav(wav: np.ndarray, path: str, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wav, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    data = buffer.getvalue()
    with open(path, "wb") as f:
        f.write(data)
    return data


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def _table(rows: list[tuple[str, object]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in rows)
    return f"<table class='summary'>{body}</table>"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f4f4f4; }
.utterance { border-top: 1px solid #ddd; padding: 1em 0; }
.utterance img { display: block; margin: 0.4em 0; image-rendering: pixelated; max-width: 100%; }
.failed { color: #b00; font-weight: bold; }
.caption { color: #555; font-size: 0.9em; }
"""


def write_html(path: str, metrics: dict, utterances: list[dict]) -> None:
    """One page: the summary tables, then per utterance its text, scores, alignment, spectrograms and audio.

    Each utterance dict holds id, text, the per-utterance metrics, and PNG/WAV bytes under alignment_png,
    mel_png, predicted_wav and recorded_wav.
    """
    teacher = metrics["teacher_forced"]
    free = metrics["free_running"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Tacotron evaluation, step {metrics['step']}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Tacotron evaluation: step {metrics['step']}</h1>",
        f"<p>{metrics['utterances']} utterances of the {html.escape(metrics['split'])} split of "
        f"<code>{html.escape(metrics['data_dir'])}</code>; model <code>{html.escape(metrics['model_dir'])}</code>.</p>",
        "<h2>Free-running synthesis (from the go frame)</h2>",
        _table(list(free.items())),
        "<h2>Teacher-forced (as in training)</h2>",
        _table(list(teacher.items())),
    ]
    if metrics.get("gate"):
        gate = metrics["gate"]
        verdict = "passed" if gate["passed"] else "failed: " + "; ".join(gate["reasons"])
        parts.append(f"<h2>Gate</h2><p class='{'' if gate['passed'] else 'failed'}'>{html.escape(verdict)}</p>")
    parts.append("<h2>Utterances</h2>")
    for u in utterances:
        status = "" if u["stopped"] else " <span class='failed'>did not stop (hit the length limit)</span>"
        scores = ", ".join(
            f"{k} {_fmt(u[k])}" for k in ("mcd_dtw_db", "diagonality", "focus", "length_ratio", "stop_accuracy")
        )
        parts += [
            f"<div class='utterance' id='{html.escape(u['id'])}'><h3>{html.escape(u['id'])}{status}</h3>",
            f"<p>{html.escape(u['text'])}</p><p class='caption'>{scores}</p>",
            f"<p class='caption'>Alignment (decoder steps across, characters up)</p>"
            f"<img alt='alignment {html.escape(u['id'])}' src='{_data_uri(u['alignment_png'], 'image/png')}'>",
            "<p class='caption'>Mel spectrogram: predicted (top), recorded (bottom)</p>"
            f"<img alt='mel {html.escape(u['id'])}' src='{_data_uri(u['mel_png'], 'image/png')}'>",
            "<p>Predicted <audio controls src='" + _data_uri(u["predicted_wav"], "audio/wav") + "'></audio></p>",
            "<p>Recorded, through the same Griffin-Lim <audio controls src='"
            + _data_uri(u["recorded_wav"], "audio/wav")
            + "'></audio></p></div>",
        ]
    parts.append("</body></html>")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(parts))
    os.replace(tmp, path)
