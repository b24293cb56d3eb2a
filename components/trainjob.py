"""Multi-node training as a Kubeflow Trainer TrainJob: its manifest, submitting it, following it into the task log."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from components import credentials, kubernetes_api
from components.kubernetes_api import api_reason, one_line

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

# Kubeflow Trainer v2.3.0 (tests/pipelines/kubeflow/trainer_v2.3.0 holds its TrainJob CRD): its `jax-distributed`
# runtime runs one JAX process per pod and gives each JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID,
# which tacotron-train reads to join the others.
TRAINER_VERSION = "v2.3.0"
GROUP, VERSION, PLURAL, KIND = "trainer.kubeflow.org", "v1alpha1", "trainjobs", "TrainJob"
RUNTIME = "jax-distributed"
COMMAND = "tacotron-train"
# The API verbs `run` uses on TrainJobs: what pipelines/kubeflow/trainjob-rbac.yaml grants the pipeline's account.
VERBS = ("create", "get", "list", "watch", "delete")
# Storage every pod reads alike (tacotron.storage's schemes). KFP's default artifact store is MinIO, whose artifact
# URIs say minio://bucket/key: it speaks S3, with its endpoint in AWS_ENDPOINT_URL like any other S3 store.
SHARED_SCHEMES = ("s3", "gs")
S3_ALIASES = ("minio",)
# A watch ends after this long and is started again from a fresh read, so a quietly dropped connection costs at most
# this much delay.
WATCH_TIMEOUT_S = 60
# Names stay short: "<name>-node-0-0" becomes a pod's hostname, 63 characters at most.
_NAME_HASH_LENGTH = 12


# What a rejection most likely means, beside the API's own message.
_HINTS = {
    403: " (the pipeline's service account needs pipelines/kubeflow/trainjob-rbac.yaml)",
    404: f" (is Kubeflow Trainer {TRAINER_VERSION} installed, with its TrainJob API?)",
}


class TrainJobError(RuntimeError):
    """A TrainJob that could not be submitted, failed, was deleted or was cancelled: one line that says which."""


def shared_uri(uri: str, what: str) -> str:
    """`uri` as every pod of a TrainJob reads it (s3:// or gs://; MinIO's minio:// as s3://); TrainJobError for a path
    only this pod sees."""
    scheme, sep, rest = uri.partition("://")
    if sep and scheme in S3_ALIASES:
        return f"s3://{rest}"
    if sep and scheme in SHARED_SCHEMES:
        return uri
    raise TrainJobError(f"multi-node training needs {what} where every pod can read it (s3:// or gs://); {uri!r} "
                        f"is a path on this pod alone")


def job_name(run_key: str) -> str:
    """The TrainJob's name for one pipeline run: the same on every retry of the task, so a retry finds its job."""
    return "tacotron-" + hashlib.sha256(run_key.encode()).hexdigest()[:_NAME_HASH_LENGTH]


@dataclasses.dataclass(frozen=True)
class Resources:
    """What each training pod asks for, as the pipeline's train settings say it (empty or 0: not asked)."""

    accelerator_type: str = ""
    accelerator_count: int = 0
    cpu: str = ""
    memory: str = ""

    def per_node(self) -> dict:
        """The TrainJob's resourcesPerNode: cpu and memory requested, accelerators as limits (extended resources
        are requested by their limit)."""
        requests = {key: value for key, value in (("cpu", self.cpu), ("memory", self.memory)) if value}
        limits = {self.accelerator_type: self.accelerator_count} if self.accelerator_type and self.accelerator_count \
            else {}
        return {key: value for key, value in (("requests", requests), ("limits", limits)) if value}


def passed_env(environ: Mapping[str, str], store_secret: str = "") -> list[dict]:
    """The training container's environment: the JAX backend, and the object store every pod reads data and
    checkpoints from: its credentials from `store_secret` by reference, or the pods' own identity
    (components.credentials)."""
    return [{"name": "KERAS_BACKEND", "value": "jax"}, *credentials.pod_env(environ, store_secret)]


def manifest(name: str, namespace: str, image: str, nodes: int, args: Sequence[str], env: Sequence[dict],
             resources: Resources = Resources(), run_key: str = "") -> dict:
    """A TrainJob that runs `tacotron-train ARGS` in `image` on `nodes` pods of the jax-distributed runtime."""
    trainer = {"numNodes": nodes, "image": image, "command": [COMMAND], "args": list(args), "env": list(env)}
    if resources.per_node():
        trainer["resourcesPerNode"] = resources.per_node()
    metadata = {"name": name, "namespace": namespace,
                "labels": {"app.kubernetes.io/name": "tacotron", "app.kubernetes.io/component": "train"}}
    if run_key:
        metadata["annotations"] = {"tacotron/run-key": run_key}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": metadata,
            "spec": {"runtimeRef": {"name": RUNTIME}, "trainer": trainer}}


def connect(namespace: str = "") -> tuple[ApiClient, str]:
    """(a kubernetes ApiClient, the namespace to run in): the pod's service account and own namespace inside a
    cluster, else the kubeconfig's current context and its namespace; `namespace` overrides either."""
    try:
        api_client, own = kubernetes_api.connect()
    except kubernetes_api.NoApi as e:
        raise TrainJobError(f"no Kubernetes API to submit the TrainJob to: {e}") from None
    return api_client, namespace or own


def launch(run_key: str, image: str, nodes: int, args: Sequence[str], resources: Resources = Resources(),
           namespace: str = "", store_secret: str = "") -> None:
    """Run `tacotron-train ARGS` on `nodes` pods as a TrainJob and follow it to its end (see `run`)."""
    if not image:
        raise TrainJobError("multi-node training needs the image the pipeline runs in")
    api_client, namespace = connect(namespace)
    job = manifest(job_name(run_key), namespace, image, nodes, args, passed_env(os.environ, store_secret), resources,
                   run_key)
    run(job, api_client)


def run(job: dict, api_client: ApiClient, log: Callable[[str], None] | None = None,
        watch_timeout_s: int = WATCH_TIMEOUT_S) -> None:
    """Create the TrainJob (or take over the one an earlier try of this task left running), write each change of its
    status to `log`, and return once it is complete. TrainJobError, in one line, when the API rejects it, it fails
    or it is deleted; on SIGTERM or SIGINT (the task cancelled) the TrainJob is deleted first. `log`: the task's
    log (stdout, each line flushed at once) unless given."""
    import urllib3
    from kubernetes import client

    log = log or _print
    api = client.CustomObjectsApi(api_client)
    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    where = f"TrainJob {namespace}/{name}"
    try:
        with _signals_raise():
            _create(api, job, where, log)
            log(f"{where}: the pods' logs: kubectl logs -n {namespace} -l jobset.sigs.k8s.io/jobset-name={name} "
                f"--prefix -f")
            _follow(api, namespace, name, where, log, watch_timeout_s)
    except _Cancelled as e:
        try:
            _delete(api, namespace, name)
        except (client.ApiException, OSError, urllib3.exceptions.HTTPError) as failure:
            raise TrainJobError(f"{where}: the task was cancelled ({e}) and deleting the TrainJob failed: "
                                f"{_reason(failure)}") from None
        raise TrainJobError(f"{where} deleted: the task was cancelled ({e})") from None
    except client.ApiException as e:
        raise TrainJobError(f"{where}: the Kubernetes API answered {api_reason(e)}") from None
    except (OSError, urllib3.exceptions.HTTPError) as e:
        raise TrainJobError(f"{where}: cannot reach the Kubernetes API at {api_client.configuration.host}: "
                            f"{_reason(e)}") from None
    finally:
        api_client.close()


class _Cancelled(BaseException):
    """SIGTERM or SIGINT while the TrainJob runs (BaseException: no `except Exception` on the way swallows it)."""


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM (Kubernetes stopping the task's pod) and SIGINT raise _Cancelled while the TrainJob is followed."""
    if threading.current_thread() is not threading.main_thread():
        yield  # Python delivers signals to the main thread alone; there the caller's handlers stay.
        return

    def cancel(signum, frame):
        raise _Cancelled(signal.Signals(signum).name)

    previous = {number: signal.signal(number, cancel) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _create(api, job: dict, where: str, log: Callable[[str], None]) -> None:
    """Create the TrainJob. One of that name (an earlier try of this task) is taken over while it runs and replaced
    once it has finished; a rejection is one line."""
    from kubernetes import client

    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    try:
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, job)
    except client.ApiException as e:
        if e.status != 409:
            raise TrainJobError(f"the Kubernetes API rejected {where}: {api_reason(e)}{_HINTS.get(e.status, '')}") \
                from None
        existing = _get(api, namespace, name)
        if existing is not None and _outcome(existing) is None:
            log(f"{where}: taking over the TrainJob an earlier try of this task started")
            return
        log(f"{where}: replacing the finished TrainJob of an earlier try of this task")
        _delete(api, namespace, name)
        _wait_gone(api, namespace, name, where)
        _create(api, job, where, log)
        return
    log(f"{where}: submitted ({job['spec']['trainer']['numNodes']} nodes, runtime {RUNTIME}, image "
        f"{job['spec']['trainer']['image']})")


def _follow(api, namespace: str, name: str, where: str, log: Callable[[str], None], watch_timeout_s: int) -> None:
    """Write each new status of the TrainJob to `log` until it completes (return) or fails (TrainJobError)."""
    import urllib3
    from kubernetes import client, watch

    shown = None
    while True:
        current = _get(api, namespace, name)
        if current is None:
            raise TrainJobError(f"{where} was deleted before it finished")
        events = watch.Watch().stream(
            api.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL,
            field_selector=f"metadata.name={name}", resource_version=current["metadata"]["resourceVersion"],
            timeout_seconds=watch_timeout_s, _request_timeout=watch_timeout_s + 30)
        try:
            for job in _objects(current, events, where):
                status = describe(job)
                if status != shown:
                    log(f"{where}: {status}")
                    shown = status
                outcome = _outcome(job)
                if outcome == "Complete":
                    return
                if outcome is not None:
                    raise TrainJobError(f"{where} failed: {outcome}")
        except client.ApiException as e:
            # 410 Gone: the watch started from a version the API no longer keeps; read it afresh.
            if e.status != 410:
                raise
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError):
            # A dropped watch connection: read it afresh (an API that is gone fails that read, in one line).
            time.sleep(1)


def _objects(current: dict, events: Iterator[dict], where: str) -> Iterator[dict]:
    yield current
    for event in events:
        if event["type"] == "DELETED":
            raise TrainJobError(f"{where} was deleted before it finished")
        yield event["object"]


def describe(job: dict) -> str:
    """A TrainJob's status in one line: its true conditions, its child jobs' counts and the trainer's progress."""
    status = job.get("status") or {}
    parts = [f"{c['type']} ({c.get('reason') or 'no reason'})" for c in status.get("conditions") or []
             if c.get("status") == "True"]
    for child in status.get("jobsStatus") or []:
        counts = [f"{key} {child[key]}" for key in ("active", "ready", "succeeded", "failed", "suspended")
                  if child.get(key)]
        parts.append(f"jobs {child.get('name', '?')}: {', '.join(counts) or 'none yet'}")
    trainer = status.get("trainerStatus") or {}
    if trainer.get("progressPercentage") is not None:
        parts.append(f"progress {trainer['progressPercentage']}%")
    if trainer.get("estimatedRemainingSeconds") is not None:
        parts.append(f"about {trainer['estimatedRemainingSeconds'] // 60} min left")
    return "; ".join(parts) or "waiting for the Trainer controller"


def _outcome(job: dict) -> str | None:
    """"Complete", "<reason>: <message>" for a failed TrainJob, or None while it runs."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition["type"] == "Complete":
            return "Complete"
        if condition["type"] == "Failed":
            return one_line(f"{condition.get('reason') or 'Failed'}: {condition.get('message') or 'no message'}")
    return None


def _get(api, namespace: str, name: str) -> dict | None:
    from kubernetes import client

    try:
        return api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except client.ApiException as e:
        if e.status == 404:
            return None
        raise


def _delete(api, namespace: str, name: str) -> None:
    """Delete the TrainJob and, through it, its pods (a TrainJob already gone is not an error)."""
    from kubernetes import client

    try:
        api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name,
                                            body=client.V1DeleteOptions(propagation_policy="Foreground"))
    except client.ApiException as e:
        if e.status != 404:
            raise


def _wait_gone(api, namespace: str, name: str, where: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while _get(api, namespace, name) is not None:
        if time.monotonic() > deadline:
            raise TrainJobError(f"{where} of an earlier try was not deleted within {timeout_s:.0f} s")
        time.sleep(1)


def _reason(error: Exception) -> str:
    from kubernetes import client

    return api_reason(error) if isinstance(error, client.ApiException) else one_line(str(error))


def _print(line: str) -> None:
    print(line, flush=True)
