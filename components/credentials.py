"""The object store's credentials for tasks and TrainJob pods: a Kubernetes Secret's keys by reference, or else the
pod's workload identity. No credential value is ever written into a manifest."""

from __future__ import annotations

from collections.abc import Mapping

# The variables every AWS client reads (S3, MinIO), each kept in the Secret under its own name.
REQUIRED_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
OPTIONAL_KEYS = ("AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")
# What is a credential among them: never copied as a value. The endpoint and region are not secret.
CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
STORE_PREFIX = "AWS_"


def secret_env(secret: str) -> list[dict]:
    """Container env entries that read the Secret's keys when the pod starts (`valueFrom.secretKeyRef`)."""
    return [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key,
                                                         **({"optional": True} if key in OPTIONAL_KEYS else {})}}}
            for key in REQUIRED_KEYS + OPTIONAL_KEYS]


def pod_env(environ: Mapping[str, str], secret: str = "") -> list[dict]:
    """The store settings a pod started by a task needs: with `secret`, every store key from it by reference; without,
    the task's own non-credential AWS_* values (endpoint, region), the credentials left to the pod's identity."""
    if secret:
        return secret_env(secret)
    return [{"name": name, "value": value} for name, value in sorted(environ.items())
            if name.startswith(STORE_PREFIX) and name not in CREDENTIALS]
