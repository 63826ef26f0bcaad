"""How the CLI turns files on disk into the Template the manager takes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dmcli.bundle import (
    BundleError,
    default_name,
    dns_name,
    load_template,
    parse_properties,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_configuration_bundles_its_imports_and_their_schemas(tmp_path):
    write(
        tmp_path,
        {
            "app.yaml": "imports:\n- path: web.py\nresources:\n- {name: a, type: web.py}\n",
            "web.py": "def GenerateConfig(context):\n    return {'resources': []}\n",
            "web.py.schema": "imports:\n- path: helpers/names.py\nproperties: {}\n",
            "helpers/names.py": "PREFIX = 'x'\n",
        },
    )
    template = load_template(tmp_path / "app.yaml")
    assert template["name"] == "app"
    assert template["content"] == (tmp_path / "app.yaml").read_text()
    assert [(item["name"], item["path"]) for item in template["imports"]] == [
        ("web.py", "web.py"),
        ("web.py.schema", "web.py.schema"),
        ("helpers/names.py", "helpers/names.py"),
    ]
    assert template["imports"][2]["content"] == "PREFIX = 'x'\n"


def test_import_name_overrides_path_and_schema_follows_the_name(tmp_path):
    write(
        tmp_path,
        {
            "app/app.yaml": (
                "imports:\n- {path: ../lib/svc.jinja, name: svc.jinja}\n"
                "resources:\n- {name: a, type: svc.jinja}\n"
            ),
            "lib/svc.jinja": "resources: []\n",
            "lib/svc.jinja.schema": "properties: {}\n",
        },
    )
    template = load_template(tmp_path / "app" / "app.yaml")
    assert [(item["name"], item["path"]) for item in template["imports"]] == [
        ("svc.jinja", "../lib/svc.jinja"),
        ("svc.jinja.schema", "../lib/svc.jinja.schema"),
    ]


def test_schema_imports_are_read_relative_to_the_schema(tmp_path):
    write(
        tmp_path,
        {
            "app.yaml": "imports:\n- path: lib/t.py\nresources:\n- {name: a, type: lib/t.py}\n",
            "lib/t.py": "",
            "lib/t.py.schema": "imports:\n- path: common.py\n",
            "lib/common.py": "X = 1\n",
        },
    )
    names = [item["name"] for item in load_template(tmp_path / "app.yaml")["imports"]]
    assert names == ["lib/t.py", "lib/t.py.schema", "common.py"]


def test_single_template_becomes_one_resource_with_typed_properties(tmp_path):
    write(tmp_path, {"My_Service.py": "", "My_Service.py.schema": "properties: {}\n"})
    template = load_template(
        tmp_path / "My_Service.py",
        properties=parse_properties("replicas=3,ratio=0.5,public=true,image=nginx:1.27"),
    )
    assert template["name"] == "my-service"
    assert yaml.safe_load(template["content"]) == {
        "resources": [
            {
                "name": "my-service",
                "type": "My_Service.py",
                "properties": {"replicas": 3, "ratio": 0.5, "public": True, "image": "nginx:1.27"},
            }
        ]
    }
    names = [item["name"] for item in template["imports"]]
    assert names == ["My_Service.py", "My_Service.py.schema"]


def test_single_template_resource_takes_the_deployment_name(tmp_path):
    write(tmp_path, {"cache.jinja": "resources: []\n"})
    template = load_template(tmp_path / "cache.jinja", "sessions")
    assert template["name"] == "sessions"
    assert yaml.safe_load(template["content"])["resources"][0]["name"] == "sessions"


def test_name_and_namespace_are_passed_through():
    template = load_template(EXAMPLES / "guestbook" / "guestbook.yaml", "shop", "team-a")
    assert (template["name"], template["namespace"]) == ("shop", "team-a")


def test_without_a_namespace_the_template_leaves_it_to_the_manager():
    template = load_template(EXAMPLES / "guestbook" / "guestbook.yaml")
    assert sorted(template) == ["content", "imports", "name"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Guest_Book", "guest-book"),
        ("--a..b--", "a-b"),
        ("x" * 80, "x" * 63),
    ],
)
def test_dns_name_makes_a_valid_label(text, expected):
    assert dns_name(text) == expected


def test_default_name_drops_every_extension():
    assert default_name(Path("replicated_service.py.schema")) == "replicated-service"


def test_dns_name_refuses_text_without_letters_or_digits():
    with pytest.raises(BundleError, match="pass --name"):
        dns_name("___")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("a=1", {"a": 1}),
        ("a=-2.5, b=FALSE", {"a": -2.5, "b": False}),
        ("s=hello world,empty=", {"s": "hello world", "empty": ""}),
        ("url=http://x/?q=1", {"url": "http://x/?q=1"}),
        ("port=8080,n=null,on=True", {"port": 8080, "n": None, "on": True}),
    ],
)
def test_parse_properties_types_values(text, expected):
    assert parse_properties(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tag=1.10", "1.10"),
        ("zip=01234", "01234"),
        ("x=1_000", "1_000"),
        ("x=1e3", "1e3"),
        ("x=+5", "+5"),
        ("x=inf", "inf"),
        ("x=.inf", ".inf"),
        ("x=nan", "nan"),
        ("x=yes", "yes"),
    ],
)
def test_a_value_whose_number_would_not_print_back_the_same_stays_text(text, expected):
    assert parse_properties(text) == {text.partition("=")[0]: expected}


def test_set_string_keeps_every_value_as_text():
    assert parse_properties(["a=1,b=true", "c=0.5"], typed=False) == {
        "a": "1",
        "b": "true",
        "c": "0.5",
    }


def test_set_string_names_itself_in_its_errors():
    with pytest.raises(BundleError) as raised:
        parse_properties("oops", typed=False)
    assert str(raised.value) == "--set-string: expected key=value, got 'oops'"


def test_kept_text_survives_the_configuration_yaml(tmp_path):
    write(tmp_path, {"web.py": "def GenerateConfig(context):\n    return {}\n"})
    template = load_template(
        tmp_path / "web.py", properties=parse_properties("tag=1.10,zip=01234,n=3")
    )
    resource = yaml.safe_load(template["content"])["resources"][0]
    assert resource["properties"] == {"tag": "1.10", "zip": "01234", "n": 3}


def test_a_type_typo_names_the_import_it_probably_meant(tmp_path):
    write(
        tmp_path,
        {
            "app.yaml": (
                "imports:\n- path: replicated_service.py\n"
                "resources:\n- {name: frontend, type: replicated_servce.py}\n"
            ),
            "replicated_service.py": "",
        },
    )
    with pytest.raises(BundleError) as raised:
        load_template(tmp_path / "app.yaml")
    assert str(raised.value) == (
        f"{tmp_path / 'app.yaml'}: resource 'frontend': no import named replicated_servce.py; "
        "did you mean replicated_service.py?"
    )


def test_a_template_type_that_is_not_imported_says_to_import_it(tmp_path):
    write(tmp_path, {"app.yaml": "resources:\n- {name: a, type: web.jinja}\n"})
    with pytest.raises(BundleError) as raised:
        load_template(tmp_path / "app.yaml")
    assert str(raised.value) == (
        f"{tmp_path / 'app.yaml'}: resource 'a': no import named web.jinja; "
        "add it to the configuration's imports"
    )


@pytest.mark.parametrize("text", ["novalue", "=1", "a=1,b"])
def test_parse_properties_rejects_items_without_key_and_value(text):
    with pytest.raises(BundleError, match="expected key=value"):
        parse_properties(text)


def test_missing_import_names_the_file_and_who_imports_it(tmp_path):
    write(tmp_path, {"app.yaml": "imports:\n- path: gone.py\nresources: []\n"})
    with pytest.raises(BundleError) as error:
        load_template(tmp_path / "app.yaml")
    assert (
        str(error.value)
        == f"{tmp_path / 'gone.py'}: file not found (imported by {tmp_path / 'app.yaml'})"
    )


def test_invalid_yaml_names_the_file_and_line(tmp_path):
    write(tmp_path, {"app.yaml": "resources:\n- name: a\n  type: [\n"})
    with pytest.raises(
        BundleError, match=r"app\.yaml: invalid YAML at line 4, column 1: "
    ):
        load_template(tmp_path / "app.yaml")


def test_yaml_nested_deeper_than_our_limit_is_refused(tmp_path):
    write(tmp_path, {"app.yaml": "resources: " + "[" * 500 + "]" * 500 + "\n"})
    with pytest.raises(BundleError) as error:
        load_template(tmp_path / "app.yaml")
    assert str(error.value) == (
        f"{tmp_path / 'app.yaml'}: invalid YAML: nested more than 100 levels deep"
    )


def test_imports_must_be_a_list_of_entries_with_a_path(tmp_path):
    write(tmp_path, {"app.yaml": "imports:\n- name: only-a-name\nresources: []\n"})
    with pytest.raises(BundleError, match=r"imports\[0\] needs a 'path' string"):
        load_template(tmp_path / "app.yaml")


def test_properties_are_refused_for_a_configuration():
    with pytest.raises(
        BundleError, match="--properties applies only when FILE is a single template"
    ):
        load_template(EXAMPLES / "guestbook" / "guestbook.yaml", properties={"a": 1})


def test_plain_yaml_without_resources_is_neither_configuration_nor_template(tmp_path):
    write(tmp_path, {"notes.yaml": "hello: world\n"})
    with pytest.raises(
        BundleError, match="not a configuration .no 'resources:'. and not a template"
    ):
        load_template(tmp_path / "notes.yaml")
