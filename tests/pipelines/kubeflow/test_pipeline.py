"""pipelines.kubeflow.pipeline, compiled: tasks, wiring, GPU, retries, caching, volumes, the export and deploy steps."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO


def kubeflow(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.kubeflow", *map(str, args)], cwd=REPO,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True,
                          timeout=timeout)


# What the compiling shell has in its environment: a careless `export` of the store's keys.
CREDENTIAL_VALUES = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID0001",
                     "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-example-secret"}


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> str:
    """The pipeline compiled as a user compiles it for a cluster, with a Secret for the store's keys."""
    path = tmp_path_factory.mktemp("ir") / "pipeline.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.kubeflow", "compile", "--output", str(path), "--image",
         "registry.example/tacotron:test", "--store_secret", "tts-store"],
        cwd=REPO, env={**os.environ, **CREDENTIAL_VALUES, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True,
        text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return path.read_text()


@pytest.fixture(scope="module")
def compiled(package) -> dict:
    return next(yaml.safe_load_all(package))


def test_compiled_pipeline_wires_the_tasks_in_data_flow_order(compiled):
    tasks = compiled["root"]["dag"]["tasks"]
    assert set(tasks) == {"fingerprint-corpus", "preprocess", "train-requests", "train", "evaluate", "gate",
                          "condition-1"}
    preprocess_inputs = tasks["preprocess"]["inputs"]["parameters"]
    assert preprocess_inputs["corpus_fingerprint"]["taskOutputParameter"]["producerTask"] == "fingerprint-corpus"
    assert tasks["train"]["inputs"]["artifacts"]["data"]["taskOutputArtifact"]["producerTask"] == "preprocess"
    evaluate_inputs = tasks["evaluate"]["inputs"]["artifacts"]
    assert evaluate_inputs["model"]["taskOutputArtifact"]["producerTask"] == "train"
    assert evaluate_inputs["data"]["taskOutputArtifact"]["producerTask"] == "preprocess"
    assert tasks["gate"]["inputs"]["artifacts"]["evaluation"]["taskOutputArtifact"]["producerTask"] == "evaluate"
    # Export runs only inside the gate's condition, and the KServe deploy inside that one (below).
    condition = tasks["condition-1"]
    assert condition["triggerPolicy"]["condition"] == "inputs.parameter_values['pipelinechannel--gate-Output'] == true"
    assert set(compiled["components"]["comp-condition-1"]["dag"]["tasks"]) == {"export", "condition-2"}
    # The report is the pipeline's output.
    assert compiled["root"]["dag"]["outputs"]["artifacts"]["Output"]["artifactSelectors"][0]["producerSubtask"] == (
        "evaluate"
    )


def test_compiled_pipeline_sets_gpu_retries_caching_and_the_image(compiled):
    tasks = compiled["root"]["dag"]["tasks"]
    executors = compiled["deploymentSpec"]["executors"]
    train = executors["exec-train"]["container"]
    # The train task's requests are the train-requests task's answer for this run's train_nodes (below).
    accelerator = train["resources"]["accelerator"]
    assert "accelerator_type" in accelerator["resourceType"]
    assert "train-requests-accelerator_count" in accelerator["resourceCount"]
    assert "train-requests-cpu" in train["resources"]["resourceCpuRequest"]
    assert "train-requests-memory" in train["resources"]["resourceMemoryRequest"]
    asked = tasks["train-requests"]["inputs"]["parameters"]
    assert {name: asked[name]["componentInputParameter"] for name in asked} == {
        "nodes": "train_nodes", "accelerator_count": "accelerator_count", "cpu": "train_cpu", "memory": "train_memory"}
    assert tasks["train"]["dependentTasks"] == ["preprocess", "train-requests"]
    retry = tasks["train"]["retryPolicy"]
    assert retry["maxRetryCount"] == 3 and retry["backoffFactor"] == 2.0
    # Fingerprint and training always run; preprocessing (keyed on corpus fingerprint + settings) is cached.
    assert tasks["fingerprint-corpus"]["cachingOptions"] == {}
    assert tasks["train"]["cachingOptions"] == {}
    assert tasks["preprocess"]["cachingOptions"] == {"enableCache": True}
    for executor in executors.values():
        container = executor["container"]
        assert container["image"] == "registry.example/tacotron:test"
        # Nothing is pip-installed when a task starts: the code is in the image.
        assert "pip install" not in " ".join(container.get("command", []) + container.get("args", []))
    parameters = compiled["root"]["inputDefinitions"]["parameters"]
    assert "corpus" in parameters and parameters["steps"]["parameterType"] == "NUMBER_INTEGER"
    # The train task selects its Keras backend explicitly, from a parameter.
    assert tasks["train"]["inputs"]["parameters"]["backend"] == {"componentInputParameter": "train_backend"}


def test_a_multi_node_launcher_requests_no_accelerator():
    from components.train_requests import train_requests

    assert train_requests(1, 2, "8", "32G") == (2, "8", "32G")
    assert train_requests(4, 2, "8", "32G") == (0, "1", "4G")


def test_a_passed_gate_deploys_the_pushed_version_to_kserve_only_with_a_namespace(compiled):
    parameters = compiled["root"]["inputDefinitions"]["parameters"]
    assert {name: (spec["parameterType"], spec["defaultValue"]) for name, spec in parameters.items()
            if name.startswith("kserve_")} == {"kserve_namespace": ("STRING", ""),
                                               "kserve_service": ("STRING", "tacotron"),
                                               "kserve_service_account": ("STRING", "tacotron-models")}
    condition = compiled["components"]["comp-condition-1"]["dag"]["tasks"]["condition-2"]
    assert condition["triggerPolicy"]["condition"] == (
        "inputs.parameter_values['pipelinechannel--kserve_namespace'] != ''")
    assert condition["dependentTasks"] == ["export"]
    (deploy,) = compiled["components"]["comp-condition-2"]["dag"]["tasks"].values()
    inputs = deploy["inputs"]["parameters"]
    # The version the export pushed, to the InferenceService the parameters name, in the pipeline's image.
    assert condition["inputs"]["parameters"]["pipelinechannel--export-Output"] == {
        "taskOutputParameter": {"outputParameterKey": "Output", "producerTask": "export"}}
    assert inputs["pushed"] == {"componentInputParameter": "pipelinechannel--export-Output"}
    assert {key: inputs[key] for key in ("namespace", "name", "service_account")} == {
        "namespace": {"componentInputParameter": "pipelinechannel--kserve_namespace"},
        "name": {"componentInputParameter": "pipelinechannel--kserve_service"},
        "service_account": {"componentInputParameter": "pipelinechannel--kserve_service_account"}}
    assert inputs["image"] == {"runtimeValue": {"constant": "registry.example/tacotron:test"}}
    assert inputs["volume_claim"] == {"runtimeValue": {"constant": ""}}
    # Deploying is a side effect on the cluster: never skipped as cached.
    assert deploy["cachingOptions"] == {} and deploy["taskInfo"]["name"] == "deploy"


def test_a_persistent_volume_claim_is_mounted_where_checkpoints_and_models_are_kept(tmp_path):
    path = tmp_path / "pipeline.yaml"
    result = kubeflow("compile", "--output", path, "--pvc", "tacotron-models:/mnt/models")
    assert result.returncode == 0, result.stderr[-3000:]
    platform = yaml.safe_load_all(path.read_text())
    executors = [doc for doc in platform if "platforms" in doc][0]["platforms"]["kubernetes"]["deploymentSpec"]
    mounts = {name: spec["pvcMount"] for name, spec in executors["executors"].items()}
    # Training writes checkpoints, the gate reads the promoted model's metrics, export pushes the model.
    assert set(mounts) == {"exec-train", "exec-gate", "exec-export"}
    for mount in mounts.values():
        assert mount == [{"constant": "tacotron-models", "mountPath": "/mnt/models",
                          "pvcNameParameter": {"runtimeValue": {"constant": "tacotron-models"}}}]
    # The deploy task mounts nothing: it names the claim to KServe, which reads the pushed version from it (pvc://).
    ir = next(yaml.safe_load_all(path.read_text()))
    deploy = ir["components"]["comp-condition-2"]["dag"]["tasks"]["deploy"]["inputs"]["parameters"]
    assert deploy["volume_claim"] == {"runtimeValue": {"constant": "tacotron-models"}}
    assert deploy["volume_mount_path"] == {"runtimeValue": {"constant": "/mnt/models"}}
    refused = kubeflow("compile", "--output", path, "--pvc", "Bad_Claim:relative")
    assert refused.returncode == 2 and "--pvc 'Bad_Claim:relative'" in refused.stderr.strip().splitlines()[-1]


def test_store_credentials_are_referenced_from_a_secret_and_never_compiled_in(package, tmp_path):
    """Compiled where the store's keys are in the environment: every task reads them from the Secret by reference,
    and no value is in the package."""
    for value in CREDENTIAL_VALUES.values():
        assert value not in package
    platform = [doc for doc in yaml.safe_load_all(package) if "platforms" in doc][0]
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    ir = next(yaml.safe_load_all(package))
    # Every task but train-requests, which reads nothing.
    assert set(executors) == set(ir["deploymentSpec"]["executors"]) - {"exec-train-requests"}
    for name, spec in executors.items():
        secrets = spec["secretAsEnv"]
        assert {s["secretNameParameter"]["runtimeValue"]["constant"] for s in secrets} == {"tts-store"}, name
        keys = {m["secretKey"]: s.get("optional", False) for s in secrets for m in s["keyToEnv"]}
        assert keys == {"AWS_ACCESS_KEY_ID": False, "AWS_SECRET_ACCESS_KEY": False, "AWS_SESSION_TOKEN": True,
                        "AWS_ENDPOINT_URL": True, "AWS_DEFAULT_REGION": True}, name
    # The train task passes the Secret's name on, for the TrainJob's pods (components.credentials.secret_env).
    assert ir["root"]["dag"]["tasks"]["train"]["inputs"]["parameters"]["store_secret"] == {
        "runtimeValue": {"constant": "tts-store"}}
    refused = kubeflow("compile", "--output", tmp_path / "refused.yaml", "--store_secret", "Not A Name")
    assert refused.returncode == 2 and "--store_secret 'Not A Name'" in refused.stderr.strip().splitlines()[-1]
