"""Reading YAML and JSON text under one nesting limit of ours.

YAML libraries differ in how deep they let a document nest (some releases stop at
1,000 levels with their own message, others recurse until the interpreter gives up),
so the limit here is ours and is checked while the document is built, before the
library's own limit is met: the answer to a too-deep document is the same on every
release. Documents are built from the C parser's events in one pass; the few that use
anchors, aliases, tags or merge keys are left to PyYAML's safe loader.
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
_STR = "tag:yaml.org,2002:str"
# Implicit tags whose values the one-pass builder makes (all immutable, so cached).
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp")
)


# Plain scalars already resolved, by their text: the same few (names, numbers, booleans)
# recur across the documents of a request, and their values are immutable.
_PLAIN_VALUES: dict[str, Any] = {}
_PLAIN_VALUES_KEPT = 100_000
_PLAIN_TEXT_KEPT = 100


class TooDeep(Exception):
    """The document nests deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        super().__init__(f"nested more than {MAX_DEPTH} levels deep")


class _Unusual(Exception):
    """The document uses what the one-pass builder leaves to PyYAML's own constructor:
    anchors, aliases, explicit tags, merge keys, collection keys, several documents."""


def load_yaml(text: str) -> Any:
    """The single YAML document in `text`, loaded safely.

    Raises TooDeep past MAX_DEPTH and yaml.YAMLError for text that is not YAML.
    """
    try:
        try:
            return _build(text)
        except _Unusual:
            pass
        depth = 0
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    raise TooDeep()
            elif isinstance(event, _CLOSE):
                depth -= 1
        try:
            return yaml.load(text, Loader=_Loader)
        except ValueError as error:
            raise _unreadable_scalar(text, error) from None
    except yaml.YAMLError:
        # The parser reads flow collections ahead of the events it hands out, so a deep
        # run of brackets meets the library's own limit (and its wording) first.
        _check_flow_depth(text)
        raise


def _build(text: str) -> Any:
    """Python objects straight from the parser's events, in one pass, as the safe loader
    builds them; raises _Unusual for a document it leaves to that loader."""
    loader = _Loader(text)
    get_event = loader.get_event
    # A plain scalar whose first character starts no implicit resolver's pattern is a
    # string, as `loader.resolve` would decide, without trying any pattern.
    resolvers = loader.yaml_implicit_resolvers
    wildcard = None in resolvers
    plain = _PLAIN_VALUES
    if len(plain) > _PLAIN_VALUES_KEPT:
        plain.clear()
    get_event()
    if type(get_event()) is _StreamEnd:
        return None
    # The innermost open collection, the key awaiting its value in it (mappings only),
    # and the same pair for each collection around it.
    container: Any = None
    key: Any = _NO_KEY
    outer: list[tuple[Any, Any]] = []
    while True:
        event = get_event()
        kind = type(event)
        if kind is _Scalar:
            if event.anchor is not None or event.tag is not None:
                raise _Unusual()
            value = event.value
            if event.implicit[0] and (wildcard or not value or value[0] in resolvers):
                known = plain.get(value, _NO_KEY)
                if known is _NO_KEY:
                    scalar = value
                    value = _plain_value(loader, scalar)
                    if len(scalar) <= _PLAIN_TEXT_KEPT:
                        plain[scalar] = value
                else:
                    value = known
        elif kind is _MappingStart or kind is _SequenceStart:
            if event.anchor is not None or event.tag is not None:
                raise _Unusual()
            if len(outer) >= MAX_DEPTH:
                raise TooDeep()
            outer.append((container, key))
            container = {} if kind is _MappingStart else []
            key = _NO_KEY
            continue
        elif kind is _MappingEnd or kind is _SequenceEnd:
            value = container
            container, key = outer.pop()
        elif kind is _DocumentEnd:
            if type(get_event()) is not _StreamEnd:
                raise _Unusual()
            return container
        else:
            raise _Unusual()
        if type(container) is list:
            container.append(value)
        elif container is None:
            # The document's own node: kept where the end of the document finds it.
            container = value
        elif key is _NO_KEY:
            if type(value) is dict or type(value) is list:
                raise _Unusual()
            key = value
        else:
            container[key] = value
            key = _NO_KEY


_NO_KEY = object()
_Scalar, _StreamEnd, _DocumentEnd = yaml.ScalarEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent
_MappingStart, _MappingEnd = yaml.MappingStartEvent, yaml.MappingEndEvent
_SequenceStart, _SequenceEnd = yaml.SequenceStartEvent, yaml.SequenceEndEvent



def _plain_value(loader: Any, text: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar, resolved as the safe loader does."""
    tag = loader.resolve(yaml.ScalarNode, text, (True, False))
    if tag == _STR:
        return text
    if tag not in _PLAIN_TAGS:
        raise _Unusual()
    try:
        return loader.yaml_constructors[tag](loader, yaml.ScalarNode(tag, text))
    except Exception:  # noqa: BLE001 - PyYAML's loader reports it its own way
        raise _Unusual() from None


_KINDS = {
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:timestamp": "a date",
}


def _unreadable_scalar(text: str, error: ValueError) -> yaml.YAMLError:
    """The YAML error for a plain scalar whose form makes it a number or date that it is
    not (`0b_`, `0x_`, `2001-13-45`), where PyYAML's constructor raises ValueError."""
    loader = _Loader(text)
    try:
        pending = [loader.get_single_node()]
        # An alias makes a node that may contain itself: each is looked at once.
        seen: set[int] = set()
        while pending:
            node = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.ScalarNode):
                constructor = loader.yaml_constructors.get(node.tag)
                try:
                    if constructor is not None:
                        constructor(loader, node)
                except ValueError:
                    kind = _KINDS.get(node.tag, node.tag)
                    return yaml.constructor.ConstructorError(
                        None, None,
                        f"{node.value!r} is written as {kind} but is not one; quote it to"
                        " keep it a string",
                        node.start_mark,
                    )
            elif isinstance(node, yaml.SequenceNode):
                pending.extend(reversed(node.value))
            elif isinstance(node, yaml.MappingNode):
                for key, value in reversed(node.value):
                    pending += [value, key]
    finally:
        loader.dispose()
    return yaml.constructor.ConstructorError(None, None, f"a value cannot be read: {error}")


_FLOW_TOKEN = re.compile(r"""[\[\]{}]|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|#[^\n]*""")


def _check_flow_depth(text: str) -> None:
    """Raise TooDeep when `[`/`{` nest past MAX_DEPTH outside quotes and comments."""
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
