"""`SimControl`: drive the simulator's test controls (faults, latency, reset) from Python."""

from __future__ import annotations

import requests


class SimControl:
    """Client for the simulator's `/_sim` endpoints at `url` (e.g. http://127.0.0.1:6443)."""

    def __init__(self, url: str, timeout: float = 5.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, body: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/_sim/{path}", json=body or {}, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def fail(
        self,
        kind: str,
        name: str | None = None,
        code: int = 500,
        message: str = "injected fault",
        namespace: str | None = None,
        verbs: list[str] | None = None,
        times: int | None = None,
    ) -> dict:
        """Make requests for `kind` (Kind or resource name; narrowed by name, namespace and
        verbs such as "create", "patch", "apply", "get", "delete") fail with `code`, `times`
        times or until `clear_faults`/`reset`."""
        body = {"kind": kind, "code": code, "message": message, "name": name,
                "namespace": namespace, "verbs": verbs or [], "times": times}
        return self._post("faults", body)

    def never_ready(self, image: str, reason: str = "ImagePullBackOff") -> dict:
        """Pods with an image matching the glob `image` never get ready: their containers wait
        with `reason` (ImagePullBackOff, or CrashLoopBackOff with a growing restartCount)."""
        return self._post("faults", {"image": image, "reason": reason})

    def slow_start(self, image: str, seconds: float) -> dict:
        """Pods with an image matching the glob `image` get ready only after `seconds`."""
        return self._post("faults", {"image": image, "startSeconds": seconds})

    def clear_faults(self) -> None:
        response = requests.delete(f"{self.url}/_sim/faults", timeout=self.timeout)
        response.raise_for_status()

    def latency(self, seconds: float) -> None:
        """Delay every Kubernetes API request by `seconds` (0 turns it off)."""
        self._post("latency", {"seconds": seconds})

    def reset(self) -> None:
        """Drop every object, fault, latency and count; only the initial namespaces remain."""
        self._post("reset")

    def requests(self) -> dict:
        """Counts of API requests so far: {"total", "verbs": {verb: n}, "byKind": {...}}."""
        response = requests.get(f"{self.url}/_sim/requests", timeout=self.timeout)
        response.raise_for_status()
        return response.json()
