"""Reading a Template from a request body (JSON or YAML) and checking it before any work."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import yaml

from dmcommon.bodies import TOO_DEEP
from dmcommon.documents import TooDeep, load_json, load_yaml
from dmcommon.errors import BadRequest
from dmcommon.names import DNS_LABEL_RULE, is_dns_label
from dmcommon.settings import parse_bool
from manager.models import ImportFile, Options, Template

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})


def parse_body(raw: bytes, content_type: str | None) -> Any:
    """The request body as data: YAML for the YAML media types, JSON otherwise."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if not raw.strip():
        raise BadRequest("the request body is empty: send a JSON (or YAML) Template")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8 text") from None
    try:
        if media_type in YAML_TYPES:
            try:
                return load_yaml(text)
            except yaml.YAMLError as error:
                raise BadRequest(f"the request body is not valid YAML: {error}") from None
        try:
            return load_json(text)
        except ValueError as error:
            raise BadRequest(f"the request body is not valid JSON: {error}") from None
    except TooDeep:
        raise BadRequest(TOO_DEEP) from None


def check_dns_label(value: Any, field: str) -> str:
    """`value` when it is a DNS-1123 label (what Kubernetes accepts as a namespace name)."""
    if not isinstance(value, str) or not value:
        raise BadRequest(f"'{field}' must be a non-empty string")
    if not is_dns_label(value):
        raise BadRequest(f"'{field}' {value!r} is not a DNS-1123 label: {DNS_LABEL_RULE}")
    return value


def template_from_body(data: Any, name: str | None = None) -> Template:
    """Validate a Template `{name, content, imports?, namespace?, options?}`.

    With `name` (the deployment of the URL), the body's name may be left out and must
    match when given.
    """
    if not isinstance(data, dict):
        raise BadRequest(
            "the body must be a Template object {name, content, imports, namespace, options}"
        )
    unknown = sorted(set(data) - {"name", "content", "imports", "namespace", "options"})
    if unknown:
        raise BadRequest(f"unknown Template field(s): {', '.join(unknown)}")
    if name is not None:
        body_name = data.get("name", name)
        if body_name != name:
            raise BadRequest(f"the Template's name {body_name!r} does not match the URL's {name!r}")
        data = {**data, "name": name}
    template_name = check_dns_label(data.get("name"), "name")
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        raise BadRequest("'content' must be the configuration's YAML text (a non-empty string)")
    namespace = data.get("namespace")
    if namespace is not None:
        check_dns_label(namespace, "namespace")
    imports = data.get("imports")
    if imports is None:
        imports = []
    if not isinstance(imports, list):
        raise BadRequest("'imports' must be a list of {name, path, content}")
    options = data.get("options")
    return Template(
        name=template_name,
        content=content,
        imports=[_import_file(index, item) for index, item in enumerate(imports)],
        namespace=namespace,
        options=None if options is None else options_from(options, "options"),
    )


def options_from(data: Any, where: str, base: Options | None = None) -> Options:
    """Operation options `{timeout, wait, atomic, strictUndefined}` checked, over `base`.

    `timeout` is seconds (a positive number) or a duration such as `90s`, `5m`, `1h`.
    """
    if not isinstance(data, dict):
        raise BadRequest(f"'{where}' must be an object {{timeout, wait, atomic, strictUndefined}}")
    unknown = sorted(set(data) - {"timeout", "wait", "atomic", "strictUndefined"})
    if unknown:
        raise BadRequest(f"unknown {where} field(s): {', '.join(unknown)}")
    options = replace(base) if base is not None else Options()
    if "timeout" in data:
        options.timeout = parse_duration(data["timeout"], f"{where}.timeout")
    flags = (("wait", "wait"), ("atomic", "atomic"), ("strictUndefined", "strict_undefined"))
    for key, attribute in flags:
        if key in data:
            value = data[key]
            if isinstance(value, str):
                try:
                    value = parse_bool(value)
                except ValueError:
                    value = None
            if not isinstance(value, bool):
                raise BadRequest(f"'{where}.{key}' must be true or false")
            setattr(options, attribute, value)
    return options


_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(value: Any, where: str) -> float:
    """Seconds from a positive number or a duration text (`90`, `90s`, `5m`, `1h30m`)."""
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
            if parts and "".join(number + unit for number, unit in parts) == text:
                seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise BadRequest(
            f"'{where}' must be a positive duration in seconds or like 90s, 5m, 1h "
            f"(got {value!r})"
        )
    return seconds


def _import_file(index: int, item: Any) -> ImportFile:
    where = f"imports[{index}]"
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be an object {{name, path, content}}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where} has no name")
    content = item.get("content")
    if not isinstance(content, str):
        raise BadRequest(f"{where} ({name!r}): 'content' must be a string")
    path = item.get("path")
    if path is not None and not isinstance(path, str):
        raise BadRequest(f"{where} ({name!r}): 'path' must be a string")
    return ImportFile(name=name, content=content, path=path)
