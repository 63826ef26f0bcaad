"""The CLI's HTTP client of the manager API: one method per endpoint, errors as exceptions."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

# Reads answer at once; writes wait for the whole workflow (expansion and kubectl).
READ_TIMEOUT = 30
WRITE_TIMEOUT = 600


class ManagerError(Exception):
    """The manager answered with an error, or could not be reached; the message is for users."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class ManagerClient:
    """Calls the manager at `url`, sending `token` as a bearer token when set."""

    def __init__(self, url: str, token: str | None = None):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, timeout: float = READ_TIMEOUT, **kwargs) -> Any:
        try:
            response = self.session.request(method, self.url + path, timeout=timeout, **kwargs)
        except requests.ConnectionError:
            raise ManagerError(
                f"cannot reach the manager at {self.url} (is `dm up` running?)"
            ) from None
        except requests.Timeout:
            raise ManagerError(
                f"the manager at {self.url} did not answer within {timeout}s"
            ) from None
        if response.ok:
            return response.json()
        raise ManagerError(_error_message(response), response.status_code)

    def list_deployments(self) -> list[dict[str, Any]]:
        return self._call("GET", "/deployments", params={"view": "full"})

    def get_deployment(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/deployments/{_seg(name)}")

    def create_deployment(self, template: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/deployments", WRITE_TIMEOUT, json=template)

    def update_deployment(self, name: str, template: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", f"/deployments/{_seg(name)}", WRITE_TIMEOUT, json=template)

    def delete_deployment(self, name: str, keep_resources: bool = False) -> dict[str, Any]:
        params = {"keepResources": "true"} if keep_resources else None
        return self._call("DELETE", f"/deployments/{_seg(name)}", WRITE_TIMEOUT, params=params)

    def rollback(self, name: str, manifest: str) -> dict[str, Any]:
        return self._call(
            "POST",
            f"/deployments/{_seg(name)}/rollback",
            WRITE_TIMEOUT,
            json={"manifest": manifest},
        )

    def list_manifests(self, name: str) -> list[str]:
        return self._call("GET", f"/deployments/{_seg(name)}/manifests")

    def get_manifest(self, name: str, manifest: str) -> dict[str, Any]:
        return self._call("GET", f"/deployments/{_seg(name)}/manifests/{_seg(manifest)}")

    def expand(self, template: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/expand", WRITE_TIMEOUT, json=template)

    def list_types(self) -> list[str]:
        return self._call("GET", "/types")

    def list_instances(self, type_name: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/types/{_seg(type_name)}/instances")


def _seg(value: str) -> str:
    """A path segment, escaped so names with `/` or spaces reach the right route."""
    return quote(value, safe="")


def _error_message(response: requests.Response) -> str:
    """The server's `message` when it sent the JSON error shape, else the status and text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    text = response.text.strip()[:500]
    return f"HTTP {response.status_code} from the manager" + (f": {text}" if text else "")
