"""Fetching templates named by URL (docs/state.md, "Templates named by URL").

A resource whose `type` is an `http(s)://` URL names a template on a web server. Before
expansion the manager downloads it, its schema `<url>.schema` when the server has one,
and the files that schema imports, and adds them all to the request's imports; the
expander then treats the URL like any other imported template (`type == import name`).

Everything fetched here was named by the user, so every failure is the user's to fix:
a 400 that names the URL and says what went wrong.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
import yaml

from dmcommon.documents import TooDeep, load_yaml
from dmcommon.errors import BadRequest
from manager.models import ImportFile, Template

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_FILES = 100
MAX_REDIRECTS = 5
TEMPLATE_EXTENSIONS = (".py", ".jinja", ".jinja2")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class _Missing(Exception):
    """The server answered 404 for an optional file (a schema)."""


def is_url(text: Any) -> bool:
    """True when `text` looks like an absolute URL (`scheme://...`) of any scheme."""
    return isinstance(text, str) and bool(_URL.match(text))


def parse_allowed_hosts(text: str | None) -> set[str] | None:
    """`DM_TEMPLATE_URL_ALLOWED_HOSTS` (comma-separated) as a set; None allows any host."""
    if not text or not text.strip():
        return None
    return {item.strip().lower() for item in text.split(",") if item.strip()}


class TypeResolver:
    """Turns URL types of a configuration into imports, within time, size and count limits.

    `timeout` bounds each file (connecting and the whole download); `max_bytes` each
    file's size; `max_files` how many files one request may fetch; `allowed_hosts`,
    when given, the hosts (`name` or `name:port`) URLs may name, redirects included.
    """

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_files: int = DEFAULT_MAX_FILES,
        allowed_hosts: set[str] | None = None,
    ):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.allowed_hosts = {host.lower() for host in allowed_hosts} if allowed_hosts else None

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
        with requests.Session() as session:
            fetch.session = session
            for url in urls:
                fetch.template(url, url)
        return Template(
            name=template.name,
            content=template.content,
            imports=[*template.imports, *fetch.added],
            namespace=template.namespace,
        )

    def check_url(self, url: str) -> None:
        """`BadRequest` unless `url` is http(s) on an allowed host."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise BadRequest(
                f'template URL "{url}": only http and https URLs can be fetched'
            )
        if not parts.hostname:
            raise BadRequest(f'template URL "{url}" names no host')
        if self.allowed_hosts is not None:
            host = parts.hostname.lower()
            candidates = {host} if parts.port is None else {host, f"{host}:{parts.port}"}
            if not candidates & self.allowed_hosts:
                allowed = ", ".join(sorted(self.allowed_hosts))
                raise BadRequest(
                    f'template URL "{url}": host "{host}" is not allowed (allowed: {allowed})'
                )


@dataclass
class _Fetch:
    """The state of one `resolve` call: what is imported already, and the file count."""

    resolver: TypeResolver
    names: set[str]
    added: list[ImportFile] = field(default_factory=list)
    session: requests.Session | None = None

    def template(self, name: str, url: str, with_schema: bool = True) -> None:
        """Import the file at `url` as `name`; `with_schema`: its schema and imports too."""
        if name in self.names:
            return
        self._add(name, url, self._get(url, what="template" if with_schema else "import"))
        if not with_schema:
            return
        schema_url = url + ".schema"
        try:
            schema_text = self._get(schema_url, what="schema", optional=True)
        except _Missing:
            return
        self._add(name + ".schema", schema_url, schema_text)
        for import_name, import_url in self._schema_imports(schema_url, schema_text):
            # An imported template may have a schema of its own; a helper file has none.
            is_template = urlsplit(import_url).path.lower().endswith(TEMPLATE_EXTENSIONS)
            self.template(import_name, import_url, with_schema=is_template)

    def _add(self, name: str, url: str, content: str) -> None:
        self.names.add(name)
        self.added.append(ImportFile(name=name, path=url, content=content))

    def _schema_imports(self, schema_url: str, text: str) -> Iterable[tuple[str, str]]:
        """(import name, URL) of each file a schema imports, relative to its folder."""
        try:
            schema = load_yaml(text)
        except (yaml.YAMLError, TooDeep) as error:
            raise BadRequest(f'schema "{schema_url}" is not valid YAML: {error}') from None
        imports = schema.get("imports") if isinstance(schema, dict) else None
        if imports is None:
            return []
        if not isinstance(imports, list):
            raise BadRequest(f'schema "{schema_url}": "imports" must be a list')
        found = []
        for entry in imports:
            path = entry.get("path") if isinstance(entry, dict) else entry
            if not isinstance(path, str) or not path:
                raise BadRequest(
                    f'schema "{schema_url}": each import needs a "path", got {entry!r}'
                )
            name = entry.get("name") if isinstance(entry, dict) else None
            found.append((name or path, urljoin(schema_url, path)))
        return found

    def _get(self, url: str, what: str, optional: bool = False) -> str:
        """The text at `url`, following redirects that stay within the rules."""
        limits = self.resolver
        if len(self.added) >= limits.max_files:
            raise BadRequest(
                f"URL templates need more than {limits.max_files} files (fetching {what} "
                f'"{url}"); the limit is {limits.max_files}'
            )
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            limits.check_url(current)
            response = self._request(url, current, what)
            with response:
                if response.is_redirect:
                    location = response.headers.get("Location", "")
                    current = urljoin(current, location)
                    continue
                if response.status_code == 404 and optional:
                    raise _Missing(url)
                if response.status_code != 200:
                    raise BadRequest(
                        f'cannot fetch {what} "{url}": HTTP {response.status_code} '
                        f"{response.reason or ''}".rstrip()
                    )
                return self._read(url, what, response)
        raise BadRequest(f'cannot fetch {what} "{url}": more than {MAX_REDIRECTS} redirects')

    def _request(self, url: str, current: str, what: str) -> requests.Response:
        assert self.session is not None
        try:
            return self.session.get(
                current, stream=True, allow_redirects=False, timeout=self.resolver.timeout
            )
        except requests.Timeout:
            raise self._timed_out(url, what) from None
        except requests.RequestException as error:
            raise BadRequest(
                f'cannot fetch {what} "{url}": {type(error).__name__}: {_reason(error)}'
            ) from None

    def _read(self, url: str, what: str, response: requests.Response) -> str:
        limits = self.resolver
        too_large = BadRequest(
            f'cannot fetch {what} "{url}": larger than the limit of {limits.max_bytes} bytes'
        )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise too_large
        # The socket timeout bounds each read; the deadline bounds a server that trickles,
        # which `read1` (return what has arrived, not a full chunk) lets us notice.
        deadline = time.monotonic() + limits.timeout
        body = bytearray()
        try:
            while chunk := response.raw.read1(65536, decode_content=True):
                body.extend(chunk)
                if len(body) > limits.max_bytes:
                    raise too_large
                if time.monotonic() > deadline:
                    raise self._timed_out(url, what)
        except urllib3.exceptions.ReadTimeoutError:
            raise self._timed_out(url, what) from None
        except urllib3.exceptions.HTTPError as error:
            raise BadRequest(
                f'cannot fetch {what} "{url}": {type(error).__name__}: {_reason(error)}'
            ) from None
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f'cannot fetch {what} "{url}": the file is not UTF-8 text') from None

    def _timed_out(self, url: str, what: str) -> BadRequest:
        return BadRequest(
            f'cannot fetch {what} "{url}": no complete answer within {self.resolver.timeout:g} s'
        )


def _resource_types(content: str) -> list[Any]:
    """The `type` of each top-level resource of a configuration, in order, without repeats."""
    try:
        config = load_yaml(content)
    except (yaml.YAMLError, TooDeep):
        return []
    resources = config.get("resources") if isinstance(config, dict) else None
    if not isinstance(resources, list):
        return []
    types = [item.get("type") for item in resources if isinstance(item, dict)]
    return list(dict.fromkeys(item for item in types if isinstance(item, str)))


def _reason(error: Exception) -> str:
    """The innermost cause of a requests error, which says what actually failed."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
