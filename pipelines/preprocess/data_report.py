"""The preprocessing job's data report: report.html beside report.json, one self-contained page a person reads."""

from __future__ import annotations

import html
import io
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only: no display, and no GUI toolkit imported on a worker

from matplotlib import pyplot as plt  # noqa: E402

from tacotron import audio, storage  # noqa: E402
from tacotron.quality.report import data_uri, figure_png  # noqa: E402

# Each measured quantity of a kept clip: (key, label, unit).
MEASURES = (
    ("seconds", "duration after trimming", "s"),
    ("chars_per_second", "speaking rate", "characters/s"),
    ("speech_dbfs", "speech level", "dBFS"),
    ("spectral_change_db", "spectral change", "dB"),
)
EXTREMES = 10  # kept clips listed per measure: the furthest from its median
PLAYED = 3  # of those, and of each rejection reason's records, this many can be played in the page
MAX_REJECTED_ROWS = 1000

STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; }
"""


def histograms(kept: list[dict[str, Any]], report: dict[str, Any]) -> bytes:
    """PNG: one histogram per measure over the kept clips, with the job's limits drawn as dashed lines."""
    settings, band = report["settings"], report.get("speaking_rate_band") or {}
    limits = {
        "seconds": [settings.get("max_seconds")],
        "chars_per_second": [settings.get("min_chars_per_second"), settings.get("max_chars_per_second"),
                             band.get("low"), band.get("high")],
        "speech_dbfs": [settings.get("min_speech_dbfs")],
        "spectral_change_db": [settings.get("min_spectral_change_db")],
    }
    figure, axes = plt.subplots(1, len(MEASURES), figsize=(15, 3.6))
    for axis, (key, label, unit) in zip(axes, MEASURES, strict=True):
        values = np.array([clip[key] for clip in kept], np.float64)
        axis.hist(values, bins=40 if len(values) > 40 else max(len(values), 1), color="#2a9d8f")
        for limit in limits[key]:
            if limit is not None:
                axis.axvline(limit, color="#e76f51", linestyle="--", linewidth=1)
        axis.set_title(f"{label} ({len(values)} kept clips)")
        axis.set_xlabel(unit)
        axis.set_ylabel("clips")
    figure.tight_layout()
    return figure_png(figure)


class Player(str):
    """A table cell that plays a clip."""


def player(path: str | None) -> Player | str:
    """An audio element holding the clip at `path` as the model hears it (8 kHz mono), or '' when it cannot be
    read (the report never fails for the sake of a player)."""
    if not path:
        return ""
    try:
        wav = audio.read_audio(io.BytesIO(storage.read_bytes(path)))
    except (storage.StorageError, audio.AudioError):
        return ""
    return Player(f"<audio controls preload='none' src='{data_uri(audio.wav_bytes(wav, 8000), 'audio/wav')}'>"
                  "</audio>")


def _cell(value: Any) -> str:
    if isinstance(value, Player):
        return f"<td>{value}</td>"
    if isinstance(value, float):
        return f"<td class='num'>{value:.2f}</td>"
    if isinstance(value, int):
        return f"<td class='num'>{value:,}</td>"
    return f"<td>{html.escape(str(value))}</td>"


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def extremes(kept: list[dict[str, Any]], key: str, count: int = EXTREMES) -> list[dict[str, Any]]:
    """The `count` kept clips whose `key` lies furthest from the median, furthest first."""
    if not kept:
        return []
    median = float(np.median([clip[key] for clip in kept]))
    return sorted(kept, key=lambda clip: (-abs(clip[key] - median), clip["id"]))[:count]


def render_html(report: dict[str, Any], kept: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> bytes:
    """The page: outcome counts, histograms of the kept clips, their extremes, and every rejected record.

    `report` is report.json's content; `kept` holds id, text, seconds, chars_per_second and speech_dbfs per kept
    clip; `rejected` the rejection records.
    """
    written = report["written"]
    layout = report.get("layout") or {}
    outcomes = [(f"records in the {layout.get('format', '')} corpus", report["input_records"]),
                *((f"not read: {what}", n) for what, n in sorted(layout.get("not_read", {}).items())),
                *((f"kept: {split}", n) for split, n in sorted(written.items())),
                ("hours kept", f"{report['hours_kept']:.3f}"),
                *((f"rejected: {reason}", n) for reason, n in sorted(report["rejected"].items())),
                *((f"warning: {name}", n) for name, n in sorted(report.get("warnings", {}).items()))]
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Preprocessing data report</title>",
             f"<style>{STYLE}</style></head><body>",
             "<h1>Preprocessing data report</h1>",
             "<h2 id='outcomes'>Clips in, kept and rejected</h2>", _table(("", "count"), outcomes)]
    if kept:
        parts += ["<h2 id='histograms'>Kept clips</h2>",
                  "<p>Dashed lines: the job's limits (and the corpus's own speaking-rate band).</p>",
                  f"<img alt='histograms of the kept clips' src='{data_uri(histograms(kept, report), 'image/png')}'>"]
        for key, label, unit in MEASURES:
            rows = [(clip["id"], clip[key], player(clip.get("audio")) if rank < PLAYED else "", clip["text"])
                    for rank, clip in enumerate(extremes(kept, key))]
            parts += [f"<h3>The {len(rows)} most extreme kept clips by {label}</h3>",
                      _table(("id", f"{label} ({unit})", "listen", "transcript"), rows)]
    shown = sorted(rejected, key=lambda r: (r["reason"], r.get("line", 0), r["id"]))[:MAX_REJECTED_ROWS]
    played: dict[str, int] = {}

    def listen(record: dict[str, Any]) -> Player | str:
        played[record["reason"]] = played.get(record["reason"], 0) + 1
        return player(record.get("audio")) if played[record["reason"]] <= PLAYED else ""

    def rates(record: dict[str, Any]) -> tuple[str, str]:
        if "measured_rate" not in record:
            return "", ""
        low, high = record["expected_rate"]
        return f"{record['measured_rate']:.1f}", f"{low:.1f} .. {high:.1f}"

    parts += ["<h2 id='rejected'>Rejected records</h2>",
              (f"<p>The first {MAX_REJECTED_ROWS} of {len(rejected)}; all are in rejected-*.jsonl.</p>"
               if len(rejected) > MAX_REJECTED_ROWS else ""),
              "<p>Speaking rates in characters of normalized text per second of speech: measured, and expected for "
              "the clip's text length in this corpus.</p>",
              _table(("line", "id", "reason", "listen", "measured rate", "expected rate", "detail"),
                     [(r.get("line", ""), r["id"], r["reason"], listen(r), *rates(r), r["detail"]) for r in shown]),
              "<h2>Settings</h2>",
              _table(("setting", "value"), [(k, str(v)) for k, v in sorted(report["settings"].items())]),
              "</body></html>"]
    return "\n".join(parts).encode("utf-8")
