"""Templates named by URL become imports, within the scheme, host, size, count and time rules."""

from __future__ import annotations

import time

import pytest

from dmcommon.errors import BadRequest
from manager.models import ImportFile, Template
from manager.type_resolver import TypeResolver, parse_allowed_hosts

TEMPLATE = "resources:\n- name: x\n  type: ConfigMap\n"


def local(**limits) -> TypeResolver:
    """A resolver that may fetch from the test's server on the loopback address."""
    return TypeResolver(allowed_hosts={"127.0.0.1"}, **limits)


def config(*types: str) -> Template:
    resources = "".join(f"- name: r{index}\n  type: {kind}\n" for index, kind in enumerate(types))
    return Template(name="web", content="resources:\n" + resources)


def imports_of(template: Template) -> dict[str, str]:
    return {item.name: item.path for item in template.imports}


def test_template_its_schema_and_the_schema_imports_become_imports(site):
    url = site.add("/t/app.jinja", TEMPLATE)
    site.add(
        "/t/app.jinja.schema",
        "imports:\n- path: helpers/common.jinja\n- path: ../shared/db.py\n  name: db.py\n",
    )
    site.add("/t/helpers/common.jinja", "{% macro x() %}{% endmacro %}")
    site.add("/shared/db.py", "def GenerateConfig(context):\n    return {}\n")

    resolved = local().resolve(config(url, "ConfigMap"))

    assert imports_of(resolved) == {
        url: url,
        url + ".schema": url + ".schema",
        "helpers/common.jinja": site.url + "/t/helpers/common.jinja",
        "db.py": site.url + "/shared/db.py",
    }
    contents = {item.name: item.content for item in resolved.imports}
    assert contents[url] == TEMPLATE
    assert contents["db.py"].startswith("def GenerateConfig")
    assert resolved.content == config(url, "ConfigMap").content


def test_imported_template_brings_its_own_schema_and_imports(site):
    url = site.add("/a/outer.py", "x")
    site.add("/a/outer.py.schema", f"imports:\n- path: {site.url}/b/inner.jinja\n")
    site.add("/b/inner.jinja", "y")
    site.add("/b/inner.jinja.schema", "imports:\n- path: lib/macros.jinja\n")
    site.add("/b/lib/macros.jinja", "z")

    resolved = local().resolve(config(url))

    inner = f"{site.url}/b/inner.jinja"
    assert imports_of(resolved) == {
        url: url,
        url + ".schema": url + ".schema",
        inner: inner,
        inner + ".schema": inner + ".schema",
        "lib/macros.jinja": site.url + "/b/lib/macros.jinja",
    }


def test_missing_schema_is_fine(site):
    url = site.add("/app.py", "def GenerateConfig(context):\n    return {}\n")

    resolved = local().resolve(config(url))

    assert imports_of(resolved) == {url: url}
    assert site.requested == ["/app.py", "/app.py.schema"]


def test_existing_imports_are_kept_and_not_fetched_again(site):
    url = site.url + "/app.py"
    template = config(url)
    template.imports = [ImportFile(name=url, content="bundled")]

    assert local().resolve(template) == template
    assert site.requested == []


def test_configuration_without_url_types_is_returned_as_is(site):
    template = config("ConfigMap", "app.py")
    assert local().resolve(template) is template


def test_a_url_type_written_with_escapes_is_fetched_too(site):
    url = site.add("/app.py", "def GenerateConfig(context):\n    return {}\n")
    escaped = url.replace("://", "\\x3a\\/\\/")
    assert "://" not in escaped
    resolved = local().resolve(config(f'"{escaped}"'))
    assert imports_of(resolved) == {url: url}


def test_configuration_that_does_not_parse_is_left_to_the_expander():
    template = Template(name="web", content="resources: [\n")
    assert local().resolve(template) is template


def test_template_not_found_is_a_bad_request_naming_the_url(site):
    url = site.url + "/nope.jinja"
    with pytest.raises(BadRequest) as raised:
        local().resolve(config(url))
    assert raised.value.message == (
        f'could not fetch "{url}" (it must answer 200 with at most 1048576 bytes within 10 s)'
    )


def test_missing_schema_import_is_a_bad_request(site):
    url = site.add("/app.jinja", TEMPLATE)
    site.add("/app.jinja.schema", "imports:\n- path: gone.jinja\n")
    missing = f"{site.url}/gone.jinja"
    with pytest.raises(BadRequest, match=f'could not fetch "{missing}"'):
        local().resolve(config(url))


def test_non_http_scheme_is_rejected():
    with pytest.raises(BadRequest) as raised:
        local().resolve(config("ftp://example.org/app.jinja"))
    assert raised.value.message == (
        'template URL "ftp://example.org/app.jinja" refused: '
        "only http and https URLs can be fetched"
    )


def test_schema_importing_a_local_file_is_rejected(site):
    url = site.add("/app.jinja", TEMPLATE)
    site.add("/app.jinja.schema", "imports:\n- path: file:///etc/passwd\n")
    with pytest.raises(BadRequest, match='"file:///etc/passwd" refused: only http and https'):
        local().resolve(config(url))


def test_redirect_to_another_scheme_is_rejected(site):
    site.redirects["/app.jinja"] = "file:///etc/passwd"
    with pytest.raises(BadRequest, match='"file:///etc/passwd" refused: only http and https'):
        local().resolve(config(site.url + "/app.jinja"))


def test_redirect_within_the_rules_is_followed(site):
    site.redirects["/old.jinja"] = "/new.jinja"
    site.add("/new.jinja", TEMPLATE)

    resolved = local().resolve(config(site.url + "/old.jinja"))

    assert resolved.imports[0].content == TEMPLATE
    assert resolved.imports[0].name == site.url + "/old.jinja"


def test_redirect_loop_is_a_bad_request(site):
    site.redirects["/loop.jinja"] = "/loop.jinja"
    with pytest.raises(BadRequest, match="could not fetch"):
        local().resolve(config(site.url + "/loop.jinja"))


def test_host_outside_the_allow_list_is_rejected_without_a_request(site):
    url = site.add("/app.jinja", TEMPLATE)
    resolver = TypeResolver(allowed_hosts={"templates.example.org"})

    with pytest.raises(BadRequest) as raised:
        resolver.resolve(config(url))

    assert raised.value.message == (
        f'template URL "{url}" refused: host "127.0.0.1" is not allowed '
        "(allowed: templates.example.org)"
    )
    assert site.requested == []


def test_allowed_host_may_name_a_port(site):
    url = site.add("/app.jinja", TEMPLATE)
    port = site.url.rsplit(":", 1)[1]
    resolver = TypeResolver(allowed_hosts={f"127.0.0.1:{port}"})
    assert imports_of(resolver.resolve(config(url))) == {url: url}


def test_redirect_to_a_host_outside_the_allow_list_is_rejected(site):
    site.redirects["/app.jinja"] = "http://elsewhere.example/app.jinja"
    resolver = TypeResolver(allowed_hosts={"127.0.0.1"})
    with pytest.raises(BadRequest, match='host "elsewhere.example" is not allowed'):
        resolver.resolve(config(site.url + "/app.jinja"))


def test_file_larger_than_the_limit_is_rejected(site):
    url = site.add("/big.jinja", "x" * 2000)
    with pytest.raises(BadRequest) as raised:
        local(max_bytes=1000).resolve(config(url))
    assert raised.value.message == (
        f'could not fetch "{url}" (it must answer 200 with at most 1000 bytes within 10 s)'
    )


def test_file_larger_than_the_limit_without_a_declared_length_is_rejected(site):
    url = site.add("/big.jinja", "x" * 200_000)
    site.undeclared.add("/big.jinja")
    with pytest.raises(BadRequest, match="at most 100000 bytes"):
        local(max_bytes=100_000).resolve(config(url))


def test_too_many_files_is_rejected(site):
    urls = [site.add(f"/t{index}.jinja", TEMPLATE) for index in range(3)]
    with pytest.raises(BadRequest) as raised:
        local(max_files=2).resolve(config(*urls))
    assert raised.value.message.startswith("URL templates need more than 2 files")
    assert "the limit is 2" in raised.value.message


def test_slow_server_times_out_promptly(site):
    url = site.add("/slow.jinja", TEMPLATE)
    site.delays["/slow.jinja"] = 3
    started = time.monotonic()

    with pytest.raises(BadRequest) as raised:
        local(timeout=0.5).resolve(config(url))

    assert raised.value.message == (
        f'could not fetch "{url}" (it must answer 200 with at most 1048576 bytes within 0.5 s)'
    )
    assert time.monotonic() - started < 2


def test_trickling_server_times_out_promptly(site):
    url = site.add("/drip.jinja", "x" * 100)
    site.trickles["/drip.jinja"] = 0.1
    started = time.monotonic()

    with pytest.raises(BadRequest, match="within 0.5 s"):
        local(timeout=0.5).resolve(config(url))

    assert time.monotonic() - started < 2


def test_unreachable_server_reads_like_any_other_failure():
    url = "http://127.0.0.1:1/app.jinja"
    with pytest.raises(BadRequest) as raised:
        local(timeout=2).resolve(config(url))
    assert raised.value.message == (
        f'could not fetch "{url}" (it must answer 200 with at most 1048576 bytes within 2 s)'
    )


def test_binary_file_is_rejected(site):
    site.files["/app.jinja"] = b"\xff\xfe\x00binary"
    with pytest.raises(BadRequest, match="could not fetch"):
        local().resolve(config(site.url + "/app.jinja"))


def test_schema_that_is_not_yaml_is_rejected(site):
    url = site.add("/app.jinja", TEMPLATE)
    site.add("/app.jinja.schema", "imports: [\n")
    with pytest.raises(BadRequest, match=f'schema "{url}.schema" is not valid YAML'):
        local().resolve(config(url))


def test_schema_import_without_a_path_is_rejected(site):
    url = site.add("/app.jinja", TEMPLATE)
    site.add("/app.jinja.schema", "imports:\n- name: helper.jinja\n")
    with pytest.raises(BadRequest, match='each import needs a "path"'):
        local().resolve(config(url))


def test_allowed_hosts_setting_is_comma_separated():
    assert parse_allowed_hosts(" a.example, B.example:8080 ,") == {"a.example", "b.example:8080"}
    assert parse_allowed_hosts("") is None
    assert parse_allowed_hosts(None) is None
    configured = TypeResolver.from_config({"TEMPLATE_URL_ALLOWED_HOSTS": "a.example"})
    assert configured.allowed_hosts == {"a.example"}
