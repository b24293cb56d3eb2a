"""The Kubernetes API as the components reach it: a client from the pod's service account or a kubeconfig, and an
API refusal in one line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


class NoApi(Exception):
    """Neither in a cluster nor with a kubeconfig: the one-line reason."""


def connect() -> tuple[ApiClient, str]:
    """(a kubernetes ApiClient, its own namespace): the pod's service account and namespace inside a cluster, else
    the kubeconfig's current context and its namespace; NoApi when there is neither."""
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
        with open(NAMESPACE_FILE) as f:
            own = f.read().strip()
    except (config.ConfigException, OSError):
        try:
            config.load_kube_config(client_configuration=configuration)
            _, context = config.list_kube_config_contexts()
        except (config.ConfigException, OSError) as e:
            raise NoApi(f"not in a cluster, and no kubeconfig ({one_line(str(e))})") from None
        own = context.get("context", {}).get("namespace", "default")
    return client.ApiClient(configuration), own


def api_reason(error) -> str:
    """An ApiException in one line: HTTP status, reason and the API's own message (a Status object's)."""
    try:
        message = json.loads(error.body or "{}").get("message", "")
    except ValueError:
        message = error.body or ""
    return one_line(f"HTTP {error.status} {error.reason or ''}: {message}".rstrip(": "))


def one_line(text: str) -> str:
    return " ".join(text.split())
