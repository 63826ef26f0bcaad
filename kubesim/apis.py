"""Discovery and OpenAPI documents, built from the catalog on every request.

kubectl asks for aggregated discovery first; answering with plain JSON makes it fall back
to the per-group documents below, which are simple to keep right. The OpenAPI v3 documents
carry only what kubectl reads from them: which PATCH operations accept `fieldValidation`
(so kubectl leaves validation to the server rather than downloading schemas).
"""

from __future__ import annotations

import hashlib
import json

from .catalog import Catalog

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-sim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> dict:
    """GET /api."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(group: str, versions: list[str]) -> dict:
    """One named group and its versions, the first preferred."""
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(catalog: Catalog) -> dict:
    """GET /apis."""
    groups = [_group(group, versions)
              for group, versions in catalog.group_versions().items() if group]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(catalog: Catalog, group: str) -> dict | None:
    """GET /apis/{group}."""
    versions = catalog.group_versions().get(group)
    if not versions or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def api_resource_list(catalog: Catalog, group: str, version: str) -> dict | None:
    """GET /api/v1 or /apis/{group}/{version}."""
    types = catalog.in_group_version(group, version)
    if not types:
        return None
    resources = [entry for t in types for entry in t.discovery_entries()]
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_paths(catalog: Catalog) -> dict:
    """GET /openapi/v3: one entry per group version, its URL carrying a content hash."""
    paths = {}
    for group, versions in catalog.group_versions().items():
        for version in versions:
            document = json.dumps(openapi_v3_group_version(catalog, group, version),
                                  sort_keys=True)
            digest = hashlib.sha256(document.encode()).hexdigest()[:32].upper()
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


_FIELD_VALIDATION = {
    "name": "fieldValidation",
    "in": "query",
    "description": "Strict, Warn or Ignore: what to do with unknown or duplicate fields.",
    "schema": {"type": "string", "uniqueItems": True},
}


def openapi_v3_group_version(catalog: Catalog, group: str, version: str) -> dict | None:
    """GET /openapi/v3/{api/v1|apis/group/version}: PATCH operations that take fieldValidation."""
    types = catalog.in_group_version(group, version)
    if not types:
        return None
    paths = {}
    for t in types:
        scope = "namespaces/{namespace}/" if t.namespaced else ""
        gvk = {"group": t.group, "version": t.version, "kind": t.kind}
        paths[f"/{_gv_path(group, version)}/{scope}{t.plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{t.kind}",
                "parameters": [_FIELD_VALIDATION],
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes API simulator", "version": VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }
