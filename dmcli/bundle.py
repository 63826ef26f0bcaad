"""Turn a file on disk into the Template the manager API takes (docs/api.md).

The Template is built as the request body itself, a plain dict with `name`,
`content`, `imports` (each `{name, path, content}`) and, when set, `namespace`.
YAML is read here, so this module is imported only by the commands that send a FILE.

FILE is either a configuration (YAML with `resources:`) whose `imports:` are read
relative to it, or a single template file deployed as one resource of its own type.
Each imported template brings its sibling `<file>.schema` when there is one, and the
files that schema imports, read relative to the schema.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dmcli.context import CliError
from dmcommon.documents import TooDeep, load_yaml
from dmcommon.names import dns_label_from

TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".py")


class BundleError(CliError):
    """A local file cannot be read or understood; the message names the file."""


def dns_name(text: str) -> str:
    """A DNS-1123 label made from `text`: lower case, `-` for anything else, at most 63 chars."""
    name = dns_label_from(text)
    if not name:
        raise BundleError(f"cannot make a deployment name from {text!r}; pass --name")
    return name


def default_name(path: Path) -> str:
    """The deployment name used when none is given: the file's stem as a DNS-1123 label."""
    return dns_name(path.name.split(".", 1)[0])


_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


def parse_scalar(text: str) -> Any:
    """A property value typed on the command line, kept as text unless typing keeps it whole.

    `true`/`false` (any case) are booleans, `null` is null, and a number is a number
    only when it prints back as the same text: `8080`, `-1`, `0.5` are numbers, while
    `1.10`, `01234`, `1_000`, `1e3`, `inf` and `nan` stay strings (the user meant the text).
    """
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if text == "null":
        return None
    if _INTEGER.fullmatch(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) and repr(number) == text else text


def parse_properties(
    texts: tuple[str, ...] | list[str] | str | None, typed: bool = True
) -> dict[str, Any]:
    """Parse `k=v,k2=v2` texts into a dict, values typed by parse_scalar unless `typed` is off.

    `texts` is one text or several (a repeated option); a missing or empty text is `{}`.
    """
    option = "--properties" if typed else "--set-string"
    if isinstance(texts, str):
        texts = [texts]
    properties: dict[str, Any] = {}
    for text in texts or ():
        for item in text.split(","):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise BundleError(f"{option}: expected key=value, got {item.strip()!r}")
            properties[key] = parse_scalar(value.strip()) if typed else value.strip()
    return properties


@dataclass
class _Collector:
    """Import files gathered so far, keyed by import name, in the order first met."""

    files: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, name: str, path: str, file: Path, imported_by: Path) -> None:
        if name in self.files:
            return
        content = _read(file, f"imported by {imported_by}")
        self.files[name] = {"name": name, "path": path, "content": content}
        if file.suffix in TEMPLATE_SUFFIXES:
            self._add_schema(name, path, file)

    def _add_schema(self, name: str, path: str, template: Path) -> None:
        schema = template.with_name(template.name + ".schema")
        if not schema.is_file():
            return
        content = _read(schema, f"schema of {template}")
        self.files[f"{name}.schema"] = {
            "name": f"{name}.schema",
            "path": f"{path}.schema",
            "content": content,
        }
        for import_name, import_path in _import_entries(_load_yaml(schema, content), schema):
            self.add(import_name, import_path, schema.parent / import_path, schema)


def _read(file: Path, why: str) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BundleError(f"{file}: file not found ({why})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BundleError(f"{file}: cannot read ({why}): {error}") from None


def _load_yaml(file: Path, content: str) -> Any:
    try:
        return load_yaml(content)
    except TooDeep as error:
        raise BundleError(f"{file}: invalid YAML: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise BundleError(f"{file}: invalid YAML{where}: {problem}") from None


def _import_entries(document: Any, file: Path) -> list[tuple[str, str]]:
    """The (name, path) pairs of a document's `imports:`; `name` defaults to `path`."""
    if not isinstance(document, dict) or document.get("imports") is None:
        return []
    entries = document["imports"]
    if not isinstance(entries, list):
        raise BundleError(f"{file}: 'imports' must be a list of {{path, name}} entries")
    pairs = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise BundleError(f"{file}: imports[{index}] needs a 'path' string")
        name = entry.get("name", entry["path"])
        if not isinstance(name, str) or not name:
            raise BundleError(f"{file}: imports[{index}].name must be a non-empty string")
        pairs.append((name, entry["path"]))
    return pairs


def _configuration(file: Path, content: str) -> dict[str, Any] | None:
    """`content` parsed when it is a configuration (a YAML mapping with `resources:`)."""
    if file.suffix in TEMPLATE_SUFFIXES:
        return None
    document = _load_yaml(file, content)
    return document if isinstance(document, dict) and "resources" in document else None


def _check_template_types(file: Path, configuration: dict[str, Any], imports: list[str]) -> None:
    """Refuse a resource whose type names a template file that is not imported.

    A type ending like a template (`.py`, `.jinja`) that is not an import would reach the
    cluster as an unknown kind; a likely typo is named instead.
    """
    resources = configuration.get("resources")
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, dict):
            continue
        kind = resource.get("type")
        if not isinstance(kind, str) or "://" in kind or not kind.endswith(TEMPLATE_SUFFIXES):
            continue
        if kind in imports:
            continue
        where = f"{file}: resource {resource.get('name')!r}: no import named {kind}"
        close = difflib.get_close_matches(kind, imports, n=1)
        if close:
            raise BundleError(f"{where}; did you mean {close[0]}?")
        raise BundleError(f"{where}; add it to the configuration's imports")


def load_template(
    file: Path,
    name: str | None = None,
    namespace: str | None = None,
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Bundle `file` and everything it imports into a Template named `name`.

    `name` defaults to the file's stem; a single template's one resource has that name too.
    `properties` applies only to a single template file; for a configuration it must
    be empty, since the configuration already sets every resource's properties.
    """
    content = _read(file, "the file to deploy")
    name = name or default_name(file)
    collector = _Collector()
    configuration = _configuration(file, content)
    if configuration is not None:
        if properties:
            raise BundleError(
                "--properties applies only when FILE is a single template, "
                f"but {file} is a configuration"
            )
        for import_name, import_path in _import_entries(configuration, file):
            collector.add(import_name, import_path, file.parent / import_path, file)
        _check_template_types(file, configuration, list(collector.files))
    else:
        if file.suffix not in TEMPLATE_SUFFIXES:
            raise BundleError(
                f"{file}: not a configuration (no 'resources:') and not a template "
                f"({', '.join(TEMPLATE_SUFFIXES)})"
            )
        collector.add(file.name, file.name, file, file)
        content = yaml.safe_dump(
            {
                "resources": [
                    {
                        "name": name,
                        "type": file.name,
                        "properties": properties or {},
                    }
                ]
            },
            sort_keys=False,
        )
    template = {"name": name, "content": content, "imports": list(collector.files.values())}
    if namespace is not None:
        template["namespace"] = namespace
    return template
