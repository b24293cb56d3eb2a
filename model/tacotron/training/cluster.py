"""The JAX cluster a training process may join: the environment that describes it (Kubeflow Trainer's JAX runtime),
joining it, and the checks that its processes run the same build and resume from the same step."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import pathlib
from collections.abc import Mapping

import numpy as np

from tacotron import storage


class ClusterSettingError(ValueError):
    """Environment variables that cannot describe a cluster."""


class ClusterError(RuntimeError):
    """A JAX cluster that could not be formed or did not agree (coordinator, peers, builds, resume step)."""


# What Kubeflow Trainer's JAX runtime (`jax-distributed`) gives each pod of a TrainJob: one pod is one JAX process.
COORDINATOR_VARIABLE = "JAX_COORDINATOR_ADDRESS"
PROCESSES_VARIABLE = "JAX_NUM_PROCESSES"
PROCESS_ID_VARIABLE = "JAX_PROCESS_ID"
# A peer that sends no heartbeat for this long is lost; every other process then stops (the JAX coordination
# service's own detection; its default, 100 s, keeps a cluster waiting for a dead pod almost two minutes).
HEARTBEAT_TIMEOUT_S = 20
# How long a finished process waits at exit for the others to finish too.
SHUTDOWN_TIMEOUT_S = 60
# The packages whose versions must agree across a cluster's processes, besides the tacotron code itself.
_BUILD_PACKAGES = ("keras", "jax", "jaxlib", "numpy")


@dataclasses.dataclass(frozen=True)
class Cluster:
    """A multi-process JAX run as this process takes part in it."""

    coordinator: str
    processes: int
    process_id: int

    def __str__(self) -> str:
        return f"process {self.process_id} of {self.processes} (coordinator {self.coordinator})"


def cluster_from(environ: Mapping[str, str]) -> Cluster | None:
    """The cluster the environment describes (Kubeflow Trainer's JAX runtime's variables), or None for a run on this
    process's devices alone; ClusterSettingError for variables that cannot describe one."""
    names = (COORDINATOR_VARIABLE, PROCESSES_VARIABLE, PROCESS_ID_VARIABLE)
    given = {name: environ[name].strip() for name in names if environ.get(name, "").strip()}
    if not given:
        return None
    missing = [name for name in names if name not in given]
    if missing:
        raise ClusterSettingError(f"a JAX cluster needs {', '.join(names)}; {', '.join(missing)} not set")
    try:
        processes, process_id = int(given[PROCESSES_VARIABLE]), int(given[PROCESS_ID_VARIABLE])
    except ValueError:
        raise ClusterSettingError(f"{PROCESSES_VARIABLE}={given[PROCESSES_VARIABLE]!r} and {PROCESS_ID_VARIABLE}="
                                f"{given[PROCESS_ID_VARIABLE]!r} must be whole numbers") from None
    if processes < 1 or not 0 <= process_id < processes:
        raise ClusterSettingError(f"{PROCESS_ID_VARIABLE}={process_id} is not one of the {PROCESSES_VARIABLE}="
                                f"{processes} processes (0 to {processes - 1})")
    host, _, port = given[COORDINATOR_VARIABLE].rpartition(":")
    if not host or not port.isdigit():
        raise ClusterSettingError(f"{COORDINATOR_VARIABLE}={given[COORDINATOR_VARIABLE]!r} is not HOST:PORT")
    return Cluster(given[COORDINATOR_VARIABLE], processes, process_id)


def join_cluster(cluster: Cluster, timeout_s: int) -> None:
    """Join the JAX cluster (before any JAX computation), then check that every process runs the same build.

    ClusterError when the coordinator does not answer or the other processes do not all arrive within `timeout_s`
    (a wrong process count reads the same), or when the builds differ. Process 0 serves as the coordinator.
    """
    import jax

    try:
        jax.distributed.initialize(cluster.coordinator, cluster.processes, cluster.process_id,
                                   initialization_timeout=timeout_s, heartbeat_timeout_seconds=HEARTBEAT_TIMEOUT_S,
                                   shutdown_timeout_seconds=SHUTDOWN_TIMEOUT_S)
    except Exception as e:  # jaxlib raises its own runtime errors, and ValueError for an address it cannot use
        raise ClusterError(f"{cluster}: the cluster did not form within {timeout_s} s (a coordinator that does not "
                           f"answer, or fewer processes than {cluster.processes}): {storage.cause(e)}") from None
    from jax.experimental import multihost_utils

    builds = multihost_utils.process_allgather(build_fingerprint())
    differing = [i for i, build in enumerate(np.asarray(builds).reshape(cluster.processes, -1))
                 if not np.array_equal(build, builds[0])]
    if differing:
        raise ClusterError(f"{cluster}: processes {differing} run a different build than process 0 (the tacotron "
                           f"code or the versions of {', '.join(_BUILD_PACKAGES)}): run one image on every node")


def build_fingerprint() -> np.ndarray:
    """This process's build as 4 numbers: a digest of the tacotron package's code and the versions that decide what
    a training step computes."""
    digest = hashlib.sha256()
    for name in _BUILD_PACKAGES:
        digest.update(f"{name}=={importlib.metadata.version(name)}\n".encode())
    package = pathlib.Path(__file__).parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return np.frombuffer(digest.digest()[:16], np.uint32).copy()


def agree_on(value: int, what: str) -> None:
    """ClusterError unless every process of the JAX cluster has the same `value` (a collective: every process must
    call it)."""
    values = [int(v) for v in _gathered(value)]
    if len(set(values)) > 1:
        raise ClusterError(f"the processes disagree on {what}: {values} (by process); every process must read the "
                           "same model_dir")


def any_process(flag: bool) -> bool:
    """Whether `flag` is set in any process of the JAX cluster (a collective: every process must call it)."""
    return bool(_gathered(flag).any())


def _gathered(value: int) -> np.ndarray:
    """`value` of every process, in process order."""
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(np.int32(value))).ravel()
