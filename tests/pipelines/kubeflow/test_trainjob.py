"""Multi-node training (components/trainjob.py and the train step that calls it): TrainJob manifests against the
pinned Kubeflow Trainer's CRD, the compiled pipeline's train_nodes, and following a TrainJob through a loopback fake
of the Kubernetes API (status streamed, failure and rejection in one line, deletion on SIGTERM)."""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import jsonschema
import pytest
import yaml

from components import trainjob
from tests.conftest import REPO
from tests.fake_kubernetes import LoopbackApi
from tests.kfp_server import send_json

TRAINER = pathlib.Path(__file__).parent / f"trainer_{trainjob.TRAINER_VERSION}"
CRD = yaml.safe_load((TRAINER / "trainer.kubeflow.org_trainjobs.yaml").read_text())
RUNTIME = yaml.safe_load((TRAINER / "jax_distributed.yaml").read_text())
RBAC = REPO / "pipelines" / "kubeflow" / "trainjob-rbac.yaml"
IMAGE = "registry.example/tacotron:test"
NAMESPACE = "team-speech"
ARGS = ["--verbose", "--data", "s3://bucket/data", "--model_dir", "s3://bucket/checkpoints/run-1"]
RESOURCES = trainjob.Resources("nvidia.com/gpu", 1, "8", "32G")
# The CRD's CEL rules a create meets, checked by hand in creatable(): metadata.name's (the root's own).
NAME_RULES = {"self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')", "size(self.metadata.name) <= 63"}


def crd_version() -> dict:
    (version,) = [v for v in CRD["spec"]["versions"] if v["name"] == trainjob.VERSION]
    return version


def strict(schema: dict) -> dict:
    """The openAPIV3Schema with unknown fields refused, as `kubectl create` (strict field validation) refuses them,
    where the API server would otherwise drop them silently."""
    schema = copy.deepcopy(schema)

    def visit(node):
        if isinstance(node, dict):
            if ("properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    # ObjectMeta is not in a CRD's schema; the API server checks it itself (names: the CEL rules below).
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


VALIDATOR = jsonschema.Draft202012Validator(strict(crd_version()["schema"]["openAPIV3Schema"]))


def rules_met(schema: dict, instance) -> list[str]:
    """Every CEL rule (x-kubernetes-validations) on a schema node that `instance` has a value for."""
    found = [rule["rule"] for rule in schema.get("x-kubernetes-validations", [])]
    if isinstance(instance, dict):
        for key, value in instance.items():
            if key in schema.get("properties", {}):
                found += rules_met(schema["properties"][key], value)
    elif isinstance(instance, list) and "items" in schema:
        for value in instance:
            found += rules_met(schema["items"], value)
    return found


def creatable(job: dict) -> None:
    """What the pinned Trainer's API checks on create: the schema (types, bounds, patterns, no unknown fields) and
    the CEL rules. A transition rule (one that reads oldSelf: immutability) applies to updates alone; metadata.name's
    two rules are evaluated here by hand; any other rule the manifest meets fails this check until it is handled."""
    errors = sorted(VALIDATOR.iter_errors(job), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    rules = rules_met(crd_version()["schema"]["openAPIV3Schema"], job)
    unchecked = [rule for rule in rules if "oldSelf" not in rule and rule not in NAME_RULES]
    assert not unchecked, unchecked
    name = job["metadata"]["name"]
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63, name
    # The runtime's trainer pods are "<name>-node-0-<i>", which must stay a valid hostname.
    assert len(f"{name}-node-0-{job['spec']['trainer']['numNodes'] - 1}") <= 63


def build(nodes: int = 2, name: str = "tacotron-0123456789ab", **overrides) -> dict:
    settings = dict(name=name, namespace=NAMESPACE, image=IMAGE, nodes=nodes, args=ARGS,
                    env=trainjob.passed_env({"AWS_ENDPOINT_URL": "http://minio.kubeflow:9000",
                                             "AWS_ACCESS_KEY_ID": "minio", "HOME": "/home/app"}),
                    resources=RESOURCES, run_key="2f6c1f3e-run")
    return trainjob.manifest(**{**settings, **overrides})


@pytest.mark.parametrize("nodes", [2, 3, 16])
def test_manifests_meet_the_pinned_trainjob_crd(nodes):
    job = build(nodes)
    creatable(job)
    trainer = job["spec"]["trainer"]
    assert job["apiVersion"] == f"{CRD['spec']['group']}/{trainjob.VERSION}"
    assert job["kind"] == CRD["spec"]["names"]["kind"]
    # The runtime it names is the vendored JAX one (its mlPolicy gives each pod the JAX_* cluster variables).
    assert job["spec"]["runtimeRef"] == {"name": RUNTIME["metadata"]["name"]}
    assert RUNTIME["kind"] == "ClusterTrainingRuntime" and RUNTIME["spec"]["mlPolicy"]["jax"] == {}
    assert trainer["numNodes"] == nodes and trainer["image"] == IMAGE
    assert trainer["command"] == ["tacotron-train"] and trainer["args"] == ARGS
    # The JAX backend and the object store's endpoint; no Secret named: the credentials are the pods' own identity's,
    # never the task's values.
    assert trainer["env"] == [{"name": "KERAS_BACKEND", "value": "jax"},
                              {"name": "AWS_ENDPOINT_URL", "value": "http://minio.kubeflow:9000"}]
    assert trainer["resourcesPerNode"] == {"requests": {"cpu": "8", "memory": "32G"}, "limits": {"nvidia.com/gpu": 1}}


# What a task's environment holds when its store credentials came from a Secret (or a careless `export`).
CREDENTIAL_VALUES = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID0001",
                     "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-example-secret",
                     "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLETOKEN"}


@pytest.mark.parametrize("secret", ["tts-store", ""])
def test_store_credentials_reach_the_pods_by_reference_never_by_value(secret):
    environ = {**CREDENTIAL_VALUES, "AWS_ENDPOINT_URL": "http://minio.kubeflow:9000", "HOME": "/home/app"}
    job = build(env=trainjob.passed_env(environ, secret))
    creatable(job)
    rendered = json.dumps(job)
    for value in CREDENTIAL_VALUES.values():
        assert value not in rendered
    env = {entry["name"]: entry for entry in job["spec"]["trainer"]["env"]}
    if secret:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            assert env[key]["valueFrom"]["secretKeyRef"]["name"] == secret and "value" not in env[key]
        assert "optional" not in env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
    else:
        assert set(env) == {"KERAS_BACKEND", "AWS_ENDPOINT_URL"}


def test_the_schema_check_refuses_what_the_api_would():
    for path, value in ((("spec", "trainer", "numNodes"), "2"), (("spec", "trainer", "nodes"), 2),
                        (("spec", "trainer", "resourcesPerNode", "requests", "memory"), "32 GB")):
        job = build()
        *parents, key = path
        node = job
        for parent in parents:
            node = node[parent]
        node[key] = value
        with pytest.raises(AssertionError):
            creatable(job)
    with pytest.raises(AssertionError):
        creatable(build(name="Tacotron_Run"))
    with pytest.raises(AssertionError):
        creatable(build(name="t" * 60))


def test_names_are_stable_per_run_and_paths_only_this_pod_sees_are_refused():
    assert trainjob.job_name("run-1") == trainjob.job_name("run-1") != trainjob.job_name("run-2")
    creatable(build(64, name=trainjob.job_name("0b5e1c4e-9d0e-4c4b-8a70-6a0c1e4ba0d1")))
    assert trainjob.shared_uri("minio://mlpipeline/v2/artifacts/x/data", "the data") == (
        "s3://mlpipeline/v2/artifacts/x/data")
    assert trainjob.shared_uri("gs://bucket/data", "the data") == "gs://bucket/data"
    with pytest.raises(trainjob.TrainJobError) as refused:
        trainjob.shared_uri("/mnt/tacotron/checkpoints/run-1", "checkpoint_root")
    assert str(refused.value) == ("multi-node training needs checkpoint_root where every pod can read it (s3:// or "
                                  "gs://); '/mnt/tacotron/checkpoints/run-1' is a path on this pod alone")
    assert trainjob.Resources().per_node() == {}


def test_the_rbac_manifest_grants_what_the_watcher_uses():
    role, binding = yaml.safe_load_all(RBAC.read_text())
    assert (role["apiVersion"], role["kind"]) == ("rbac.authorization.k8s.io/v1", "Role")
    assert (binding["apiVersion"], binding["kind"]) == ("rbac.authorization.k8s.io/v1", "RoleBinding")
    (rule,) = role["rules"]
    assert rule["apiGroups"] == [trainjob.GROUP] and rule["resources"] == [trainjob.PLURAL]
    assert sorted(rule["verbs"]) == sorted(trainjob.VERBS)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    assert {(s["kind"], s["name"]) for s in binding["subjects"]} == {("ServiceAccount", "default-editor"),
                                                                     ("ServiceAccount", "pipeline-runner")}
    # Applied with `kubectl apply -n NAMESPACE`: no namespace of its own, so the accounts are that namespace's.
    assert all("namespace" not in doc["metadata"] for doc in (role, binding))
    assert all("namespace" not in subject for subject in binding["subjects"])


class FakeKubernetes(LoopbackApi):
    """The Kubernetes API's TrainJob endpoints (create, get, watch, delete) on loopback, over real HTTP.

    `script`: the statuses the TrainJob goes through, one per watch event, in order; `then`, once the script is
    played: "end" the watch, "hold" it open until the job is deleted, or "delete" the job (someone else did).
    A create is checked against the pinned CRD's schema (422 with the API server's kind of message when it fails) or
    answered with `reject`: (HTTP status, reason, message). Every request is recorded as (method, path, JSON
    body)."""

    def __init__(self, script=(), then: str = "end", reject: tuple[int, str, str] | None = None):
        self.script, self.then, self.reject = list(script), then, reject
        self.objects: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict | None]] = []
        self.watching = threading.Event()
        self.deleted = threading.Event()
        self._versions = itertools.count(1)
        super().__init__()

    def __exit__(self, *exc):
        self.deleted.set()
        super().__exit__(*exc)

    def store(self, job: dict) -> dict:
        job = copy.deepcopy(job)
        job["metadata"].update(resourceVersion=str(next(self._versions)), uid=f"uid-{job['metadata']['name']}")
        self.objects[job["metadata"]["name"]] = job
        return job

    def answer(self, handler, method: str) -> None:
        url = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(url.query)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        self.requests.append((method, url.path, body))
        prefix = f"/apis/{trainjob.GROUP}/{trainjob.VERSION}/namespaces/{NAMESPACE}/{trainjob.PLURAL}"
        name = url.path.removeprefix(prefix + "/") if url.path.startswith(prefix + "/") else None
        if method == "POST" and url.path == prefix:
            if self.reject:
                return self.status(handler, *self.reject)
            invalid = [f"{'.'.join(map(str, e.absolute_path))}: Invalid value: {json.dumps(e.instance)}: "
                       f"{'.'.join(map(str, e.absolute_path))} in body "
                       + (f"should match '{e.validator_value}'" if e.validator == "pattern" else e.message)
                       for e in VALIDATOR.iter_errors(body)]
            if invalid:
                return self.status(handler, 422, "Invalid", f'{trainjob.KIND}.{trainjob.GROUP} '
                                   f'"{body["metadata"]["name"]}" is invalid: {", ".join(invalid)}')
            if body["metadata"]["name"] in self.objects:
                return self.status(handler, 409, "AlreadyExists", "already exists")
            return send_json(handler, 201, self.store(body))
        if method == "GET" and url.path == prefix and query.get("watch", [""])[0].lower() == "true":
            return self.watch(handler, query["fieldSelector"][0].removeprefix("metadata.name="))
        if name not in self.objects:
            return self.status(handler, 404, "NotFound", f'trainjobs.trainer.kubeflow.org "{name}" not found')
        if method == "GET":
            return send_json(handler, 200, self.objects[name])
        if method == "DELETE":
            del self.objects[name]
            self.deleted.set()
            return self.status(handler, 200, "", "", status="Success")
        return self.status(handler, 405, "MethodNotAllowed", method)

    def watch(self, handler, name: str) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()

        def chunk(data: bytes) -> None:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            handler.wfile.flush()

        self.watching.set()
        # The client may be gone (a cancelled task) by the time the last chunks are written.
        with contextlib.suppress(OSError):
            while self.script and name in self.objects:
                job = self.objects[name]
                job["status"] = self.script.pop(0)
                chunk(json.dumps({"type": "MODIFIED", "object": self.store(job)}).encode() + b"\n")
            if self.then == "hold":
                self.deleted.wait(10)
            elif self.then == "delete":
                self.objects.pop(name, None)
            if name not in self.objects:
                chunk(json.dumps({"type": "DELETED", "object": {"metadata": {"name": name}}}).encode() + b"\n")
            chunk(b"")

    def created(self) -> dict:
        (body,) = [body for method, _, body in self.requests if method == "POST"]
        return body

    def methods(self) -> list[str]:
        return [method for method, _, _ in self.requests]


def condition(kind: str, reason: str, message: str = "") -> dict:
    return {"type": kind, "status": "True", "reason": reason, "message": message,
            "lastTransitionTime": "2026-12-04T20:00:00Z"}


RUNNING = {"jobsStatus": [{"name": "node", "active": 1, "ready": 1, "succeeded": 0, "failed": 0, "suspended": 0}]}


def api_client(server: FakeKubernetes):
    from kubernetes import client

    return client.ApiClient(client.Configuration(host=server.url))


def test_status_is_streamed_into_the_log_until_the_trainjob_completes():
    script = [{}, RUNNING, RUNNING,
              {**RUNNING, "trainerStatus": {"progressPercentage": 40, "estimatedRemainingSeconds": 1800}},
              {"conditions": [condition("Complete", "JobsCompleted", "all jobs completed")],
               "jobsStatus": [{"name": "node", "succeeded": 1}]}]
    lines = []
    with FakeKubernetes(script) as server:
        trainjob.run(build(), api_client(server), log=lines.append)
    where = f"TrainJob {NAMESPACE}/tacotron-0123456789ab"
    assert lines == [
        f"{where}: submitted (2 nodes, runtime jax-distributed, image {IMAGE})",
        f"{where}: the pods' logs: kubectl logs -n {NAMESPACE} -l "
        f"jobset.sigs.k8s.io/jobset-name=tacotron-0123456789ab --prefix -f",
        f"{where}: waiting for the Trainer controller",
        f"{where}: jobs node: active 1, ready 1",
        f"{where}: jobs node: active 1, ready 1; progress 40%; about 30 min left",
        f"{where}: Complete (JobsCompleted); jobs node: succeeded 1",
    ]
    # What the API received is the manifest, unchanged; a finished TrainJob stays for its pods' logs.
    assert server.created() == build() and "DELETE" not in server.methods()


def test_a_failed_trainjob_fails_the_task_in_one_line():
    failed = {"conditions": [condition("Failed", "JobsFailed", "jobset node-0 failed:\n  pod exited with 1\n")]}
    with FakeKubernetes([RUNNING, failed]) as server, pytest.raises(trainjob.TrainJobError) as error:
        trainjob.run(build(), api_client(server), log=lambda line: None)
    assert str(error.value) == (f"TrainJob {NAMESPACE}/tacotron-0123456789ab failed: JobsFailed: jobset node-0 "
                                "failed: pod exited with 1")
    assert "DELETE" not in server.methods()


def test_a_trainjob_the_api_rejects_is_one_line():
    """A TrainJob the schema refuses (train_memory "32 GB"), and one the pipeline's account may not create."""
    bad = build(resources=trainjob.Resources("nvidia.com/gpu", 1, "8", "32 GB"))
    with FakeKubernetes() as server, pytest.raises(trainjob.TrainJobError) as error:
        trainjob.run(bad, api_client(server), log=lambda line: None)
    where = f"TrainJob {NAMESPACE}/tacotron-0123456789ab"
    assert str(error.value).startswith(
        f'the Kubernetes API rejected {where}: HTTP 422 Unprocessable Entity: TrainJob.trainer.kubeflow.org '
        f'"tacotron-0123456789ab" is invalid: spec.trainer.resourcesPerNode.requests.memory: Invalid value: '
        f'"32 GB": spec.trainer.resourcesPerNode.requests.memory in body should match \'^(\\+|-)?(([0-9]+')
    assert "\n" not in str(error.value)
    forbidden = ('trainjobs.trainer.kubeflow.org is forbidden: User "system:serviceaccount:team-speech:default-'
                 'editor" cannot create resource "trainjobs" in API group "trainer.kubeflow.org"\nin the namespace '
                 '"team-speech"')
    with FakeKubernetes(reject=(403, "Forbidden", forbidden)) as server, pytest.raises(trainjob.TrainJobError) as error:
        trainjob.run(build(), api_client(server), log=lambda line: None)
    assert str(error.value) == (
        f"the Kubernetes API rejected {where}: HTTP 403 Forbidden: trainjobs.trainer.kubeflow.org is forbidden: User "
        '"system:serviceaccount:team-speech:default-editor" cannot create resource "trainjobs" in API group '
        '"trainer.kubeflow.org" in the namespace "team-speech" (the pipeline\'s service account needs '
        "pipelines/kubeflow/trainjob-rbac.yaml)")


def test_a_retry_takes_over_the_running_trainjob_and_a_deleted_one_fails_the_task():
    lines = []
    with FakeKubernetes([RUNNING], then="delete") as server, pytest.raises(trainjob.TrainJobError) as error:
        server.store({**build(), "status": RUNNING})
        trainjob.run(build(), api_client(server), log=lines.append)
    where = f"TrainJob {NAMESPACE}/tacotron-0123456789ab"
    assert lines[0] == f"{where}: taking over the TrainJob an earlier try of this task started"
    assert str(error.value) == f"{where} was deleted before it finished"
    assert server.methods().count("POST") == 1 and "DELETE" not in server.methods()


def test_an_unreachable_api_is_one_line():
    from kubernetes import client

    with FakeKubernetes() as server:
        url = server.url
    configuration = client.Configuration(host=url)
    configuration.retries = 0
    with pytest.raises(trainjob.TrainJobError) as error:
        trainjob.run(build(), client.ApiClient(configuration), log=lambda line: None)
    assert str(error.value).startswith(f"TrainJob {NAMESPACE}/tacotron-0123456789ab: cannot reach the Kubernetes API "
                                       f"at {url}: ") and "\n" not in str(error.value)


def kubeconfig(path: pathlib.Path, url: str) -> pathlib.Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": url}}],
        "users": [{"name": "fake", "user": {"token": "t"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": NAMESPACE}}]}))
    return path


def test_sigterm_deletes_the_trainjob_and_fails_in_one_line(tmp_path):
    """The task's pod stopped (a cancelled run): the process gets SIGTERM, deletes the TrainJob and says so."""
    program = ("import sys; from components import trainjob; "
               "trainjob.launch('run-1', sys.argv[1], 2, sys.argv[2:], trainjob.Resources('nvidia.com/gpu', 1))")
    with FakeKubernetes([RUNNING], then="hold") as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "AWS_"))}
        env.update(KUBECONFIG=str(kubeconfig(tmp_path / "config", server.url)), PYTHONPATH=str(REPO),
                   AWS_ENDPOINT_URL="http://minio.kubeflow:9000")
        process = subprocess.Popen([sys.executable, "-c", program, IMAGE, *ARGS], cwd=REPO, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert server.watching.wait(30), process.communicate(timeout=5)
            time.sleep(0.2)
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        created = server.created()
    name = trainjob.job_name("run-1")
    assert process.returncode == 1, stderr
    assert stderr.strip().splitlines()[-1] == (f"components.trainjob.TrainJobError: TrainJob {NAMESPACE}/{name} "
                                               "deleted: the task was cancelled (SIGTERM)")
    assert ("DELETE", f"/apis/{trainjob.GROUP}/{trainjob.VERSION}/namespaces/{NAMESPACE}/{trainjob.PLURAL}/{name}"
            ) in [(method, path) for method, path, _ in server.requests]
    assert f"TrainJob {NAMESPACE}/{name}: jobs node: active 1, ready 1" in stdout
    creatable(created)
    assert {"name": "AWS_ENDPOINT_URL", "value": "http://minio.kubeflow:9000"} in created["spec"]["trainer"]["env"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict:
    from pipelines.kubeflow import cli

    path = tmp_path_factory.mktemp("ir") / "pipeline.yaml"
    assert cli.main(["compile", "--output", str(path), "--image", IMAGE]) == 0
    return yaml.safe_load(path.read_text())


def test_the_compiled_pipeline_has_train_nodes_wired_to_the_train_step(compiled):
    parameter = compiled["root"]["inputDefinitions"]["parameters"]["train_nodes"]
    assert parameter == {"defaultValue": 1.0, "isOptional": True, "parameterType": "NUMBER_INTEGER"}
    inputs = compiled["root"]["dag"]["tasks"]["train"]["inputs"]["parameters"]
    assert inputs["nodes"] == {"componentInputParameter": "train_nodes"}
    assert inputs["image"] == {"runtimeValue": {"constant": IMAGE}}
    # Each training pod asks for what the train task does (the task's own inputs of those names are KFP's).
    assert {key: inputs[f"node_{key}"] for key in ("accelerator_type", "accelerator_count", "cpu", "memory")} == {
        "accelerator_type": {"componentInputParameter": "accelerator_type"},
        "accelerator_count": {"componentInputParameter": "accelerator_count"},
        "cpu": {"componentInputParameter": "train_cpu"}, "memory": {"componentInputParameter": "train_memory"}}


def resolved(compiled: dict, arguments: dict, run_id: str) -> dict:
    """The train task's parameter values in a run with `arguments`, as the KFP driver resolves them."""
    defaults = {name: spec.get("defaultValue") for name, spec in compiled["root"]["inputDefinitions"][
        "parameters"].items()}
    kinds = compiled["components"]["comp-train"]["inputDefinitions"]["parameters"]
    values = {}
    for name, spec in compiled["root"]["dag"]["tasks"]["train"]["inputs"]["parameters"].items():
        if name not in kinds:
            continue  # KFP's inputs for the task's resource settings, not the component's
        if "componentInputParameter" in spec:
            values[name] = {**defaults, **arguments}[spec["componentInputParameter"]]
        else:
            constant = spec["runtimeValue"]["constant"]
            values[name] = run_id if constant == "{{$.pipeline_job_uuid}}" else constant
    return {name: int(value) if kinds[name]["parameterType"] == "NUMBER_INTEGER" else value
            for name, value in values.items()}


def test_the_compiled_train_step_with_2_nodes_submits_a_trainjob_the_pinned_trainer_accepts(compiled, tmp_path):
    """The train step of the compiled pipeline, run with train_nodes=2 on a cluster's artifact URIs (MinIO, KFP's
    default store) in a process of its own: it submits a TrainJob that meets the CRD and fails in one line when the
    TrainJob fails. (The process imports Keras for the artifact helpers: the slowest test here.)"""
    parameters = resolved(compiled, {"corpus": "s3://corpora/lj", "train_nodes": 2, "steps": 5000,
                                     "gin_params": "TrainConfig.batch_size = 64"}, run_id="0b5e1c4e-run")
    assert parameters["nodes"] == 2 and parameters["image"] == IMAGE
    root = "minio://mlpipeline/v2/artifacts/tacotron-8khz/0b5e1c4e-run"
    program = ("import json, sys; from kfp import dsl; from components.train import train; "
               "train(data=dsl.Dataset(uri=sys.argv[1]), model=dsl.Model(uri=sys.argv[2]), **json.loads(sys.argv[3]))")
    failed = {"conditions": [condition("Failed", "JobsFailed", "node-0 exited with 1")]}
    with FakeKubernetes([RUNNING, failed]) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "AWS_", "KERAS_"))}
        env.update(KUBECONFIG=str(kubeconfig(tmp_path / "config", server.url)), PYTHONPATH=str(REPO),
                   AWS_ENDPOINT_URL="http://minio-service.kubeflow:9000", TF_CPP_MIN_LOG_LEVEL="3")
        result = subprocess.run([sys.executable, "-c", program, f"{root}/preprocess/1/data", f"{root}/train/2/model",
                                 json.dumps(parameters)], cwd=REPO, env=env, capture_output=True, text=True,
                                timeout=120)
    job = server.created()
    creatable(job)
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == (f"components.trainjob.TrainJobError: TrainJob {NAMESPACE}/"
                                                      f"{job['metadata']['name']} failed: JobsFailed: node-0 exited "
                                                      "with 1")
    trainer = job["spec"]["trainer"]
    assert trainer["numNodes"] == 2 and trainer["image"] == IMAGE
    assert trainer["args"] == [
        "--verbose", "--data", "s3://mlpipeline/v2/artifacts/tacotron-8khz/0b5e1c4e-run/preprocess/1/data",
        "--model_dir", "s3://mlpipeline/v2/artifacts/tacotron-8khz/0b5e1c4e-run/train/2/model.work",
        "--gin_file", "base_8khz", "--gin_param", "TrainConfig.batch_size = 64", "--steps", "5000"]
    assert trainer["resourcesPerNode"] == {"requests": {"cpu": "8", "memory": "32G"}, "limits": {"nvidia.com/gpu": 1}}
    assert {"name": "AWS_ENDPOINT_URL", "value": "http://minio-service.kubeflow:9000"} in trainer["env"]


def test_the_train_step_refuses_what_multi_node_training_cannot_run(tmp_path):
    from kfp import dsl

    from components.train import train

    data, model = dsl.Dataset(uri=str(tmp_path / "data")), dsl.Model(uri=str(tmp_path / "model"))
    with pytest.raises(ValueError, match=r"^multi-node training runs on the JAX backend \(backend 'tensorflow', "
                                         r"2 nodes\)$"):
        train(data=data, model=model, run_key="r", backend="tensorflow", nodes=2)
    with pytest.raises(trainjob.TrainJobError, match="^multi-node training needs the data where every pod can read"):
        train(data=data, model=model, run_key="r", nodes=2, image=IMAGE)
    with pytest.raises(trainjob.TrainJobError, match="^multi-node training needs checkpoint_root where every pod"):
        train(data=dsl.Dataset(uri="s3://b/data"), model=model, run_key="r", nodes=2, image=IMAGE,
              checkpoint_root="/mnt/tacotron/checkpoints")


@pytest.mark.parametrize("param, message", [
    ("train_nodes=2", "--param train_nodes=2: run-local trains on one node (its data is on this machine); "
                      "multi-node training runs on a cluster, with submit"),
    ("train_nodes=0", "--param train_nodes='0': at least 1"),
])
def test_run_local_refuses_more_than_one_node_in_one_line(param, message, tmp_path, capsys):
    from pipelines.kubeflow import cli

    assert cli.main(["run-local", "--workdir", str(tmp_path), "--param", param]) == 2
    assert capsys.readouterr().err == f"python -m pipelines.kubeflow run-local: error: {message}\n"
    assert not (tmp_path / "pipeline_root").exists()
