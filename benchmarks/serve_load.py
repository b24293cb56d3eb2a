"""Load on tacotron-serve over loopback: throughput, latency percentiles, errors, real-time factor, time to first audio
and the server's memory over the run.

The script starts `tacotron-serve --model MODEL --http_port PORT` as a subprocess and waits for
`GET /v2/health/ready`. At idle it then sends two warm-up requests (not counted), times a one-sentence request
(median of IDLE_REPEATS) and the time to first audio of a text of 10 held-out sentences (`"format": "raw",
"stream": true`, which the server sends sentence by sentence; --ttfa_repeats times: the time until the first body
bytes arrive, and until the last). Then --clients concurrent clients each send `POST /synthesize` with
`{"text": sentence, "format": "wav"}` back to back for --seconds, the sentences taken round-robin from the held-out
set (data/held_out/metadata.csv, its text column). Every request's status, latency, bytes and audio seconds (the WAV
parsed) are kept. The server's RSS (its children included) is sampled every second throughout. At the end the server
gets SIGTERM and must exit 0 within 60 s.

Definitions. Latency: from sending the request to the last byte of the response. Requests/s: requests completed
during the load phase (any status) / its wall time (first send to last answer). Real-time factor (RTF): per request,
latency / seconds of audio returned; the median (and p95) over the load phase's answered requests. Memory is flat
when the load phase's last third averages at most FLAT_RSS_RATIO times its first third; the least-squares slope
(MB/min) is reported beside it.

Goals (each printed "met" or "missed"): p95 latency of a one-sentence request under load < 300 ms; first audio of a
10-sentence text < 300 ms (its worst of --ttfa_repeats); no errors (every request 200 with parseable audio, the
server exiting 0); flat memory.

    python benchmarks/serve_load.py --model SERVING_DIR [--port 18181] [--clients 8] [--seconds 120]
        [--ttfa_repeats 5] [--output benchmarks/results/serve_load.json]

Only the JSON is written; the suggested docs/BENCHMARKS.md row is printed, not appended.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime
import io
import itertools
import json
import os
import pathlib
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import numpy as np
import psutil
import soundfile
from machine import describe as describe_machine  # benchmarks/ is on sys.path when a script runs

from tacotron import storage
from tacotron.serving.export import EXPORT_INFO
from tacotron.serving.versions import newest_version

REPO = pathlib.Path(__file__).resolve().parents[1]
HELD_OUT = REPO / "data" / "held_out" / "metadata.csv"
DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "serve_load.json"
HOST = "127.0.0.1"  # the clients use loopback only (the server itself binds 0.0.0.0: KServe fixes its host)
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 60.0  # one request at most; a slower one counts as an error, not as a hang of the benchmark
MAX_REQUESTS = 100_000  # a bound on the load phase beside --seconds
WARMUP_REQUESTS = 2
IDLE_REPEATS = 5
TTFA_SENTENCES = 10
RSS_EVERY_S = 1.0
RSS_BUCKET_S = 10.0
GOAL_P95_MS = 300.0
GOAL_TTFA_MS = 300.0
FLAT_RSS_RATIO = 1.05
LOG_TAIL_LINES = 60


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="what tacotron-serve --model takes: a SavedModel from "
                        "tacotron-export or a folder of numbered versions of them")
    parser.add_argument("--port", type=int, default=18181, help="the server's --http_port")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients, each one request at a time")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the load phase")
    parser.add_argument("--ttfa_repeats", type=int, default=5, help="times the 10-sentence text is streamed at idle")
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT, help="the JSON result")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.ttfa_repeats < 1 or args.seconds <= 0:
        parser.error("--clients and --ttfa_repeats must be at least 1, --seconds positive")
    if not 1 <= args.port <= 65535:
        parser.error("--port must be in 1..65535")
    return args


def held_out_sentences(path: pathlib.Path = HELD_OUT) -> list[str]:
    """The text column of an LJSpeech-layout metadata.csv (`id|text|normalized`)."""
    sentences = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("|")
        if len(fields) >= 2 and fields[1].strip():
            sentences.append(fields[1].strip())
    if not sentences:
        raise SystemExit(f"{path}: no sentences")
    return sentences


def export_info(model: str) -> tuple[str | None, dict]:
    """The version tacotron-serve will serve first (tacotron.serving.versions picks it, as the server does) and its
    export information (EXPORT_INFO); (None, {}) when there is none to read."""
    try:
        version = newest_version(model)
        if version is None:
            return None, {}
        return version.path, json.loads(storage.read_text(storage.join(version.path, EXPORT_INFO)))
    except (storage.StorageError, ValueError):
        return None, {}


class Server:
    """tacotron-serve in a subprocess, its stdout and stderr in one log file (read back for errors at the end)."""

    def __init__(self, model: str, port: int):
        self.log_file = tempfile.NamedTemporaryFile("w+b", prefix="serve_load_", suffix=".log", delete=False)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
        self.command = [sys.executable, "-m", "tacotron.cli.serve", "--model", model, "--http_port", str(port)]
        self.process = subprocess.Popen(self.command, stdout=self.log_file, stderr=subprocess.STDOUT, env=env)
        self.base = f"http://{HOST}:{port}"

    def wait_ready(self, client: httpx.Client, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Seconds from start until /v2/health/ready answers 200; SystemExit if the server exits or takes longer."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout_s:
            if self.process.poll() is not None:
                raise SystemExit(f"tacotron-serve exited {self.process.returncode} before it was ready:\n"
                                 + self.log_tail())
            try:
                if client.get(f"{self.base}/v2/health/ready", timeout=2.0).status_code == 200:
                    return time.perf_counter() - start
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.5)
        raise SystemExit(f"tacotron-serve not ready after {timeout_s:.0f} s:\n" + self.log_tail())

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> tuple[int | None, float | None]:
        """SIGTERM, then the exit code and seconds to exit; (None, None) if it had to be killed after `timeout_s`."""
        if self.process.poll() is not None:
            return self.process.returncode, 0.0
        start = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None, None
        return code, time.perf_counter() - start

    def log_lines(self) -> list[str]:
        self.log_file.flush()
        return pathlib.Path(self.log_file.name).read_text(encoding="utf-8", errors="replace").splitlines()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log_lines()[-lines:])


class RssSampler(threading.Thread):
    """The server's resident memory (its process and every child) every RSS_EVERY_S, as (monotonic time, bytes)."""

    def __init__(self, pid: int):
        super().__init__(name="rss", daemon=True)
        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, int]] = []
        self.halt = threading.Event()

    def rss(self) -> int | None:
        try:
            processes = [self.process, *self.process.children(recursive=True)]
        except psutil.Error:
            return None
        total = 0
        for p in processes:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass  # a child that ended between the listing and the reading
        return total

    def run(self) -> None:
        while not self.halt.is_set():
            value = self.rss()
            if value is not None:
                self.samples.append((time.monotonic(), value))
            self.halt.wait(RSS_EVERY_S)


@dataclasses.dataclass
class Record:
    """One request of the load phase."""

    client: int
    sentence: int
    start_s: float  # from the start of the load phase
    latency_s: float
    status: int | str  # the HTTP status, or the exception's name when none came back
    bytes: int
    audio_s: float | None  # None: no parseable audio


def wav_seconds(body: bytes) -> float | None:
    try:
        info = soundfile.info(io.BytesIO(body))
    except (RuntimeError, TypeError, ValueError):  # libsndfile's errors are RuntimeErrors
        return None
    return info.frames / info.samplerate if info.samplerate else None


def post_sentence(client: httpx.Client, base: str, text: str) -> tuple[int | str, float, bytes]:
    start = time.perf_counter()
    try:
        response = client.post(f"{base}/synthesize", json={"text": text, "format": "wav"}, timeout=REQUEST_TIMEOUT_S)
    except httpx.HTTPError as e:
        return type(e).__name__, time.perf_counter() - start, b""
    return response.status_code, time.perf_counter() - start, response.content


def idle_latency(base: str, sentences: list[str], repeats: int) -> list[dict]:
    """One sentence at a time with nothing else running: what a lone caller waits."""
    out = []
    with httpx.Client(trust_env=False) as client:
        for k in range(repeats):
            status, latency, body = post_sentence(client, base, sentences[k % len(sentences)])
            out.append({"status": status, "latency_s": latency, "bytes": len(body),
                        "audio_s": wav_seconds(body) if status == 200 else None})
    return out


def time_to_first_audio(base: str, text: str, repeats: int) -> list[dict]:
    """The text streamed as raw PCM: seconds until the response headers, the first body bytes, and the last."""
    out = []
    with httpx.Client(trust_env=False) as client:
        for _ in range(repeats):
            start = time.perf_counter()
            headers_s = first_s = None
            size, status, rate = 0, None, None
            try:
                with client.stream("POST", f"{base}/synthesize", json={"text": text, "format": "raw", "stream": True},
                                   timeout=REQUEST_TIMEOUT_S) as response:
                    headers_s = time.perf_counter() - start
                    status = response.status_code
                    rate = int(response.headers.get("X-Sample-Rate", "0")) or None
                    for chunk in response.iter_bytes():
                        if chunk and first_s is None:
                            first_s = time.perf_counter() - start
                        size += len(chunk)
            except httpx.HTTPError as e:
                status = type(e).__name__
            total_s = time.perf_counter() - start
            # Raw is 16-bit mono PCM at the rate the server names in X-Sample-Rate.
            out.append({"status": status, "headers_s": headers_s, "first_audio_s": first_s, "total_s": total_s,
                        "bytes": size, "audio_s": size / 2 / rate if rate else None})
    return out


def load_phase(base: str, sentences: list[str], clients: int, seconds: float) -> tuple[list[Record], float]:
    """`clients` threads, each sending one request at a time until `seconds` have passed (a request started before
    then is waited for) or MAX_REQUESTS were sent in all. Returns the records and the phase's wall time."""
    counter = itertools.count()  # next() on it is atomic under the GIL: one sentence index per request, round-robin
    records: list[Record] = []
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def client_loop(number: int) -> None:
        with httpx.Client(trust_env=False) as client:
            while time.perf_counter() < deadline:
                n = next(counter)
                if n >= MAX_REQUESTS:
                    return
                sent = time.perf_counter()
                status, latency, body = post_sentence(client, base, sentences[n % len(sentences)])
                record = Record(number, n % len(sentences), sent - start, latency, status, len(body),
                                wav_seconds(body) if status == 200 else None)
                with lock:
                    records.append(record)

    threads = [threading.Thread(target=client_loop, args=(k,), name=f"client{k}") for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return records, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summarize_load(records: list[Record], wall_s: float) -> dict:
    ok = [r for r in records if r.status == 200 and r.audio_s]
    latencies_ms = [r.latency_s * 1000 for r in ok]
    rtfs = [r.latency_s / r.audio_s for r in ok]
    errors = collections.Counter(str(r.status) for r in records if r.status != 200)
    bad_audio = sum(1 for r in records if r.status == 200 and not r.audio_s)
    if bad_audio:
        errors["200 without parseable audio"] = bad_audio
    return {
        "requests": len(records),
        "answered_ok": len(ok),
        "wall_s": wall_s,
        "requests_per_s": len(records) / wall_s if wall_s else None,
        "latency_ms": {"p50": percentile(latencies_ms, 50), "p95": percentile(latencies_ms, 95),
                       "p99": percentile(latencies_ms, 99), "mean": statistics.fmean(latencies_ms) if ok else None,
                       "max": max(latencies_ms, default=None)},
        "errors": sum(errors.values()),
        "errors_by_status": dict(errors),
        "audio_s": sum(r.audio_s for r in ok),
        "audio_s_per_s": sum(r.audio_s for r in ok) / wall_s if wall_s else None,
        "rtf_median": statistics.median(rtfs) if rtfs else None,
        "rtf_p95": percentile(rtfs, 95),
        "bytes": sum(r.bytes for r in records),
    }


def summarize_rss(samples: list[tuple[float, int]], load_start: float, load_end: float) -> dict:
    """Peak over the whole run; over the load phase: means per RSS_BUCKET_S, first third vs last third, slope."""
    mb = 1024 * 1024
    load = [(t - load_start, v / mb) for t, v in samples if load_start <= t <= load_end]
    result: dict = {"samples": len(samples), "peak_mb": max(v for _, v in samples) / mb if samples else None,
                    "load_samples": len(load), "load_peak_mb": max((v for _, v in load), default=None)}
    buckets: dict[int, list[float]] = collections.defaultdict(list)
    for t, v in load:
        buckets[int(t // RSS_BUCKET_S)].append(v)
    result["per_10s_mean_mb"] = [round(statistics.fmean(buckets[k]), 1) for k in sorted(buckets)]
    if len(load) >= 3:
        third = len(load) // 3
        first = statistics.fmean(v for _, v in load[:third])
        last = statistics.fmean(v for _, v in load[-third:])
        times = np.array([t for t, _ in load])
        slope = float(np.polyfit(times / 60.0, np.array([v for _, v in load]), 1)[0])
        result |= {"first_third_mean_mb": first, "last_third_mean_mb": last, "last_over_first": last / first,
                   "slope_mb_per_min": slope, "flat": last <= FLAT_RSS_RATIO * first}
    else:
        result["flat"] = None  # too short a load phase to tell
    result["all_samples_mb"] = [(round(t - load_start, 1), round(v / mb, 1)) for t, v in samples]
    return result


def server_problems(lines: list[str]) -> list[str]:
    """Log lines that name an error: tracebacks, exceptions, ERROR-level records, 5xx access-log lines."""
    keys = ("Traceback", "Error", "ERROR", "Exception", "CRITICAL", '" 5')  # '" 5': a 5xx in the access log
    return [line for line in lines if any(k in line for k in keys)]


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "missed")


def table_row(result: dict, command: str) -> str:
    load, idle, ttfa, rss, goals = (result["load"], result["idle_one_sentence"], result["ttfa"], result["rss"],
                                    result["goals"])
    lat = load["latency_ms"]
    errors = ", ".join(f"{k}: {v}" for k, v in load["errors_by_status"].items()) or "none"
    rss_text = (f"RSS peak {rss['peak_mb']:.0f} MB, load first third {rss['first_third_mean_mb']:.0f} -> last third "
                f"{rss['last_third_mean_mb']:.0f} MB ({rss['slope_mb_per_min']:+.1f} MB/min)"
                if rss.get("first_third_mean_mb") is not None else "RSS: too few samples")
    text = (f"model step {result['export_step']}, {result['clients']} clients x {result['seconds']:.0f} s, "
            f"held-out sentences, wav: {load['requests_per_s']:.2f} req/s, latency p50 {fmt_ms(lat['p50'])}, "
            f"p95 {fmt_ms(lat['p95'])}, p99 {fmt_ms(lat['p99'])}; RTF (latency / audio, median) "
            f"{load['rtf_median']:.3f}" if load["rtf_median"] is not None else "no request answered")
    text += (f"; errors {load['errors']} ({errors}); idle one sentence median {fmt_ms(idle['median_ms'])}; "
             f"10-sentence text streamed raw: first audio median {fmt_ms(ttfa['first_audio_median_ms'])}, max "
             f"{fmt_ms(ttfa['first_audio_max_ms'])}, whole text median {fmt_ms(ttfa['total_median_ms'])} "
             f"({ttfa['repeats']} tries); {rss_text}; SIGTERM exit {result['server_exit_code']}; goals: "
             + ", ".join(f"{g['goal']} {verdict(g['met'])}" for g in goals)
             + f"; 1-min load {result['load_avg_start'][0]:.2f}->{result['load_avg_end'][0]:.2f}")
    return (f"| {result['date']} | serve_load | {result['machine']} | {text.replace('|', chr(92) + '|')} | "
            f"`{command}` |")


def main() -> None:
    args = parse_args()
    sentences = held_out_sentences()
    version_path, info = export_info(args.model)
    load_avg_start = os.getloadavg()
    server = Server(args.model, args.port)
    sampler = RssSampler(server.process.pid)
    sampler.start()
    exit_code = stop_s = None
    try:
        with httpx.Client(trust_env=False) as client:  # trust_env off: a proxy in the environment must not see loopback
            ready_s = server.wait_ready(client)
        print(f"server ready after {ready_s:.1f} s (pid {server.process.pid})", flush=True)
        # First requests of the process run slower (allocations, lazy imports): timed apart, not counted.
        warmup = idle_latency(server.base, sentences[-WARMUP_REQUESTS:], WARMUP_REQUESTS)
        idle = idle_latency(server.base, sentences, IDLE_REPEATS)
        idle_ms = [r["latency_s"] * 1000 for r in idle if r["status"] == 200]
        print("idle one sentence: " + ", ".join(fmt_ms(v) for v in idle_ms), flush=True)
        ttfa_text = " ".join(sentences[:TTFA_SENTENCES])
        ttfa = time_to_first_audio(server.base, ttfa_text, args.ttfa_repeats)
        first_ms = [r["first_audio_s"] * 1000 for r in ttfa if r["status"] == 200 and r["first_audio_s"] is not None]
        total_ms = [r["total_s"] * 1000 for r in ttfa if r["status"] == 200]
        print("first audio of 10 sentences: " + ", ".join(fmt_ms(v) for v in first_ms)
              + "; whole text: " + ", ".join(fmt_ms(v) for v in total_ms), flush=True)
        load_start = time.monotonic()
        records, wall_s = load_phase(server.base, sentences, args.clients, args.seconds)
        load_end = time.monotonic()
    finally:
        sampler.halt.set()
        sampler.join()
        exit_code, stop_s = server.stop()
        log_lines = server.log_lines()  # read now: a failed run has printed the tail already, the file goes
        pathlib.Path(server.log_file.name).unlink(missing_ok=True)
    load = summarize_load(records, wall_s)
    rss = summarize_rss(sampler.samples, load_start, load_end)
    problems = server_problems(log_lines)
    ttfa_errors = sum(1 for r in ttfa if r["status"] != 200 or r["first_audio_s"] is None)
    idle_errors = sum(1 for r in idle + warmup if r["status"] != 200 or not r["audio_s"])
    no_errors = load["errors"] == 0 and ttfa_errors == 0 and idle_errors == 0 and exit_code == 0
    p95 = load["latency_ms"]["p95"]
    ttfa_max = max(first_ms) if first_ms else None
    goals = [
        {"goal": f"p95 one sentence under load < {GOAL_P95_MS:.0f} ms", "value": p95,
         "met": p95 is not None and p95 < GOAL_P95_MS},
        {"goal": f"first audio of a 10-sentence text < {GOAL_TTFA_MS:.0f} ms (max of tries)", "value": ttfa_max,
         "met": ttfa_max is not None and ttfa_max < GOAL_TTFA_MS and len(first_ms) == len(ttfa)},
        {"goal": "no errors", "value": {"load": load["errors"], "ttfa": ttfa_errors, "idle": idle_errors,
                                        "server_exit_code": exit_code}, "met": no_errors},
        {"goal": f"flat memory (load last third <= {FLAT_RSS_RATIO} x first third)",
         "value": rss.get("last_over_first"), "met": rss["flat"]},
    ]
    result = {
        "benchmark": "serve_load",
        "date": datetime.date.today().isoformat(),
        "machine": describe_machine(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "model": args.model,
        "served_version_path": version_path,
        "export_step": info.get("step"),
        "sample_rate": info.get("sample_rate"),
        "frontend": info.get("frontend"),
        "server_command": server.command,
        "clients": args.clients,
        "seconds": args.seconds,
        "port": args.port,
        "ttfa_repeats": args.ttfa_repeats,
        "idle_repeats": IDLE_REPEATS,
        "request_timeout_s": REQUEST_TIMEOUT_S,
        "held_out": str(HELD_OUT.relative_to(REPO)),
        "held_out_sentences": len(sentences),
        "definitions": {
            "latency": "send to last response byte, client side, loopback",
            "requests_per_s": "load-phase requests completed (any status) / load-phase wall time (first send to last "
                              "answer)",
            "rtf": "per request: latency / seconds of audio returned; median and p95 over answered load requests",
            "audio_s_per_s": "seconds of audio returned during the load phase / its wall time",
            "ttfa": "time from sending the 10-sentence raw streamed request to its first non-empty body chunk",
            "flat_memory": f"load phase: mean RSS of the last third <= {FLAT_RSS_RATIO} x the first third's "
                           "(server process and children, sampled every second)",
        },
        "server_ready_s": ready_s,
        "warmup": warmup,
        "idle_one_sentence": {"median_ms": statistics.median(idle_ms) if idle_ms else None,
                              "max_ms": max(idle_ms, default=None), "requests": idle},
        "ttfa": {"text": ttfa_text, "sentences": TTFA_SENTENCES, "repeats": args.ttfa_repeats,
                 "first_audio_median_ms": statistics.median(first_ms) if first_ms else None,
                 "first_audio_max_ms": ttfa_max,
                 "total_median_ms": statistics.median(total_ms) if total_ms else None,
                 "total_max_ms": max(total_ms, default=None), "requests": ttfa},
        "load": load,
        "rss": rss,
        "server_exit_code": exit_code,
        "server_stop_s": stop_s,
        "server_log_problems": problems,
        "server_log_tail": log_lines[-LOG_TAIL_LINES:],
        "goals": goals,
        "load_avg_start": load_avg_start,
        "load_avg_end": os.getloadavg(),
        "records": [dataclasses.asdict(r) for r in records],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")

    lat = load["latency_ms"]
    print(f"load: {load['requests']} requests in {wall_s:.1f} s = {load['requests_per_s']:.2f}/s; latency p50 "
          f"{fmt_ms(lat['p50'])}, p95 {fmt_ms(lat['p95'])}, p99 {fmt_ms(lat['p99'])}; errors {load['errors']} "
          f"{load['errors_by_status'] or ''}; RTF median {load['rtf_median']}; {load['audio_s']:.1f} s audio")
    print(f"rss: peak {rss['peak_mb']:.0f} MB; per 10 s {rss['per_10s_mean_mb']}; first third "
          f"{rss.get('first_third_mean_mb')}, last third {rss.get('last_third_mean_mb')}, slope "
          f"{rss.get('slope_mb_per_min')} MB/min")
    print(f"server: SIGTERM -> exit {exit_code} after {stop_s} s; {len(problems)} log lines naming errors")
    for line in problems[:20]:
        print(f"  server log: {line}")
    for goal in goals:
        print(f"goal {goal['goal']}: {verdict(goal['met'])} ({goal['value']})")
    print(f"wrote {args.output}")
    command = "python benchmarks/serve_load.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:])
    print("suggested docs/BENCHMARKS.md row:")
    print(table_row(result, command))


if __name__ == "__main__":
    main()
