"""Manifest names: unique, increasing over time, sorting in creation order."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

_lock = threading.Lock()
_last: datetime | None = None


def new_manifest_name() -> str:
    """A new manifest name such as `manifest-20261122-042741-123456`.

    The name is the UTC creation time to the microsecond. Within one process two calls
    never return the same name: a call in the same (or an earlier, after a clock step)
    microsecond takes the next microsecond. Across processes, the repository's
    one-operation-per-deployment lock means only one process names a deployment's
    manifests at a time, and the (deployment, name) pair is unique in storage.
    """
    global _last
    with _lock:
        now = datetime.now(timezone.utc)
        if _last is not None and now <= _last:
            now = _last + timedelta(microseconds=1)
        _last = now
    return now.strftime("manifest-%Y%m%d-%H%M%S-%f")
