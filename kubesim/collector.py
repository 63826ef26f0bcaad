"""The garbage collector: objects whose owners are all gone are deleted, and an owner deleted
in the foreground goes once its dependents have."""

from __future__ import annotations

from .controllers import Cluster, is_deleting

FOREGROUND = "foregroundDeletion"


def collect_garbage(cluster: Cluster) -> None:
    store = cluster.store
    # An owner is in its dependents' namespace, or cluster-scoped: a change to one of those
    # ("" in the scope) may orphan dependents anywhere.
    scope = cluster.scope if cluster.scope is None or "" not in cluster.scope else None
    for dependent in store.owned(scope):
        owners = [store.by_uid(ref.get("uid")) for ref in dependent["metadata"]["ownerReferences"]]
        live = [owner for owner in owners if owner is not None]
        if not live:
            cluster.delete(dependent)
        elif all(_deleting_in_foreground(owner) for owner in live) and not is_deleting(dependent):
            cluster.delete(dependent, "Foreground")
    for owner in store.deleting_in_foreground():
        if not store.dependents(owner["metadata"]["uid"]):
            cluster.delete(owner)


def _deleting_in_foreground(obj: dict) -> bool:
    return FOREGROUND in (obj["metadata"].get("finalizers") or [])
