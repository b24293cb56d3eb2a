"""`python -m pipelines.kubeflow compile|submit|schedule|run-local`: the one pipeline, compiled for a Kubeflow UI,
submitted to a Kubeflow Pipelines host, scheduled to retrain, or run on this machine with `kfp.local`."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import re
import sys
import tempfile
import time
from collections.abc import Sequence

from tacotron.quality import gate

REPO = pathlib.Path(__file__).resolve().parents[2]
SAMPLE_CORPUS = REPO / "data" / "sample_corpus"
# Sentences of words the bundled corpus lacks, with minimal pairs, in its voice: what run-local's model is judged on.
SAMPLE_HELD_OUT = REPO / "data" / "held_out"
# run-local's defaults: the bundled corpus, the tiny config, a CPU-sized run. Any can be overridden with --param.
LOCAL_DEFAULTS = {
    # tiny.gin's step count is what gives a speaking model in about 5 minutes on 2 CPU cores.
    "gin_files": "tiny",
}
# Kubeflow's cron has six fields, seconds first (robfig/cron): "0 0 3 * * 0" is 03:00 every Sunday.
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-LW#]+$")


class UsageError(Exception):
    """A bad command line, parameter, cron expression or unreachable host: one line, exit code 2."""


def pipeline_parameters(pipeline) -> dict[str, str]:
    """name -> declared type ("String", "NUMBER_INTEGER", ...) of every pipeline parameter."""
    inputs = pipeline.component_spec.inputs or {}
    return {name: spec.type for name, spec in inputs.items()}


# Parameters whose value must be one of a few names, or at least some number; checked before anything runs.
PARAM_CHOICES = {"train_backend": ("jax", "tensorflow")}
PARAM_MINIMUM = {"train_nodes": 1}


def parse_params(pairs: Sequence[str], pipeline) -> dict:
    """--param name=value pairs -> typed arguments; unknown names and malformed values are UsageErrors."""
    declared = pipeline_parameters(pipeline)
    arguments = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(f"--param {pair!r}: expected name=value")
        if name not in declared:
            raise UsageError(f"unknown pipeline parameter {name!r}; parameters: {', '.join(sorted(declared))}")
        kind = declared[name]
        try:
            if kind in ("NUMBER_INTEGER", "Integer"):
                arguments[name] = int(value)
            elif kind in ("NUMBER_DOUBLE", "Float"):
                arguments[name] = float(value)
            elif kind in ("BOOLEAN", "Boolean"):
                arguments[name] = {"true": True, "false": False}[value.lower()]
            else:
                arguments[name] = value
        except (ValueError, KeyError):
            raise UsageError(f"--param {name}={value!r}: not a valid {kind.lower()}") from None
        if name in PARAM_CHOICES and value not in PARAM_CHOICES[name]:
            raise UsageError(f"--param {name}={value!r}: choose one of {', '.join(PARAM_CHOICES[name])}")
        if name in PARAM_MINIMUM and arguments[name] < PARAM_MINIMUM[name]:
            raise UsageError(f"--param {name}={value!r}: at least {PARAM_MINIMUM[name]}")
    return arguments


def check_cron(expression: str) -> str:
    fields = expression.split()
    if len(fields) != 6 or not all(_CRON_FIELD.match(f) for f in fields):
        raise UsageError(
            f"--cron {expression!r}: expected six fields, seconds first (e.g. '0 0 3 * * 0' = Sundays at 03:00)"
        )
    return expression


# A Kubernetes object's name (a PersistentVolumeClaim's, a Secret's): a DNS subdomain.
KUBERNETES_NAME = r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?"


def volume_from(spec: str | None):
    """--pvc CLAIM[:MOUNT_PATH] -> pipelines.kubeflow.pipeline.Volume (None without --pvc)."""
    from pipelines.kubeflow.pipeline import Volume

    if not spec:
        return None
    claim, _, mount_path = spec.partition(":")
    if not re.fullmatch(KUBERNETES_NAME, claim) or (mount_path and not mount_path.startswith("/")):
        raise UsageError(f"--pvc {spec!r}: expected CLAIM[:/MOUNT/PATH], a Kubernetes claim name and an absolute path")
    return Volume(claim, mount_path) if mount_path else Volume(claim)


def secret_name(name: str) -> str:
    """--store_secret: a Kubernetes object name ("" = none); checked as the arguments are parsed, before the slow
    imports."""
    if name and not re.fullmatch(KUBERNETES_NAME, name):
        raise argparse.ArgumentTypeError(f"--store_secret {name!r}: expected a Kubernetes Secret's name")
    return name


def compile_pipeline(output: str, image: str, pvc: str | None = None, store_secret: str = "") -> str:
    from kfp import compiler

    from pipelines.kubeflow.pipeline import create_pipeline

    compiler.Compiler().compile(create_pipeline(image, volume_from(pvc), store_secret), output)
    return output


def client(args: argparse.Namespace):
    """A kfp.Client with the kfp conventions: --token (or none), --namespace, or the current kube context."""
    import warnings

    import kfp

    class _Client(kfp.Client):
        def get_kfp_healthz(self, sleep_duration: int = 5):
            # One attempt: kfp's own retries a host that answers but fails (401, 503) five times, five seconds
            # apart, logging a traceback each time; main() turns the ApiException into one line.
            return self._healthz_api.healthz_service_get_healthz()

    with warnings.catch_warnings():
        # "This client only works with Kubeflow Pipeline v2.0.0-beta.2 and later versions.", on every construction.
        warnings.simplefilter("ignore", FutureWarning)
        return _Client(host=args.host, existing_token=args.token, namespace=args.namespace,
                       kube_context=args.kube_context)


def _experiment_id(kfp_client, name: str, namespace: str | None) -> str:
    return kfp_client.create_experiment(name=name, namespace=namespace).experiment_id


def submit(args: argparse.Namespace) -> str:
    from pipelines.kubeflow.pipeline import create_pipeline

    arguments = parse_params(args.param, create_pipeline(args.image))
    if "corpus" not in arguments:
        raise UsageError("submit needs --param corpus=gs://... (the corpus the cluster reads)")
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(os.path.join(tmp, "pipeline.yaml"), args.image, args.pvc, args.store_secret)
        kfp_client = client(args)
        run = kfp_client.create_run_from_pipeline_package(
            package, arguments=arguments, run_name=args.run_name or f"tacotron-{time.strftime('%Y%m%d-%H%M%S')}",
            experiment_name=args.experiment, namespace=args.namespace,
        )
    print(f"submitted run {run.run_id} to {args.host} (experiment {args.experiment!r})", flush=True)
    return run.run_id


def schedule(args: argparse.Namespace) -> None:
    from pipelines.kubeflow.pipeline import create_pipeline

    if args.list:
        response = client(args).list_recurring_runs(page_size=100, namespace=args.namespace)
        for job in response.recurring_runs or []:
            cron = job.trigger.cron_schedule.cron if job.trigger and job.trigger.cron_schedule else ""
            print(f"{job.recurring_run_id}\t{job.display_name}\t{job.status}\t{cron}", flush=True)
        return
    if args.disable:
        client(args).disable_recurring_run(args.disable)
        print(f"disabled recurring run {args.disable}", flush=True)
        return
    if not args.cron:
        raise UsageError("schedule needs --cron (or --list / --disable ID)")
    cron = check_cron(args.cron)
    arguments = parse_params(args.param, create_pipeline(args.image))
    if "corpus" not in arguments:
        raise UsageError("schedule needs --param corpus=gs://... (the corpus new recordings land in)")
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(os.path.join(tmp, "pipeline.yaml"), args.image, args.pvc, args.store_secret)
        kfp_client = client(args)
        experiment_id = _experiment_id(kfp_client, args.experiment, args.namespace)
        # enable_caching is left unset: the compiled per-task settings hold (the fingerprint and training always
        # run; preprocessing is cached on the fingerprint), so a scheduled run sees new recordings.
        job = kfp_client.create_recurring_run(
            experiment_id=experiment_id, job_name=args.name, cron_expression=cron,
            max_concurrency=args.max_concurrency, pipeline_package_path=package, params=arguments,
        )
    print(f"scheduled {args.name!r} ({cron}) as recurring run {job.recurring_run_id}", flush=True)


def run_local(args: argparse.Namespace) -> dict:
    """The whole pipeline on this machine: kfp.local, each task a subprocess in this Python environment. Unless
    --verbose, what the tasks print goes to files under workdir/logs and one line per task is shown instead."""
    from kfp import local

    from pipelines.kubeflow.console import Console
    from pipelines.kubeflow.pipeline import create_pipeline
    from pipelines.preprocess import layouts

    pipeline = create_pipeline(image=args.image) if args.image else create_pipeline()
    workdir = pathlib.Path(args.workdir).resolve()
    corpus = pathlib.Path(args.corpus).resolve()
    # The bundled held-out set only means "unseen words" for the corpus it was made from.
    held_out = args.held_out if args.held_out is not None else (
        str(SAMPLE_HELD_OUT) if corpus == SAMPLE_CORPUS.resolve() else "")
    arguments = {
        **LOCAL_DEFAULTS,
        "corpus": str(corpus),
        "held_out": str(pathlib.Path(held_out).resolve()) if held_out else "",
        "checkpoint_root": str(workdir / "checkpoints"),
        "serving_dir": str(workdir / "serving"),
        **parse_params(args.param, pipeline),
    }
    # The pods of a multi-node TrainJob read the data and checkpoints from an object store; kfp.local keeps its
    # artifacts on this machine.
    if arguments.get("train_nodes", 1) > 1:
        raise UsageError(f"--param train_nodes={arguments['train_nodes']}: run-local trains on one node (its data "
                         "is on this machine); multi-node training runs on a cluster, with submit")
    # A corpus the preprocessing job cannot read stops here, in one line, before any task runs.
    try:
        layouts.list_corpus(arguments["corpus"], arguments.get("corpus_format", layouts.AUTO),
                            speaker=arguments.get("speaker") or None)
    except layouts.LayoutError as e:
        raise UsageError(f"--corpus: {e}") from None
    if args.image:
        runner = image_runner(arguments, workdir)
    else:
        # Task subprocesses import `pipelines` and `components` from this checkout (installed in the image instead).
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        runner = local.SubprocessRunner(use_venv=False)
    # Caching (keyed on each task's inputs) lets a rerun on the same corpus and settings skip preprocessing.
    local.init(runner=runner, pipeline_root=str(workdir / "pipeline_root"), enable_caching=not args.no_cache,
               cache_root=str(workdir / "cache"))
    console = None if args.verbose else Console(workdir / "logs")
    print(f"running the pipeline on {corpus} in {workdir}", flush=True)
    started = time.time()
    try:
        with console.capture() if console else contextlib.nullcontext():
            pipeline(**arguments)
    except RuntimeError as e:
        if console is None or console.failed is None:
            raise
        log = console.log_dir / f"{console.failed}.log"
        raise PipelineFailed(f"task {console.failed!r} failed; its log: {log}\n{_tail(log)}") from e
    except Exception as e:
        cause = container_failure(e) if args.image else None
        if cause is None:
            raise
        raise PipelineFailed(f"a task's container of {args.image} did not start: {cause}") from e
    return _summary(workdir, time.time() - started, console)


def container_failure(error: Exception) -> str | None:
    """The container engine's own reason, on one line, when it refused to create or start a task's container (an
    image it lacks, a runtime that cannot apply the container's limits); None for any other error."""
    import docker.errors

    if not isinstance(error, docker.errors.DockerException):
        return None
    return " ".join(str(getattr(error, "explanation", None) or error).split())


def image_runner(arguments: dict, workdir: pathlib.Path):
    """kfp.local's DockerRunner, every task a container of the pipeline's image (as the image's own user) through the
    Docker API that DOCKER_HOST names. kfp mounts the pipeline root; the corpus, the held-out set, the checkpoints and
    the serving folder are mounted at the same paths, so every path argument means the same inside."""
    from docker.types import Mount
    from kfp import local

    mounts = [Mount(p, p, type="bind", read_only=True) for p in (arguments["corpus"], arguments["held_out"]) if p]
    for name in ("pipeline_root", "checkpoints", "serving"):
        folder = workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        # The image runs as its own user (uid 1000), who must write where the tasks write: these are this run's
        # scratch folders on this machine.
        folder.chmod(0o777)
        if name != "pipeline_root":  # kfp mounts that one itself
            mounts.append(Mount(str(folder), str(folder), type="bind"))
    return local.DockerRunner(mounts=mounts)


class PipelineFailed(Exception):
    """A task failed: its name, where its log is, and the log's last lines; exit code 1."""


def _tail(path: pathlib.Path, lines: int = 12) -> str:
    text = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join("    " + line for line in text[-lines:])


def _summary(workdir: pathlib.Path, seconds: float, console) -> dict:
    """Print and return where the reports, the model and the logs are, the gate's verdict and the key figures. A task
    that was cached wrote its outputs under an earlier run's folder: the reports are the newest of any run."""
    summary = {"seconds": round(seconds, 1), "exported": _pushed(workdir)}
    report = _newest(workdir, "*/evaluate/evaluation/report.html")
    data_report = _newest(workdir, "*/preprocess/data/report.html")
    summary.update(report=str(report) if report else None, data_report=str(data_report) if data_report else None)
    print(f"finished in {seconds / 60:.1f} min", flush=True)
    if data_report:
        print(f"data report: {data_report}", flush=True)
    if report:
        print(f"report: {report}", flush=True)
        metrics = gate.read_metrics(str(report.parent / gate.METRICS_FILE))
        summary["verdict"] = metrics.get("verdict", "")
        print(f"verdict: {summary['verdict']}", flush=True)
        free = metrics["free_running"]
        figures = [f"step {metrics['step']}",
                   f"sentence identification {free['sentence_identification']:.0%}" if free.get(
                       "sentence_identification") is not None else None,
                   f"MCD-DTW {free['mcd_dtw_db']:.2f} dB", f"GV ratio {free['gv_ratio']:.2f}",
                   f"length ratio {free['length_ratio']:.2f}", f"failures {free['failure_rate']:.0%}"]
        print("quality: " + ", ".join(f for f in figures if f), flush=True)
        if "held_out" in metrics:
            print(metrics["held_out"]["summary"], flush=True)
    verdict = _verdict(workdir)
    if verdict is not None:
        print("gate: " + ("passed" if verdict["passed"] else "failed: " + "; ".join(verdict["reasons"])), flush=True)
    if summary["exported"]:
        print(f"exported model: {summary['exported']}", flush=True)
        # The serving folder, not the version: the server follows the versions later runs push there.
        serving = summary["exported"].rstrip("/").rsplit("/", 1)[0]
        print(f"serve it: .venv/bin/tacotron-serve --model {serving}  (then open http://localhost:8080/)", flush=True)
    else:
        print("no model exported: the gate did not pass", flush=True)
    if console is not None:
        print(f"logs: {console.log_dir}", flush=True)
    return summary


def _newest(workdir: pathlib.Path, pattern: str) -> pathlib.Path | None:
    """The most recently written path under workdir/pipeline_root that matches `pattern`."""
    found = sorted((workdir / "pipeline_root").glob(pattern), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def _pushed(workdir: pathlib.Path) -> str | None:
    """Where this run's export task pushed the model (serving_dir/<step>, a path or a URL); None when it did not
    (an earlier run's export does not count)."""
    from pipelines.kubeflow.pipeline import PIPELINE_NAME

    run = _newest(workdir, f"{PIPELINE_NAME}-*")
    output = run / "export" / "executor_output.json" if run else None
    if output is None or not output.exists():
        return None
    return json.loads(output.read_text()).get("parameterValues", {}).get("Output") or None


def _verdict(workdir: pathlib.Path) -> dict | None:
    """The gate's verdict in this run (tacotron.quality.gate.write_verdict); None when the gate did not run."""
    from pipelines.kubeflow.pipeline import PIPELINE_NAME

    run = _newest(workdir, f"{PIPELINE_NAME}-*")
    path = run / "gate" / "verdict" / gate.VERDICT_FILE if run else None
    return gate.read_verdict(str(path)) if path is not None and path.exists() else None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from components import DEFAULT_IMAGE

    parser = argparse.ArgumentParser(prog="python -m pipelines.kubeflow", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def remote(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--host", help="Kubeflow Pipelines API endpoint (default: the kube context's)")
        sub.add_argument("--token", default=os.environ.get("KFP_TOKEN"), help="bearer token (default: $KFP_TOKEN)")
        sub.add_argument("--namespace", default=None, help="Kubeflow profile namespace (multi-user clusters)")
        sub.add_argument("--kube_context", default=None, help="kubeconfig context to reach the cluster through")
        sub.add_argument("--experiment", default="tacotron", help="experiment name (created when missing)")
        sub.add_argument("--image", default=DEFAULT_IMAGE, help="the project image every component runs in")
        sub.add_argument("--param", action="append", default=[], help="pipeline parameter name=value (repeatable)")
        volume(sub)

    def volume(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--store_secret", metavar="SECRET", default="", type=secret_name,
                         help="the Kubernetes Secret every task and training pod reads the object store's keys from "
                         "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; optionally AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, "
                         "AWS_DEFAULT_REGION), by reference; default: none, the pods' workload identity")
        sub.add_argument("--pvc", metavar="CLAIM[:MOUNT_PATH]", default=None,
                         help="mount this PersistentVolumeClaim into the train, gate and export tasks (at "
                         "/mnt/tacotron by default) for checkpoint_root and serving_dir paths under it")

    compile_cmd = commands.add_parser("compile", help="write the pipeline IR YAML a Kubeflow UI uploads")
    compile_cmd.add_argument("--output", default="pipeline.yaml")
    compile_cmd.add_argument("--image", default=DEFAULT_IMAGE, help="the project image every component runs in")
    volume(compile_cmd)
    submit_cmd = commands.add_parser("submit", help="start a run on a Kubeflow Pipelines host")
    remote(submit_cmd)
    submit_cmd.add_argument("--run_name", default=None)
    schedule_cmd = commands.add_parser("schedule", help="create (or --list, --disable) a recurring run")
    remote(schedule_cmd)
    schedule_cmd.add_argument("--cron", help="six-field cron, seconds first, e.g. '0 0 3 * * 0'")
    schedule_cmd.add_argument("--name", default="tacotron-retrain", help="recurring run name")
    schedule_cmd.add_argument("--max_concurrency", type=int, default=1)
    schedule_cmd.add_argument("--list", action="store_true", help="list recurring runs")
    schedule_cmd.add_argument("--disable", metavar="ID", help="disable the recurring run with this id")
    local_cmd = commands.add_parser("run-local", help="run the pipeline on this machine with kfp.local")
    local_cmd.add_argument("--corpus", default=str(SAMPLE_CORPUS), help="LJSpeech-layout corpus (default: bundled)")
    local_cmd.add_argument("--held_out", default=None,
                           help="held-out sentences of words the corpus lacks, with minimal pairs (default: the "
                           "bundled set with the bundled corpus, none with another; see make_sample_corpus.py)")
    local_cmd.add_argument("--workdir", default="out/pipeline", help="pipeline root, checkpoints and serving folder")
    local_cmd.add_argument("--param", action="append", default=[], help="pipeline parameter name=value (repeatable)")
    local_cmd.add_argument("--no_cache", action="store_true", help="run every task, even with unchanged inputs")
    local_cmd.add_argument("--image", default="",
                           help="run every task in a container of this image (kfp.local's DockerRunner, through the "
                           "Docker API that DOCKER_HOST names: docker, or podman's, as `make image-test` does)")
    local_cmd.add_argument("--verbose", action="store_true",
                           help="stream every task's output here instead of one line per task (logs under workdir)")
    args = parser.parse_args(argv)
    if getattr(args, "max_concurrency", 1) < 1:
        parser.error("--max_concurrency must be at least 1")
    return args


def _reason(error: Exception) -> str:
    """The first meaningful line of a client-side error (connection refused, HTTP status and message, ...)."""
    from kfp_server_api.exceptions import ApiException

    if isinstance(error, ApiException):
        try:
            message = json.loads(error.body or "{}").get("message", "")
        except ValueError:
            message = ""
        return f"HTTP {error.status} {error.reason or ''} {message}".strip()
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    prog = "python -m pipelines.kubeflow"
    try:
        if args.command == "compile":
            print(f"wrote {compile_pipeline(args.output, args.image, args.pvc, args.store_secret)}", flush=True)
        elif args.command == "submit":
            submit(args)
        elif args.command == "schedule":
            schedule(args)
        else:
            run_local(args)
    except UsageError as e:
        print(f"{prog} {args.command}: error: {e}", file=sys.stderr)
        return 2
    except PipelineFailed as e:
        print(f"{prog} {args.command}: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001  (network and API errors from the kfp client: one line, not a traceback)
        if args.command in ("submit", "schedule") and _is_client_error(e):
            from kfp_server_api.exceptions import ApiException

            where = args.host or "the cluster"
            verb = f"{where} answered" if isinstance(e, ApiException) else f"cannot reach {where}"
            print(f"{prog} {args.command}: error: {verb}: {_reason(e)}", file=sys.stderr)
            return 2
        raise
    return 0


def _is_client_error(error: Exception) -> bool:
    import urllib3.exceptions
    from kfp_server_api.exceptions import ApiException

    return isinstance(error, (urllib3.exceptions.HTTPError, ApiException, OSError))

