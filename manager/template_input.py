"""Reading a Template from a request body (JSON or YAML) and checking it before any work."""

from __future__ import annotations

from typing import Any

import yaml

from dmcommon.bodies import TOO_DEEP
from dmcommon.documents import TooDeep, load_json, load_yaml
from dmcommon.errors import BadRequest
from dmcommon.names import DNS_LABEL_RULE, is_dns_label
from manager.models import ImportFile, Template

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
    """Validate a Template `{name, content, imports?, namespace?}`.

    With `name` (the deployment of the URL), the body's name may be left out and must
    match when given.
    """
    if not isinstance(data, dict):
        raise BadRequest("the body must be a Template object {name, content, imports, namespace}")
    unknown = sorted(set(data) - {"name", "content", "imports", "namespace"})
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
    return Template(
        name=template_name,
        content=content,
        imports=[_import_file(index, item) for index, item in enumerate(imports)],
        namespace=namespace,
    )


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
