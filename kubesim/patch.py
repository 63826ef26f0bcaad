"""The PATCH flavours: JSON merge patch, JSON patch, and an approximate strategic merge patch.

Strategic merge patch merges the lists Kubernetes marks as merge lists by their key
(containers by `name`, container ports by `containerPort`, service ports by `port`,
volume mounts by `mountPath`, ...) and understands the directives kubectl sends
(`$patch`, `$setElementOrder/...`, `$retainKeys`, `$deleteFromPrimitiveList/...`).
Every other list is replaced, as it is for JSON merge patch.
"""

from __future__ import annotations

import copy

from .status import StatusError, bad_request

# Field name -> the key its list items are merged by. "ports" depends on where it is: the
# items themselves tell (a container port has containerPort, a service port has port).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "secrets": "name",
    "resourceClaims": "name",
}
# Lists of scalars that strategic merge patch merges as sets rather than replaces.
MERGED_SCALAR_LISTS = frozenset({"finalizers"})


def merge_key(field: str, items: list) -> str | None:
    """The key list items of `field` merge by, or None when the list is replaced whole."""
    if field == "ports":
        for item in items:
            if isinstance(item, dict):
                return "containerPort" if "containerPort" in item else "port"
        return "port"
    return MERGE_KEYS.get(field)


def json_merge_patch(target: object, patch: object) -> object:
    """RFC 7386: maps merge, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def _merge_keyed_list(field: str, original: list, patch: list, key: str) -> list:
    result = [copy.deepcopy(item) for item in original]
    index = {item.get(key): i for i, item in enumerate(result) if isinstance(item, dict)}
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise bad_request(f"map: {item!r} does not contain declared merge key: {key}")
        directive = item.get("$patch")
        if directive == "delete":
            if item[key] in index:
                result[index[item[key]]] = None
            continue
        if directive == "replace":
            return [strategic_merge(None, i) for i in patch if i.get("$patch") != "replace"]
        if item[key] in index:
            position = index[item[key]]
            result[position] = strategic_merge(result[position], item)
        else:
            index[item[key]] = len(result)
            result.append(strategic_merge(None, item))
    return [item for item in result if item is not None]


def _ordered(items: list, order: list, key: str | None) -> list:
    """Reorder `items` to follow a `$setElementOrder` list; unnamed items go last."""
    def identity(item: object) -> object:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [identity(entry) if key else entry for entry in order]
    rank = {value: i for i, value in enumerate(wanted)}
    return sorted(items, key=lambda item: rank.get(identity(item), len(rank)))


def strategic_merge(original: object, patch: object) -> object:
    """Apply a strategic merge patch (see the module docstring for what is approximated)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        original = {}
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    orders = {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, list):
            mkey = merge_key(key, value + (current if isinstance(current, list) else []))
            if mkey and isinstance(current, list):
                result[key] = _merge_keyed_list(key, current, value, mkey)
            elif key in MERGED_SCALAR_LISTS and isinstance(current, list):
                result[key] = current + [v for v in value if v not in current]
            else:
                result[key] = [strategic_merge(None, item) for item in value]
            continue
        merged = strategic_merge(current, value)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    for field, order in orders.items():
        if isinstance(result.get(field), list) and isinstance(order, list):
            result[field] = _ordered(result[field], order, merge_key(field, order))
    if isinstance(retain, list):
        result = {key: value for key, value in result.items() if key in retain}
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"JSON patch path {path!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _walk(doc: object, parts: list[str], path: str) -> object:
    """The node at `parts` below `doc`; 422 naming `path` when it is not there."""
    node = doc
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise StatusError(422, f"JSON patch: {path!r} does not exist", "Invalid")
    return node


def _container(doc: object, path: str) -> tuple[object, str]:
    parts = _pointer(path)
    if not parts:
        raise StatusError(422, "JSON patch: this operation needs a path below the root", "Invalid")
    return _walk(doc, parts[:-1], path), parts[-1]


def _read(doc: object, path: str) -> object:
    return copy.deepcopy(_walk(doc, _pointer(path), path))


def _remove(doc: object, path: str) -> object:
    parent, last = _container(doc, path)
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise StatusError(422, f"JSON patch: cannot remove {path!r}: it does not exist", "Invalid")


def _add(doc: object, path: str, value: object) -> object:
    if not _pointer(path):
        return value
    parent, last = _container(doc, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list) and (
        last == "-" or (last.isdigit() and int(last) <= len(parent))
    ):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        raise StatusError(422, f"JSON patch: cannot add at {path!r}", "Invalid")
    return doc


def json_patch(target: dict, operations: object) -> dict:
    """RFC 6902 operations (add, remove, replace, move, copy, test)."""
    if not isinstance(operations, list):
        raise bad_request("a JSON patch must be a list of operations")
    doc: object = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
            raise bad_request(f"invalid JSON patch operation: {operation!r}")
        op, path = operation.get("op"), operation["path"]
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(operation.get("value")))
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(operation.get("value")))
        elif op in ("move", "copy"):
            source = str(operation.get("from", ""))
            value = _remove(doc, source) if op == "move" else _read(doc, source)
            doc = _add(doc, path, value)
        elif op == "test":
            if _read(doc, path) != operation.get("value"):
                raise StatusError(422, f"JSON patch test failed at {path!r}", "Invalid")
        else:
            raise bad_request(f"unknown JSON patch operation {op!r}")
    if not isinstance(doc, dict):
        raise bad_request("a JSON patch must leave an object")
    return doc
