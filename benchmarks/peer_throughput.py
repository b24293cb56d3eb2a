"""Training throughput against the peer: our Tacotron (JAX, TensorFlow) vs coqui-tts's Tacotron, identical shapes.

One training step = forward with teacher forcing, loss, backward, optimizer update; timed after warm-up (tracing,
XLA compilation, allocator growth) over --steps steps of one fixed synthetic batch, at every --batch_sizes:
8 kHz features, reduction factor r=2, every utterance 200 mel frames (80 mel bins, 257 linear bins) and 40
characters, so no step carries padding and mel frames/s = batch * 200 / (seconds per step).

- Ours: the --gin_file config (base_8khz), a --vocab_size vocabulary, built, compiled (optimizer, jit_compile) and
  trained with `model.fit` exactly as tacotron.training.train does, on each Keras backend in its own process
  (KERAS_BACKEND is read at import). Threads: whatever each backend takes on this machine.
- Peer: coqui-tts 0.28.0's Tacotron 1 (TTS.tts.models.tacotron.Tacotron, CBHG post-net) with its default sizes except
  r=2, 80 mel / 257 linear outputs and the same vocabulary; its own `train_step` (forward + TacotronLoss), the
  gradient clipping its trainer applies, and a torch Adam step; torch.set_num_threads(--threads). Its loss is
  measured twice: `default` (TacotronConfig's defaults, which add differential-spectral and SSIM terms to the
  reconstruction, stop and guided-attention terms) and `matched` (those extra terms off: the terms our loss has).
  It runs in its own virtualenv (--peer_venv, default out/peer/venv), which this script creates when missing:
  `pip install torch==2.13.0` first (CPU), then `coqui-tts==0.28.0` under a constraint that keeps that torch, plus
  `six` (imported by coqui-tts 0.28.0 but not declared). coqui's import insists on torchaudio and, with torch >= 2.9,
  torchcodec, which this code path never uses; where they are not installed they are stubbed in the worker process
  (sys.modules entries that raise on any use), and the result says so.

    python benchmarks/peer_throughput.py                      # batch 8 and 32, 10 timed steps; results + a row
    python benchmarks/peer_throughput.py --quick              # smoke run: batch 8, 2 timed steps (out/peer/ only)

Results: benchmarks/results/peer_throughput.json and a row in docs/BENCHMARKS.md (a --quick run writes only
out/peer/peer_throughput.quick.json). Ratios are ours / coqui in mel frames/s, per backend and batch; the goal is the
default backend (JAX) at >= 2x coqui (matched loss: equal work) at batch 32. The 1-minute load average is recorded
around every worker: on a shared machine the figures mean little.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import tempfile
import time

from machine import describe as describe_machine  # benchmarks/ is on sys.path when a script runs
from step_timing import Shapes, measure_ours, timing  # benchmarks/ is on sys.path when a script runs

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"
SCRATCH = REPO / "out" / "peer"
SYSTEMS = ("coqui", "jax", "tensorflow")
OURS = ("jax", "tensorflow")
DEFAULT_BACKEND = "jax"  # what tacotron.training.train sets when KERAS_BACKEND is unset
SHORT = {"jax": "JAX", "tensorflow": "TF", "coqui": "coqui"}
PEER_LOSSES = ("default", "matched")
# The peer, pinned. torch goes in first and alone, so that coqui-tts cannot pull a CUDA build.
TORCH_SPEC = "torch==2.13.0"
PEER_SPECS = ("coqui-tts==0.28.0", "six==1.17.0")
STUBBED = ("torchaudio", "torchcodec")
# Shapes of the comparison (the issue's): 8 kHz features, r=2, every utterance this long.
FRAMES = 200
TEXT_CHARS = 40
NUM_MELS = 80
NUM_FREQ = 257
R = 2
GOAL_BATCH = 32
GOAL_RATIO = 2.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_sizes", default="8,32")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="coqui, jax, tensorflow (jax/tensorflow: ours)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    parser.add_argument("--warmup_steps", type=int, default=2, help="untimed steps first (the first one compiles)")
    parser.add_argument("--gin_file", default="base_8khz", help="our model/train config")
    parser.add_argument("--gin_param", action="append", default=[], help="extra gin binding for ours (repeatable)")
    parser.add_argument("--vocab_size", type=int, default=40,
                        help="embedding rows on both sides (ours: padding + 38 symbols + OOV)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads for the peer")
    parser.add_argument("--peer_losses", default=",".join(PEER_LOSSES), help="default, matched (see the docstring)")
    parser.add_argument("--peer_venv", default=str(SCRATCH / "venv"), help="the peer's virtualenv (made when missing)")
    parser.add_argument("--torch_index_url", default="",
                        help="pip --index-url for the torch install only (e.g. PyTorch's CPU index elsewhere)")
    parser.add_argument("--quick", action="store_true", help="smoke run: batch 8, 2 timed steps; out/peer/ only")
    parser.add_argument("--device_note", default="", help="appended to the machine description (e.g. 'shared CPU')")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--worker_output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_sizes = "8"
        args.steps = min(args.steps, 2)
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    except ValueError:
        parser.error(f"--batch_sizes {args.batch_sizes!r}: comma-separated integers")
    for name, allowed in (("systems", SYSTEMS), ("peer_losses", PEER_LOSSES)):
        values = [v for v in getattr(args, name).split(",") if v]
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            parser.error(f"--{name} {getattr(args, name)!r}: choose from {','.join(allowed)}")
        setattr(args, name, values)
    if min(args.batch_sizes, default=0) < 1 or args.steps < 1 or args.warmup_steps < 1 or args.threads < 1:
        parser.error("--batch_sizes, --steps, --warmup_steps and --threads must be positive")
    if args.vocab_size < 3:
        parser.error("--vocab_size must be at least 3 (padding, one symbol, OOV)")
    return args


# --- worker: ours, one Keras backend ----------------------------------------------------------------------------------


def run_ours(args: argparse.Namespace) -> None:
    shapes = Shapes(FRAMES, TEXT_CHARS, args.vocab_size, NUM_MELS, NUM_FREQ, R)
    output = pathlib.Path(args.worker_output)
    measure_ours(args.gin_file, args.gin_param, shapes, args.batch_sizes, args.steps, args.warmup_steps,
                 on_row=lambda out: output.write_text(json.dumps(out, indent=2)))


# --- worker: the peer (runs in the peer venv's Python) --------------------------------------------------------------


def _stub_unused_modules() -> list[str]:
    """Register importable stand-ins for the audio-IO packages coqui's import probes, where they are not installed."""
    import importlib.machinery
    import importlib.util
    import types

    stubbed = []
    for name in STUBBED:
        if importlib.util.find_spec(name) is not None:
            continue
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)
        module.__version__ = "0+benchmark-stub"

        def unavailable(attr, _name=name):
            # AttributeError, so that hasattr() and inspect's module probing see a module without the attribute.
            raise AttributeError(f"{_name} is a stub of benchmarks/peer_throughput.py: it has no {attr!r}")

        module.__getattr__ = unavailable
        sys.modules[name] = module
        stubbed.append(name)
    return stubbed


def peer_config(vocab_size: int, loss: str):
    """coqui's TacotronConfig at our shapes; every size not named here is its Tacotron 1 default."""
    from TTS.tts.configs.shared_configs import BaseAudioConfig
    from TTS.tts.configs.tacotron_config import TacotronConfig

    # Audio settings are our AudioConfig's (they only describe the features: the model never reads them here).
    audio = BaseAudioConfig(sample_rate=8000, num_mels=NUM_MELS, fft_size=2 * (NUM_FREQ - 1), win_length=400,
                            hop_length=100, mel_fmin=0.0, mel_fmax=4000.0)
    overrides = {"num_chars": vocab_size, "r": R, "decoder_output_dim": NUM_MELS, "out_channels": NUM_FREQ}
    if loss == "matched":
        overrides.update(decoder_diff_spec_alpha=0.0, postnet_diff_spec_alpha=0.0, decoder_ssim_alpha=0.0,
                         postnet_ssim_alpha=0.0)
    return TacotronConfig(audio=audio, **overrides), overrides


def run_peer(args: argparse.Namespace) -> None:
    # This script's folder is first on sys.path; none of its modules may stand in for one the peer imports.
    here = pathlib.Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != here]
    stubbed = _stub_unused_modules()
    import importlib.metadata

    import torch

    torch.set_num_threads(args.threads)
    from TTS.tts.models.tacotron import Tacotron

    out = {
        "system": "coqui",
        "versions": {"coqui-tts": importlib.metadata.version("coqui-tts"), "torch": torch.__version__,
                     "python": platform.python_version()},
        "torch_cuda": torch.version.cuda,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "stubbed_modules": stubbed,
        "measurements": [],
    }
    for loss in args.peer_losses:
        for batch_size in args.batch_sizes:
            torch.manual_seed(0)
            config, overrides = peer_config(args.vocab_size, loss)
            model = Tacotron(config)
            model.train()
            criterion = model.get_criterion()
            params = sum(p.numel() for p in model.parameters() if p.requires_grad)
            # coqui's optimizer settings with Adam in place of its default RAdam; the same cost per step.
            optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, **config.optimizer_params)
            g = torch.Generator().manual_seed(0)
            steps = FRAMES // R
            stop = torch.zeros(batch_size, steps)
            stop[:, -1] = 1.0
            # The batch as coqui's format_batch hands it to train_step (stop targets per decoder step).
            batch = {
                "text_input": torch.randint(1, args.vocab_size, (batch_size, TEXT_CHARS), generator=g),
                "text_lengths": torch.full((batch_size,), TEXT_CHARS),
                "mel_input": torch.randn(batch_size, FRAMES, NUM_MELS, generator=g),
                "mel_lengths": torch.full((batch_size,), FRAMES),
                "linear_input": torch.randn(batch_size, FRAMES, NUM_FREQ, generator=g),
                "stop_targets": stop,
                "stop_target_lengths": torch.full((batch_size,), float(steps)),
                "speaker_ids": None,
                "d_vectors": None,
            }
            ends = []
            start = (time.perf_counter(), time.process_time())
            for _ in range(args.warmup_steps + args.steps):
                optimizer.zero_grad(set_to_none=True)
                _, loss_dict = model.train_step(batch, criterion)
                loss_dict["loss"].backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)  # as coqui's trainer does
                optimizer.step()
                final_loss = loss_dict["loss"].item()
                ends.append((time.perf_counter(), time.process_time()))
            row = timing(ends, start, args.warmup_steps, batch_size, FRAMES)
            terms = sorted(k for k in loss_dict if k not in ("loss", "align_error"))
            row.update(system="coqui", loss=loss, batch_size=batch_size, params=params, final_loss=final_loss,
                       loss_terms=terms, reconstruction_loss=type(criterion.criterion).__name__,
                       optimizer=f"torch Adam {config.optimizer_params}, grad clip {config.grad_clip}",
                       config_overrides=overrides)
            out["measurements"].append(row)
            print(f"[coqui, {loss} loss] batch {batch_size}: {params:,} params, {row['step_s']:.3f} s/step, "
                  f"{row['mel_frames_per_s']:.0f} mel frames/s, CPU/wall {row['cpu_per_wall']:.2f} "
                  f"(warm-up {row['warmup_s']:.1f} s)", flush=True)
            pathlib.Path(args.worker_output).write_text(json.dumps(out, indent=2))
            del model, optimizer
    pathlib.Path(args.worker_output).write_text(json.dumps(out, indent=2))


# --- parent: the peer venv, one child per system, ratios, results ---------------------------------------------------


def _venv_python(venv: pathlib.Path) -> pathlib.Path:
    return venv / "bin" / "python"


_PROBE = """
import importlib.metadata as m, json, torch
names = sorted(d.metadata["Name"] for d in m.distributions())
print(json.dumps({"coqui-tts": m.version("coqui-tts"), "six": m.version("six"), "torch": torch.__version__,
                  "cuda": torch.version.cuda, "nvidia": [n for n in names if n.lower().startswith("nvidia")]}))
"""


def _probe_peer(python: pathlib.Path) -> dict | None:
    if not python.exists():
        return None
    result = subprocess.run([str(python), "-c", _PROBE], capture_output=True, text=True)
    return json.loads(result.stdout) if result.returncode == 0 else None


def ensure_peer(venv: pathlib.Path, torch_index_url: str) -> dict:
    """The peer's virtualenv, created and installed when missing; what is in it (fails on a CUDA torch)."""
    python = _venv_python(venv)
    wanted = {spec.split("==")[0]: spec.split("==")[1] for spec in (TORCH_SPEC, *PEER_SPECS)}
    probe = _probe_peer(python)

    def matches(p):
        return (p is not None and p["coqui-tts"] == wanted["coqui-tts"] and p["six"] == wanted["six"]
                and p["torch"].split("+")[0] == wanted["torch"])

    installed_now = False
    if not matches(probe):
        print(f"installing the peer into {venv} ({TORCH_SPEC}, then {' '.join(PEER_SPECS)}) ...", file=sys.stderr,
              flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, TORCH_SPEC, *(["--index-url", torch_index_url] if torch_index_url else [])], check=True)
        constraints = venv / "peer-constraints.txt"
        constraints.write_text(TORCH_SPEC + "\n")  # coqui-tts must not replace (or re-resolve) that torch
        subprocess.run([*pip, "--constraint", str(constraints), *PEER_SPECS], check=True)
        probe = _probe_peer(python)
        installed_now = True
        if not matches(probe):
            sys.exit(f"the peer venv {venv} does not hold {TORCH_SPEC} and {' '.join(PEER_SPECS)}: {probe}")
    if probe["cuda"] or probe["nvidia"]:
        sys.exit(f"the peer venv {venv} has a CUDA torch ({probe['torch']}, cuda {probe['cuda']}, {probe['nvidia']}): "
                 f"remove it and rerun with --torch_index_url set to a CPU-only index")
    return {"venv": str(venv), "installed_now": installed_now, "pip_specs": [TORCH_SPEC, *PEER_SPECS], **probe}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def run_system(system: str, python: pathlib.Path, argv: list[str], output: pathlib.Path) -> dict:
    """One worker: its measurements, wall seconds, error, and the 1-minute load average around it."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": ""}
    if system == "coqui":
        env.pop("KERAS_BACKEND", None)
    else:
        env["KERAS_BACKEND"] = system
    command = [str(python), str(pathlib.Path(__file__).resolve()), *argv, "--worker", system, "--worker_output",
               str(output)]
    load_before, start = _load(), time.perf_counter()
    result = subprocess.run(command, env=env, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    elapsed, load_after = time.perf_counter() - start, _load()
    data = json.loads(output.read_text()) if output.exists() else None
    error = None
    if result.returncode != 0:
        error = f"{system} worker exited {result.returncode}: {result.stderr.strip()[-1500:]}"
    return {"data": data, "seconds": round(elapsed, 1), "error": error, "load_1min": [load_before, load_after]}


def summarize(rows: list[dict]) -> dict:
    """ours / coqui in mel frames/s, per backend, batch and peer loss; the goal at batch 32."""

    def get(system, batch, loss=None):
        return next((m for m in rows if m["system"] == system and m["batch_size"] == batch
                     and m.get("loss") == loss), None)

    ratios = {}
    for backend in OURS:
        for batch in sorted({m["batch_size"] for m in rows}):
            ours = get(backend, batch)
            for loss in PEER_LOSSES:
                peer = get("coqui", batch, loss)
                if ours and peer:
                    ratios.setdefault(backend, {}).setdefault(str(batch), {})[f"{loss}_loss"] = (
                        ours["mel_frames_per_s"] / peer["mel_frames_per_s"]
                    )
    # Judged at equal work: coqui's default loss adds terms ours does not compute (SSIM, differential spectra), and
    # the issue's own baseline ratios match this reading.
    goal_ratio = ratios.get(DEFAULT_BACKEND, {}).get(str(GOAL_BATCH), {}).get("matched_loss")
    return {
        "ours_vs_coqui_mel_frames": ratios,
        "goal": {
            "text": f"ours ({DEFAULT_BACKEND}, the default backend) >= {GOAL_RATIO}x coqui (matched loss) "
                    f"at batch {GOAL_BATCH}",
            "ratio": goal_ratio,
            "met": None if goal_ratio is None else goal_ratio >= GOAL_RATIO,
        },
    }


def _met(value: bool | None) -> str:
    return "not measured" if value is None else ("met" if value else "NOT met")


def table_row(result: dict, command: str) -> str:
    rows = result["measurements"]
    batches = sorted({m["batch_size"] for m in rows})
    params = {("coqui" if m["system"] == "coqui" else "ours"): m["params"] for m in rows}
    dirty = "+uncommitted model/ edits" if result["ours_model_dirty"] else ""
    parts = [f"{FRAMES} frames, {TEXT_CHARS} chars, r={R}, vocabulary {result['shapes']['vocab_size']}; ours "
             f"{result['gin_file']} at {result['ours_commit'][:7]}{dirty} vs coqui-tts {result['peer']['coqui-tts']} "
             f"Tacotron (torch {result['peer']['torch']}, {result['threads']} threads); "
             "params " + ", ".join(f"{s} {p / 1e6:.2f}M" for s, p in sorted(params.items(), reverse=True))]
    for batch in batches:
        bits = []
        for m in rows:
            if m["batch_size"] != batch:
                continue
            name = SHORT[m["system"]] + (f" ({m['loss']} loss)" if m["system"] == "coqui" else "")
            bits.append(f"{name} {m['mel_frames_per_s']:,.0f} ({m['step_s']:.2f} s/step)")
        ratio_bits = [f"{SHORT[b]}/coqui {r['default_loss']:.2f}x (matched {r['matched_loss']:.2f}x)"
                      if "matched_loss" in r else f"{SHORT[b]}/coqui {r['default_loss']:.2f}x"
                      for b, by_batch in result["summary"]["ours_vs_coqui_mel_frames"].items()
                      if (r := by_batch.get(str(batch))) and "default_loss" in r]
        parts.append(f"batch {batch}, mel frames/s: " + ", ".join(bits) + ("; " + ", ".join(ratio_bits)
                                                                          if ratio_bits else ""))
    loads = ", ".join(f"{SHORT[s]} {w['load_1min'][0]}->{w['load_1min'][1]}" for s, w in result["workers"].items())
    goal = result["summary"]["goal"]
    parts.append(f"{result['steps']} timed steps after {result['warmup_steps']}; 1-min load {loads}")
    parts.append(f"goal ({goal['text']}) {_met(goal['met'])}"
                 + ("" if goal["ratio"] is None else f" ({goal['ratio']:.2f}x)"))
    if result["peer"]["stubbed_modules"]:
        parts.append("peer import stubs: " + ", ".join(result["peer"]["stubbed_modules"]))
    text = "; ".join(parts).replace("|", "\\|")
    return f"| {result['date']} | peer_throughput | {result['machine']} | {text} | `{command}` |\n"


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def main() -> None:
    args = parse_args()
    if args.worker == "coqui":
        run_peer(args)
        return
    if args.worker:
        run_ours(args)
        return
    argv = sys.argv[1:]
    load_at_start = _load()
    if load_at_start > 0.5 * (os.cpu_count() or 1):
        print(f"warning: the machine is busy (1-min load {load_at_start} on {os.cpu_count()} cores): these timings "
              "will not show what this code does on a quiet machine", file=sys.stderr, flush=True)
    peer = None
    if "coqui" in args.systems:
        peer = ensure_peer(pathlib.Path(args.peer_venv).resolve(), args.torch_index_url)
    workers, errors = {}, []
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        for system in args.systems:
            python = _venv_python(pathlib.Path(peer["venv"])) if system == "coqui" else pathlib.Path(sys.executable)
            print(f"measuring {system} ...", file=sys.stderr, flush=True)
            got = run_system(system, python, argv, pathlib.Path(tmp) / f"{system}.json")
            if got["error"]:
                errors.append(got["error"])
                print(got["error"], file=sys.stderr, flush=True)
            if got["data"] and got["data"]["measurements"]:
                workers[system] = got
    if not workers:
        sys.exit("no measurements: " + " / ".join(errors))
    if "coqui" in workers:
        data = workers["coqui"]["data"]
        peer.update(stubbed_modules=data["stubbed_modules"], torch_threads=data["torch_threads"],
                    torch_interop_threads=data["torch_interop_threads"])
    cpu = next((line.split(":", 1)[1].strip() for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "") if pathlib.Path("/proc/cpuinfo").exists() else ""
    machine = describe_machine() + (f", {args.device_note}" if args.device_note else "")
    measurements = [m for w in workers.values() for m in w["data"]["measurements"]]
    result = {
        "benchmark": "peer_throughput",
        "date": datetime.date.today().isoformat(),
        "machine": machine,
        "cpu": cpu,
        "quick": args.quick,
        "shapes": {"sample_rate": 8000, "reduction_factor": R, "mel_frames": FRAMES, "text_chars": TEXT_CHARS,
                   "num_mels": NUM_MELS, "num_freq": NUM_FREQ, "vocab_size": args.vocab_size},
        "gin_file": args.gin_file,
        "gin_params": args.gin_param,
        "ours_commit": _git("rev-parse", "HEAD"),
        "ours_model_dirty": bool(_git("status", "--porcelain", "--", "model")),
        "threads": args.threads,
        "load_1min_at_start": load_at_start,
        "steps": args.steps,
        "warmup_steps": args.warmup_steps,
        "peer": peer or {},
        "versions": {s: w["data"]["versions"] for s, w in workers.items()},
        "workers": {s: {"seconds": w["seconds"], "load_1min": w["load_1min"]} for s, w in workers.items()},
        "measurements": measurements,
        "errors": errors,
    }
    result["summary"] = summarize(measurements)
    command = "python benchmarks/peer_throughput.py" + "".join(" " + shlex.quote(a) for a in argv)
    result["command"] = command
    if args.quick:
        SCRATCH.mkdir(parents=True, exist_ok=True)
        target = SCRATCH / "peer_throughput.quick.json"
        target.write_text(json.dumps(result, indent=2) + "\n")
    else:
        RESULTS.mkdir(exist_ok=True)
        target = RESULTS / "peer_throughput.json"
        target.write_text(json.dumps(result, indent=2) + "\n")
        if "coqui" in workers:
            with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
                f.write(table_row(result, command))
    print(json.dumps(result["summary"], indent=2))
    print(f"results: {target}")
    print("1-min load average before->after each worker (on a shared machine the figures mean little): "
          + ", ".join(f"{s} {w['load_1min'][0]}->{w['load_1min'][1]}" for s, w in result["workers"].items()))
    goal = result["summary"]["goal"]
    print(f"goal: {goal['text']}: {_met(goal['met'])}" + ("" if goal["ratio"] is None else f" ({goal['ratio']:.2f}x)"))
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
