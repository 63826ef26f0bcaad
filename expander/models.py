"""The expander's request and limits, read from and written to plain JSON data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from dmcommon.errors import BadRequest


@dataclass(frozen=True)
class Import:
    """A file supplied with the request: a template, a schema, a helper module or raw data."""

    name: str
    path: str
    content: str

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Import:
        if not isinstance(data, dict):
            raise BadRequest(f"{where} must be an object with name, path and content")
        name = _optional_str(data, "name", where)
        path = _optional_str(data, "path", where)
        if not name and not path:
            raise BadRequest(f"{where} needs a name or a path")
        content = data.get("content")
        if not isinstance(content, str):
            raise BadRequest(f"{where}.content must be a string")
        # A name defaults to the path and the other way round, as in configurations.
        return cls(name=name or path, path=path or name, content=content)


@dataclass(frozen=True)
class Template:
    """A configuration to expand: its YAML text and the files it needs."""

    name: str
    content: str
    imports: tuple[Import, ...] = ()
    namespace: str | None = None
    strict_undefined: bool = False

    @classmethod
    def from_dict(cls, data: Any) -> Template:
        if not isinstance(data, dict):
            raise BadRequest("template must be an object with name, content and imports")
        name = data.get("name", "")
        if not isinstance(name, str):
            raise BadRequest("template.name must be a string")
        content = data.get("content")
        if content is None:
            raise BadRequest("template.content is required: the configuration's YAML text")
        if not isinstance(content, str):
            raise BadRequest("template.content must be a string")
        raw_imports = data.get("imports") or []
        if not isinstance(raw_imports, list):
            raise BadRequest("template.imports must be a list")
        imports = tuple(
            Import.from_dict(item, f"template.imports[{index}]")
            for index, item in enumerate(raw_imports)
        )
        namespace = _optional_str(data, "namespace", "template")
        options = data.get("options") or {}
        if not isinstance(options, dict):
            raise BadRequest("template.options must be an object")
        strict = options.get("strictUndefined", False)
        if not isinstance(strict, bool):
            raise BadRequest("template.options.strictUndefined must be true or false")
        return cls(
            name=name, content=content, imports=imports, namespace=namespace,
            strict_undefined=strict,
        )


@dataclass(frozen=True)
class ExpansionRequest:
    """The body of `POST /expand`."""

    template: Template
    deployment: str
    project: str
    username: str = "deployment-manager"

    @classmethod
    def from_dict(cls, data: Any) -> ExpansionRequest:
        if not isinstance(data, dict):
            raise BadRequest("request body must be a JSON object with template and env")
        if "template" not in data:
            raise BadRequest("request body needs a template")
        template = Template.from_dict(data["template"])
        env = data.get("env") or {}
        if not isinstance(env, dict):
            raise BadRequest("env must be an object")
        deployment = _optional_str(env, "deployment", "env") or template.name
        project = _optional_str(env, "project", "env") or template.namespace or "default"
        username = _optional_str(env, "username", "env") or "deployment-manager"
        return cls(template=template, deployment=deployment, project=project, username=username)


@dataclass(frozen=True)
class Limits:
    """What one expansion may use, and whether printing an undefined Jinja value is an
    error; enforced by the sandbox and by the engine."""

    timeout: float = 10.0
    cpu_seconds: int = 5
    memory_mb: int = 512
    max_depth: int = 20
    max_output_bytes: int = 16 * 1024 * 1024
    strict_undefined: bool = False

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        """Read the limits from the service settings."""
        return cls(
            timeout=float(config["EXPANSION_TIMEOUT"]),
            cpu_seconds=int(config["EXPANSION_CPU_SECONDS"]),
            memory_mb=int(config["EXPANSION_MEMORY_MB"]),
            max_depth=int(config["MAX_EXPANSION_DEPTH"]),
            max_output_bytes=int(config["MAX_OUTPUT_BYTES"]),
            strict_undefined=bool(config["STRICT_UNDEFINED"]),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Expansion:
    """What expansion yields: the flat list of primitives, the layout tree and the
    warnings about what templates did (such as printing undefined values)."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    layout: list[dict[str, Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": {"resources": self.resources},
            "layout": {"resources": self.layout, **self.extras},
            "warnings": self.warnings,
        }


def _optional_str(data: dict[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{where}.{key} must be a string")
    return value
