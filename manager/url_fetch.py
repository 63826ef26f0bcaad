"""Fetching one file by URL with the rules of DESIGN §7, parsed by the code that connects.

The URL is read once, strictly, by `parse_url`; the connection goes to the address that
`Fetcher` resolved and checked for that parse, never to one a second parser or a second
DNS answer chose. Refused: schemes other than http(s), backslashes, user-info, spaces
and other characters outside the URL grammar, and hosts in a form resolvers read in
several ways (`2130706433`, `0x7f.1`, `127.1`, `0177.0.0.1`). An address that is not
public (loopback, private, link-local, multicast, unspecified, reserved) is refused
unless the host is on the allow-list. Every redirect goes through the same checks.

Failures say "refused" (the rules forbid the URL) or "could not fetch" (anything else),
never which: a closed port, a status and a timeout read the same.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from typing import Callable, Iterable
from urllib.parse import urljoin

import urllib3

from dmcommon.errors import BadRequest

MAX_REDIRECTS = 5
_SCHEMES = {"http": 80, "https": 443}
# RFC 3986 characters outside the authority; `%` only as the start of an escape.
_PATH_QUERY = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_CANONICAL_OCTET = re.compile(r"^(?:0|[1-9][0-9]{0,2})$")

Lookup = Callable[[str, int], Iterable[str]]


class Refused(BadRequest):
    """The rules forbid fetching this URL; nothing was sent."""


@dataclass(frozen=True)
class URL:
    """A URL as `parse_url` read it: the only reading the connection uses."""

    text: str
    scheme: str
    host: str  # lower case; an IPv6 address without brackets
    port: int
    explicit_port: bool
    target: str  # path and query, as sent on the request line

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.explicit_port else host

    def join(self, reference: str) -> URL:
        """The URL `reference` names relative to this one, parsed by the same rules."""
        return parse_url(urljoin(self.text, reference))


_ANY_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(text: object) -> bool:
    """True when `text` looks like an absolute URL (`scheme://...`) of any scheme."""
    return isinstance(text, str) and bool(_ANY_SCHEME.match(text))


def parse_url(text: str) -> URL:
    """`text` read strictly as an http(s) URL; `Refused` for anything else or ambiguous."""

    def refuse(why: str) -> Refused:
        return Refused(f'template URL "{text}" refused: {why}')

    if not text.isascii() or any(ch.isspace() or ord(ch) < 32 or ch == "\x7f" for ch in text):
        raise refuse("it may hold only printable ASCII without spaces")
    if "\\" in text:
        raise refuse("backslashes are not allowed")
    scheme, separator, rest = text.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in _SCHEMES:
        raise refuse("only http and https URLs can be fetched")
    rest = rest.partition("#")[0]
    split = min((rest.find(ch) for ch in "/?" if ch in rest), default=len(rest))
    authority, target = rest[:split], rest[split:]
    if "@" in authority:
        raise refuse("user information (user@host) is not allowed")
    if target.startswith("?"):
        target = "/" + target
    if not _PATH_QUERY.match(target):
        raise refuse("its path holds characters that must be percent-encoded")
    host, port_text = _split_port(authority, refuse)
    port = _SCHEMES[scheme]
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536 or port_text[0] == "0":
            raise refuse(f'port "{port_text}" is not a port number')
        port = int(port_text)
    return URL(
        text=text,
        scheme=scheme,
        host=_canonical_host(host, refuse),
        port=port,
        explicit_port=port_text is not None,
        target=target or "/",
    )


def _split_port(authority: str, refuse) -> tuple[str, str | None]:
    if authority.startswith("["):
        host, bracket, after = authority[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise refuse("its IPv6 address is not closed by ']'")
        return "[" + host + "]", after[1:] if after else None
    host, colon, port = authority.partition(":")
    return host, port if colon else None


def _canonical_host(host: str, refuse) -> str:
    """The host in lower case, when it has one meaning only."""
    if host.startswith("["):
        try:
            return str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            raise refuse(f'"{host}" is not an IPv6 address') from None
    host = host.lower()
    if not host:
        raise refuse("it names no host")
    labels = host.split(".")
    # A name whose last label is a number is read as an IPv4 address by browsers and
    # by inet_aton (which accepts 127.1, 0x7f.1, 2130706433): only the dotted quad is.
    if _NUMERIC_LABEL.match(labels[-1]):
        if len(labels) != 4 or not all(_CANONICAL_OCTET.match(label) for label in labels):
            raise refuse(f'host "{host}" is not written as a dotted-quad IPv4 address')
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise refuse(f'host "{host}" is not an IPv4 address') from None
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise refuse(f'host "{host}" is not a valid host name')
    return host


def is_public(address: str) -> bool:
    """True for an address on the public internet (not loopback, private, multicast...)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def system_lookup(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the system resolver's order."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in answers))


class Answer:
    """A fetched file's bytes, or a 404 (kept apart: a missing schema is allowed)."""

    def __init__(self, body: bytes | None):
        self.body = body

    @property
    def missing(self) -> bool:
        return self.body is None


class Fetcher:
    """GETs one URL at a time under the rules above.

    `allowed_hosts`: `name` or `name:port` entries; when given, only those hosts, and
    they may be on any address. `lookup` resolves a host and `public` tells a public
    address (tests pass their own).
    """

    def __init__(
        self,
        timeout: float,
        max_bytes: int,
        allowed_hosts: set[str] | None = None,
        lookup: Lookup = system_lookup,
        public: Callable[[str], bool] = is_public,
    ):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allowed_hosts = allowed_hosts
        self.lookup = lookup
        self.public = public

    def get(self, url: URL) -> Answer:
        """The body at `url` (a 200), or a missing Answer (a 404), following redirects."""
        for _ in range(MAX_REDIRECTS + 1):
            with self._pool(url, self._checked_address(url)) as pool:
                response = self._send(pool, url)
                try:
                    if response.status in (301, 302, 303, 307, 308):
                        url = url.join(response.headers.get("Location", ""))
                        continue
                    if response.status == 404:
                        return Answer(None)
                    if response.status != 200:
                        raise self.failed(url)
                    return Answer(self._read(url, response))
                finally:
                    response.release_conn()
        raise self.failed(url)

    def failed(self, url: URL) -> BadRequest:
        return BadRequest(
            f'could not fetch "{url.text}" (it must answer 200 with at most '
            f"{self.max_bytes} bytes within {self.timeout:g} s)"
        )

    def _checked_address(self, url: URL) -> str:
        """The address to connect to for `url`, resolved once; `Refused` when forbidden."""
        allowed = self._allowed(url)
        try:
            addresses = [url.host] if _is_address(url.host) else list(
                self.lookup(url.host, url.port)
            )
        except OSError:
            raise self.failed(url) from None
        if not addresses:
            raise self.failed(url)
        if not allowed and not all(self.public(address) for address in addresses):
            raise Refused(
                f'template URL "{url.text}" refused: host "{url.host}" is not a public '
                "address; list it in DM_TEMPLATE_URL_ALLOWED_HOSTS to allow it"
            )
        return addresses[0]

    def _allowed(self, url: URL) -> bool:
        """True when the allow-list names the host; `Refused` when it exists and does not."""
        if self.allowed_hosts is None:
            return False
        host = f"[{url.host}]" if ":" in url.host else url.host
        if {host, f"{host}:{url.port}"} & self.allowed_hosts:
            return True
        allowed = ", ".join(sorted(self.allowed_hosts))
        raise Refused(
            f'template URL "{url.text}" refused: host "{url.host}" is not allowed '
            f"(allowed: {allowed})"
        )

    def _pool(self, url: URL, address: str) -> urllib3.HTTPConnectionPool:
        """A connection pool to `address` that speaks for `url` (TLS name checked)."""
        timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        options = dict(port=url.port, timeout=timeout, retries=False, maxsize=1)
        if url.scheme == "https":
            return urllib3.HTTPSConnectionPool(
                address,
                server_hostname=url.host,
                assert_hostname=url.host,
                cert_reqs="CERT_REQUIRED",
                **options,
            )
        return urllib3.HTTPConnectionPool(address, **options)

    def _send(self, pool: urllib3.HTTPConnectionPool, url: URL) -> urllib3.BaseHTTPResponse:
        """GET `url` through `pool`, with the Host header of `url`."""
        try:
            return pool.urlopen(
                "GET",
                url.target,
                headers={"Host": url.host_header, "Accept": "*/*"},
                redirect=False,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError:
            raise self.failed(url) from None

    def _read(self, url: URL, response: urllib3.BaseHTTPResponse) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self.failed(url)
        # The socket timeout bounds each read; the deadline bounds a server that trickles,
        # which `read1` (return what has arrived, not a full chunk) lets us notice.
        deadline = time.monotonic() + self.timeout
        body = bytearray()
        try:
            while chunk := response.read1(65536):
                body.extend(chunk)
                if len(body) > self.max_bytes or time.monotonic() > deadline:
                    raise self.failed(url)
        except urllib3.exceptions.HTTPError:
            raise self.failed(url) from None
        return bytes(body)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
