"""The KServe InferenceService that serves the exported model: its manifest, and creating it or pointing it at a new
version through the Kubernetes API."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from components import kubernetes_api
from components.kubernetes_api import api_reason, one_line

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

# The KServe release whose InferenceService CRD the manifests are checked against
# (tests/pipelines/kubeflow/kserve_v0.20.0 says why not the SDK's 0.21.0).
KSERVE_VERSION = "v0.20.0"
GROUP, VERSION, PLURAL, KIND = "serving.kserve.io", "v1beta1", "inferenceservices", "InferenceService"
# The API verbs `deploy` uses: what pipelines/kubeflow/inferenceservice-rbac.yaml grants the pipeline's account.
VERBS = ("get", "create", "patch")
# A custom predictor's serving container is the one of this name; KServe's storage initializer downloads its
# STORAGE_URI to /mnt/models before it starts, with the credentials of the predictor's service account.
CONTAINER = "kserve-container"
STORAGE_URI = "STORAGE_URI"
MODEL_DIR = "/mnt/models"
COMMAND = "tacotron-serve"
# The model's name in KServe's paths (/v1/models/tacotron:predict), whatever the InferenceService is called.
MODEL_NAME = "tacotron"
PORT = 8080
# The image's own user (Dockerfile).
USER = 1000
# The ServiceAccount whose Secret holds the object store's credentials (pipelines/kubeflow/inferenceservice.yaml).
SERVICE_ACCOUNT = "tacotron-models"
# Where tacotron.storage pushes that KServe's storage initializer reads as they are; a path on the pipeline's volume
# becomes a pvc:// URI.
STORE_SCHEMES = ("s3", "gs")
# One call to the API waits this long at most (a blackholed API server fails the task instead of hanging it).
REQUEST_TIMEOUT_S = 30
# What a refusal most likely means, beside the API's own message (a 403 from KServe's validating webhook, which
# says itself what it refused, is no matter of permissions).
_HINTS = {
    403: " (the pipeline's service account needs pipelines/kubeflow/inferenceservice-rbac.yaml in that namespace)",
    404: f" (is KServe installed, with its {GROUP}/{VERSION} InferenceService API?)",
}
_WEBHOOK = "admission webhook"


class DeployError(RuntimeError):
    """An InferenceService that could not be created or pointed at the new version: one line that says why."""


@dataclasses.dataclass(frozen=True)
class Resources:
    """What the model server's pod asks for (requests) and may use at most (limits). A starting point for synthesis on
    CPU (free-running decoding and Griffin-Lim), not a measurement: edit it in the InferenceService."""

    cpu: str = "2"
    memory: str = "2Gi"
    cpu_limit: str = "4"
    memory_limit: str = "4Gi"

    def requirements(self) -> dict:
        return {"requests": {"cpu": self.cpu, "memory": self.memory},
                "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit}}


def manifest(name: str, image: str, storage_uri: str, service_account: str = SERVICE_ACCOUNT,
             resources: Resources = Resources(), namespace: str = "") -> dict:
    """An InferenceService `name` whose predictor runs `tacotron-serve` in `image` on the model at `storage_uri`, which
    KServe downloads to /mnt/models with `service_account`'s credentials (no secret in the manifest). namespace "":
    the one kubectl or the API call gives."""
    container = {
        "name": CONTAINER,
        "image": image,
        "command": [COMMAND],
        "args": ["--model", MODEL_DIR, "--name", MODEL_NAME, "--http_port", str(PORT)],
        "env": [{"name": STORAGE_URI, "value": storage_uri}],
        "ports": [{"containerPort": PORT, "protocol": "TCP"}],
        "resources": resources.requirements(),
        # KServe's own health endpoints: ready once the model is loaded; live while the server answers (loading
        # TensorFlow and the SavedModel takes a while, hence the delay before the first liveness check).
        "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": PORT}, "periodSeconds": 5,
                           "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": PORT}, "initialDelaySeconds": 30,
                          "periodSeconds": 15, "timeoutSeconds": 5, "failureThreshold": 4},
        # On the container: Knative, which serves the predictor in KServe's default mode, takes these there alone.
        "securityContext": {"runAsUser": USER, "runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    }
    metadata = {"name": name, "labels": {"app.kubernetes.io/name": "tacotron", "app.kubernetes.io/component": "serve"}}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": metadata,
            "spec": {"predictor": {"serviceAccountName": service_account, "containers": [container]}}}


def storage_uri(pushed: str, volume_claim: str = "", mount_path: str = "") -> str:
    """Where KServe reads the version the export pushed: an s3:// or gs:// URI as it is; a path on the pipeline's
    PersistentVolumeClaim `volume_claim` (mounted at `mount_path`) as pvc://CLAIM/PATH. DeployError for nothing
    pushed, or a path only the export's pod saw."""
    if not pushed:
        raise DeployError("nothing to deploy: the export pushed no model (set serving_dir)")
    scheme, sep, _ = pushed.partition("://")
    if sep and scheme in STORE_SCHEMES:
        return pushed
    path = pathlib.PurePosixPath(pushed)
    if not sep and volume_claim and mount_path and path.is_relative_to(mount_path):
        return f"pvc://{volume_claim}/{path.relative_to(mount_path)}"
    raise DeployError(f"KServe cannot read {pushed!r}: serving_dir must be on s3://, gs:// or the pipeline's volume "
                      f"(--pvc{f', mounted at {mount_path}' if volume_claim else ''})")


def connect() -> ApiClient:
    """A kubernetes ApiClient: the pod's service account inside a cluster, else the kubeconfig's current context."""
    try:
        return kubernetes_api.connect()[0]
    except kubernetes_api.NoApi as e:
        raise DeployError(f"no Kubernetes API to deploy to: {e}") from None


def deploy(api_client: ApiClient, namespace: str, name: str, image: str, uri: str,
           service_account: str = SERVICE_ACCOUNT, log: Callable[[str], None] | None = None, tries: int = 3) -> None:
    """Point the InferenceService `namespace`/`name` at the model at `uri`: create it (see `manifest`) when absent,
    else set its kserve-container's STORAGE_URI and keep the rest as its owner left it; KServe then rolls out pods that
    download the new version. DeployError, in one line, when the API refuses or cannot be reached, or the
    InferenceService kept changing for `tries` reads. `log`: the task's log (stdout) unless given."""
    import urllib3
    from kubernetes import client

    log = log or _print
    api = client.CustomObjectsApi(api_client)
    where = f"InferenceService {namespace}/{name}"
    wanted = manifest(name, image, uri, service_account, namespace=namespace)
    try:
        for _ in range(tries):
            if _try(api, namespace, name, uri, wanted, where, log):
                return
        raise DeployError(f"{where} changed each time it was read ({tries} tries): run the step again")
    except client.ApiException as e:
        reason = api_reason(e)
        hint = "" if _WEBHOOK in reason else _HINTS.get(e.status, "")
        raise DeployError(f"the Kubernetes API refused {where}: {reason}{hint}") from None
    except (OSError, urllib3.exceptions.HTTPError) as e:
        raise DeployError(f"{where}: cannot reach the Kubernetes API at {api_client.configuration.host}: "
                          f"{one_line(str(e))}") from None
    finally:
        api_client.close()


def _try(api, namespace: str, name: str, uri: str, wanted: dict, where: str, log: Callable[[str], None]) -> bool:
    """Read the InferenceService, then create it as `wanted` or set its STORAGE_URI to `uri`: False when someone else
    created or changed it in between (409 Conflict), so it must be read again."""
    from kubernetes import client

    try:
        current = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name,
                                                   _request_timeout=REQUEST_TIMEOUT_S)
    except client.ApiException as e:
        if e.status != 404:
            raise
        current = None
    try:
        if current is None:
            api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, wanted,
                                                _request_timeout=REQUEST_TIMEOUT_S)
            predictor = wanted["spec"]["predictor"]
            log(f"{where}: created, serving {uri} (image {predictor['containers'][0]['image']}, service account "
                f"{predictor['serviceAccountName']}, whose Secret must hold the store's credentials)")
            return True
        containers = current["spec"]["predictor"].get("containers") or []
        index = next((i for i, c in enumerate(containers) if c.get("name") == CONTAINER), None)
        if index is None:
            raise DeployError(f"{where} has no {CONTAINER} container, so no {STORAGE_URI} to point at the new "
                              f"version (make it from pipelines/kubeflow/inferenceservice.yaml)")
        env = containers[index].get("env") or []
        previous = next((v.get("value") for v in env if v.get("name") == STORAGE_URI), None)
        if previous == uri:
            log(f"{where} already serves {uri}")
            return True
        entry = {"name": STORAGE_URI, "value": uri}
        env = [entry if v.get("name") == STORAGE_URI else v for v in env] if previous is not None else [*env, entry]
        changed = [{**c, "env": env} if i == index else c for i, c in enumerate(containers)]
        # A merge patch replaces a list whole; with the resourceVersion read, the API refuses it (409) if anyone
        # changed the InferenceService since, instead of undoing their change.
        patch = {"metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
                 "spec": {"predictor": {"containers": changed}}}
        api.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, patch,
                                           _request_timeout=REQUEST_TIMEOUT_S)
    except client.ApiException as e:
        if e.status == 409:
            return False
        raise
    log(f"{where}: now serving {uri} (was {previous or 'none'}); KServe rolls out pods that load it: kubectl get "
        f"inferenceservice -n {namespace} {name}")
    return True


def _print(line: str) -> None:
    print(line, flush=True)
