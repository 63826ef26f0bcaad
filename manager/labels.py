"""The labels that mark objects the manager applies, so a cluster tells whose they are."""

from __future__ import annotations

import copy
from typing import Any

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "deployment-manager"
DEPLOYMENT = "deployment-manager.io/deployment"


def managed_labels(deployment: str | None = None) -> dict[str, str]:
    """The labels of an applied object; without `deployment`, only the managed-by label."""
    labels = {MANAGED_BY: MANAGED_BY_VALUE}
    if deployment is not None:
        labels[DEPLOYMENT] = deployment
    return labels


def with_labels(obj: dict[str, Any], deployment: str | None) -> dict[str, Any]:
    """A copy of `obj` whose metadata.labels also hold the manager's labels.

    The user's other labels stay; ours win on our two keys, so a configuration cannot
    claim another deployment's objects.
    """
    labelled = copy.deepcopy(obj)
    metadata = labelled.setdefault("metadata", {})
    labels = metadata.get("labels")
    metadata["labels"] = {
        **(labels if isinstance(labels, dict) else {}),
        **managed_labels(deployment),
    }
    return labelled
