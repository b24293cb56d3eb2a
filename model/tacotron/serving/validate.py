"""Infra validation of an export, as TFX's InfraValidator does before a push: the SavedModel loads through the TF1
session loader that TF Serving (and KServe's TensorFlow runtime) use, and speaks a canary sentence."""

from __future__ import annotations

import numpy as np

from tacotron.serving.export import EXPORT_INFO, SIGNATURE, ExportError, recorded_reader

CANARY = "Your call is important to us. Please hold."


def validate_saved_model(path: str, canary: str = CANARY) -> dict:
    """{"samples", "seconds", "stopped"} of the canary synthesized through a session load of the `serve` tag;
    ExportError (one line) when the export does not load that way or does not speak."""
    import tensorflow as tf

    from tacotron.serving.inference import prepare_text

    try:
        info, reader = recorded_reader(path)
        symbols = [reader.symbol_string(chunk) for chunk in prepare_text(canary, 200, reader)]
    except (OSError, ValueError, KeyError) as e:
        raise ExportError(f"{path!r}: no readable {EXPORT_INFO} ({str(e).splitlines()[0]})") from None
    try:
        with tf.Graph().as_default(), tf.compat.v1.Session() as session:
            graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
            signature = graph.signature_def[SIGNATURE]
            out = session.run({name: tensor.name for name, tensor in signature.outputs.items()},
                              {signature.inputs["symbols"].name: symbols})
    except (tf.errors.OpError, KeyError, ValueError, RuntimeError) as e:
        lines = [line.strip() for line in (getattr(e, "message", None) or str(e)).splitlines() if line.strip()]
        # TensorFlow opens with "Graph execution error:"; the cause is the line after it.
        reason = next((line.split(". ")[0] for line in lines if not line.endswith(":")), type(e).__name__)
        raise ExportError(f"{path!r} does not run through TF Serving's session loader: {reason}") from None
    lengths = np.asarray(out["length"])
    waves = [np.asarray(w)[:n] for w, n in zip(out["waveform"], lengths, strict=True)]
    if not all(len(w) for w in waves) or not all(np.isfinite(w).all() for w in waves):
        what = "non-finite samples" if all(len(w) for w in waves) else "no audio"
        raise ExportError(f"{path!r} said the canary {canary!r} as {what}")
    samples = int(lengths.sum())
    return {"samples": samples, "seconds": samples / int(info["sample_rate"]),
            "stopped": bool(np.asarray(out["stopped"]).all())}
