"""Test controls: injected failures, image rules for pods, added latency and request counts."""

from __future__ import annotations

import fnmatch
import threading
from collections import Counter
from dataclasses import dataclass

from .status import StatusError, bad_request

VERBS = frozenset({
    "create", "get", "list", "watch", "update", "patch", "apply", "delete", "deletecollection",
})


@dataclass
class Fault:
    """Requests for `kind` (and `name`/`namespace`/`verbs` when given) fail with `code`.

    `kind` matches the Kind (`ConfigMap`) or the resource (`configmaps`), ignoring case;
    `times` limits how often the fault fires (None: until reset).
    """

    kind: str
    code: int = 500
    message: str = "injected fault"
    name: str | None = None
    namespace: str | None = None
    verbs: tuple[str, ...] = ()
    times: int | None = None

    @classmethod
    def from_dict(cls, data: object) -> "Fault":
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            raise bad_request('a fault needs "kind" (a Kind or resource name)')
        code = data.get("code", 500)
        if not isinstance(code, int) or not 400 <= code <= 599:
            raise bad_request('"code" must be an HTTP error status (400-599)')
        verbs = data.get("verbs") or []
        if not isinstance(verbs, list) or not set(verbs) <= VERBS:
            raise bad_request(f'"verbs" must be a list drawn from {sorted(VERBS)}')
        times = data.get("times")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise bad_request('"times" must be a positive integer')
        for key in ("name", "namespace", "message"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise bad_request(f'"{key}" must be a string')
        return cls(
            kind=data["kind"], code=code, message=data.get("message") or "injected fault",
            name=data.get("name"), namespace=data.get("namespace"), verbs=tuple(verbs),
            times=times,
        )

    def to_dict(self) -> dict:
        return {
            "kind": self.kind, "code": self.code, "message": self.message, "name": self.name,
            "namespace": self.namespace, "verbs": list(self.verbs), "times": self.times,
        }

    def matches(self, kind: str, plural: str, name: str | None, namespace: str | None,
                verb: str) -> bool:
        return (
            self.kind.lower() in (kind.lower(), plural.lower())
            and (self.name is None or self.name == name)
            and (self.namespace is None or self.namespace == namespace)
            and (not self.verbs or verb in self.verbs)
        )


NEVER_READY_REASONS = ("ImagePullBackOff", "CrashLoopBackOff")


@dataclass
class ImageRule:
    """Pods whose container image matches `image` (a glob: `redis:*`, `*/broken*`) never get
    ready, failing with `reason`, or start only after `start_seconds`."""

    image: str
    reason: str | None = None
    start_seconds: float | None = None

    @classmethod
    def from_dict(cls, data: dict) -> "ImageRule":
        image, reason, start = data.get("image"), data.get("reason"), data.get("startSeconds")
        if not isinstance(image, str) or not image:
            raise bad_request('"image" must be a non-empty image pattern')
        if reason is not None and reason not in NEVER_READY_REASONS:
            raise bad_request(f'"reason" must be one of {", ".join(NEVER_READY_REASONS)}')
        if start is not None and (isinstance(start, bool) or not isinstance(start, (int, float))
                                  or not 0 <= start <= 3600):
            raise bad_request('"startSeconds" must be a number from 0 to 3600')
        if (reason is None) == (start is None):
            raise bad_request('an image rule needs exactly one of "reason" and "startSeconds"')
        return cls(image, reason, None if start is None else float(start))

    def to_dict(self) -> dict:
        return {"image": self.image, "reason": self.reason, "startSeconds": self.start_seconds}

    def matches(self, image: str) -> bool:
        return fnmatch.fnmatchcase(image, self.image)


class Controls:
    """Faults, latency and counters shared by all request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.faults: list[Fault] = []
            self.image_rules: list[ImageRule] = []
            self.latency = 0.0
            self.counts: Counter[str] = Counter()
            self.by_kind: Counter[str] = Counter()

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def add_image_rule(self, rule: ImageRule) -> None:
        with self._lock:
            self.image_rules.append(rule)

    def image_rule(self, images: list[str]) -> ImageRule | None:
        """The first rule matching one of a pod's images: never-ready rules before delays."""
        with self._lock:
            rules = sorted(self.image_rules, key=lambda rule: rule.reason is None)
            return next((rule for rule in rules for image in images if rule.matches(image)),
                        None)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()
            self.image_rules.clear()

    def set_latency(self, seconds: object) -> None:
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not (
            0 <= seconds <= 60
        ):
            raise bad_request('"seconds" must be a number from 0 to 60')
        with self._lock:
            self.latency = float(seconds)

    def record(self, verb: str, kind: str) -> None:
        with self._lock:
            self.counts[verb] += 1
            self.by_kind[f"{verb} {kind}"] += 1

    def check(self, kind: str, plural: str, name: str | None, namespace: str | None,
              verb: str) -> None:
        """Raise the first matching fault's failure, counting it down when limited."""
        with self._lock:
            for fault in self.faults:
                if fault.matches(kind, plural, name, namespace, verb):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self.faults.remove(fault)
                    raise StatusError(fault.code, fault.message)

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "total": sum(self.counts.values()),
                "verbs": dict(self.counts),
                "byKind": dict(self.by_kind),
                "faults": [f.to_dict() for f in self.faults]
                + [rule.to_dict() for rule in self.image_rules],
                "latency": self.latency,
            }
