"""The InferenceService (components/inferenceservice.py's manifest and pipelines/kubeflow/inferenceservice.yaml) against
the pinned KServe CRD: what the API accepts and refuses, the predictor tacotron-serve runs in, where the store's
credentials come from, the storage URIs KServe reads, and the deploy step's RBAC."""

from __future__ import annotations

import pathlib
import re

import jsonschema
import pytest
import yaml

import components
from components import inferenceservice
from tests.conftest import REPO
from tests.pipelines.kubeflow.test_trainjob import strict

KSERVE = pathlib.Path(__file__).parent / f"kserve_{inferenceservice.KSERVE_VERSION}"
# libyaml: the CRD is 2 MB, a few seconds for the pure-Python loader.
CRD = yaml.load((KSERVE / "serving.kserve.io_inferenceservices.yaml").read_text(), Loader=yaml.CSafeLoader)
EXAMPLE = REPO / "pipelines" / "kubeflow" / "inferenceservice.yaml"
RBAC = REPO / "pipelines" / "kubeflow" / "inferenceservice-rbac.yaml"
IMAGE = "registry.example/tacotron:test"
# The version folder pipelines/kubeflow/inferenceservice.yaml names.
EXAMPLE_URI = "s3://tts/serving/12000"
# KServe's validating webhook: an InferenceService's name (v0.20.0, pkg/apis/serving/v1beta1/component.go).
NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def crd_schema() -> dict:
    (version,) = [v for v in CRD["spec"]["versions"] if v["name"] == inferenceservice.VERSION]
    assert version["served"] and version["storage"]
    return version["schema"]["openAPIV3Schema"]


VALIDATOR = jsonschema.Draft202012Validator(strict(crd_schema()))


def schema_errors(isvc: dict) -> list[str]:
    """What the API server's schema check says of `isvc`, one line per field."""
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in sorted(VALIDATOR.iter_errors(isvc), key=lambda e: list(e.absolute_path))]


def creatable(isvc: dict) -> None:
    """What the pinned KServe's API checks on create: the schema (types, patterns, no unknown fields) and the webhook's
    name rule. The CRD has no CEL rules to check besides (test_the_crd_has_no_cel_rules)."""
    errors = schema_errors(isvc)
    assert not errors, "\n".join(errors)
    assert NAME.fullmatch(isvc["metadata"]["name"]), isvc["metadata"]["name"]


def build(**overrides) -> dict:
    settings = dict(name="tacotron", image=IMAGE, storage_uri=EXAMPLE_URI, namespace="speech")
    return inferenceservice.manifest(**{**settings, **overrides})


def test_the_crd_has_no_cel_rules():
    def rules(node) -> int:
        if isinstance(node, dict):
            return ("x-kubernetes-validations" in node) + sum(rules(value) for value in node.values())
        return sum(rules(value) for value in node) if isinstance(node, list) else 0

    assert rules(crd_schema()) == 0


def test_the_manifest_meets_the_pinned_crd():
    isvc = build()
    creatable(isvc)
    assert isvc["apiVersion"] == f"{CRD['spec']['group']}/{inferenceservice.VERSION}"
    assert isvc["kind"] == CRD["spec"]["names"]["kind"] and inferenceservice.PLURAL == CRD["spec"]["names"]["plural"]
    assert isvc["metadata"]["namespace"] == "speech" and "namespace" not in build(namespace="")["metadata"]
    creatable(build(resources=inferenceservice.Resources("500m", "1536Mi", "1", "2Gi"), service_account="models"))


def test_the_predictor_runs_tacotron_serve_as_the_image_user_with_no_secret():
    predictor = build()["spec"]["predictor"]
    (container,) = predictor["containers"]
    assert container["name"] == "kserve-container" and container["image"] == IMAGE
    assert container["command"] == ["tacotron-serve"]
    assert container["args"] == ["--model", "/mnt/models", "--name", "tacotron", "--http_port", "8080"]
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    # The model comes from STORAGE_URI through KServe's storage initializer, with the service account's Secret: the
    # environment holds the URI alone, no credentials and no reference to a Secret.
    assert container["env"] == [{"name": "STORAGE_URI", "value": EXAMPLE_URI}] and "envFrom" not in container
    assert predictor["serviceAccountName"] == "tacotron-models"
    assert container["securityContext"]["runAsUser"] == 1000 and container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"] == {"requests": {"cpu": "2", "memory": "2Gi"},
                                      "limits": {"cpu": "4", "memory": "4Gi"}}
    # KServe's health endpoints, on the one port Knative routes to.
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}


@pytest.mark.parametrize("path, value", [
    (("spec", "predictor", "containers", 0, "storageUri"), EXAMPLE_URI),  # a model spec's field, not a container's
    (("spec", "predictor", "containers", 0, "ports", 0, "containerPort"), "8080"),
    (("spec", "predictor", "containers", 0, "resources", "limits", "memory"), "4 GB"),
    (("spec", "predictor", "containers", 0, "securityContext", "runAsNonRoot"), "true"),
    (("spec", "predictor", "serviceAccountName"), {"name": "tacotron-models"}),
])
def test_the_schema_check_refuses_what_the_api_would(path, value):
    isvc = build()
    *parents, key = path
    node = isvc
    for parent in parents:
        node = node[parent]
    node[key] = value
    with pytest.raises(AssertionError, match=".".join(map(str, parents))):
        creatable(isvc)


def test_the_webhook_name_rule_refuses_what_kserve_would():
    for name in ("tacotron-v2", "t"):
        creatable(build(name=name))
    for name in ("tacotron.v2", "2tacotron", "Tacotron"):
        with pytest.raises(AssertionError):
            creatable(build(name=name))


def test_the_example_yaml_is_the_rendered_manifest_with_its_service_account_and_secret():
    secret, account, isvc = yaml.safe_load_all(EXAMPLE.read_text())
    assert isvc == inferenceservice.manifest("tacotron", components.DEFAULT_IMAGE, EXAMPLE_URI)
    creatable(isvc)
    # Applied with `kubectl apply -n NAMESPACE`: all three land in that namespace.
    assert all("namespace" not in doc["metadata"] for doc in (secret, account, isvc))
    # KServe's S3 pattern: the predictor's ServiceAccount lists the Secret; the Secret's annotations say where the
    # store is and its keys are the names KServe's default inferenceservice-config reads, with placeholder values.
    assert (account["apiVersion"], account["kind"]) == ("v1", "ServiceAccount")
    assert isvc["spec"]["predictor"]["serviceAccountName"] == account["metadata"]["name"]
    assert account["secrets"] == [{"name": secret["metadata"]["name"]}]
    assert (secret["apiVersion"], secret["kind"], secret["type"]) == ("v1", "Secret", "Opaque")
    annotations = secret["metadata"]["annotations"]
    assert set(annotations) == {"serving.kserve.io/s3-endpoint", "serving.kserve.io/s3-usehttps",
                                "serving.kserve.io/s3-region"}
    assert "://" not in annotations["serving.kserve.io/s3-endpoint"]
    assert annotations["serving.kserve.io/s3-usehttps"] in ("0", "1")
    assert set(secret["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert all(value.startswith("REPLACE_WITH_") for value in secret["stringData"].values())


def test_storage_uris_are_what_kserve_reads():
    assert inferenceservice.storage_uri("s3://tts/serving/12000") == "s3://tts/serving/12000"
    assert inferenceservice.storage_uri("gs://tts/serving/7", "models", "/mnt/tacotron") == "gs://tts/serving/7"
    assert inferenceservice.storage_uri("/mnt/tacotron/serving/7", "tacotron-models", "/mnt/tacotron") == (
        "pvc://tacotron-models/serving/7")
    refusals = {
        ("", "", ""): "nothing to deploy: the export pushed no model (set serving_dir)",
        ("/tmp/serving/7", "", ""): "KServe cannot read '/tmp/serving/7': serving_dir must be on s3://, gs:// or the "
                                    "pipeline's volume (--pvc)",
        ("/mnt/other/serving/7", "models", "/mnt/tacotron"): "KServe cannot read '/mnt/other/serving/7': serving_dir "
                                                             "must be on s3://, gs:// or the pipeline's volume (--pvc, "
                                                             "mounted at /mnt/tacotron)",
        ("/mnt/tacotronic/serving/7", "models", "/mnt/tacotron"): "KServe cannot read '/mnt/tacotronic/serving/7': "
                                                                  "serving_dir must be on s3://, gs:// or the "
                                                                  "pipeline's volume (--pvc, mounted at /mnt/tacotron)",
    }
    for arguments, message in refusals.items():
        with pytest.raises(inferenceservice.DeployError) as refused:
            inferenceservice.storage_uri(*arguments)
        assert str(refused.value) == message


def test_the_rbac_manifest_grants_what_deploy_uses():
    role, binding = yaml.safe_load_all(RBAC.read_text())
    assert (role["apiVersion"], role["kind"]) == ("rbac.authorization.k8s.io/v1", "Role")
    (rule,) = role["rules"]
    assert rule["apiGroups"] == [inferenceservice.GROUP] and rule["resources"] == [inferenceservice.PLURAL]
    assert sorted(rule["verbs"]) == sorted(inferenceservice.VERBS)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    assert {(s["kind"], s["name"], s.get("namespace")) for s in binding["subjects"]} == {
        ("ServiceAccount", "default-editor", None), ("ServiceAccount", "pipeline-runner", "kubeflow")}
    assert all("namespace" not in doc["metadata"] for doc in (role, binding))

