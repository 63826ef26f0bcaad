"""The expansion engine: a configuration's templates expanded recursively into primitives.

A resource is a template when its `type` names one of the request's imports (by name,
else by path); the import's extension picks the engine. Everything else is a primitive
and passes through unchanged. The engine yields the flat list of primitives and the
layout tree (docs/configuration-language.md). It runs inside the sandboxed worker process.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
from typing import Any

import yaml

from dmcommon.documents import TooDeep, load_yaml
from dmcommon.errors import BadRequest
from expander.models import Expansion, ExpansionRequest, Import, Limits
from expander.schemas import Schema, describe_yaml_error, remember
from expander.templates.jinja import SHARED_BYTECODE, JinjaRenderer
from expander.templates.python import Context, ModuleLoader, python_module_names
from expander.templates.python import run_python_template as _run_python

JINJA_EXTENSIONS = (".jinja", ".jinja2", ".yaml", ".yml")
PYTHON_EXTENSIONS = (".py",)

# Most template text the fork server compiles ahead for one request.
_COMPILE_BUDGET = 1024 * 1024


class ExpansionError(BadRequest):
    """The configuration or one of its templates cannot be expanded."""


def current_time() -> str:
    """Now, as RFC 3339 UTC with seconds."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Expander:
    """Expands one request. Not reusable: it keeps the request's caches."""

    def __init__(self, request: ExpansionRequest, limits: Limits):
        self.request = request
        self.limits = limits
        self.now = current_time()
        self._by_name: dict[str, Import] = {}
        for item in request.template.imports:
            self._by_name.setdefault(item.name, item)
        for item in request.template.imports:
            self._by_name.setdefault(item.path, item)
        self._raw_imports = {key: item.content for key, item in self._by_name.items()}
        self._jinja = JinjaRenderer(
            self._find_source,
            limits.max_output_bytes,
            strict=limits.strict_undefined or request.template.strict_undefined,
        )
        self._project_number = project_number(request.project)
        self._python = ModuleLoader(self._python_sources())
        self._schemas: dict[str, Schema | None] = {}

    def _find_source(self, name: str) -> tuple[str, str] | None:
        item = self._by_name.get(name)
        return (item.path, item.content) if item else None

    def _python_sources(self) -> dict[str, tuple[str, str]]:
        sources: dict[str, tuple[str, str]] = {}
        for item in self.request.template.imports:
            for key in (item.path, item.name):
                if key.endswith(".py"):
                    for module in python_module_names(key):
                        sources.setdefault(module, (item.path, item.content))
        return sources

    def expand(self) -> Expansion:
        """Expand the configuration; raise ExpansionError saying where and what is wrong."""
        config = self._parse(self.request.template.content, "config")
        if not isinstance(config, dict) or "resources" not in config:
            raise ExpansionError("config: must be a YAML mapping with a 'resources:' list")
        expansion = Expansion()
        expansion.layout = self._expand_list(config["resources"], "config", [], expansion)
        expansion.extras = {
            key: value for key, value in config.items() if key not in ("resources", "imports")
        }
        expansion.warnings = self._jinja.warnings
        return expansion

    def _parse(self, text: str, where: str) -> Any:
        try:
            return load_yaml(text)
        except TooDeep as error:
            raise ExpansionError(f"{where}: {error}") from None
        except yaml.YAMLError as error:
            raise ExpansionError(f"{where}: {describe_yaml_error(error)}") from None

    def _expand_list(
        self, resources: Any, where: str, chain: list[str], expansion: Expansion
    ) -> list[dict[str, Any]]:
        if resources is None:
            return []
        if not isinstance(resources, list):
            raise ExpansionError(f"{where}: 'resources' must be a list")
        seen: set[str] = set()
        layout = []
        for index, resource in enumerate(resources):
            name, type_ = self._check_resource(resource, index, where)
            if name in seen:
                raise ExpansionError(f"{where}: duplicate resource name '{name}'")
            seen.add(name)
            template = self._by_name.get(type_)
            if template is None:
                expansion.resources.append(resource)
                layout.append({"name": name, "type": type_})
            else:
                layout.append(self._expand_template(resource, template, chain, expansion))
        return layout

    def _check_resource(self, resource: Any, index: int, where: str) -> tuple[str, str]:
        if not isinstance(resource, dict):
            raise ExpansionError(f"{where}: resource #{index + 1} must be a mapping")
        name, type_ = resource.get("name"), resource.get("type")
        if not isinstance(name, str) or not name:
            raise ExpansionError(f"{where}: resource #{index + 1} has no name")
        if not isinstance(type_, str) or not type_:
            raise ExpansionError(f"{where}: resource '{name}' has no type")
        return name, type_

    def _expand_template(
        self, resource: dict[str, Any], template: Import, chain: list[str], expansion: Expansion
    ) -> dict[str, Any]:
        name, type_ = resource["name"], resource["type"]
        where = f"template {template.path} (resource '{name}')"
        if len(chain) >= self.limits.max_depth:
            trail = " > ".join([*chain[-5:], template.path])
            raise ExpansionError(
                f"{where}: templates nest more than {self.limits.max_depth} levels deep"
                f" (recursion too deep: ... > {trail})"
            )
        given = resource.get("properties")
        if not isinstance(given, (dict, type(None))):
            raise ExpansionError(f"{where}: properties must be a mapping")
        try:
            schema = self._schema_for(template)
            properties = schema.apply(given or {}) if schema else copy.deepcopy(given or {})
        except BadRequest as error:
            raise ExpansionError(f"{where}: {error.message}") from None
        env = {
            "deployment": self.request.deployment,
            "project": self.request.project,
            "project_number": self._project_number,
            "username": self.request.username,
            "name": name,
            "type": type_,
            "current_time": self.now,
        }
        shown = _shown_properties(resource, properties)
        try:
            result = self._run(template, where, properties, env)
        except BadRequest as error:
            hide = schema.redactor(properties) if schema else None
            raise ExpansionError(hide.text(error.message) if hide else error.message) from None
        if not isinstance(result, dict) or "resources" not in result:
            raise ExpansionError(f"{where}: the template's result has no 'resources:' list")
        children = self._expand_list(
            result["resources"], f"template {template.path}", [*chain, template.path], expansion
        )
        node: dict[str, Any] = {"name": name, "type": type_}
        if shown is not _ABSENT:
            node["properties"] = shown
        node["resources"] = children
        if schema and schema.sensitive_paths:
            # Which properties hold secrets, for those who show the layout (the manager).
            node["sensitive"] = schema.sensitive_paths
        node.update({key: value for key, value in result.items() if key not in _NODE_KEYS})
        return node

    def _schema_for(self, template: Import) -> Schema | None:
        if template.path not in self._schemas:
            found = self._find_source(template.name + ".schema") or self._find_source(
                template.path + ".schema"
            )
            self._schemas[template.path] = (
                Schema(found[0], found[1], self._find_source) if found else None
            )
        return self._schemas[template.path]

    def _run(self, template: Import, where: str, properties: dict, env: dict) -> Any:
        path = template.path.lower()
        try:
            if path.endswith(PYTHON_EXTENSIONS):
                context = Context(properties, env, dict(self._raw_imports))
                result = _run_python(self._python, template.path, template.content, context)
                if isinstance(result, str):
                    return self._parse_output(result, where)
                return _plain_data(result, where)
            if path.endswith(JINJA_EXTENSIONS):
                variables = {"properties": properties, "env": env, "imports": self._raw_imports}
                return self._parse_output(self._jinja.render(template.name, variables), where)
        except ExpansionError:
            raise
        except BadRequest as error:
            raise ExpansionError(f"{where}: {error.message}") from None
        raise ExpansionError(
            f"{where}: '{template.path}' is not a template: its name must end in"
            f" {', '.join(JINJA_EXTENSIONS + PYTHON_EXTENSIONS)}"
        )

    def compile_python(self) -> None:
        """Compile the request's Python templates and modules, ignoring failures.

        The fork server calls this after a request is answered, so the checked code is in
        the process later children are forked from. Compiling runs none of the code, and
        CPython folds only small constants while compiling.
        """
        for item in self._templates(PYTHON_EXTENSIONS):
            try:
                self._python.compiled(item.path, item.content)
            except Exception:  # noqa: BLE001 - the request's own child reported it already
                continue

    def remember_schemas(self) -> None:
        """Keep the request's schemas checked in this process (the fork server's), so the
        children forked later skip parsing and checking them."""
        for item in self.request.template.imports:
            if item.name.endswith(".schema") or item.path.endswith(".schema"):
                remember(item.path, item.content)

    def uncompiled_jinja(self) -> list[Import]:
        """The request's Jinja templates whose code is not in the shared cache yet."""
        return [
            item for item in self._templates(JINJA_EXTENSIONS)
            if not SHARED_BYTECODE.holds(item.name, item.path, item.content)
        ]

    def compile_jinja(self, templates: list[Import]) -> None:
        """Compile Jinja templates into the shared cache, ignoring failures.

        Jinja evaluates constant expressions and filters while compiling, so only a
        confined process may call this on a request's templates.
        """
        for item in templates:
            try:
                self._jinja.environment.get_template(item.name)
            except Exception:  # noqa: BLE001 - the request's own child reported it already
                continue

    def _templates(self, extensions: tuple[str, ...]) -> list[Import]:
        budget = _COMPILE_BUDGET
        found = []
        for item in self.request.template.imports:
            budget -= len(item.content)
            if budget < 0:
                break
            if item.path.lower().endswith(extensions):
                found.append(item)
        return found

    def _parse_output(self, text: str, where: str) -> Any:
        if len(text) > self.limits.max_output_bytes:
            raise ExpansionError(
                f"{where}: output is larger than the limit of {self.limits.max_output_bytes} bytes"
            )
        return self._parse(text, f"{where}: the template's output")


_NODE_KEYS = ("name", "type", "properties", "resources", "sensitive")
_ABSENT = object()


def _shown_properties(resource: dict[str, Any], filled: dict[str, Any]) -> Any:
    """A template node's properties in the layout: the filled-in ones, except that a
    resource without properties (or with `properties:` null) that no default filled
    shows them absent (or null), as Google Cloud Deployment Manager does."""
    if filled or resource.get("properties") is not None:
        return copy.deepcopy(filled)
    return None if "properties" in resource else _ABSENT


def project_number(project: str) -> str:
    """`env.project_number`: twelve digits derived from the project's name, the same every time."""
    digest = int.from_bytes(hashlib.sha256(project.encode()).digest()[:8], "big")
    return str(10**11 + digest % (9 * 10**11))


def to_json(value: Any) -> str:
    """JSON text of an expansion.

    YAML has scalars JSON lacks: timestamps become their ISO 8601 text and `!!binary`
    its base64 text, as a Kubernetes client would send them. Anything else that JSON
    cannot hold (NaN, sets, keys that are lists) raises ValueError or TypeError.
    """
    return json.dumps(value, default=_yaml_scalar, allow_nan=False)


def _yaml_scalar(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} values cannot be written as JSON")


def _plain_data(value: Any, where: str) -> Any:
    """The template's result as JSON-shaped data; anything else is the template's fault."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as error:
        raise ExpansionError(f"{where}: the result is not plain data: {error}") from None
