"""Service discovery: explicit URL, Kubernetes variables, DNS names and SRV ports."""

from __future__ import annotations

import pytest

from dmcommon.errors import ServiceUnavailable
from manager.locate import (
    DnsResolver,
    ServiceLocator,
    ServiceNotFound,
    SrvRecord,
    discover_service_url,
)
from tests.manager.locate.conftest import StaticResolver

K8S_ENV = {"EXPANDER_SERVICE_SERVICE_HOST": "10.0.0.7", "EXPANDER_SERVICE_SERVICE_PORT": "9000"}


def test_explicit_url_wins_over_everything():
    resolver = StaticResolver(hosts={"expander-service": ["10.1.1.1"]})

    url = discover_service_url("expander-service", "http://exp:1234/", 8081, K8S_ENV, resolver)

    assert url == "http://exp:1234"
    assert resolver.asked == []


def test_kubernetes_service_variables_come_next():
    resolver = StaticResolver(hosts={"expander-service": ["10.1.1.1"]})

    assert discover_service_url("expander-service", None, 8081, K8S_ENV, resolver) == (
        "http://10.0.0.7:9000"
    )
    assert resolver.asked == []


def test_kubernetes_host_without_port_uses_the_default_port():
    env = {"RESOURCIFIER_SERVICE_SERVICE_HOST": "10.0.0.9"}
    url = discover_service_url("resourcifier-service", None, 8082, env, StaticResolver())
    assert url == "http://10.0.0.9:8082"


def test_kubernetes_ipv6_host_is_bracketed():
    env = {"EXPANDER_SERVICE_SERVICE_HOST": "fd00::7", "EXPANDER_SERVICE_SERVICE_PORT": "8081"}
    url = discover_service_url("expander-service", None, 8081, env, StaticResolver())
    assert url == "http://[fd00::7]:8081"


def test_resolving_name_keeps_the_name_and_the_default_port():
    resolver = StaticResolver(hosts={"expander-service": ["172.18.0.4"]})
    url = discover_service_url("expander-service", None, 8081, {}, resolver)
    assert url == "http://expander-service:8081"


def test_srv_record_gives_the_port():
    resolver = StaticResolver(
        hosts={"expander-service": ["172.18.0.4"]},
        services={
            "_http._tcp.expander-service": [
                SrvRecord(10, 5, 7000, "a.example"),
                SrvRecord(0, 1, 6000, "b.example"),
                SrvRecord(0, 9, 6500, "c.example"),
            ]
        },
    )
    url = discover_service_url("expander-service", None, 8081, {}, resolver)
    assert url == "http://expander-service:6500"


def test_srv_record_alone_names_its_target():
    resolver = StaticResolver(
        services={"_http._tcp.expander-service": [SrvRecord(0, 1, 6000, "exp.internal")]}
    )
    url = discover_service_url("expander-service", None, 8081, {}, resolver)
    assert url == "http://exp.internal:6000"


def test_nothing_resolves_says_what_was_tried():
    with pytest.raises(ServiceNotFound) as raised:
        discover_service_url("resourcifier-service", None, 8082, {}, StaticResolver())

    assert isinstance(raised.value, ServiceUnavailable)
    assert raised.value.message == (
        'cannot find the service "resourcifier-service": no DM_RESOURCIFIER_URL given, no '
        "RESOURCIFIER_SERVICE_SERVICE_HOST in the environment, the name does not resolve "
        "(A/AAAA) and there is no SRV record _http._tcp.resourcifier-service"
    )


def test_real_resolution_of_localhost_keeps_the_name(srv_server):
    resolver = DnsResolver(nameservers=["127.0.0.1"], port=srv_server.port, timeout=2)

    assert "127.0.0.1" in resolver.addresses("localhost")
    assert discover_service_url("localhost", None, 8081, {}, resolver) == "http://localhost:8081"


def test_real_srv_answer_from_a_dns_server(srv_server):
    srv_server.records["_http._tcp.localhost."] = ["1 1 9090 localhost."]
    resolver = DnsResolver(nameservers=["127.0.0.1"], port=srv_server.port, timeout=2)

    assert resolver.srv("_http._tcp.localhost") == [SrvRecord(1, 1, 9090, "localhost")]
    assert discover_service_url("localhost", None, 8081, {}, resolver) == "http://localhost:9090"


def test_missing_srv_record_is_no_record(srv_server):
    resolver = DnsResolver(nameservers=["127.0.0.1"], port=srv_server.port, timeout=2)

    assert resolver.srv("_http._tcp.no-such-service") == []


def test_unreachable_dns_server_means_no_srv_records():
    resolver = DnsResolver(nameservers=["127.0.0.1"], port=1, timeout=0.5)
    assert resolver.srv("_http._tcp.localhost") == []


def test_locator_retries_until_found_then_remembers():
    resolver = StaticResolver()
    locator = ServiceLocator("expander-service", environ={}, resolver=resolver)

    with pytest.raises(ServiceNotFound):
        locator.url()
    resolver.hosts["expander-service"] = ["172.18.0.4"]
    assert locator.url() == "http://expander-service:8081"
    resolver.hosts.clear()
    assert locator.url() == "http://expander-service:8081"


def test_locator_prefers_an_explicit_url():
    locator = ServiceLocator("expander-service", "http://127.0.0.1:5000", environ={})
    assert locator.url() == "http://127.0.0.1:5000"


def test_locator_uses_the_service_default_port():
    resolver = StaticResolver(hosts={"resourcifier-service": ["172.18.0.5"]})
    assert ServiceLocator("resourcifier-service", environ={}, resolver=resolver).url() == (
        "http://resourcifier-service:8082"
    )
