"""Kubernetes backend test helpers: a recorded API server and a registry, on 127.0.0.1."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

from jupyter_deploy.builder.backends.kubernetes import KubernetesBackend

Json = dict[str, Any]
S = TypeVar("S", bound=ThreadingHTTPServer)


FIXTURES = Path(__file__).parent / "fixtures" / "k8s"


def recorded(name: str) -> Json:
    """One recorded answer of the API server (tests/fixtures/k8s)."""
    answer: Json = json.loads((FIXTURES / f"{name}.json").read_text())
    return answer


class RecordedAPI(ThreadingHTTPServer):
    """Answers the Kubernetes REST paths the backend uses with the API server's recorded
    answers: objects echoed back with the metadata the server adds, a finished (or, with
    `stall`, a stalled) rollout status, Status objects for errors; records every request."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.objects: dict[str, Json] = {}
        self.requests: list[tuple[str, str, Json | None]] = []
        self.headers: list[dict[str, str]] = []
        self.stall = False
        self.refuse: str | None = None
        self.pods = "pod-list-not-ready"
        self.metrics = ""  # what each pod's /metrics answers through the pod proxy
        self.metrics_key = ""  # when set, /metrics answers 401 unless the proxied call has it
        self.pod_output = ""  # added to the recorded pod log (e.g. request log lines)

    def rolled_out(self, body: Json) -> Json:
        if body.get("kind") == "Deployment":
            status = recorded(
                "deployment-status-stalled" if self.stall else "deployment-status-rolled-out"
            )
            status["observedGeneration"] = body["metadata"]["generation"]
            if not self.stall:  # as the controller reports it: every pod the spec asks for
                wanted = body["spec"].get("replicas", 1)
                for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
                    status[key] = wanted
            body["status"] = status
        return body


class KServeAPI(RecordedAPI):
    """The recorded API server, answering InferenceServices with KServe's Ready status; its pods
    are Serverless predictor pods (kserve-container beside Knative's queue-proxy)."""

    def __init__(self) -> None:
        super().__init__()
        self.pods = "pod-list-kserve"

    def rolled_out(self, body: Json) -> Json:
        if body.get("kind") == "InferenceService":
            name = "stalled" if self.stall else "ready"
            status = recorded(f"inferenceservice-status-{name}")
            status["observedGeneration"] = body["metadata"]["generation"]
            body["status"] = status
            return body
        return super().rolled_out(body)


class _Handler(BaseHTTPRequestHandler):
    server: RecordedAPI

    def log_message(self, *args: object) -> None:
        """Quiet."""

    def _answer(self, status: int, body: Json) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Json | None:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _missing(self) -> None:
        self._answer(404, recorded("status-not-found"))

    def _record(self, body: Json | None) -> bool:
        """Note the request; False when the server is told to refuse it (answered already)."""
        self.server.requests.append((self.command, self.path, body))
        self.server.headers.append({k.lower(): v for k, v in self.headers.items()})
        if self.server.refuse and self.command != "GET":
            refusal = recorded(self.server.refuse)
            self._answer(refusal["code"], refusal)
            return False
        return True

    def do_GET(self) -> None:
        self._record(None)
        if "/pods" in self.path:
            self._pods()
            return
        found = self.server.objects.get(self.path)
        self._answer(200, found) if found else self._missing()

    def _pods(self) -> None:
        """The pods of the stalled version, and one's log (text, as the API server sends it)."""
        path = self.path.split("?")[0]
        if path.endswith("/log") or path.endswith("/proxy/metrics"):
            if path.endswith("/log"):
                container = self._log_container(path.split("/")[-2])
                if container is None:
                    return
                data = (FIXTURES / "pod-log.txt").read_bytes() + self.server.pod_output.encode()
                if container == "queue-proxy":  # Knative's own container: none of the model's
                    data = b'{"severity":"INFO","message":"Queue-proxy will listen on 8012"}\n'
            elif not self._proxied_key_matches():
                return
            else:
                data = self.server.metrics.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._answer(200, recorded(self.server.pods))

    def _proxied_key_matches(self) -> bool:
        """The model service's key check, behind the pod proxy: the API server takes the
        Authorization header for its own token and drops it, so only X-API-Key reaches the pod.
        False when the pod's 401 was sent back."""
        key = self.server.metrics_key
        if not key or self.headers.get("X-API-Key") == key:
            return True
        body = b'{"error":"unauthorized","message":"This API needs a key."}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return False

    def _log_container(self, pod: str) -> str | None:
        """The container a log read is for, as the API server picks it: the one named in
        `container=`, or the pod's only one; otherwise a 400 as the API server words it (None)."""
        items = recorded(self.server.pods)["items"]
        found = next((p for p in items if p["metadata"]["name"] == pod), None)
        if found is None:
            self._missing()
            return None
        listed = found.get("spec", {}).get("containers") or found["status"]["containerStatuses"]
        names = [c["name"] for c in listed]
        asked = parse_qs(urlparse(self.path).query).get("container", [""])[0]
        if not asked and len(names) == 1:
            return names[0]
        if not asked:
            message = (
                f"a container name must be specified for pod {pod}, "
                f"choose one of: [{' '.join(names)}]"
            )
        elif asked not in names:
            message = f"container {asked} is not valid for pod {pod}"
        else:
            return asked
        self._answer(400, _bad_request(message))
        return None

    def do_POST(self) -> None:
        body = self._body() or {}
        if not self._record(body):
            return
        body["metadata"].update(recorded("server-metadata"), generation=1)
        path = f"{self.path}/{body['metadata']['name']}"
        self.server.objects[path] = self.server.rolled_out(body)
        self._answer(201, body)

    def do_PATCH(self) -> None:
        patch = self._body() or {}
        if not self._record(patch):
            return
        current = self.server.objects.get(self.path)
        if current is None:
            self._missing()
            return
        merged = _merge(copy.deepcopy(current), patch)
        merged["metadata"]["generation"] = current["metadata"]["generation"] + 1
        self.server.objects[self.path] = self.server.rolled_out(merged)
        self._answer(200, merged)

    def do_PUT(self) -> None:
        body = self._body() or {}
        if not self._record(body):
            return
        current = self.server.objects.get(self.path)
        if current is None:
            self._missing()
            return
        body["metadata"].update(recorded("server-metadata"), generation=1)
        self.server.objects[self.path] = body
        self._answer(200, body)

    def do_DELETE(self) -> None:
        if not self._record(None):
            return
        if self.server.objects.pop(self.path, None) is None:
            self._missing()
        else:
            self._answer(200, {"kind": "Status", "status": "Success"})


def _bad_request(message: str) -> Json:
    """The Status object of a 400, as the API server sends it."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "BadRequest",
        "code": 400,
    }


def _merge(target: Json, patch: Json) -> Json:
    """JSON merge patch (RFC 7386), as the API server applies it."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return target


@contextlib.contextmanager
def serving(server: S) -> Iterator[S]:
    """Serve in a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def recorded_backend(api: RecordedAPI, state: Path, **options: Any) -> KubernetesBackend:
    """The backend with the official client pointed at the recorded API (token `t0ken`)."""
    from kubernetes import client

    configuration = client.Configuration(host=f"http://127.0.0.1:{api.server_address[1]}")
    configuration.api_key = {"authorization": "t0ken"}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    settings = {"namespace": "models", "rollout_timeout": 1, "poll_seconds": 0.05, **options}
    return KubernetesBackend(state, settings, api_client=client.ApiClient(configuration))


class Registry(ThreadingHTTPServer):
    """The push side of the registry HTTP API v2, in memory: blobs and manifests by repository
    (what `docker push` needs; the engine treats 127.0.0.1 registries as plain HTTP)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RegistryHandler)
        self.blobs: dict[str, bytes] = {}
        self.uploads: dict[str, bytearray] = {}
        self.manifests: dict[tuple[str, str], bytes] = {}

    @property
    def address(self) -> str:
        """host:port, as image names spell it."""
        return f"127.0.0.1:{self.server_address[1]}"


class _RegistryHandler(BaseHTTPRequestHandler):
    server: Registry
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        """Quiet."""

    def _send(self, status: int, headers: dict[str, str] | None = None, data: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _read(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _parts(self) -> tuple[str, str, str]:
        """(repository, kind, reference) from /v2/<repo>/<blobs|manifests|blobs/uploads>/<ref>."""
        path = self.path.split("?")[0][len("/v2/") :]
        for kind in ("/blobs/uploads/", "/blobs/", "/manifests/"):
            if kind in path:
                repo, _, ref = path.partition(kind)
                return repo, kind.strip("/"), ref
        return path, "", ""

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v2":
            self._send(200, {"Content-Type": "application/json"}, b"{}")
            return
        repo, kind, ref = self._parts()
        found = self.server.blobs.get(ref) if kind == "blobs" else None
        if kind == "manifests":
            found = self.server.manifests.get((repo, ref))
        self._send(200, {"Docker-Content-Digest": ref}, found) if found else self._send(404)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self._read()
        repo, _, _ = self._parts()
        upload = secrets.token_hex(8)
        self.server.uploads[upload] = bytearray()
        location = f"/v2/{repo}/blobs/uploads/{upload}"
        self._send(202, {"Location": location, "Docker-Upload-UUID": upload, "Range": "0-0"})

    def do_PATCH(self) -> None:
        repo, _, upload = self._parts()
        self.server.uploads[upload] += self._read()
        end = max(len(self.server.uploads[upload]) - 1, 0)
        location = f"/v2/{repo}/blobs/uploads/{upload}"
        self._send(202, {"Location": location, "Docker-Upload-UUID": upload, "Range": f"0-{end}"})

    def do_PUT(self) -> None:
        repo, kind, ref = self._parts()
        data = self._read()
        if kind == "blobs/uploads":
            digest = parse_qs(urlparse(self.path).query)["digest"][0]
            self.server.blobs[digest] = bytes(self.server.uploads.pop(ref)) + data
            self._send(
                201, {"Location": f"/v2/{repo}/blobs/{digest}", "Docker-Content-Digest": digest}
            )
            return
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.server.manifests[(repo, ref)] = self.server.manifests[(repo, digest)] = data
        self._send(
            201, {"Location": f"/v2/{repo}/manifests/{digest}", "Docker-Content-Digest": digest}
        )
