"""Which kinds the cluster serves, from `kubectl api-resources`, cached per process."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from dmcommon.errors import BadGateway
from dmcommon.identity import group_of
from resourcifier.backends.kubectl.runner import Kubectl

# Kinds change rarely and a miss always looks again (a CRD may have just been
# created), so the cache may live long.
CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class KindInfo:
    """One served kind: its plural resource name, whether it lives in a namespace, and the
    apiVersion the cluster prefers for it."""

    group: str
    kind: str
    resource: str
    namespaced: bool
    api_version: str


class ServedKinds:
    """A per-process view of the cluster's kinds, keyed by (group, kind)."""

    def __init__(self, kubectl: Kubectl, clock: Callable[[], float] = time.monotonic):
        self._kubectl = kubectl
        self._clock = clock
        self._lock = threading.Lock()
        self._kinds: dict[tuple[str, str], KindInfo] = {}
        self._fetched_at: float | None = None

    def lookup(self, api_version: str, kind: str) -> KindInfo | None:
        """The kind's info, or None when the cluster does not serve it (after a fresh look)."""
        key = (group_of(api_version), kind)
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > CACHE_SECONDS
            if stale or key not in self._kinds:
                self._refresh()
            return self._kinds.get(key)

    def served(self) -> list[KindInfo]:
        """Every kind seen at the last look (for suggestions after a miss)."""
        with self._lock:
            return list(self._kinds.values())

    def _refresh(self) -> None:
        outcome = self._kubectl.run(["api-resources", "-o", "wide"])
        if not outcome.ok and (outcome.unreachable or not outcome.stdout.strip()):
            raise BadGateway(f"cannot read the cluster's API resources: {outcome.reason()}")
        # A partial answer (one aggregated API down) still lists every other kind.
        kinds = parse_api_resources(outcome.stdout)
        self._kinds = {(info.group, info.kind): info for info in kinds}
        self._fetched_at = self._clock()


def parse_api_resources(table: str) -> list[KindInfo]:
    """Read `kubectl api-resources -o wide`; columns are found by their header's position."""
    lines = [line for line in table.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    names = header.split()
    starts: list[int] = []
    for name in names:
        starts.append(header.index(name, starts[-1] + 1 if starts else 0))
    bounds = list(zip(starts, starts[1:] + [None]))
    kinds = []
    for line in lines[1:]:
        row: dict[str, Any] = {
            name: line[start:end].strip() for name, (start, end) in zip(names, bounds)
        }
        if not row.get("KIND") or not row.get("NAME"):
            continue
        kinds.append(
            KindInfo(
                group=group_of(row.get("APIVERSION", "")),
                kind=row["KIND"],
                resource=row["NAME"],
                namespaced=row.get("NAMESPACED", "").lower() == "true",
                api_version=row.get("APIVERSION", ""),
            )
        )
    return kinds
