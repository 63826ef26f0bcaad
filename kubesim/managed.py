"""Approximate field ownership: managedFields and server-side apply.

Each field manager owns a set of field paths. A path is a tuple whose parts are map
keys (str), keyed list items `("k", key, value)` for merge lists (containers by name,
...), or the item itself `(".",)` marker following such a part. Other lists are owned
whole. An Update (create, replace, patch) takes the paths it changed; an Apply owns
exactly the paths of its applied configuration, and paths it applied before but no
longer does are removed from the object unless another manager owns them. Only other
Apply managers cause apply conflicts (the real API server also counts Update managers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from .patch import merge_key, strategic_merge
from .status import StatusError

Path = tuple
IGNORED_METADATA = frozenset({
    "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "managedFields", "selfLink", "generateName",
})


@dataclass
class Manager:
    """One managedFields entry."""

    name: str
    operation: str
    api_version: str
    time: str
    paths: set = field(default_factory=set)
    subresource: str = ""

    def copy(self) -> "Manager":
        return replace(self, paths=set(self.paths))

    def to_dict(self) -> dict:
        entry = {
            "manager": self.name,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(self.paths),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def _keyed(name: str, items: list) -> str | None:
    key = merge_key(name, items)
    if key and items and all(isinstance(i, dict) and key in i for i in items):
        return key
    return None


def leaf_values(obj: object, prefix: Path = ()) -> dict[Path, object]:
    """Every owned path of `obj` and the value found there (lists not merged by key are leaves)."""
    values: dict[Path, object] = {}
    if not isinstance(obj, dict) or (not obj and prefix):
        values[prefix] = obj
        return values
    for name, value in obj.items():
        if not prefix and name in ("apiVersion", "kind"):
            continue
        if prefix == ("metadata",) and name in IGNORED_METADATA:
            continue
        path = prefix + (name,)
        key = _keyed(name, value) if isinstance(value, list) else None
        if key:
            for item in value:
                item_path = path + (("k", key, item[key]),)
                values[item_path + (".",)] = None
                values.update(leaf_values(item, item_path))
        else:
            values.update(leaf_values(value, path))
    return values


def fields_v1(paths: set) -> dict:
    """Render owned paths in the FieldsV1 shape (`f:name`, `k:{"name":"x"}`, `.`)."""
    tree: dict = {}
    for path in sorted(paths, key=repr):
        node = tree
        for part in path:
            if part == ".":
                label = "."
            elif isinstance(part, tuple):
                label = "k:" + json.dumps({part[1]: part[2]}, separators=(",", ":"))
            else:
                label = f"f:{part}"
            node = node.setdefault(label, {})
    return tree


def _drop(node: object, part: object) -> None:
    if isinstance(part, tuple) and isinstance(node, list):
        node[:] = [i for i in node if not (isinstance(i, dict) and i.get(part[1]) == part[2])]
    elif isinstance(node, dict):
        node.pop(part, None)


def _remove_path(node: object, path: Path) -> None:
    """Delete the field at `path`, and the maps and lists that removal leaves empty."""
    part, rest = path[0], path[1:]
    if not rest or rest == (".",):
        _drop(node, part)
        return
    child = _step(node, part)
    if not isinstance(child, (dict, list)) or not child:
        return
    _remove_path(child, rest)
    if not child:
        _drop(node, part)


def _step(node: object, part: object) -> object:
    if isinstance(part, tuple) and isinstance(node, list):
        for item in node:
            if isinstance(item, dict) and item.get(part[1]) == part[2]:
                return item
        return None
    if isinstance(node, dict) and isinstance(part, str):
        return node.get(part)
    return None


def record_update(managers: list[Manager], name: str, api_version: str, now: str,
                  old: dict | None, new: dict, subresource: str = "") -> None:
    """Give manager `name` the paths this create/replace/patch changed."""
    before = leaf_values(old) if old else {}
    after = leaf_values(new)
    changed = {p for p, v in after.items() if p not in before or before[p] != v}
    if not changed:
        return
    for manager in managers:
        manager.paths -= changed
    entry = next((m for m in managers if m.name == name and m.operation == "Update"), None)
    if entry is None:
        entry = Manager(name, "Update", api_version, now, subresource=subresource)
        managers.append(entry)
    entry.paths |= changed
    entry.time = now
    managers[:] = [m for m in managers if m.paths]


def server_side_apply(managers: list[Manager], name: str, api_version: str, now: str,
                      current: dict | None, applied: dict, force: bool) -> dict:
    """Merge `applied` into `current` for manager `name`; returns the new object."""
    applied_values = leaf_values(applied)
    current_values = leaf_values(current) if current else {}
    others = [m for m in managers if m.name != name]
    conflicts = []
    for manager in others:
        if manager.operation != "Apply":
            continue
        for path in manager.paths & applied_values.keys():
            if path[-1] != "." and current_values.get(path) != applied_values[path]:
                conflicts.append((manager.name, path))
    if conflicts and not force:
        described = "\n".join(
            f'- conflict with "{owner}": .' + ".".join(_describe(p) for p in path)
            for owner, path in sorted(conflicts, key=repr)
        )
        count = len(conflicts)
        raise StatusError(
            409,
            f"Apply failed with {count} conflict{'s' if count > 1 else ''}: {described}",
            "Conflict",
        )
    mine = next((m for m in managers if m.name == name and m.operation == "Apply"), None)
    previous = mine.paths if mine else set()
    owned_by_others = set().union(*(m.paths for m in others)) if others else set()
    result = strategic_merge(current or {}, applied)
    # Whole list items go first: their key field must still be there to find them by.
    dropped = previous - applied_values.keys() - owned_by_others
    for path in sorted(dropped, key=lambda p: (p[-1] != ".", -len(p))):
        _remove_path(result, path)
    for manager in others:
        manager.paths -= applied_values.keys()
    if mine is None:
        mine = Manager(name, "Apply", api_version, now)
        managers.append(mine)
    mine.paths = set(applied_values)
    mine.time = now
    managers[:] = [m for m in managers if m.paths]
    return result


def _describe(part: object) -> str:
    if isinstance(part, tuple):
        return f"[{part[1]}=\"{part[2]}\"]"
    return str(part)
