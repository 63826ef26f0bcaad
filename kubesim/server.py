"""The HTTP front of the simulator: routes Kubernetes API paths to the store.

One module because its handler is one request's life on one keep-alive connection:
reading the body, the per-verb handlers, streaming a watch and writing the answer all share
that connection's state. What a request asks for is worked out in `routing`, the documents
it may get in `apis`, the objects in `store`.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

from . import openapi, protobuf, routing, status
from .apis import VERSION
from .catalog import SCALABLE_KINDS, ResourceType
from .faults import Fault, ImageRule
from .patch import json_merge_patch, json_patch, strategic_merge
from .routing import Route
from .simulator import Simulator
from .store import WriteOptions, WriteResult
from .table import as_table

MAX_BODY = 3 * 1024 * 1024
DEFAULT_WATCH_SECONDS = 1800
PROTOBUF = "application/vnd.kubernetes.protobuf"
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
}


class Handler(BaseHTTPRequestHandler):
    """One request; every failure becomes a Status answer, never a traceback."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and the client's
    # delayed ACKs every keep-alive response would stall for ~40 ms.
    disable_nagle_algorithm = True
    server_version = "k8s-sim"
    sim: Simulator

    def log_message(self, format: str, *args: object) -> None:
        """Quiet by default: one line per request would drown the test logs."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_OPTIONS(self) -> None:
        self._handle("OPTIONS")

    # --- plumbing --------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        self.warnings: list[str] = []
        self._body_read = False
        try:
            url = urlsplit(self.path)
            self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            self.route_path = url.path.rstrip("/") or "/"
            self._dispatch(method)
        except status.StatusError as error:
            self._drain()
            self._send_json(error.code, error.to_dict())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # noqa: BLE001 - a bug must not reach the client as a traceback
            traceback.print_exc(file=sys.stderr)
            self._drain()
            self._send_json(500, status.StatusError(500, "internal error in the simulator")
                            .to_dict())

    def _drain(self) -> None:
        """Read an unread body so the next request on this connection starts cleanly."""
        if self._body_read:
            return
        # A body that cannot be read has already marked the connection for closing.
        with contextlib.suppress(status.StatusError):
            self._body()

    def _body(self) -> bytes:
        self._body_read = True
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # kubectl always sends Content-Length; refusing chunked bodies keeps the limit simple.
            self.close_connection = True
            raise status.StatusError(411, "a request body needs a Content-Length",
                                     "LengthRequired")
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            self.close_connection = True
            raise status.bad_request("Content-Length must be a number")
        if int(length) > MAX_BODY:
            self.close_connection = True
            raise status.StatusError(413, f"the request body is larger than {MAX_BODY} bytes")
        return self.rfile.read(int(length))

    def _json_body(self, allow_yaml: bool = False) -> object:
        raw = self._body()
        if self.headers.get("Content-Type", "").startswith(PROTOBUF):
            return protobuf.decode(raw)
        try:
            if allow_yaml:
                return yaml.safe_load(raw.decode("utf-8"))
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
            reason = str(error).splitlines()[0]
            raise status.bad_request(f"the request body could not be decoded: {reason}") from None

    def _send_json(self, code: int, body: object, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for warning in self.warnings:
            self.send_header("Warning", '299 - "{}"'.format(warning.replace('"', '\\"')))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # --- routing ---------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        path = self.route_path
        parts = [p for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            return self._send_text(200, "ok")
        if parts[:1] == ["_sim"]:
            return self._control(method, parts[1:])
        if method not in ("GET", "HEAD") and parts[:1] in (["api"], ["apis"]) and len(parts) < 3:
            raise status.StatusError(405, f"the server does not allow {method} on {path}")
        catalog = self.sim.store.catalog
        if method in ("GET", "HEAD") and parts == ["openapi", "v2"]:
            return self._openapi_v2()
        if method in ("GET", "HEAD"):
            document = routing.static_document(parts, catalog, self.headers.get("Host", ""))
            if document is not None:
                return self._send_json(200, document)
        route = routing.resource_route(parts, catalog)
        if route is None:
            self._drain()
            raise status.no_such_resource()
        self._resource(method, route)

    def _openapi_v2(self) -> None:
        version = VERSION["gitVersion"]
        if openapi.PROTOBUF_V2 not in self.headers.get("Accept", ""):
            return self._send_json(200, openapi.v2_json(version))
        data = openapi.v2_protobuf(version)
        self.send_response(200)
        self.send_header("Content-Type", openapi.PROTOBUF_V2_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # --- resources -------------------------------------------------------------------------

    def _resource(self, method: str, route: Route) -> None:
        verb = routing.verb(method, route, self.query, self.headers.get("Content-Type", ""))
        rt = route.rt
        if route.subresource and (
            route.subresource not in rt.subresources or verb not in ("get", "update", "patch")
        ):
            raise status.no_such_resource()
        # A create is posted to its collection; the other writes address one object.
        if (verb == "create" and route.name) or (
            verb in ("update", "patch", "apply") and not route.name
        ):
            raise status.method_not_allowed()
        controls = self.sim.controls
        controls.record(verb, rt.kind)
        if controls.latency:
            time.sleep(controls.latency)
        if verb == "create":
            # The name of a new object is in its body, and faults may target that name.
            body = self._json_body()
            metadata = body.get("metadata") if isinstance(body, dict) else None
            name = metadata.get("name") if isinstance(metadata, dict) else None
            controls.check(rt.kind, rt.plural, name, route.namespace, verb)
            return self._create(route, body)
        controls.check(rt.kind, rt.plural, route.name, route.namespace, verb)
        handler = getattr(self, f"_{verb}")
        handler(route)

    def _write_options(self) -> WriteOptions:
        return routing.write_options(self.query, self.headers.get("User-Agent", "unknown"))

    def _write_answer(self, result: WriteResult, success: int = 200) -> None:
        self.warnings.extend(result.warnings)
        self._send_json(201 if result.created else success, result.obj)

    def _get(self, route: Route) -> None:
        obj = self.sim.store.get(route.rt, route.namespace or "", route.name)
        if route.subresource == "scale":
            return self._send_json(200, _scale(obj))
        self._send_object_or_table(route.rt, [obj], single=True)

    def _list(self, route: Route) -> None:
        labels, fields = routing.selectors(self.query)
        items, version = self.sim.store.list(route.rt, route.namespace, labels, fields)
        self._send_object_or_table(route.rt, items, version=version)

    def _send_object_or_table(self, rt: ResourceType, items: list[dict], single: bool = False,
                              version: str = "") -> None:
        accept = self.headers.get("Accept", "")
        if "as=Table" in accept:
            table = as_table(rt, items, version, self.query.get("includeObject") == "Object")
            return self._send_json(200, table)
        if single:
            return self._send_json(200, items[0])
        self._send_json(200, {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": version},
            "items": items,
        })

    def _watch(self, route: Route) -> None:
        labels, fields = routing.selectors(self.query)
        try:
            timeout = float(self.query.get("timeoutSeconds") or DEFAULT_WATCH_SECONDS)
        except ValueError:
            raise status.bad_request("timeoutSeconds must be a number") from None
        events = self.sim.store.watch(route.rt, route.namespace, labels, fields,
                                      self.query.get("resourceVersion"), timeout,
                                      self.query.get("sendInitialEvents") == "true")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.flush()
        for event in events:
            self._chunk(event)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, event: dict | None) -> None:
        if event is None:
            if self._peer_closed():
                raise ConnectionResetError("watch client went away")
            return
        data = (json.dumps(event) + "\n").encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _peer_closed(self) -> bool:
        """Whether the client hung up (readable with nothing to read), so a watch can end."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _create(self, route: Route, body: object) -> None:
        options = self._write_options()
        namespace = route.namespace or ""
        if route.rt.namespaced and not namespace:
            raise status.method_not_allowed()
        self._write_answer(self.sim.store.create(route.rt, namespace, body, options))

    def _update(self, route: Route) -> None:
        body = self._json_body()
        options = self._write_options()
        if route.subresource == "scale":
            return self._set_scale(route, body, options)
        result = self.sim.store.replace(route.rt, route.namespace or "", route.name, body,
                                        options, route.subresource)
        self._write_answer(result)

    def _patch(self, route: Route) -> None:
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        kind = PATCH_TYPES.get(content_type)
        if kind is None:
            self._drain()
            raise status.StatusError(
                415, "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml, application/strategic-merge-patch+json")
        body = self._json_body()
        options = self._write_options()
        if route.subresource == "scale":
            return self._set_scale(route, json_merge_patch({}, body), options)
        if kind == "strategic" and route.rt.fields is None:
            raise status.StatusError(
                415, "strategic merge patch is not supported for custom resources; use a merge "
                "patch or server-side apply")
        if kind == "json":
            def patcher(current: dict) -> object:
                return json_patch(current, body)
        elif not isinstance(body, dict):
            raise status.bad_request("a merge patch must be a JSON object")
        elif kind == "merge":
            def patcher(current: dict) -> object:
                return json_merge_patch(current, body)
        else:
            def patcher(current: dict) -> object:
                return strategic_merge(current, body)
        result = self.sim.store.patch(route.rt, route.namespace or "", route.name, patcher,
                                      options, route.subresource)
        self._write_answer(result)

    def _apply(self, route: Route) -> None:
        body = self._json_body(allow_yaml=True)
        options = self._write_options()
        # Unlike other writes, apply takes no default manager: ownership must be explicit.
        options.field_manager = self.query.get("fieldManager")
        result = self.sim.store.apply(route.rt, route.namespace or "", route.name, body,
                                      options, route.subresource)
        self._write_answer(result)

    def _set_scale(self, route: Route, scale: object, options: WriteOptions) -> None:
        """Set replicas from a Scale body (or a patch of one) and answer with the new Scale."""
        spec = scale.get("spec") if isinstance(scale, dict) else None
        replicas = spec.get("replicas") if isinstance(spec, dict) else None
        if route.rt.kind not in SCALABLE_KINDS:
            raise status.no_such_resource()
        if not isinstance(replicas, int) or replicas < 0:
            raise status.invalid("Scale", "autoscaling", route.name or "", [
                ("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal "
                 "to 0")])

        def patcher(current: dict) -> object:
            return json_merge_patch(current, {"spec": {"replicas": replicas}})

        result = self.sim.store.patch(route.rt, route.namespace or "", route.name, patcher,
                                      options)
        self._send_json(200, _scale(result.obj))

    def _delete_options(self) -> tuple[bool, str, dict]:
        if self.headers.get("Content-Type", "").startswith(PROTOBUF):
            # Typed clients send DeleteOptions as protobuf; kubectl also puts them in the query.
            self._body()
            body = None
        else:
            body = self._json_body() if self.headers.get("Content-Length", "0") != "0" else None
        return routing.delete_options(self.query, body if isinstance(body, dict) else {})

    def _delete(self, route: Route) -> None:
        dry_run, policy, preconditions = self._delete_options()
        rt = route.rt
        gone = self.sim.store.delete(rt, route.namespace or "", route.name, dry_run,
                                     preconditions, policy or "Background")
        if rt.kind == "Namespace":
            return self._send_json(200, gone)
        if "foregroundDeletion" in (gone["metadata"].get("finalizers") or []):
            return self._send_json(200, gone)
        details = status.details(rt.plural, rt.group, route.name)
        details["uid"] = gone["metadata"].get("uid")
        self._send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Success", "details": details})

    def _deletecollection(self, route: Route) -> None:
        dry_run, policy, _ = self._delete_options()
        labels, fields = routing.selectors(self.query)
        store = self.sim.store
        items, version = store.list(route.rt, route.namespace, labels, fields)
        deleted = []
        for item in items:
            metadata = item["metadata"]
            try:
                deleted.append(store.delete(route.rt, metadata.get("namespace", ""),
                                            metadata["name"], dry_run,
                                            propagation=policy or "Background"))
            except status.StatusError as error:
                if error.code != 404:
                    raise
        self._send_json(200, {"kind": f"{route.rt.kind}List", "apiVersion": route.rt.api_version,
                              "metadata": {"resourceVersion": store.resource_version},
                              "items": deleted})

    # --- test controls ---------------------------------------------------------------------

    def _control(self, method: str, parts: list[str]) -> None:
        controls = self.sim.controls
        if parts == ["requests"] and method == "GET":
            return self._send_json(200, controls.snapshot())
        if parts == ["faults"] and method == "GET":
            return self._send_json(200, controls.snapshot()["faults"])
        if parts == ["faults"] and method == "POST":
            body = self._json_body()
            if isinstance(body, dict) and "image" in body:
                rule = ImageRule.from_dict(body)
                controls.add_image_rule(rule)
                return self._send_json(201, rule.to_dict())
            fault = Fault.from_dict(body)
            controls.add_fault(fault)
            return self._send_json(201, fault.to_dict())
        if parts == ["faults"] and method == "DELETE":
            controls.clear_faults()
            return self._send_json(200, [])
        if parts == ["latency"] and method == "POST":
            body = self._json_body()
            controls.set_latency(body.get("seconds") if isinstance(body, dict) else None)
            return self._send_json(200, {"seconds": controls.latency})
        if parts == ["reset"] and method == "POST":
            self._drain()
            self.sim.reset()
            return self._send_json(200, {"reset": True})
        self._drain()
        raise status.StatusError(404, f"no simulator control {method} /_sim/{'/'.join(parts)}")


def _scale(obj: dict) -> dict:
    metadata = obj["metadata"]
    selector = ((obj.get("spec") or {}).get("selector") or {})
    labels = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: metadata[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in metadata},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())
                                 if isinstance(v, str)),
        },
    }


class SimServer(ThreadingHTTPServer):
    """Threaded HTTP server; request threads die with the process."""

    daemon_threads = True
    allow_reuse_address = True


def make_server(host: str, port: int, sim: Simulator | None = None) -> SimServer:
    """A server bound to host:port serving `sim` (by default a fresh one, its controllers
    started)."""
    if sim is None:
        sim = Simulator()
        sim.start()
    handler = type("BoundHandler", (Handler,), {"sim": sim})
    return SimServer((host, port), handler)

