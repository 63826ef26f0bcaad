"""Finding the expander and the resourcifier (docs/discovery.md).

Order: an explicit URL; the Kubernetes service environment variables
(`EXPANDER_SERVICE_SERVICE_HOST` / `_PORT` for `expander-service`); DNS, where the
service name must resolve (A/AAAA) and an SRV record `_http._tcp.<name>`, when there is
one, gives the port. A URL found through DNS keeps the host *name*, so later address
changes are followed by every request.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

import dns.exception
import dns.rdatatype
import dns.resolver

from dmcommon.errors import ServiceUnavailable

EXPANDER_SERVICE = "expander-service"
RESOURCIFIER_SERVICE = "resourcifier-service"
DEFAULT_PORTS = {EXPANDER_SERVICE: 8081, RESOURCIFIER_SERVICE: 8082}


class ServiceNotFound(ServiceUnavailable):
    """No way of reaching a service worked; the message lists what was tried."""


@dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str


class Resolver(Protocol):
    """What discovery asks of DNS; tests pass their own."""

    def addresses(self, host: str) -> list[str]:
        """A/AAAA addresses of `host`; empty when it does not resolve."""

    def srv(self, name: str) -> list[SrvRecord]:
        """SRV records of `name`; empty when there are none."""


class DnsResolver:
    """The system resolver for addresses (hosts file included); dnspython for SRV."""

    def __init__(
        self, nameservers: Sequence[str] | None = None, port: int = 53, timeout: float = 2.0
    ):
        self._nameservers = list(nameservers) if nameservers else None
        self._port = port
        self._timeout = timeout

    def addresses(self, host: str) -> list[str]:
        try:
            found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return []
        return sorted({str(info[4][0]) for info in found})

    def srv(self, name: str) -> list[SrvRecord]:
        try:
            resolver = dns.resolver.Resolver(configure=self._nameservers is None)
            if self._nameservers is not None:
                resolver.nameservers = self._nameservers
            resolver.port = self._port
            answer = resolver.resolve(name, dns.rdatatype.SRV, lifetime=self._timeout)
        except dns.exception.DNSException:
            return []
        return [
            SrvRecord(item.priority, item.weight, item.port, item.target.to_text(True))
            for item in answer
        ]


def discover_service_url(
    service_name: str,
    explicit_url: str | None,
    default_port: int,
    environ: Mapping[str, str] = os.environ,
    resolver: Resolver | None = None,
) -> str:
    """The base URL (no trailing slash) of `service_name`, e.g. `http://expander-service:8081`.

    Raises `ServiceNotFound` (a 503) saying what was tried when nothing works.
    """
    if explicit_url:
        return explicit_url.rstrip("/")
    prefix = service_name.upper().replace("-", "_")
    host = environ.get(f"{prefix}_SERVICE_HOST", "").strip()
    if host:
        port = environ.get(f"{prefix}_SERVICE_PORT", "").strip() or str(default_port)
        return f"http://{_url_host(host)}:{port}"
    resolver = resolver or DnsResolver()
    srv_name = f"_http._tcp.{service_name}"
    records = sorted(resolver.srv(srv_name), key=lambda item: (item.priority, -item.weight))
    if resolver.addresses(service_name):
        port = records[0].port if records else default_port
        return f"http://{service_name}:{port}"
    if records:
        return f"http://{records[0].target}:{records[0].port}"
    setting = "DM_" + service_name.removesuffix("-service").upper().replace("-", "_") + "_URL"
    raise ServiceNotFound(
        f'cannot find the service "{service_name}": no {setting} given, no '
        f"{prefix}_SERVICE_HOST in the environment, the name does not resolve (A/AAAA) "
        f"and there is no SRV record {srv_name}"
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class ServiceLocator:
    """Finds a service on first use and remembers it; retries on each use until found.

    A manager started before its downstream services exist becomes usable (and ready)
    as soon as discovery succeeds, without a restart.
    """

    def __init__(
        self,
        service_name: str,
        explicit_url: str | None = None,
        default_port: int | None = None,
        environ: Mapping[str, str] = os.environ,
        resolver: Resolver | None = None,
    ):
        self.service_name = service_name
        self._explicit_url = explicit_url
        self._default_port = default_port or DEFAULT_PORTS[service_name]
        self._environ = environ
        self._resolver = resolver
        self._url: str | None = None
        self._lock = threading.Lock()

    def url(self) -> str:
        """The service's base URL; `ServiceNotFound` while discovery fails."""
        with self._lock:
            if self._url is None:
                self._url = discover_service_url(
                    self.service_name,
                    self._explicit_url,
                    self._default_port,
                    self._environ,
                    self._resolver,
                )
            return self._url
