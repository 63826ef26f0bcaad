"""Running operations in the background, and resuming those whose owner died.

Each manager process has one Runner: a bounded pool of worker threads that run the
operations this process started, plus a lease keeper (repository/lease.py) that keeps
their heartbeats fresh and claims orphaned operations of dead processes — another
worker, a restarted manager, another replica — to resume them here. The HTTP workers
only start operations; no request waits on one unless it asks to (`?wait=true`).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from dmcommon.errors import DMError
from dmcommon.request_ids import bound_request_id, current_request_id, new_request_id
from manager.models import (
    APPLY_PREVIEW,
    CREATE,
    DELETE,
    IN_PROGRESS,
    ROLLBACK,
    SYNC,
    UPDATE,
    Operation,
)
from manager.repository.lease import DEFAULT_LEASE_SECONDS, Periodic
from manager.workflow.action import Action, fail_operation
from manager.workflow.create import Create
from manager.workflow.delete import Delete
from manager.workflow.drift import check_drift
from manager.workflow.preview import ApplyPreview
from manager.workflow.rollback import Rollback
from manager.workflow.services import Services
from manager.workflow.sync import Sync
from manager.workflow.update import Update

log = logging.getLogger("manager.operations")

ACTIONS: dict[str, type[Action]] = {
    CREATE: Create,
    UPDATE: Update,
    ROLLBACK: Rollback,
    SYNC: Sync,
    APPLY_PREVIEW: ApplyPreview,
    DELETE: Delete,
}


def run_operation(services: Services, operation_id: str) -> None:
    """Run (or resume) one stored operation to its end; never raises."""
    try:
        operation = services.repository.get_operation(operation_id)
    except DMError:
        log.exception("cannot read operation %s", operation_id)
        return
    if operation.ended:
        return
    try:
        ACTIONS[operation.type](services).run(operation)
    except Exception as error:  # noqa: BLE001 - the operation must end, whatever happened
        reason = error.message if isinstance(error, DMError) else "internal error"
        log.error("operation %s failed", operation_id, exc_info=error)
        try:
            fail_operation(services, _fresh(services, operation), reason)
        except Exception:  # noqa: BLE001 - the lease will hand it to another process
            log.exception("could not record the failure of operation %s", operation_id)


def _fresh(services: Services, operation: Operation) -> Operation:
    try:
        return services.repository.get_operation(operation.id)
    except DMError:
        return operation


class Runner:
    """A bounded pool of operation workers plus the lease keeper of this process."""

    def __init__(
        self,
        services: Services,
        workers: int = 4,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        drift_interval: float = 0,
    ):
        self.services = services
        self.workers = workers
        self.lease_seconds = lease_seconds
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._keeper = Periodic(self._beat, lease_seconds / 4)
        self._drift = Periodic(self._check_drift, drift_interval) if drift_interval > 0 else None

    def start(self) -> None:
        """Start the lease keeper (which also resumes orphaned operations) and, when
        asked for, the periodic drift checks."""
        self._ensure_pool()
        self._keeper.start()
        if self._drift is not None:
            self._drift.start()

    def submit(self, operation_id: str) -> None:
        with self._lock:
            if operation_id in self._running:
                return
            self._running.add(operation_id)
        # The operation's calls to other services carry the id of the request that
        # started it; one resumed here gets an id of its own.
        request_id = current_request_id() or new_request_id()
        self._ensure_pool().submit(self._run, operation_id, request_id)
        self._keeper.start()

    def stop(self) -> None:
        self._keeper.stop()
        if self._drift is not None:
            self._drift.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _ensure_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="dm-operation")
            return self._pool

    def _run(self, operation_id: str, request_id: str) -> None:
        try:
            with bound_request_id(request_id):
                run_operation(self.services, operation_id)
        finally:
            with self._lock:
                self._running.discard(operation_id)

    def _beat(self) -> None:
        repository = self.services.repository
        repository.renew_leases()
        for operation_id in repository.claim_orphaned_operations(self.lease_seconds):
            log.warning("resuming operation %s, whose owner stopped", operation_id)
            self.submit(operation_id)

    def _check_drift(self) -> None:
        """Record `sync` of every deployment that has a rolled-out manifest."""
        repository = self.services.repository
        after = ""
        while page := repository.list_deployments(100, after):
            for deployment in page:
                if deployment.latest_manifest and deployment.state.status not in IN_PROGRESS:
                    try:
                        check_drift(self.services, deployment.name)
                    except DMError as error:
                        log.warning("drift check of %s failed: %s", deployment.name, error.message)
            after = page[-1].name


class InlineRunner:
    """Runs each operation in the calling thread before `submit` returns (for tests and
    tools that want the outcome at once)."""

    def __init__(self, services: Services):
        self.services = services

    def submit(self, operation_id: str) -> None:
        run_operation(self.services, operation_id)
