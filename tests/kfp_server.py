"""A loopback fake of the Kubeflow Pipelines v2beta1 REST API: enough for `kfp.Client` to construct (healthz),
find or create experiments, create runs and create, list, get, enable, disable and delete recurring runs.

Endpoints and field names follow the generated `kfp_server_api` client (kfp 2.17): JSON bodies with snake_case
keys, enums as their string names, errors as a google.rpc.Status JSON. Every request is recorded (method, path,
query, JSON body) so that tests can assert what a real server would have received.
"""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import itertools
import json
import re
import threading
import urllib.parse

API = "/apis/v2beta1"
# google.rpc.Code values the API server answers with.
NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED, INTERNAL, UNAUTHENTICATED = 5, 3, 7, 13, 16
_RPC_CODES = {400: INVALID_ARGUMENT, 401: UNAUTHENTICATED, 403: PERMISSION_DENIED, 404: NOT_FOUND}
# kfp.client's filter operations: EQUALS is sent as the number 1 (the proto enum's value) or its name.
EQUALS = (1, "EQUALS")


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: dict | None


def send_json(handler: http.server.BaseHTTPRequestHandler, status: int, payload: dict) -> None:
    """Answer a request with `payload` as JSON (this fake's answers, and test_trainjob's fake Kubernetes API's)."""
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _matches(item: dict, filter_json: str | None) -> bool:
    """The subset of the API's filter language kfp.Client uses: display_name EQUALS / IS_SUBSTRING predicates."""
    if not filter_json:
        return True
    for predicate in json.loads(filter_json).get("predicates", []):
        value = str(item.get(predicate.get("key"), ""))
        wanted = predicate.get("stringValue", predicate.get("string_value", ""))
        operation = predicate.get("operation")
        if operation in EQUALS and value != wanted:
            return False
        if operation in (9, "IS_SUBSTRING") and wanted not in value:
            return False
    return True


class FakeKfpServer:
    """`with FakeKfpServer() as server:` serves on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, multi_user: bool = False, fail_status: int | None = None):
        """multi_user: what healthz reports. fail_status: answer every request with this HTTP status (e.g. 401 for
        a cluster that rejects the token), as a google.rpc.Status body."""
        self.multi_user = multi_user
        self.fail_status = fail_status
        self.requests: list[Request] = []
        self.experiments: dict[str, dict] = {}
        self.runs: dict[str, dict] = {}
        self.recurring_runs: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self.port = 0
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> FakeKfpServer:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802  (http.server's naming)
                server._handle(self)

            do_POST = do_DELETE = do_PUT = do_PATCH = do_GET  # noqa: N815

            def log_message(self, *args):  # keep pytest output clean
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-kfp",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> FakeKfpServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- assertions helpers ----------------------------------------------------------------------------------------
    def requests_to(self, method: str, path: str) -> list[Request]:
        """Recorded requests with this method whose path is `path` (or matches it as a regular expression)."""
        with self._lock:
            return [r for r in self.requests if r.method == method and re.fullmatch(path, r.path)]

    def creating_requests(self) -> list[Request]:
        """Requests that would start work on a cluster: new runs or recurring runs."""
        return self.requests_to("POST", f"{API}/runs") + self.requests_to("POST", f"{API}/recurringruns")

    # -- the API -----------------------------------------------------------------------------------------------------
    def _new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids):04d}-0000-4000-8000-000000000000"

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(parsed.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            send_json(handler, 400, {"code": INVALID_ARGUMENT, "message": "request body is not JSON"})
            return
        request = Request(handler.command, parsed.path, query, body)
        with self._lock:
            self.requests.append(request)
            status, payload = self._route(request)
        send_json(handler, status, payload)

    @staticmethod
    def _not_found(what: str) -> tuple[int, dict]:
        return 404, {"code": NOT_FOUND, "message": f"{what} not found", "details": []}

    @staticmethod
    def _first(query: dict, name: str) -> str | None:
        return query.get(name, [None])[0]

    def _route(self, r: Request) -> tuple[int, dict]:
        if self.fail_status is not None:
            code = _RPC_CODES.get(self.fail_status, INTERNAL)
            return self.fail_status, {"code": code, "message": f"fake KFP answers {self.fail_status}", "details": []}
        if not r.path.startswith(API + "/"):
            return self._not_found(r.path)
        path = r.path[len(API):]
        if (r.method, path) == ("GET", "/healthz"):
            return 200, {"multi_user": self.multi_user, "pipeline_store": "database"}

        # Experiments.
        if path == "/experiments" and r.method == "POST":
            body = r.body or {}
            if not body.get("display_name"):
                return 400, {"code": INVALID_ARGUMENT, "message": "experiment display_name is empty"}
            experiment = {
                "experiment_id": self._new_id("exp"), "display_name": body["display_name"],
                "description": body.get("description") or "", "namespace": body.get("namespace") or "",
                "created_at": _now(), "storage_state": "AVAILABLE",
            }
            self.experiments[experiment["experiment_id"]] = experiment
            return 200, experiment
        if path == "/experiments" and r.method == "GET":
            found = [e for e in self.experiments.values() if _matches(e, self._first(r.query, "filter"))]
            namespace = self._first(r.query, "namespace")
            if namespace:
                found = [e for e in found if e["namespace"] == namespace]
            return 200, ({"experiments": found, "total_size": len(found)} if found else {})
        if m := re.fullmatch(r"/experiments/([^/:]+)", path):
            experiment = self.experiments.get(m[1])
            if r.method == "GET":
                return (200, experiment) if experiment else self._not_found(f"experiment {m[1]}")

        # Runs.
        if path == "/runs" and r.method == "POST":
            body = r.body or {}
            if not body.get("pipeline_spec") and not body.get("pipeline_version_reference"):
                return 400, {"code": INVALID_ARGUMENT, "message": "run has neither pipeline_spec nor a version"}
            if body.get("experiment_id") and body["experiment_id"] not in self.experiments:
                return self._not_found(f"experiment {body['experiment_id']}")
            run = {
                **body, "run_id": self._new_id("run"), "created_at": _now(), "state": "PENDING",
                "storage_state": "AVAILABLE",
                "state_history": [{"update_time": _now(), "state": "PENDING"}],
            }
            self.runs[run["run_id"]] = run
            return 200, run
        if path == "/runs" and r.method == "GET":
            found = [run for run in self.runs.values() if _matches(run, self._first(r.query, "filter"))]
            experiment_id = self._first(r.query, "experiment_id")
            if experiment_id:
                found = [run for run in found if run.get("experiment_id") == experiment_id]
            return 200, ({"runs": found, "total_size": len(found)} if found else {})
        if m := re.fullmatch(r"/runs/([^/:]+)", path):
            run = self.runs.get(m[1])
            if r.method == "GET":
                return (200, run) if run else self._not_found(f"run {m[1]}")

        # Recurring runs.
        if path == "/recurringruns" and r.method == "POST":
            body = r.body or {}
            trigger = body.get("trigger") or {}
            if not (trigger.get("cron_schedule") or trigger.get("periodic_schedule")):
                return 400, {"code": INVALID_ARGUMENT, "message": "recurring run has no trigger"}
            if body.get("experiment_id") and body["experiment_id"] not in self.experiments:
                return self._not_found(f"experiment {body['experiment_id']}")
            job = {
                **body, "recurring_run_id": self._new_id("job"), "created_at": _now(), "updated_at": _now(),
                # The API echoes max_concurrency as an int64 string.
                "max_concurrency": str(body.get("max_concurrency") or "1"),
                "status": "ENABLED" if body.get("mode") == "ENABLE" else "DISABLED",
            }
            self.recurring_runs[job["recurring_run_id"]] = job
            return 200, job
        if path == "/recurringruns" and r.method == "GET":
            found = [j for j in self.recurring_runs.values() if _matches(j, self._first(r.query, "filter"))]
            experiment_id = self._first(r.query, "experiment_id")
            if experiment_id:
                found = [j for j in found if j.get("experiment_id") == experiment_id]
            page_size = int(self._first(r.query, "page_size") or 0) or len(found)
            found = found[:page_size]
            # The one camelCase key of the API: the proto field itself is named `recurringRuns`.
            return 200, ({"recurringRuns": found, "total_size": len(found)} if found else {})
        if m := re.fullmatch(r"/recurringruns/([^/:]+)(?::(enable|disable))?", path):
            job = self.recurring_runs.get(m[1])
            if job is None:
                return self._not_found(f"recurring run {m[1]}")
            if r.method == "GET" and not m[2]:
                return 200, job
            if r.method == "DELETE" and not m[2]:
                del self.recurring_runs[m[1]]
                return 200, {}
            if r.method == "POST" and m[2]:
                job["status"] = "ENABLED" if m[2] == "enable" else "DISABLED"
                job["mode"] = "ENABLE" if m[2] == "enable" else "DISABLE"
                job["updated_at"] = _now()
                return 200, {}
        return self._not_found(f"{r.method} {r.path}")
