"""tacotron.quality.report: training curves draw training rows and quality events apart."""

from __future__ import annotations


def test_training_curves_draw_training_rows_and_quality_events_apart():
    from tacotron.quality import report
    from tacotron.storage.training_log import TrainingLog

    assert report.training_curves(TrainingLog(())) is None
    assert report.training_curves(TrainingLog(({"event": "first_step", "step": 1},))) is None
    rows = [{"step": s, "loss": 2.0 / s, "alignment_score": 0.5} for s in (25, 50, 75)]
    rows.append({"event": "quality", "step": 50, "sentence_identification": 0.5, "alignment_score": 0.1})
    png = report.training_curves(TrainingLog(tuple(rows)))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import io

    from PIL import Image

    three_panels = Image.open(io.BytesIO(png)).height
    two_panels = Image.open(io.BytesIO(report.training_curves(TrainingLog(tuple(rows[:3]))))).height
    assert three_panels > 1.3 * two_panels
