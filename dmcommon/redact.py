"""Secret values never shown (DESIGN §7): the rules every service hides them by.

Secret values are the `data` and `stringData` values of Secret objects and the values of
template properties a schema marks `sensitive: true`. They are stored and applied as
given; wherever they would be shown they read `<redacted sha256:1a2b3c4d len=12>`, so a
change stays visible while the value does not. Text (error messages, a configuration's
YAML) is scrubbed of every occurrence of a known value, including values nested in
JSON that a cluster error quotes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, Iterable

MIN_LENGTH = 4
"""Shorter values are not scrubbed from text: they would blank out ordinary words."""


def marker(value: Any) -> str:
    """What is shown in place of `value`: a short digest and the length."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"<redacted sha256:{digest} len={len(text)}>"


def is_secret(obj: Any) -> bool:
    """True for a Kubernetes Secret object."""
    return isinstance(obj, dict) and obj.get("kind") == "Secret"


def secret_values(obj: Any) -> set[str]:
    """The values a Secret object holds, as they may appear in text: each string under
    `data`/`stringData`, and the decoded text of each `data` value."""
    if not is_secret(obj):
        return set()
    found = set()
    for field in ("data", "stringData"):
        found |= leaf_texts(obj.get(field))
    data = obj.get("data")
    for value in (data.values() if isinstance(data, dict) else ()):
        if isinstance(value, str):
            try:
                found.add(base64.b64decode(value, validate=True).decode())
            except (binascii.Error, UnicodeDecodeError):
                pass
    return found


def leaf_texts(value: Any) -> set[str]:
    """Every scalar inside `value` (and `value` itself when scalar) as text."""
    if isinstance(value, dict):
        return set().union(*(leaf_texts(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(leaf_texts(item) for item in value))
    if value is None or isinstance(value, bool):
        return set()
    return {value if isinstance(value, str) else json.dumps(value)}


def values_at(data: Any, paths: Iterable[list[str]]) -> list[Any]:
    """The values found at each path (a list of keys; `*` for every item of a list)."""
    found = []
    for path in paths:
        found += _at(data, list(path))
    return found


def _at(data: Any, path: list[str]) -> list[Any]:
    if not path:
        return [data]
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(data, list):
        return [value for item in data for value in _at(item, rest)]
    if isinstance(data, dict) and head in data:
        return _at(data[head], rest)
    return []


def replace_at(data: Any, paths: Iterable[list[str]]) -> Any:
    """A copy of `data` with the value at each path replaced by its marker."""
    for path in paths:
        data = _replace(data, list(path))
    return data


def _replace(data: Any, path: list[str]) -> Any:
    if not path:
        return marker(data)
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(data, list):
        return [_replace(item, rest) for item in data]
    if isinstance(data, dict) and head in data:
        return {**data, head: _replace(data[head], rest)}
    return data


class Redactor:
    """Hides a known set of values in text and data."""

    def __init__(self, values: Iterable[str] = ()):
        # Longest first: a value that contains another is replaced whole.
        self.values = sorted(
            {value for value in values if len(value) >= MIN_LENGTH}, key=len, reverse=True
        )

    def text(self, text: str) -> str:
        """`text` with every occurrence of a known value replaced by its marker."""
        for value in self.values:
            if value in text:
                text = text.replace(value, marker(value))
        return text

    def data(self, value: Any) -> Any:
        """A copy of JSON-like `value` with every string scrubbed as `text` does."""
        if isinstance(value, dict):
            return {key: self.data(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def object(self, obj: Any) -> Any:
        """A Kubernetes object with its Secret values replaced and its strings scrubbed."""
        if is_secret(obj):
            obj = dict(obj)
            for field in ("data", "stringData"):
                if isinstance(obj.get(field), dict):
                    obj[field] = {key: marker(value) for key, value in obj[field].items()}
        return self.data(obj)
