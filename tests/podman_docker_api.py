"""podman's Docker-compatible API as kfp.local's DockerRunner needs it, for `make image-test`: run a command with
DOCKER_HOST pointing at a podman API service behind a small proxy that creates containers without auto-removal.

Why the proxy: kfp 2.17 starts every task container with `auto_remove=True`, then streams its logs and waits for it,
catching only a 404 for a container that is already gone. podman 4.3.1 removes a finished container at once and
answers those calls with a 500 ("no such container ... does not exist in database"), so a task's output and exit code
are lost (a Python component fails in `inspect_container`; a container component passes unseen). The proxy turns
`HostConfig.AutoRemove` off and labels each container; the containers are removed when the command ends.

    python -m tests.podman_docker_api COMMAND ARGS...
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

LABEL = "tacotron.image-test"


def containers_conf() -> str:
    """The service's own containers.conf. podman 4.3's default ulimits raise RLIMIT_NOFILE past what an unprivileged
    container may set, and on a fresh machine every task then fails to start ("error setting rlimit type 7: operation
    not permitted", from runc and crun alike); with none set the containers keep the service's limits. And runc where
    it is installed: crun 1.8, podman's default, refuses a host whose cgroups mix v1 and v2 ("cgroups in hybrid mode
    not supported"), where runc runs."""
    conf = "[containers]\ndefault_ulimits = []\n"
    if shutil.which("runc"):
        conf += '[engine]\nruntime = "runc"\n'
    return conf


@contextlib.contextmanager
def podman_service(socket_path: str) -> Iterator[None]:
    """podman's API service on a Unix socket of its own, with the containers.conf above, for as long as the block
    runs."""
    conf = os.path.join(os.path.dirname(socket_path), "containers.conf")
    with open(conf, "w") as f:
        f.write(containers_conf())
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{socket_path}"],
                               env={**os.environ, "CONTAINERS_CONF": conf}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_path):
            if service.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("podman system service did not start (is podman installed and working?)")
            time.sleep(0.1)
        yield
    finally:
        service.terminate()
        service.wait(timeout=30)


def _read_request(source: socket.socket, pending: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(head, body, what follows) of the next HTTP request on `source`; None when the client closed."""
    while b"\r\n\r\n" not in pending:
        chunk = source.recv(65536)
        if not chunk:
            return None
        pending += chunk
    head, _, rest = pending.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = source.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return head, rest[:length], rest[length:]


def _without_auto_remove(head: bytes, body: bytes) -> tuple[bytes, bytes]:
    request_line = head.split(b"\r\n", 1)[0].decode()
    method, path = request_line.split(" ")[:2]
    if method != "POST" or not path.split("?")[0].endswith("/containers/create") or not body:
        return head, body
    spec = json.loads(body)
    spec.setdefault("HostConfig", {})["AutoRemove"] = False
    spec["Labels"] = {**(spec.get("Labels") or {}), LABEL: "1"}
    body = json.dumps(spec).encode()
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-length:")]
    return b"\r\n".join([*lines, b"Content-Length: %d" % len(body)]), body


def _relay(client: socket.socket, upstream_path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX)
    upstream.connect(upstream_path)

    def responses() -> None:
        with contextlib.suppress(OSError):
            while chunk := upstream.recv(65536):
                client.sendall(chunk)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)

    threading.Thread(target=responses, daemon=True).start()
    pending = b""
    with contextlib.suppress(OSError):
        while (request := _read_request(client, pending)) is not None:
            head, body, pending = request
            head, body = _without_auto_remove(head, body)
            upstream.sendall(head + b"\r\n\r\n" + body)
    with contextlib.suppress(OSError):
        upstream.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def docker_api(upstream_path: str) -> Iterator[str]:
    """A DOCKER_HOST value (tcp on loopback) that reaches podman's API at `upstream_path` through the proxy."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = server.accept()
                threading.Thread(target=_relay, args=(client, upstream_path), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{port}"
    finally:
        server.close()


def main(command: list[str]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        upstream = os.path.join(folder, "podman.sock")
        with podman_service(upstream), docker_api(upstream) as host:
            try:
                return subprocess.run(command, env={**os.environ, "DOCKER_HOST": host}).returncode
            finally:
                left = subprocess.run(["podman", "ps", "-aq", "--filter", f"label={LABEL}"], capture_output=True,
                                      text=True).stdout.split()
                if left:
                    subprocess.run(["podman", "rm", "-f", *left], stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
