"""tacotron-synthesize: text -> 8 kHz WAV files, from an exported SavedModel or a training model_dir."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from tacotron import storage

# Same default backend as training for model_dir checkpoints; a SavedModel always runs on TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "jax")

# Beyond this the input is refused rather than split: a typo'd file, not something to read aloud.
MAX_INPUT_CHARS = 100_000


class SynthesisError(Exception):
    """Bad text, model path or output; one line, exit code 2, nothing written."""


def read_texts(args: argparse.Namespace) -> list[str]:
    """The utterances to speak: --text, or the non-blank lines of --text_file."""
    if args.text is not None:
        texts = [args.text]
    else:
        try:
            texts = [line.strip() for line in storage.read_text(args.text_file).splitlines() if line.strip()]
        except storage.StorageError as e:
            raise SynthesisError(f"--text_file {e}") from None
        except UnicodeDecodeError:
            raise SynthesisError(f"--text_file {args.text_file!r} is not UTF-8 text") from None
        if not texts:
            raise SynthesisError(f"--text_file {args.text_file!r} has no text (only blank lines)")
    for number, text in enumerate(texts, 1):
        where = "--text" if args.text is not None else f"line {number} of --text_file"
        if not text.strip():
            raise SynthesisError(f"{where} is empty")
        if len(text) > MAX_INPUT_CHARS:
            raise SynthesisError(f"{where} has {len(text)} characters; the most accepted is {MAX_INPUT_CHARS}")
    return texts


def output_paths(args: argparse.Namespace, count: int) -> list[str]:
    """--text: the --output file itself; --text_file: --output is a folder of 0001.wav, 0002.wav, ..."""
    if args.text is not None:
        if not args.output.endswith(".wav"):
            raise SynthesisError(f"--output {args.output!r} must end in .wav")
        return [args.output]
    if not storage.is_url(args.output) and os.path.isfile(args.output):
        raise SynthesisError(f"--output {args.output!r} is a file; with --text_file it names a folder")
    width = max(4, len(str(count)))
    return [storage.join(args.output, f"{i:0{width}d}.wav") for i in range(1, count + 1)]


def prepare(texts: list[str], max_chars: int) -> list[list[str]]:
    """Every utterance normalized and split into chunks, all checked before any audio is made."""
    from tacotron.inference import TextError, prepare_text

    chunked, problems = [], []
    for number, text in enumerate(texts, 1):
        try:
            chunked.append(prepare_text(text, max_chars))
        except TextError as e:
            problems.append(str(e) if len(texts) == 1 else f"line {number}: {e}")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise SynthesisError("; ".join(problems[:5]) + more)
    return chunked


def synthesize_saved_model(path: str, chunks: list[str], batch_size: int) -> tuple[list[np.ndarray], list[bool]]:
    """Chunks (already normalized: the graph's normalization leaves such text unchanged) through the SavedModel."""
    import tensorflow as tf

    from tacotron.export import SIGNATURE

    try:
        serve = tf.saved_model.load(path).signatures[SIGNATURE]
    except (OSError, ValueError, KeyError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SynthesisError(f"--model {path!r} is not a loadable tacotron SavedModel ({reason})") from None
    waves, stopped = [], []
    for start in range(0, len(chunks), batch_size):
        out = serve(text=tf.constant(chunks[start : start + batch_size]))
        for wav, length, ok in zip(out["waveform"].numpy(), out["length"].numpy(), out["stopped"].numpy(), strict=True):
            waves.append(wav[:length])
            stopped.append(bool(ok))
    return waves, stopped


def synthesize_checkpoint(model_dir: str, texts: list[str], gin_params: tuple) -> tuple[list[np.ndarray], list[bool]]:
    from tacotron.inference import Synthesizer
    from tacotron.model_dir import ModelError, load_model, local_model_dir

    try:
        with local_model_dir(model_dir) as local:  # a URL model_dir: its newest checkpoint, downloaded
            loaded = load_model(local, gin_params)
    except ModelError as e:
        raise SynthesisError(f"--model: {e}") from None
    return Synthesizer(loaded)(texts)


def write_wav(path: str, wav: np.ndarray, sample_rate: int) -> None:
    """Written to a scratch file and published: an interrupted run leaves no truncated WAV."""
    import soundfile as sf

    if not storage.is_url(path):
        storage.makedirs(os.path.dirname(os.path.abspath(path)))
    scratch = storage.scratch_path(path)
    sf.write(scratch, np.clip(wav, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    storage.publish_file(scratch, path)


def run(args: argparse.Namespace) -> list[str]:
    from tacotron.audio import AudioConfig
    from tacotron.config import SynthesisConfig
    from tacotron.export import is_saved_model
    from tacotron.inference import join_chunks

    if not storage.isdir(args.model):
        raise SynthesisError(f"--model {args.model!r} is not a directory")
    texts = read_texts(args)
    paths = output_paths(args, len(texts))
    synthesis, audio_config = SynthesisConfig(), AudioConfig()
    chunked = prepare(texts, synthesis.max_chars)
    if is_saved_model(args.model):
        flat = [chunk for chunks in chunked for chunk in chunks]
        with storage.local_folder(args.model) as local:
            waves, stopped = synthesize_saved_model(local, flat, synthesis.batch_size)
        waves, stopped = join_chunks(waves, stopped, chunked, audio_config.sample_rate)
    else:
        waves, stopped = synthesize_checkpoint(args.model, texts, tuple(args.gin_param))
    for path, wav, ok in zip(paths, waves, stopped, strict=True):
        if not ok:
            print(f"warning: {path}: decoding hit the length limit without the stop token (model undertrained?)",
                  file=sys.stderr)
        write_wav(path, wav, audio_config.sample_rate)
        print(f"wrote {path} ({len(wav) / audio_config.sample_rate:.2f} s)", flush=True)
    return paths


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tacotron-synthesize", description=__doc__)
    parser.add_argument("--model", required=True, help="a tacotron-export SavedModel or a tacotron-train model_dir")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="one utterance")
    source.add_argument("--text_file", help="UTF-8 file, one utterance per line; writes numbered WAVs")
    parser.add_argument("--output", required=True, help="out.wav for --text; a folder for --text_file")
    parser.add_argument("--gin_param", action="append", default=[], help="model_dir only, e.g. synthesis settings")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except SynthesisError as e:
        print(f"tacotron-synthesize: error: {e}", file=sys.stderr)
        return 2
    except storage.StorageError as e:
        print(f"tacotron-synthesize: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
