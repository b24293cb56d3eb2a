"""tacotron-serve: serve an exported model (a SavedModel, or a folder of numbered versions) over HTTP with KServe's
v1 and v2 protocols, a plain text-to-audio endpoint and a page at `/`."""

from __future__ import annotations

import argparse
import os
import sys
import threading

# TensorFlow's oneDNN kernels cache a primitive per input shape they meet: a server meets a new sentence length and
# batch size on most requests, so its memory grew for minutes under load (214 MB in 600 s, still rising). With
# Eigen's kernels it levels off after 80 s, at 13.2 req/s against 13.7 (docs/BENCHMARKS.md, serve_load). Set before
# TensorFlow is imported; a user's own setting wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from tacotron import storage
from tacotron.cli import add_verbose, fail, framework_logs

PROG = "tacotron-serve"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--model", required=True, help="a tacotron-export SavedModel, or a folder of numbered "
                        "versions of them (serving_dir/<step>/: the newest is served, new ones are picked up)")
    parser.add_argument("--name", default="tacotron", help="the model's (and voice's) name in the URLs")
    parser.add_argument("--http_port", type=int, default=8080)
    parser.add_argument("--max_batch", type=int, default=8, help="sentences synthesized together at most")
    parser.add_argument("--batch_delay_ms", type=float, default=5.0, help="how long a batch waits for more")
    parser.add_argument("--max_queue", type=int, default=64, help="sentences waiting at most; beyond: 503")
    parser.add_argument("--max_text_chars", type=int, default=5000, help="characters a request at most; beyond: 413")
    parser.add_argument("--poll_seconds", type=float, default=5.0, help="how often to look for a newer version")
    parser.add_argument("--grace_seconds", type=int, default=30, help="on SIGTERM, how long requests in flight "
                        "may take to finish")
    add_verbose(parser)
    args = parser.parse_args(argv)
    for name in ("max_batch", "max_queue", "max_text_chars", "http_port"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.max_batch > args.max_queue:
        parser.error("--max_batch must be at most --max_queue")
    return args


def main(argv: list[str] | None = None) -> int:
    """Exit 0: served until SIGTERM (requests in flight finished); 2: bad input or no loadable model."""
    args = parse_args(argv)
    # KServe parses sys.argv when it is imported (its own flags, with defaults we override): it must not see ours.
    sys.argv = [PROG]
    with framework_logs(PROG, args.verbose):
        return run(args)


def run(args: argparse.Namespace) -> int:
    from tacotron.serving.export import ExportError
    from tacotron.serving.server import Speaker, add_routes, build_kserve_model, follow_versions
    from tacotron.serving.versions import FollowedModel

    try:
        followed = FollowedModel(args.model)
    except (ExportError, storage.StorageError) as e:
        return fail(PROG, e, 2)
    speaker = Speaker(args.name, followed, args.max_batch, args.batch_delay_ms / 1000, args.max_queue,
                      args.max_text_chars)

    import kserve
    from kserve.model_server import app

    add_routes(app, speaker)
    stop = threading.Event()
    follow_versions(speaker, args.poll_seconds, stop, lambda line: print(line, flush=True))
    version = followed.version
    print(f"{PROG}: serving {args.model!r}" + (f" version {version.number}" if version.number is not None else "")
          + f" as {args.name!r} on http://0.0.0.0:{args.http_port}/ (page at /, POST /synthesize, "
          f"/v1/models/{args.name}:predict, /v2/models/{args.name}/infer)", flush=True)
    server = kserve.ModelServer(http_port=args.http_port, enable_grpc=False, workers=1,
                                grace_period=args.grace_seconds, enable_latency_logging=False)
    try:
        server.start([build_kserve_model(speaker)])
    finally:
        stop.set()
    print(f"{PROG}: stopped; every request in flight was answered", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
