"""Reading YAML and JSON text under one nesting limit of ours.

YAML libraries differ in how deep they let a document nest (some releases stop at
1,000 levels with their own message, others recurse until the interpreter gives up),
so the limit here is ours and is checked before the library is asked to build
anything: the answer to a too-deep document is the same on every release.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

MAX_DEPTH = 100
"""Deepest nesting of mappings and sequences (or JSON objects and arrays) accepted."""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class TooDeep(Exception):
    """The document nests deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        super().__init__(f"nested more than {MAX_DEPTH} levels deep")


def load_yaml(text: str) -> Any:
    """The single YAML document in `text`, loaded safely.

    Raises TooDeep past MAX_DEPTH and yaml.YAMLError for text that is not YAML.
    """
    _check_flow_depth(text)
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                raise TooDeep()
        elif isinstance(event, _CLOSE):
            depth -= 1
    return yaml.load(text, Loader=_Loader)


_FLOW_TOKEN = re.compile(r"""[\[\]{}]|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|#[^\n]*""")


def _check_flow_depth(text: str) -> None:
    """Count `[`/`{` nesting outside quotes and comments.

    The parser reads flow collections far ahead of the events it hands out, so a deep
    run of brackets reaches the library's own limit before the event count below sees
    it; this scan (cheap, and skipped when the text has few brackets) stops it first.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for match in _FLOW_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise TooDeep()
        elif token in ("]", "}"):
            depth = max(depth - 1, 0)


def load_json(text: str | bytes) -> Any:
    """The JSON value in `text`; TooDeep past MAX_DEPTH, ValueError when not JSON."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep() from None
    check_depth(value)
    return value


def check_depth(value: Any) -> None:
    """Raise TooDeep when `value` (decoded JSON or YAML) nests deeper than MAX_DEPTH."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise TooDeep()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
