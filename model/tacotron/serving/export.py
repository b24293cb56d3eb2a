"""Export: a TensorFlow SavedModel that turns frontend symbols (or their ids) into 8 kHz waveforms, and the Python
text path in front of it.

Signatures (TF Serving, KServe): `serving_default` takes `symbols`, tf.string [N], each the frontend's symbols
separated by spaces (tacotron.text.frontend.Frontend.symbol_string: "h ə l ˈ oʊ _ w ˈ ɜː l d ."); `synthesize_ids` takes
`ids` int32 [N, T] (0-padded) and `lengths` int32 [N]. Text becomes symbols in Python, outside the graph:
`load_exported(path)(["Hello world."])` does it with the frontend the export records, and refuses another.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile

import numpy as np

from tacotron import storage

SIGNATURE = "serving_default"  # symbols -> waveforms
IDS_SIGNATURE = "synthesize_ids"
EXPORT_INFO = "export_info.json"


class ExportError(Exception):
    """Bad --model_dir / --output, or an export that this installation cannot feed; one line, exit code 2."""


def build_archive(loaded, synthesis, audio_config):
    """A keras.export.ExportArchive holding the model, the symbol table and the serving endpoints (see the module
    docstring).

    ExportArchive tracks every variable the endpoints read (the model's weights and its seed-generator states) under
    the SavedModel's variable collection, which the TF1 session loader (TF Serving, `saved_model_cli run`) restores
    from; a tf.Module saved with tf.saved_model.save keeps them only in the object graph, which TF Serving cannot find
    ("Could not find variable tacotron/kernel": tensorflow/serving#2250, keras-team/keras#19274).
    """
    import keras
    import tensorflow as tf

    from tacotron.audio import vocoder
    from tacotron.network.model_dir import vocabulary_file
    from tacotron.text.symbol_ids import SymbolIds

    symbol_ids = SymbolIds(vocabulary_file(loaded.model_dir))

    def synthesize_ids(ids, lengths):
        tf.debugging.assert_less_equal(
            tf.reduce_max(tf.concat([lengths, [0]], 0)),
            synthesis.max_serving_chars,
            message=f"more than {synthesis.max_serving_chars} symbols: split the text into sentences",
        )
        out = loaded.model.infer(ids, lengths, synthesis)
        wav, wav_lengths = vocoder.waveforms(
            out["linear"], out["n_frames"], loaded.linear_mean, loaded.linear_std, audio_config,
            synthesis.griffin_lim_iters, synthesis.griffin_lim_power,
        )
        return {
            "waveform": wav,  # [N, samples] float32 in [-1, 1]; rows end at `length`
            "length": wav_lengths,  # [N] int32 samples
            "stopped": out["stopped"],  # [N] bool; False: decoding hit its length limit
        }

    def synthesize_symbols(symbols):
        return synthesize_ids(*symbol_ids(symbols))  # ids [N, T_in], lengths [N]

    archive = keras.export.ExportArchive()
    archive.track(loaded.model)
    archive.track(symbol_ids)  # its lookup table and the vocabulary file, an asset of the SavedModel
    archive.add_endpoint(SIGNATURE, synthesize_symbols,
                         input_signature=[tf.TensorSpec([None], tf.string, name="symbols")])
    archive.add_endpoint(IDS_SIGNATURE, synthesize_ids,
                         input_signature=[tf.TensorSpec([None, None], tf.int32, name="ids"),
                                          tf.TensorSpec([None], tf.int32, name="lengths")])
    return archive


def export(model_dir: str, output_dir: str, gin_params: tuple = ()) -> dict:
    """Write the SavedModel of model_dir's newest checkpoint to output_dir (replaced only once complete); either may
    be a URL."""

    from tacotron.network.model_dir import ModelError, load_model, local_model_dir, recorded_frontend

    if storage.listdir(output_dir) and not is_saved_model(output_dir):
        raise ExportError(f"--output {output_dir!r} exists and is not a SavedModel; not overwriting it")
    with contextlib.ExitStack() as stack:
        try:
            local = stack.enter_context(local_model_dir(model_dir))
            loaded = load_model(local, gin_params)
        except ModelError as e:
            raise ExportError(str(e)) from None
        synthesis, audio_config = loaded.configs.synthesis, loaded.configs.audio
        archive = build_archive(loaded, synthesis, audio_config)
        info = {
            "step": loaded.step,
            "model_dir": model_dir if storage.is_url(model_dir) else os.path.abspath(model_dir),
            "sample_rate": audio_config.sample_rate,
            # What turns text into this model's symbols; load_exported refuses a different one.
            "frontend": recorded_frontend(local),
            "vocabulary": list(loaded.vocabulary),
            "signatures": {
                SIGNATURE: {"inputs": {"symbols": "string [N], symbols separated by spaces"}},
                IDS_SIGNATURE: {"inputs": {"ids": "int32 [N, T], 0-padded", "lengths": "int32 [N]"}},
            },
            "outputs": {"waveform": "float32 [N, samples]", "length": "int32 [N]", "stopped": "bool [N]"},
            "model": loaded.config.to_dict(),
            "synthesis": synthesis.to_dict(),
        }
        # Written aside, then published: an interrupted export never leaves a half-written model at output_dir.
        saved = os.path.join(stack.enter_context(tempfile.TemporaryDirectory(prefix="export-")), "saved_model")
        archive.write_out(saved, verbose=False)
        with open(os.path.join(saved, EXPORT_INFO), "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2, ensure_ascii=False)
        storage.publish_folder(saved, output_dir)
    return info


def is_saved_model(path: str) -> bool:
    """A complete tacotron-export output (on an object store: its completion marker is there)."""
    return storage.exists(storage.join(path, "saved_model.pb")) and storage.is_complete(path)


def recorded_reader(path: str):
    """(export_info.json's content, the Frontend it records) of a local export; OSError, ValueError or KeyError when
    it has no readable one (callers say it their way)."""
    from tacotron.text.frontend import Frontend

    with open(os.path.join(path, EXPORT_INFO), encoding="utf-8") as f:
        info = json.load(f)
    return info, Frontend(info["frontend"]["frontend"])


class ExportedModel:
    """A local tacotron-export SavedModel with the Python text path in front: text -> the recorded frontend's symbols
    -> the symbols signature."""

    def __init__(self, path: str):
        import tensorflow as tf

        from tacotron.text.frontend import FrontendError

        try:
            self.info, self.frontend = recorded_reader(path)
            self.frontend.check_matches(self.info["frontend"], f"the export {path!r}")
            self._serve = tf.saved_model.load(path).signatures[SIGNATURE]
        except FrontendError as e:
            raise ExportError(str(e)) from None
        except (OSError, ValueError, KeyError) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ExportError(f"{path!r} is not a loadable tacotron export ({reason})") from None

    def symbols(self, normalized_chunks: list[str]) -> list[str]:
        """What the signature is fed for already-normalized chunks (tacotron.serving.inference.prepare_text's
        output)."""
        return [self.frontend.symbol_string(chunk) for chunk in normalized_chunks]

    def synthesize_chunks(self, chunks: list[str], batch_size: int) -> tuple[list[np.ndarray], list[bool]]:
        """(waveform, stopped) per normalized chunk."""
        import tensorflow as tf

        waves, stopped = [], []
        for start in range(0, len(chunks), batch_size):
            out = self._serve(symbols=tf.constant(self.symbols(chunks[start : start + batch_size])))
            for wav, length, ok in zip(out["waveform"].numpy(), out["length"].numpy(), out["stopped"].numpy(),
                                       strict=True):
                waves.append(wav[:length])
                stopped.append(bool(ok))
        return waves, stopped

    def __call__(self, texts: list[str], max_chars: int = 200, batch_size: int = 16) -> tuple[list[np.ndarray],
                                                                                            list[bool]]:
        """Raw texts -> (waveform, stopped) per text, long texts split into sentences as tacotron-synthesize does."""
        from tacotron.serving.inference import join_chunks, prepare_text

        chunked = [prepare_text(t, max_chars, self.frontend) for t in texts]
        waves, stopped = self.synthesize_chunks([c for chunks in chunked for c in chunks], batch_size)
        return join_chunks(waves, stopped, chunked, int(self.info["sample_rate"]))


def load_exported(path: str) -> ExportedModel:
    """The Python text-to-waveform path over a local tacotron-export SavedModel."""
    return ExportedModel(path)
