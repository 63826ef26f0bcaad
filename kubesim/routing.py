"""What a Kubernetes API request asks for: its path as a resource, its verb, its query options.

Plain functions over the path, the query and a few headers, so the server's handler is
left with reading bodies and writing answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import apis, status
from .catalog import Catalog, ResourceType
from .selectors import parse_field_selector, parse_label_selector
from .store import WriteOptions

VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
PROPAGATION_POLICIES = ("", "Orphan", "Background", "Foreground")


@dataclass
class Route:
    """Where a resource request points."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str


def static_document(parts: list[str], catalog: Catalog, host: str) -> dict | None:
    """The version, discovery or OpenAPI document at this path; None for any other path."""
    if parts == ["version"]:
        return apis.VERSION
    if parts == ["api"]:
        return apis.api_versions(host)
    if parts == ["apis"]:
        return apis.api_group_list(catalog)
    if len(parts) == 2 and parts[0] == "api":
        return apis.api_resource_list(catalog, "", parts[1])
    if len(parts) == 2 and parts[0] == "apis":
        return apis.api_group(catalog, parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return apis.api_resource_list(catalog, parts[1], parts[2])
    if parts == ["openapi", "v3"]:
        return apis.openapi_v3_paths(catalog)
    if parts[:3] == ["openapi", "v3", "api"] and len(parts) == 4:
        return apis.openapi_v3_group_version(catalog, "", parts[3])
    if parts[:3] == ["openapi", "v3", "apis"] and len(parts) == 5:
        return apis.openapi_v3_group_version(catalog, parts[3], parts[4])
    return None


def resource_route(parts: list[str], catalog: Catalog) -> Route | None:
    """The resource, namespace, name and subresource a path names; None if it names none."""
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if rest[0] == "namespaces" and len(rest) >= 3:
        rt = catalog.lookup(group, version, rest[2])
        if rt is not None and rt.namespaced and len(rest) <= 5:
            return Route(rt, rest[1], rest[3] if len(rest) > 3 else None,
                         rest[4] if len(rest) > 4 else "")
    rt = catalog.lookup(group, version, rest[0])
    if rt is None or len(rest) > 3:
        return None
    if rt.namespaced and len(rest) > 1:
        return None
    subresource = rest[2] if len(rest) > 2 else ""
    return Route(rt, None if rt.namespaced else "", rest[1] if len(rest) > 1 else None,
                 subresource)


def verb(method: str, route: Route, query: dict, content_type: str) -> str:
    """The Kubernetes verb of a request (get, list, watch, create, apply, ...)."""
    if method in ("GET", "HEAD"):
        if route.name:
            return "get"
        return "watch" if query.get("watch") in ("true", "1") else "list"
    if method == "PATCH" and content_type.startswith("application/apply-patch"):
        return "apply"
    if method == "DELETE" and not route.name:
        return "deletecollection"
    if method not in VERBS:
        raise status.StatusError(405, f"the server does not allow this method: {method}")
    return VERBS[method]


def write_options(query: dict, user_agent: str) -> WriteOptions:
    """The dry run, field manager, field validation and force a write asks for."""
    dry_run = query.get("dryRun")
    if dry_run not in (None, "", "All"):
        raise status.bad_request(f'unsupported dryRun value "{dry_run}": use "All"')
    validation = query.get("fieldValidation") or "Warn"
    if validation not in ("Strict", "Warn", "Ignore"):
        raise status.bad_request(
            f"fieldValidation must be one of Strict, Warn or Ignore, not {validation!r}")
    return WriteOptions(
        dry_run=dry_run == "All",
        field_manager=query.get("fieldManager") or user_agent.split("/", 1)[0][:128] or "unknown",
        field_validation=validation,
        force=query.get("force") in ("true", "1"),
    )


def selectors(query: dict) -> tuple:
    """The label and field selectors of a list, watch or deletecollection."""
    return (parse_label_selector(query.get("labelSelector")),
            parse_field_selector(query.get("fieldSelector")))


def delete_options(query: dict, body: dict) -> tuple[bool, str, dict]:
    """Dry run, propagation policy and preconditions, from the query or a DeleteOptions body."""
    dry_run = query.get("dryRun") == "All" or "All" in (body.get("dryRun") or [])
    policy = query.get("propagationPolicy") or body.get("propagationPolicy") or ""
    if policy not in PROPAGATION_POLICIES:
        raise status.bad_request(f"propagationPolicy {policy!r} is not one of Orphan, "
                                 "Background, Foreground")
    return dry_run, policy, body.get("preconditions") or {}
