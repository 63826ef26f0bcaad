"""HTTP clients of the services the manager drives: one class per downstream service.

Every call has a connect and a read timeout. A call is retried only when the request
never reached the service (connection refused or failed), which is safe for any method.
Failures become errors with honest statuses: 503 when the service's address is unknown,
502 when it cannot be reached or answers badly, 504 when it does not answer in time, and
400 when it rejects our input (the message is the service's own). Every call carries
the id of the request being served (`X-Request-ID`), so the services' logs name it too.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from dmcommon.documents import TooDeep, load_json
from dmcommon.errors import (
    BadGateway,
    BadRequest,
    GatewayTimeout,
    PayloadTooLarge,
    ServiceUnavailable,
)
from dmcommon.request_ids import HEADER, current_request_id

CONNECT_TIMEOUT = 5.0
HEALTH_TIMEOUT = 3.0

# Returns the service's base URL, or raises ServiceUnavailable saying why there is none.
Locator = Callable[[], str]


def fixed_url(url: str) -> Locator:
    """A locator for a URL known in advance."""
    base = url.rstrip("/")
    return lambda: base


class ServiceClient:
    """What both clients share: locating the service, the session, error mapping."""

    service = "service"

    def __init__(self, locate: Locator, timeout: float, token: str | None = None):
        self._locate = locate
        self.timeout = timeout
        self._session = requests.Session()
        # read=False re-raises a read error as it is, so a slow answer is a timeout (504)
        # rather than a "max retries" connection error.
        retry = Retry(
            total=2,
            connect=2,
            read=False,
            status=0,
            other=0,
            redirect=0,
            backoff_factor=0.1,
            allowed_methods=None,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    @property
    def url(self) -> str:
        """The base URL now; `ServiceUnavailable` when it cannot be found."""
        return self._locate()

    def check(self) -> None:
        """Raise a `DMError` unless the service answers its liveness probe."""
        response = self._send("GET", "/healthz", timeout=(HEALTH_TIMEOUT, HEALTH_TIMEOUT))
        if response.status_code != 200:
            raise ServiceUnavailable(
                f"the {self.service} at {self.url} is not healthy (HTTP {response.status_code})"
            )

    def _send(self, method: str, path: str, timeout=None, **kwargs) -> requests.Response:
        base = self.url
        request_id = current_request_id()
        headers = {HEADER: request_id} if request_id else None
        try:
            return self._session.request(
                method,
                base + path,
                timeout=timeout or (CONNECT_TIMEOUT, self.timeout),
                headers=headers,
                **kwargs,
            )
        except requests.Timeout:
            raise GatewayTimeout(
                f"the {self.service} at {base} did not answer {method} {path} in time"
            ) from None
        except requests.RequestException as error:
            raise BadGateway(
                f"cannot reach the {self.service} at {base}: {_reason(error)}"
            ) from None

    def _json(self, response: requests.Response, what: str) -> Any:
        """The JSON answer of a successful call; an error for anything else."""
        if response.status_code < 300:
            try:
                return load_json(response.content)
            except (ValueError, TooDeep):
                raise BadGateway(f"the {self.service} answered {what} with invalid JSON") from None
        message = _message(response)
        if response.status_code == 400:
            raise BadRequest(message)
        if response.status_code == 413:
            raise PayloadTooLarge(f"the {self.service} refused {what} as too large: {message}")
        if response.status_code in (401, 403):
            raise BadGateway(
                f"the {self.service} refused the internal token ({response.status_code}): "
                "check DM_INTERNAL_TOKEN on both services"
            )
        raise BadGateway(
            f"the {self.service} failed {what} (HTTP {response.status_code}): {message}"
        )


class ExpanderClient(ServiceClient):
    """Client of the expander: turns a Template into `{config, layout}`."""

    service = "expander"

    def expand(self, template: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
        """Expand `template` (a Template's wire form); `BadRequest` carries template errors."""
        response = self._send("POST", "/expand", json={"template": template, "env": env})
        result = self._json(response, "the expansion")
        if not isinstance(result, dict) or not isinstance(result.get("config"), dict):
            raise BadGateway("the expander's answer has no 'config' object")
        return result


class ResourcifierClient(ServiceClient):
    """Client of the resourcifier (the backend contract): apply, delete and read objects."""

    service = "resourcifier"

    def apply(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
        """Create or update a batch; each returned resource has its `state` (and `live`)."""
        return self._batch("POST", resources, namespace, "the apply")

    def delete(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
        """Delete a batch; a resource already gone comes back `Deleted`."""
        return self._batch("DELETE", resources, namespace, "the delete")

    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        path = f"/configurations/{quote(kind, safe='')}/{quote(name, safe='')}"
        params = {"namespace": namespace} if namespace else None
        response = self._send("GET", path, params=params)
        if response.status_code == 404:
            return None
        result = self._json(response, f"reading {kind} {name}")
        if not isinstance(result, dict):
            raise BadGateway(f"the resourcifier's answer for {kind} {name} is not an object")
        return result

    def status(
        self, resources: list[dict[str, Any]], namespace: str
    ) -> list[dict[str, Any]] | None:
        """Each resource's live object and `health`, in one batched read; None when the
        backend does not report health (it answers 404 or 405 to the route)."""
        body = {"resources": resources, "namespace": namespace}
        response = self._send("POST", "/configurations/status", json=body)
        if response.status_code in (404, 405):
            return None
        return self._items(self._json(response, "the health check"), resources, "the health check")

    def dry_run(
        self, resources: list[dict[str, Any]], namespace: str
    ) -> list[dict[str, Any]] | None:
        """Each resource's live object and the server's dry-run result of applying it
        (`live`, `dryRun`), in one batch; None when the backend offers no such answer."""
        body = {"resources": resources, "namespace": namespace}
        params = {"dryRun": "true", "diff": "true"}
        response = self._send("POST", "/configurations", json=body, params=params)
        if response.status_code in (404, 405):
            return None
        items = self._items(self._json(response, "the dry run"), resources, "the dry run")
        # A backend that ignores `diff` answers states only: no live objects to compare.
        return items if all("live" in item for item in items) else None

    def _batch(
        self, method: str, resources: list[dict[str, Any]], namespace: str, what: str
    ) -> list[dict[str, Any]]:
        body = {"resources": resources, "namespace": namespace}
        result = self._json(self._send(method, "/configurations", json=body), what)
        return self._items(result, resources, what)

    @staticmethod
    def _items(result: Any, resources: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
        items = result.get("resources") if isinstance(result, dict) else None
        if not isinstance(items, list) or len(items) != len(resources):
            raise BadGateway(f"the resourcifier's answer to {what} does not list every resource")
        return items


def _message(response: requests.Response) -> str:
    try:
        body = load_json(response.content)
    except (ValueError, TooDeep):
        return response.text.strip()[:500] or response.reason
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return str(body)[:500]


def _reason(error: requests.RequestException) -> str:
    """A short reason for a connection error, without urllib3's object reprs."""
    text = str(error)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return text.split(": ")[-1].rstrip(")'\"")[:200] or type(error).__name__
