"""The simulated cluster: the object store, the test controls and the controllers that act
on them, wired together in one place."""

from __future__ import annotations

from .collector import collect_garbage
from .controllers import Cluster, ControllerLoop, Settings
from .faults import Controls
from .pods import Kubelet
from .rollouts import reconcile_deployments, reconcile_replicasets
from .services import ServiceController, reconcile_claims
from .store import Store
from .workloads import reconcile_daemonsets, reconcile_jobs, reconcile_statefulsets


class Simulator:
    """The state behind the server; `start` sets its controllers running."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.store = Store()
        self.controls = Controls()
        self.cluster = Cluster(self.store, self.controls, settings or Settings())
        # Owners before what they own, so one pass carries a new Deployment down to its pods.
        self.controllers = ControllerLoop(self.cluster, [
            collect_garbage,
            reconcile_deployments,
            reconcile_replicasets,
            reconcile_statefulsets,
            reconcile_daemonsets,
            reconcile_jobs,
            Kubelet(),
            ServiceController(),
            reconcile_claims,
        ])

    def start(self) -> None:
        self.controllers.start()

    def stop(self) -> None:
        self.controllers.stop()

    def reset(self) -> None:
        with self.store.lock:
            self.store.reset()
            self.controls.reset()
