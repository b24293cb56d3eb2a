"""tacotron-synthesize: text -> 8 kHz WAV files, from an exported SavedModel or a training model_dir."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from tacotron import storage
from tacotron.cli import add_verbose, fail, framework_logs, stops_on_sigterm
from tacotron.serving.synthesize import SynthesisError

PROG = "tacotron-synthesize"
# Beyond this the input is refused rather than split: a typo'd file, not something to read aloud.
MAX_INPUT_CHARS = 100_000


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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--model", required=True, help="a tacotron-export SavedModel or a tacotron-train model_dir")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="one utterance")
    source.add_argument("--text_file", help="UTF-8 file, one utterance per line; writes numbered WAVs")
    parser.add_argument("--output", required=True, help="out.wav for --text; a folder for --text_file")
    parser.add_argument("--gin_param", action="append", default=[], help="synthesis settings, e.g. "
                        "'SynthesisConfig.griffin_lim_iters=30'")
    add_verbose(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Exit 0: every WAV written; 1: storage failed; 2: bad input (nothing written)."""
    args = parse_args(argv)
    with framework_logs(PROG, args.verbose), stops_on_sigterm(PROG):
        return run(args)


def run(args: argparse.Namespace) -> int:
    # The frontend's warnings (a character it cannot read and drops) as one line each, like the errors.
    warnings.showwarning = lambda message, *_, **__: print(f"{PROG}: warning: {message}", file=sys.stderr)
    from tacotron.audio import AudioConfig
    from tacotron.serving.synthesize import synthesize, write_wav

    sample_rate = AudioConfig().sample_rate
    try:
        texts = read_texts(args)
        paths = output_paths(args, len(texts))
        waves, stopped = synthesize(args.model, texts, tuple(args.gin_param))
        for path, wav, ok in zip(paths, waves, stopped, strict=True):
            if not ok:
                print(f"warning: {path}: decoding hit the length limit without the stop token (model undertrained?)",
                      file=sys.stderr)
            write_wav(path, wav, sample_rate)
            print(f"wrote {path} ({len(wav) / sample_rate:.2f} s)", flush=True)
    except SynthesisError as e:
        return fail(PROG, e, 2)
    except storage.StorageError as e:
        return fail(PROG, e, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
