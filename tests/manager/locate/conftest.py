"""A DNS server on loopback that answers SRV questions, and a resolver that needs none."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import dns.message
import dns.rcode
import dns.rrset
import pytest

from manager.locate import SrvRecord


@dataclass
class StaticResolver:
    """Answers from dictionaries, and records what it was asked."""

    hosts: dict[str, list[str]] = field(default_factory=dict)
    services: dict[str, list[SrvRecord]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def addresses(self, host: str) -> list[str]:
        self.asked.append(host)
        return self.hosts.get(host, [])

    def srv(self, name: str) -> list[SrvRecord]:
        self.asked.append(name)
        return self.services.get(name, [])


class SrvServer:
    """A UDP DNS server on 127.0.0.1 answering SRV records from `records`."""

    def __init__(self):
        self.records: dict[str, list[str]] = {}
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                wire, client = self._socket.recvfrom(4096)
            except socket.timeout:
                continue
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            name = query.question[0].name.to_text()
            if name in self.records:
                response.answer.append(
                    dns.rrset.from_text_list(name, 30, "IN", "SRV", self.records[name])
                )
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self._socket.sendto(response.to_wire(), client)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._socket.close()


@pytest.fixture
def srv_server():
    server = SrvServer()
    yield server
    server.stop()
