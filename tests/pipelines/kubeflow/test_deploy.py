"""The deploy step (components/deploy.py and components/inferenceservice.deploy) against a loopback fake of the
Kubernetes API's InferenceService endpoints: created when absent, its STORAGE_URI moved when present (and nothing
else of it), a change in between read again, and every refusal or unreachable API in one line."""

from __future__ import annotations

import copy
import itertools
import json
import os
import subprocess
import sys
import urllib.parse

import pytest
import yaml

from components import inferenceservice
from tests.conftest import REPO
from tests.fake_kubernetes import LoopbackApi
from tests.kfp_server import send_json
from tests.pipelines.kubeflow.test_inferenceservice import NAME, VALIDATOR, creatable

NAMESPACE = "speech"
SERVICE = "tacotron"
IMAGE = "registry.example/tacotron:test"
OLD, NEW = "s3://tts/serving/12000", "s3://tts/serving/14000"
PREFIX = f"/apis/{inferenceservice.GROUP}/{inferenceservice.VERSION}/namespaces/{NAMESPACE}/{inferenceservice.PLURAL}"
WHERE = f"InferenceService {NAMESPACE}/{SERVICE}"


def merged(target, patch):
    """RFC 7386 JSON merge patch, as the API server applies an application/merge-patch+json body."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merged(result.get(key), value)
    return result


class FakeKServe(LoopbackApi):
    """The Kubernetes API's InferenceService endpoints (get, create, merge patch) on loopback, over real HTTP.

    A create or patch is checked against the pinned CRD's schema (422, as the API server words it) and KServe's webhook
    name rule (403, as the webhook's denial reaches the client); a patch must be a merge patch, and one that carries a
    resourceVersion other than the stored one is refused (409). `reject`: (HTTP status, reason, message) answers every
    request instead. `changes`: how many reads are each followed at once by someone else's change of the object (a
    new resourceVersion). Every request is recorded as (method, path, Content-Type, JSON body)."""

    def __init__(self, reject: tuple[int, str, str] | None = None, changes: int = 0):
        self.reject, self.changes = reject, changes
        self.objects: dict[str, dict] = {}
        self.requests: list[tuple[str, str, str, dict | None]] = []
        self._versions = itertools.count(1)
        super().__init__()

    def store(self, isvc: dict) -> dict:
        isvc = copy.deepcopy(isvc)
        isvc["metadata"]["resourceVersion"] = str(next(self._versions))
        self.objects[isvc["metadata"]["name"]] = isvc
        return isvc

    def answer(self, handler, method: str) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        self.requests.append((method, path, handler.headers.get("Content-Type", ""), body))
        if self.reject:
            return self.status(handler, *self.reject)
        name = path.removeprefix(PREFIX + "/") if path.startswith(PREFIX + "/") else None
        if method == "POST" and path == PREFIX:
            if body["metadata"]["name"] in self.objects:
                return self.status(handler, 409, "AlreadyExists", "already exists")
            return self.checked(handler, 201, body)
        if name not in self.objects:
            return self.status(handler, 404, "NotFound", f'inferenceservices.serving.kserve.io "{name}" not found')
        if method == "GET":
            current = copy.deepcopy(self.objects[name])
            if self.changes:
                self.changes -= 1
                self.store(self.objects[name])
            return send_json(handler, 200, current)
        if method == "PATCH":
            if handler.headers.get("Content-Type") != "application/merge-patch+json":
                return self.status(handler, 415, "UnsupportedMediaType", handler.headers.get("Content-Type"))
            stored = self.objects[name]
            if body.get("metadata", {}).get("resourceVersion", stored["metadata"]["resourceVersion"]) != stored[
                    "metadata"]["resourceVersion"]:
                return self.status(handler, 409, "Conflict", f'Operation cannot be fulfilled on inferenceservices.'
                                   f'serving.kserve.io "{name}": the object has been modified; please apply your '
                                   f'changes to the latest version and try again')
            return self.checked(handler, 200, merged(stored, body))
        return self.status(handler, 405, "MethodNotAllowed", method)

    def checked(self, handler, code: int, isvc: dict) -> None:
        """Store `isvc` if the CRD's schema and KServe's webhook accept it, else answer as they would."""
        name = isvc["metadata"]["name"]
        invalid = [f"{'.'.join(map(str, e.absolute_path))}: Invalid value: {json.dumps(e.instance)}: {e.message}"
                   for e in VALIDATOR.iter_errors(isvc)]
        if invalid:
            return self.status(handler, 422, "Invalid", f'InferenceService.serving.kserve.io "{name}" is invalid: '
                               + ", ".join(invalid))
        if not NAME.fullmatch(name):
            return self.status(handler, 403, "", f'admission webhook "inferenceservice.kserve-webhook-server.'
                               f'validator" denied the request: the InferenceService "{name}" is invalid: a '
                               f"InferenceService name must consist of lower case alphanumeric characters or '-', and "
                               f"must start with alphabetical character.")
        return send_json(handler, code, self.store(isvc))

    def calls(self) -> list[str]:
        return [method for method, _, _, _ in self.requests]


def api_client(server: FakeKServe, retries: int | None = None):
    from kubernetes import client

    configuration = client.Configuration(host=server.url)
    if retries is not None:
        configuration.retries = retries
    return client.ApiClient(configuration)


def deploy(server: FakeKServe, uri: str = NEW, name: str = SERVICE, **settings) -> list[str]:
    """components.inferenceservice.deploy against `server`; the lines it logged."""
    lines = []
    inferenceservice.deploy(api_client(server), NAMESPACE, name, IMAGE, uri, log=lines.append, **settings)
    return lines


def existing(uri: str = OLD) -> dict:
    """An InferenceService made from the manifest, then edited by its owner: two replicas, more memory, a variable."""
    isvc = inferenceservice.manifest(SERVICE, IMAGE, uri, namespace=NAMESPACE)
    isvc["spec"]["predictor"]["minReplicas"] = 2
    container = isvc["spec"]["predictor"]["containers"][0]
    container["resources"]["limits"]["memory"] = "6Gi"
    container["env"].insert(0, {"name": "OMP_NUM_THREADS", "value": "4"})
    return isvc


def test_an_absent_inferenceservice_is_created_from_the_manifest():
    with FakeKServe() as server:
        lines = deploy(server)
    assert server.calls() == ["GET", "POST"]
    created = server.requests[1][3]
    assert created == inferenceservice.manifest(SERVICE, IMAGE, NEW, namespace=NAMESPACE)
    creatable(created)
    assert lines == [f"{WHERE}: created, serving {NEW} (image {IMAGE}, service account tacotron-models, whose Secret "
                     "must hold the store's credentials)"]


def test_a_present_one_moves_to_the_new_version_and_keeps_its_owners_edits():
    with FakeKServe() as server:
        server.store(existing())
        lines = deploy(server)
    assert server.calls() == ["GET", "PATCH"]
    _, path, content_type, patch = server.requests[1]
    assert path == f"{PREFIX}/{SERVICE}" and content_type == "application/merge-patch+json"
    # The patch carries the version it read (so it cannot undo a change made since) and the predictor's containers.
    assert patch["metadata"] == {"resourceVersion": "1"} and set(patch["spec"]["predictor"]) == {"containers"}
    served = server.objects[SERVICE]
    creatable(served)
    expected = existing(NEW)
    expected["metadata"]["resourceVersion"] = "2"
    assert served == expected
    assert lines == [f"{WHERE}: now serving {NEW} (was {OLD}); KServe rolls out pods that load it: kubectl get "
                     f"inferenceservice -n {NAMESPACE} {SERVICE}"]


def test_the_version_it_serves_is_not_patched_again_and_a_missing_variable_is_added():
    with FakeKServe() as server:
        server.store(existing(NEW))
        assert deploy(server) == [f"{WHERE} already serves {NEW}"]
    assert server.calls() == ["GET"]
    without = existing()
    without["spec"]["predictor"]["containers"][0]["env"] = [{"name": "OMP_NUM_THREADS", "value": "4"}]
    with FakeKServe() as server:
        server.store(without)
        deploy(server)
    assert server.objects[SERVICE]["spec"]["predictor"]["containers"][0]["env"] == [
        {"name": "OMP_NUM_THREADS", "value": "4"}, {"name": "STORAGE_URI", "value": NEW}]


def test_a_change_between_read_and_patch_is_read_again_a_few_times():
    with FakeKServe(changes=1) as server:
        server.store(existing())
        deploy(server)
    assert server.calls() == ["GET", "PATCH", "GET", "PATCH"]
    assert server.objects[SERVICE]["spec"]["predictor"]["containers"][0]["env"][1]["value"] == NEW
    with FakeKServe(changes=5) as server, pytest.raises(inferenceservice.DeployError) as error:
        server.store(existing())
        deploy(server, tries=3)
    assert str(error.value) == f"{WHERE} changed each time it was read (3 tries): run the step again"
    assert server.calls() == ["GET", "PATCH"] * 3


FORBIDDEN = ('inferenceservices.serving.kserve.io "tacotron" is forbidden: User "system:serviceaccount:kubeflow:'
             'pipeline-runner" cannot get resource "inferenceservices" in API group "serving.kserve.io"\nin the '
             'namespace "speech"')


@pytest.mark.parametrize("reject, name, message", [
    ((403, "Forbidden", FORBIDDEN), SERVICE,
     f"the Kubernetes API refused {WHERE}: HTTP 403 Forbidden: {' '.join(FORBIDDEN.split())} (the pipeline's service "
     "account needs pipelines/kubeflow/inferenceservice-rbac.yaml in that namespace)"),
    ((404, "Not Found", "the server could not find the requested resource"), SERVICE,
     f"the Kubernetes API refused {WHERE}: HTTP 404 Not Found: the server could not find the requested resource (is "
     "KServe installed, with its serving.kserve.io/v1beta1 InferenceService API?)"),
    ((422, "Unprocessable Entity", 'InferenceService.serving.kserve.io "tacotron" is invalid:\n  spec.predictor: '
                                   'Invalid value'), SERVICE,
     f'the Kubernetes API refused {WHERE}: HTTP 422 Unprocessable Entity: InferenceService.serving.kserve.io '
     '"tacotron" is invalid: spec.predictor: Invalid value'),
    # KServe's webhook refuses the name itself: its 403 says why, and is no matter of permissions.
    (None, "tacotron.v2",
     f'the Kubernetes API refused InferenceService {NAMESPACE}/tacotron.v2: HTTP 403 Forbidden: admission webhook '
     '"inferenceservice.kserve-webhook-server.validator" denied the request: the InferenceService "tacotron.v2" is '
     "invalid: a InferenceService name must consist of lower case alphanumeric characters or '-', and must start with "
     "alphabetical character."),
])
def test_a_refusal_is_one_line_with_the_apis_message(reject, name, message):
    with FakeKServe(reject=reject) as server, pytest.raises(inferenceservice.DeployError) as error:
        deploy(server, name=name)
    assert str(error.value) == message


def test_an_inferenceservice_without_the_serving_container_is_refused_in_one_line():
    foreign = existing()
    foreign["spec"]["predictor"]["containers"][0]["name"] = "server"
    with FakeKServe() as server, pytest.raises(inferenceservice.DeployError) as error:
        server.store(foreign)
        deploy(server)
    assert str(error.value) == (f"{WHERE} has no kserve-container container, so no STORAGE_URI to point at the new "
                                "version (make it from pipelines/kubeflow/inferenceservice.yaml)")
    assert server.calls() == ["GET"]


def test_an_unreachable_api_is_one_line():
    with FakeKServe() as server:
        pass
    with pytest.raises(inferenceservice.DeployError) as error:
        inferenceservice.deploy(api_client(server, retries=0), NAMESPACE, SERVICE, IMAGE, NEW, log=print)
    assert str(error.value).startswith(f"{WHERE}: cannot reach the Kubernetes API at {server.url}: ")
    assert "\n" not in str(error.value)


def test_the_component_deploys_through_the_kubeconfig_and_fails_in_one_line(tmp_path):
    """components.deploy.deploy as the task runs it, in a process of its own that finds the API in KUBECONFIG: a PVC
    path becomes a pvc:// URI; a second run the API refuses ends with the one-line error."""
    config = tmp_path / "config"
    program = ("import sys; from components.deploy import deploy; "
               "print(deploy(sys.argv[1], 'speech', 'tacotron', sys.argv[2], 'tacotron-models', 'models', "
               "'/mnt/tacotron'))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env.update(KUBECONFIG=str(config), PYTHONPATH=str(REPO))

    def run(server: FakeKServe) -> subprocess.CompletedProcess:
        config.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": server.url}}],
            "users": [{"name": "fake", "user": {"token": "t"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}]}))
        return subprocess.run([sys.executable, "-c", program, "/mnt/tacotron/serving/14000", IMAGE], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=60)

    with FakeKServe() as server:
        result = run(server)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{WHERE}: created, serving pvc://models/serving/14000 (image {IMAGE}, "
                                          "service account tacotron-models, whose Secret must hold the store's "
                                          "credentials)", "pvc://models/serving/14000"]
    creatable(server.objects[SERVICE])
    with FakeKServe(reject=(403, "Forbidden", FORBIDDEN)) as server:
        result = run(server)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"components.inferenceservice.DeployError: the Kubernetes API refused {WHERE}: HTTP 403 Forbidden: ")
