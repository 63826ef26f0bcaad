"""Template URLs cannot reach internal servers: every attempt is refused before a request.

`target` stands for an internal service on 127.0.0.1 (the resourcifier, a cloud metadata
endpoint). `public_site` on 127.0.0.2 stands for a template server on the internet: the
resolvers here treat that one address as public, so redirects and schema imports can be
tried without an allow-list. Each attempt must be refused and `target` must see nothing.
"""

from __future__ import annotations

import pytest

from manager.models import Template
from manager.type_resolver import TypeResolver
from manager.url_fetch import Refused, is_public, parse_url

TEMPLATE = "resources:\n- name: x\n  type: ConfigMap\n"
NAME = "templates.test"


def config(url: str) -> Template:
    return Template(name="web", content=f"resources:\n- name: r\n  type: {url}\n")


def lookup_for(site):
    """A resolver that knows `templates.test` as the site's address, and nothing else."""

    def lookup(host: str, port: int):
        if host == NAME:
            return [site.url.split("//")[1].rsplit(":", 1)[0]]
        if host == "localhost":
            return ["127.0.0.1"]
        raise OSError("unknown host")

    return lookup


def open_resolver(site) -> TypeResolver:
    """No allow-list; only the public site's address counts as public."""
    return TypeResolver(timeout=2, lookup=lookup_for(site), public=lambda ip: ip == "127.0.0.2")


def listed_resolver(site) -> TypeResolver:
    """An allow-list naming only the template site, by name and port."""
    return TypeResolver(
        timeout=2, lookup=lookup_for(site), allowed_hosts={f"{NAME}:{site.port}"}
    )


def attacks(target, site) -> list[str]:
    """URLs that all lead, one way or another, to the internal target."""
    port = target.port
    path = "/t.jinja"
    return [
        f"http://127.0.0.1:{port}{path}",
        f"http://localhost:{port}{path}",
        f"http://2130706433:{port}{path}",
        f"http://0x7f000001:{port}{path}",
        f"http://0x7f.1:{port}{path}",
        f"http://127.1:{port}{path}",
        f"http://127.0.1:{port}{path}",
        f"http://0177.0.0.1:{port}{path}",
        f"http://127.0.0.01:{port}{path}",
        f"http://0.0.0.0:{port}{path}",
        f"http://[::1]:{port}{path}",
        f"http://[::ffff:127.0.0.1]:{port}{path}",
        f"http://[::ffff:7f00:1]:{port}{path}",
        f"http://127.0.0.1:{port}\\@{NAME}:{site.port}{path}",
        f"http://127.0.0.1:{port}\\{path}",
        f"http://{NAME}:{site.port}@127.0.0.1:{port}{path}",
        f"http://user:secret@127.0.0.1:{port}{path}",
        f"http://127.0.0.1:{port}%2F@{NAME}{path}",
        f"http://127.0.0.1:{port} {path}",
        f"HTTP://127.0.0.1:{port}{path}",
    ]


def serve_template(site) -> str:
    site.add("/t.jinja", TEMPLATE)
    return f"http://{NAME}:{site.port}/t.jinja"


def assert_refused(resolver: TypeResolver, template: Template, target) -> None:
    with pytest.raises(Refused, match=" refused: "):
        resolver.resolve(template)
    assert target.requested == []


@pytest.mark.parametrize("index", range(20))
@pytest.mark.parametrize("make_resolver", [open_resolver, listed_resolver])
def test_a_type_naming_an_internal_server_is_refused(index, make_resolver, public_site, target):
    target.add("/t.jinja", TEMPLATE)
    url = attacks(target, public_site)[index]
    assert_refused(make_resolver(public_site), config(url), target)


@pytest.mark.parametrize("index", range(20))
@pytest.mark.parametrize("make_resolver", [open_resolver, listed_resolver])
def test_a_redirect_to_an_internal_server_is_refused(index, make_resolver, public_site, target):
    target.add("/t.jinja", TEMPLATE)
    public_site.redirects["/t.jinja"] = attacks(target, public_site)[index]
    url = f"http://{NAME}:{public_site.port}/t.jinja"
    assert_refused(make_resolver(public_site), config(url), target)
    assert public_site.requested == ["/t.jinja"]


@pytest.mark.parametrize("index", range(20))
@pytest.mark.parametrize("make_resolver", [open_resolver, listed_resolver])
def test_a_schema_import_of_an_internal_server_is_refused(
    index, make_resolver, public_site, target
):
    target.add("/t.jinja", TEMPLATE)
    url = serve_template(public_site)
    loot = attacks(target, public_site)[index]
    public_site.add("/t.jinja.schema", f"imports:\n- path: '{loot}'\n  name: loot\n")
    assert_refused(make_resolver(public_site), config(url), target)


def test_the_resourcifier_secret_read_of_the_review_is_refused(public_site, target):
    target.add("/configurations/Secret/db-creds?namespace=prod", '{"data": {}}')
    url = serve_template(public_site)
    loot = f"http://127.0.0.1:{target.port}/configurations/Secret/db-creds?namespace=prod"
    public_site.add("/t.jinja.schema", f"imports:\n- path: '{loot}'\n  name: loot\n")

    with pytest.raises(Refused) as raised:
        open_resolver(public_site).resolve(config(url))

    assert raised.value.message == (
        f'template URL "{loot}" refused: host "127.0.0.1" is not a public address; '
        "list it in DM_TEMPLATE_URL_ALLOWED_HOSTS to allow it"
    )
    assert target.requested == []


def test_the_backslash_bypass_of_the_review_is_refused(public_site, target):
    url = f"http://127.0.0.1:{target.port}\\@localhost:{public_site.port}/t.jinja"
    resolver = TypeResolver(allowed_hosts={f"localhost:{public_site.port}"})

    with pytest.raises(Refused) as raised:
        resolver.resolve(config(url))

    assert raised.value.message == (
        f'template URL "{url}" refused: backslashes are not allowed'
    )
    assert target.requested == []


def test_a_name_resolving_to_a_public_and_a_private_address_is_refused(public_site, target):
    resolver = TypeResolver(
        lookup=lambda host, port: ["127.0.0.2", "127.0.0.1"],
        public=lambda ip: ip == "127.0.0.2",
    )
    with pytest.raises(Refused, match='host "mixed.test" is not a public address'):
        resolver.resolve(config(f"http://mixed.test:{target.port}/t.jinja"))
    assert target.requested == []


def test_each_fetch_resolves_its_name_once_and_connects_to_that_address(public_site, target):
    """A name that rebinds to the target between fetches is refused on the fetch that
    sees the internal address; no fetch resolves twice, so none connects to an address
    it did not check."""
    answers = iter([["127.0.0.2"], ["127.0.0.1"], ["127.0.0.2"]])
    asked = []

    def rebinding(host: str, port: int):
        asked.append(host)
        return next(answers)

    public_site.add("/t.jinja", TEMPLATE)
    target.add("/t.jinja.schema", "imports: []\n")
    url = f"http://rebind.test:{public_site.port}/t.jinja"
    resolver = TypeResolver(lookup=rebinding, public=lambda ip: ip == "127.0.0.2")

    with pytest.raises(Refused, match=f'"{url}.schema" refused'):
        resolver.resolve(config(url))

    assert asked == ["rebind.test", "rebind.test"]
    assert public_site.requested == ["/t.jinja"]
    assert public_site.hosts == [f"rebind.test:{public_site.port}"]
    assert target.requested == []


def test_an_allow_listed_name_is_fetched_from_its_checked_address_with_its_host_header(
    public_site,
):
    url = serve_template(public_site)
    resolved = listed_resolver(public_site).resolve(config(url))
    assert resolved.imports[0].content == TEMPLATE
    assert public_site.hosts == [f"{NAME}:{public_site.port}"] * 2


def test_failures_read_the_same_whatever_answered(site):
    """A closed port, a 404, a 500-like refusal to serve and a timeout are not told apart."""
    site.add("/slow.jinja", TEMPLATE)
    site.delays["/slow.jinja"] = 3
    resolver = TypeResolver(timeout=1, allowed_hosts={"127.0.0.1"})
    messages = []
    for url in (
        "http://127.0.0.1:1/t.jinja",
        site.url + "/missing.jinja",
        site.url + "/slow.jinja",
    ):
        with pytest.raises(Exception) as raised:
            resolver.resolve(config(url))
        messages.append(raised.value.message.replace(url, "URL"))
    assert messages == [
        'could not fetch "URL" (it must answer 200 with at most 1048576 bytes within 1 s)'
    ] * 3


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
        "224.0.0.1", "0.0.0.0", "100.64.0.1", "240.0.0.1", "255.255.255.255",
        "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:10.0.0.1",
    ],
)
def test_non_public_addresses_are_not_public(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"])
def test_internet_addresses_are_public(address):
    assert is_public(address)


@pytest.mark.parametrize(
    "url, host, port, target",
    [
        ("http://Example.org/a/b.jinja?x=1#frag", "example.org", 80, "/a/b.jinja?x=1"),
        ("https://example.org:8443", "example.org", 8443, "/"),
        ("http://[2001:db8::1]:8080/t.py", "2001:db8::1", 8080, "/t.py"),
        ("http://93.184.216.34/t.py", "93.184.216.34", 80, "/t.py"),
    ],
)
def test_canonical_urls_parse_to_what_is_connected(url, host, port, target):
    parsed = parse_url(url)
    assert (parsed.host, parsed.port, parsed.target) == (host, port, target)
