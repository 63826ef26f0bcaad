"""The CLI's HTTP client of the manager API: one method per endpoint, errors as exceptions.

It speaks HTTP through transport.py, a small HTTP/1.0 client over a socket, imported
on the first request: `dm --help` never pays for it, and `dm list` starts faster than
with requests or `http.client` (tests/bench/bench_cli.py measures it). Each request
has its own connection. Other modules are imported where they are used, for the same
reason.

An answer the manager would not give (HTML, a route it lacks, a foreign error body)
makes the client ask `GET /openapi.json` who answered: only the manager serves the
manager's API document. Anything else is reported as "... is not a DM manager".
"""

from __future__ import annotations

import json
from typing import Any, Iterator, NamedTuple

READ_TIMEOUT = 30.0
# The manager sends a keep-alive comment every 15 s on an idle event stream.
STREAM_TIMEOUT = 60.0
PAGE_SIZE = 500
# The title of the manager's OpenAPI document (docs/openapi/manager.yaml).
MANAGER_API_TITLE = "Deployment Manager - manager API"


class ManagerError(Exception):
    """The manager answered with an error, or could not be reached; the message is for users."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class NotAManager(ManagerError):
    """Something other than a DM manager answered at the service URL."""


class StreamBroken(ManagerError):
    """An event stream ended or failed before its `end` event."""


def check_service_url(url: str) -> str:
    """`url` without a trailing slash when it is an http(s) URL with a host, else ValueError."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{url!r} is not a manager URL: write it with its scheme, "
            f"e.g. http://{url.split('://')[-1] or 'localhost:8080'}"
        )
    try:
        parts.port
    except ValueError:
        raise ValueError(f"{url!r} is not a manager URL: its port is not a number") from None
    return url.rstrip("/")


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Event(NamedTuple):
    """One Server-Sent Event of an operation's stream."""

    id: int | None
    type: str
    data: dict[str, Any]


class ManagerClient:
    """Calls the manager at `url`, sending `token` as a bearer token when set."""

    def __init__(self, url: str, token: str | None = None):
        from urllib.parse import urlsplit

        self.url = check_service_url(url)
        self.token = token
        parts = urlsplit(self.url)
        self._secure = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._secure else 80)
        self._base = parts.path

    # Transport

    def _send(self, method: str, path: str, body: Any, headers: dict[str, str], timeout: float):
        """Send a request; the Response with its head read (the caller closes it)."""
        from dmcli.transport import NotHttp, send

        headers = {"Accept": "application/json", **headers}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            return send(
                self._host,
                self._port,
                self._secure,
                method,
                self._base + path,
                headers,
                data,
                timeout,
            )
        except TimeoutError:
            raise ManagerError(
                f"the manager at {self.url} did not answer within {timeout:g} s"
            ) from None
        except OSError as error:
            raise ManagerError(
                f"cannot reach the manager at {self.url} (is `dm up` running?)"
            ) from error
        except NotHttp:
            raise NotAManager(
                f"{self.url} is not a DM manager (it does not answer HTTP); "
                "check --service or DM_SERVICE"
            ) from None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float = READ_TIMEOUT,
    ) -> Answer:
        """Send a request and read its whole answer; an error answer raises ManagerError."""
        from urllib.parse import urlencode

        if params:
            path += "?" + urlencode(params)
        response = self._send(method, path, body, {}, timeout)
        try:
            answer = Answer(response.status, response.headers, response.read())
        except TimeoutError:
            raise ManagerError(
                f"the manager at {self.url} did not answer within {timeout:g} s"
            ) from None
        except OSError as error:
            raise ManagerError(f"the connection to the manager at {self.url} broke") from error
        finally:
            response.close()
        if answer.status == 204:
            return answer
        if 200 <= answer.status < 300:
            try:
                answer.json()
            except ValueError:
                self._check_identity(method, path, answer)
                raise ManagerError(f"{self.url} answered {method} {path} with something not JSON")
            return answer
        raise self._error(method, path, answer)

    def _call(self, method: str, path: str, body: Any = None, **kwargs) -> Any:
        return self.request(method, path, body, **kwargs).json()

    def _error(self, method: str, path: str, answer: Answer) -> ManagerError:
        """The ManagerError an error answer stands for, in words a user can act on."""
        message = _json_message(answer)
        if message is None or answer.status in (401, 403, 404, 405):
            self._check_identity(method, path, answer)
        if answer.status == 401:
            return ManagerError(
                f"the manager at {self.url} requires an API token: "
                "pass --token or set DM_API_TOKEN",
                401,
            )
        if answer.status == 403:
            return ManagerError(
                f"the manager at {self.url} refused the API token: check --token or DM_API_TOKEN",
                403,
            )
        if message is None:
            text = answer.body.decode(errors="replace").strip()[:300]
            message = f"HTTP {answer.status} from the manager" + (f": {text}" if text else "")
        return ManagerError(message, answer.status)

    def _check_identity(self, method: str, path: str, answer: Answer) -> None:
        """Raise NotAManager when the service at `self.url` is not a DM manager."""
        if self._is_manager():
            return
        raise NotAManager(
            f"{self.url} is not a DM manager ({method} {path.partition('?')[0]} answered "
            f"HTTP {answer.status}); check --service or DM_SERVICE"
        )

    def _is_manager(self) -> bool:
        """Whether the service's API document (`GET /openapi.json`, open to every caller)
        is the manager's: the expander and resourcifier serve their own."""
        try:
            response = self._send("GET", "/openapi.json", None, {}, READ_TIMEOUT)
            try:
                status, body = response.status, response.read()
            finally:
                response.close()
            document = json.loads(body) if status == 200 else None
        except (ManagerError, OSError, ValueError):
            return False
        info = document.get("info") if isinstance(document, dict) else None
        return isinstance(info, dict) and info.get("title") == MANAGER_API_TITLE

    # Deployments

    def list_deployments(self) -> list[dict[str, Any]]:
        """Every deployment, read page by page."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"view": "full", "limit": PAGE_SIZE}
        while True:
            answer = self.request("GET", "/deployments", params=params)
            found += answer.json()
            after = answer.headers.get("x-continue")
            if not after:
                return found
            params["continue"] = after

    def get_deployment(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/deployments/{_seg(name)}")

    def create_deployment(self, template: dict[str, Any]) -> dict[str, Any]:
        """Start creating a deployment; the Operation."""
        return self._call("POST", "/deployments", template)

    def update_deployment(self, name: str, template: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", f"/deployments/{_seg(name)}", template)

    def delete_deployment(self, name: str, keep_resources: bool = False) -> dict[str, Any]:
        params = {"keepResources": "true"} if keep_resources else None
        return self._call("DELETE", f"/deployments/{_seg(name)}", params=params)

    def rollback(
        self, name: str, target: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start a rollback to `target` ({"revision": N}, {"manifest": name} or {})."""
        return self._call(
            "POST", f"/deployments/{_seg(name)}/rollback", target, params=options or None
        )

    def sync(self, name: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("POST", f"/deployments/{_seg(name)}/sync", params=options or None)

    # Previews and drift

    def preview(self, template: dict[str, Any], create: bool) -> dict[str, Any]:
        """Store and answer the Preview of creating (or updating) the Template's deployment."""
        if create:
            return self._call("POST", "/deployments", template, params={"preview": "true"})
        path = f"/deployments/{_seg(template['name'])}"
        return self._call("PUT", path, template, params={"preview": "true"})

    def get_preview(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/deployments/{_seg(name)}/preview")

    def discard_preview(self, name: str) -> None:
        self.request("DELETE", f"/deployments/{_seg(name)}/preview")

    def apply_preview(self, name: str) -> dict[str, Any]:
        """Start rolling out the stored preview; the Operation."""
        return self._call("POST", f"/deployments/{_seg(name)}/preview/apply")

    def drift(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/deployments/{_seg(name)}/drift")

    def list_manifests(self, name: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/deployments/{_seg(name)}/manifests")

    def get_manifest(self, name: str, manifest: str) -> dict[str, Any]:
        """A manifest by name or revision number."""
        return self._call("GET", f"/deployments/{_seg(name)}/manifests/{_seg(manifest)}")

    # Operations

    def list_operations(self, name: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/deployments/{_seg(name)}/operations")

    def get_operation(self, operation_id: str) -> dict[str, Any]:
        return self._call("GET", f"/operations/{_seg(operation_id)}")

    def events(self, operation_id: str, last_event_id: int | None = None) -> Iterator[Event]:
        """The operation's events as they happen, after `last_event_id` when given.

        Ends after the `end` event; raises StreamBroken when the stream stops before it.
        """
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        path = f"/operations/{_seg(operation_id)}/events"
        response = self._send("GET", path, None, headers, STREAM_TIMEOUT)
        try:
            if response.status != 200:
                answer = Answer(response.status, {}, response.read())
                raise self._error("GET", path, answer)
            try:
                for event in _parse_events(response):
                    yield event
                    if event.type == "end":
                        return
            except (OSError, ValueError) as error:
                raise StreamBroken(f"the event stream of {operation_id} broke: {error}") from None
            raise StreamBroken(f"the event stream of {operation_id} ended before the operation")
        finally:
            response.close()

    # Expansion and types

    def expand(self, template: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/expand", template)

    def list_types(self) -> list[str]:
        return self._call("GET", "/types")

    def list_instances(self, type_name: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/types/{_seg(type_name)}/instances")


def _parse_events(response) -> Iterator[Event]:
    """Server-Sent Events read line by line from `response`; comments are skipped."""
    fields: dict[str, str] = {}
    data: list[str] = []
    while True:
        raw = response.readline()
        if not raw:
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                number = fields.get("id")
                yield Event(
                    int(number) if number and number.isdigit() else None,
                    fields.get("event", "message"),
                    json.loads("\n".join(data)),
                )
            fields, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        else:
            fields[name] = value


def _seg(value: str) -> str:
    """A path segment, escaped so names with `/` or spaces reach the right route."""
    from urllib.parse import quote

    return quote(value, safe="")


def _json_message(answer: Answer) -> str | None:
    """The `message` of DM's error body `{"status", "message"}`, else None."""
    try:
        body = answer.json()
    except ValueError:
        return None
    if isinstance(body, dict) and set(body) == {"status", "message"}:
        message = body["message"]
        return message if isinstance(message, str) else None
    return None
