"""Export: a TensorFlow SavedModel whose serving signature turns a batch of strings into 8 kHz waveforms."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile

from tacotron import storage

SIGNATURE = "serving_default"
EXPORT_INFO = "export_info.json"


class ExportError(Exception):
    """Bad --model_dir / --output; one line, exit code 2."""


def build_module(loaded, synthesis, audio_config):
    """A tf.Module holding the model, the text tables and the serving function (see `export`)."""
    import tensorflow as tf

    from tacotron import vocoder
    from tacotron.graph_text import CharacterIds, GraphNormalizer
    from tacotron.model_dir import vocabulary_file

    class TextToSpeech(tf.Module):
        def __init__(self):
            super().__init__(name="tacotron")
            self.model = loaded.model
            # Keras variables are saved through lists created here (as keras.export does); that includes the
            # seed-generator states that the traced function reads even though inference draws no random numbers.
            self.model_variables = list(loaded.model.variables)
            self.normalizer = GraphNormalizer()
            self.character_ids = CharacterIds(vocabulary_file(loaded.model_dir))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def synthesize(self, text):
            normalized = self.normalizer(text)  # [N] strings
            ids, lengths = self.character_ids(normalized)  # [N, T_in], [N]
            tf.debugging.assert_less_equal(
                tf.reduce_max(tf.concat([lengths, [0]], 0)),
                synthesis.max_serving_chars,
                message=f"text longer than {synthesis.max_serving_chars} characters after normalization: "
                "split it into sentences",
            )
            out = self.model.infer(ids, lengths, synthesis)
            wav, wav_lengths = vocoder.waveforms(
                out["linear"], out["n_frames"], loaded.linear_mean, loaded.linear_std, audio_config,
                synthesis.griffin_lim_iters, synthesis.griffin_lim_power,
            )
            return {
                "waveform": wav,  # [N, samples] float32 in [-1, 1]; rows end at `length`
                "length": wav_lengths,  # [N] int32 samples
                "stopped": out["stopped"],  # [N] bool; False: decoding hit its length limit
                "normalized_text": normalized,
            }

    return TextToSpeech()


def export(model_dir: str, output_dir: str, gin_params: tuple = ()) -> dict:
    """Write the SavedModel of model_dir's newest checkpoint to output_dir (replaced only once complete); either may
    be a URL."""
    import tensorflow as tf

    from tacotron.model_dir import ModelError, load_model, local_model_dir

    if storage.listdir(output_dir) and not is_saved_model(output_dir):
        raise ExportError(f"--output {output_dir!r} exists and is not a SavedModel; not overwriting it")
    with contextlib.ExitStack() as stack:
        try:
            loaded = load_model(stack.enter_context(local_model_dir(model_dir)), gin_params)
        except ModelError as e:
            raise ExportError(str(e)) from None
        synthesis, audio_config = loaded.configs.synthesis, loaded.configs.audio
        module = build_module(loaded, synthesis, audio_config)
        info = {
            "step": loaded.step,
            "model_dir": model_dir if storage.is_url(model_dir) else os.path.abspath(model_dir),
            "sample_rate": audio_config.sample_rate,
            "signature": SIGNATURE,
            "inputs": {"text": "string [N]"},
            "outputs": {"waveform": "float32 [N, samples]", "length": "int32 [N]", "stopped": "bool [N]",
                        "normalized_text": "string [N]"},
            "model": loaded.config.to_dict(),
            "synthesis": synthesis.to_dict(),
        }
        # Written aside, then published: an interrupted export never leaves a half-written model at output_dir.
        saved = os.path.join(stack.enter_context(tempfile.TemporaryDirectory(prefix="export-")), "saved_model")
        tf.saved_model.save(module, saved, signatures={SIGNATURE: module.synthesize})
        with open(os.path.join(saved, EXPORT_INFO), "w") as f:
            json.dump(info, f, indent=2)
        storage.publish_folder(saved, output_dir)
    return info


def is_saved_model(path: str) -> bool:
    """A complete tacotron-export output (on an object store: its completion marker is there)."""
    return storage.exists(storage.join(path, "saved_model.pb")) and storage.is_complete(path)
