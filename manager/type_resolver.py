"""Fetching templates named by URL (docs/state.md, "Templates named by URL").

A resource whose `type` is an `http(s)://` URL names a template on a web server. Before
expansion the manager downloads it, its schema `<url>.schema` when the server has one,
and the files that schema imports, and adds them all to the request's imports; the
expander then treats the URL like any other imported template (`type == import name`).

Everything fetched here was named by the user, so every failure is the user's to fix:
a 400 that names the URL and says what went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import yaml

from dmcommon.documents import TooDeep, load_yaml
from dmcommon.errors import BadRequest
from manager.models import ImportFile, Template
from manager.url_fetch import (
    URL,
    Fetcher,
    Lookup,
    is_public,
    is_url,
    parse_url,
    system_lookup,
)

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_FILES = 100
TEMPLATE_EXTENSIONS = (".py", ".jinja", ".jinja2")


def parse_allowed_hosts(text: str | None) -> set[str] | None:
    """`DM_TEMPLATE_URL_ALLOWED_HOSTS` (comma-separated) as a set; None when unset."""
    if not text or not text.strip():
        return None
    return {item.strip().lower() for item in text.split(",") if item.strip()}


class TypeResolver:
    """Turns URL types of a configuration into imports, within time, size and count limits.

    `timeout` bounds each file (connecting and the whole download); `max_bytes` each
    file's size; `max_files` how many files one request may fetch; `allowed_hosts`,
    when given, the only hosts (`name` or `name:port`) URLs may name, redirects
    included, and the only ones that may be on a non-public address. `lookup` resolves
    host names and `public` tells a public address (tests pass their own).
    """

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_files: int = DEFAULT_MAX_FILES,
        allowed_hosts: set[str] | None = None,
        lookup: Lookup = system_lookup,
        public: Callable[[str], bool] = is_public,
    ):
        self.max_files = max_files
        self.allowed_hosts = {host.lower() for host in allowed_hosts} if allowed_hosts else None
        self.fetcher = Fetcher(timeout, max_bytes, self.allowed_hosts, lookup, public)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TypeResolver:
        """A resolver with the manager's settings (`TEMPLATE_URL_ALLOWED_HOSTS`)."""
        return cls(allowed_hosts=parse_allowed_hosts(config.get("TEMPLATE_URL_ALLOWED_HOSTS")))

    def resolve(self, template: Template) -> Template:
        """`template` with every URL type (and its schema and imports) added as imports.

        A configuration that does not parse is returned unchanged: the expander reports
        its errors with line numbers.
        """
        urls = [url for url in _resource_types(template.content) if is_url(url)]
        if not urls:
            return template
        fetch = _Fetch(self, {item.name for item in template.imports})
        for url in urls:
            fetch.template(url, parse_url(url))
        return Template(
            name=template.name,
            content=template.content,
            imports=[*template.imports, *fetch.added],
            namespace=template.namespace,
        )


@dataclass
class _Fetch:
    """The state of one `resolve` call: what is imported already, and the file count."""

    resolver: TypeResolver
    names: set[str]
    added: list[ImportFile] = field(default_factory=list)

    def template(self, name: str, url: URL, with_schema: bool = True) -> None:
        """Import the file at `url` as `name`; `with_schema`: its schema and imports too."""
        if name in self.names:
            return
        self._add(name, url, self._get(url, "template" if with_schema else "import"))
        if not with_schema:
            return
        schema_url = parse_url(url.text + ".schema")
        schema_text = self._get(schema_url, "schema", optional=True)
        if schema_text is None:
            return
        self._add(name + ".schema", schema_url, schema_text)
        for import_name, import_url in self._schema_imports(schema_url, schema_text):
            # An imported template may have a schema of its own; a helper file has none.
            is_template = import_url.path.lower().endswith(TEMPLATE_EXTENSIONS)
            self.template(import_name, import_url, with_schema=is_template)

    def _add(self, name: str, url: URL, content: str) -> None:
        self.names.add(name)
        self.added.append(ImportFile(name=name, path=url.text, content=content))

    def _schema_imports(self, schema_url: URL, text: str) -> Iterable[tuple[str, URL]]:
        """(import name, URL) of each file a schema imports, relative to its folder."""
        try:
            schema = load_yaml(text)
        except (yaml.YAMLError, TooDeep) as error:
            raise BadRequest(f'schema "{schema_url.text}" is not valid YAML: {error}') from None
        imports = schema.get("imports") if isinstance(schema, dict) else None
        if imports is None:
            return []
        if not isinstance(imports, list):
            raise BadRequest(f'schema "{schema_url.text}": "imports" must be a list')
        found = []
        for entry in imports:
            path = entry.get("path") if isinstance(entry, dict) else entry
            if not isinstance(path, str) or not path:
                raise BadRequest(
                    f'schema "{schema_url.text}": each import needs a "path", got {entry!r}'
                )
            name = entry.get("name") if isinstance(entry, dict) else None
            found.append((name or path, schema_url.join(path)))
        return found

    def _get(self, url: URL, what: str, optional: bool = False) -> str | None:
        """The text at `url`; None for a missing optional file."""
        limit = self.resolver.max_files
        if len(self.added) >= limit:
            raise BadRequest(
                f'URL templates need more than {limit} files (fetching {what} "{url.text}"); '
                f"the limit is {limit}"
            )
        fetcher = self.resolver.fetcher
        answer = fetcher.get(url)
        if answer.missing:
            if optional:
                return None
            raise fetcher.failed(url)
        try:
            return answer.body.decode("utf-8")
        except UnicodeDecodeError:
            raise fetcher.failed(url) from None


def _resource_types(content: str) -> list[Any]:
    """The `type` of each top-level resource of a configuration, in order, without repeats
    (none looked for in one that cannot name a URL)."""
    # A URL's "://" stands in the text, written out or escaped in a double-quoted
    # scalar: a configuration with neither (most, and a large one costs to parse) has
    # no URL type.
    if "://" not in content and "\\" not in content:
        return []
    try:
        config = load_yaml(content)
    except (yaml.YAMLError, TooDeep):
        return []
    resources = config.get("resources") if isinstance(config, dict) else None
    if not isinstance(resources, list):
        return []
    types = [item.get("type") for item in resources if isinstance(item, dict)]
    return list(dict.fromkeys(item for item in types if isinstance(item, str)))
