"""Templates of the kind written for Google Cloud Deployment Manager expand as they do there."""

import textwrap

import pytest

from expander.app import create_app
from expander.engine import project_number
from tests.expander.conftest import LIMITS, Expand

VM_JINJA = textwrap.dedent("""\
    {% set network = properties['network'] %}
    resources:
    - name: {{ env['name'] }}
      type: compute.v1.instance
      properties:
        zone: {{ properties['zone'] }}
        machineType: zones/{{ properties['zone'] }}/machineTypes/{{ properties['machineType'] }}
        serviceAccounts:
        - email: {{ env['project_number'] }}-compute@developer.gserviceaccount.com
        networkInterfaces:
        - network: global/networks/{{ network }}
          accessConfigs: [{name: External NAT, natIP: '{{ properties['natIP'] }}'}]
        metadata:
          items:
          - key: startup-script
            value: |
              #!/bin/bash
              apt-get update && apt-get install -y nginx""")

VM_SCHEMA = textwrap.dedent("""\
    info: {title: A VM with a startup script}
    required: [zone]
    properties:
      zone: {type: string}
      machineType: {type: string, default: e2-small}
      network: {type: string, default: default}
""")

FIREWALL_JINJA = textwrap.dedent("""\
    resources:
    - name: {{ env['name'] }}
      type: compute.v1.firewall
      properties:
        network: global/networks/{{ properties['network'] }}
        sourceRanges: ['{{ properties['cidr'] }}']
        allowed:
        - IPProtocol: tcp
          ports: [{{ properties['ports'] | join(', ') }}]
""")

WEB_JINJA = textwrap.dedent("""\
    resources:
    - name: {{ env['name'] }}-vm
      type: vm.jinja
      properties: {zone: {{ properties['zone'] }}}
    - name: {{ env['name'] }}-fw
      type: firewall.jinja
      properties: {network: default, ports: [80, 443]}
""")

WEB_SCHEMA = textwrap.dedent("""\
    imports:
    - path: ../common/vm.jinja
      name: vm.jinja
    - path: ../common/firewall.jinja
    required: [zone]
    properties:
      zone: {type: string}
""")

WEB_CONFIG = textwrap.dedent("""\
    imports:
    - path: web/web.jinja
      name: web.jinja
    resources:
    - name: site
      type: web.jinja
      properties: {zone: europe-west1-b}
""")


def _gcp_imports() -> list[dict[str, str]]:
    """The files as the CLI sends them for a config in `deploy/` beside `common/` and `web/`."""
    return [
        {"name": "web.jinja", "path": "web/web.jinja", "content": WEB_JINJA},
        {"name": "web.jinja.schema", "path": "web/web.jinja.schema", "content": WEB_SCHEMA},
        {"name": "vm.jinja", "path": "../common/vm.jinja", "content": VM_JINJA},
        {"name": "vm.jinja.schema", "path": "../common/vm.jinja.schema", "content": VM_SCHEMA},
        {"name": "firewall.jinja", "path": "../common/firewall.jinja", "content": FIREWALL_JINJA},
    ]


def _post(client, content: str, imports: list[dict[str, str]], **template):
    request = {
        "template": {"name": "site", "content": content, "imports": imports, **template},
        "env": {"deployment": "site", "project": "shop-prod"},
    }
    return client.post("/expand", json=request)


@pytest.fixture
def web(client):
    response = _post(client, WEB_CONFIG, _gcp_imports())
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_schema_import_is_found_by_its_name_before_its_path(web):
    assert [r["type"] for r in web["config"]["resources"]] == [
        "compute.v1.instance", "compute.v1.firewall"
    ]


def test_a_schema_import_supplied_under_neither_name_nor_path_is_reported(client):
    imports = [item for item in _gcp_imports() if item["name"] != "vm.jinja"]
    response = _post(client, WEB_CONFIG, imports)
    assert response.get_json()["message"] == (
        "template web/web.jinja (resource 'site'): schema web/web.jinja.schema imports"
        " 'vm.jinja', which was not supplied with the request"
    )


def test_a_startup_script_at_the_end_of_a_template_gets_no_trailing_newline(web):
    vm = web["config"]["resources"][0]
    assert vm["properties"]["metadata"]["items"][0]["value"] == (
        "#!/bin/bash\napt-get update && apt-get install -y nginx"
    )


def test_printing_an_undefined_value_renders_empty_with_a_warning(web):
    vm, firewall = web["config"]["resources"]
    assert vm["properties"]["networkInterfaces"][0]["accessConfigs"][0]["natIP"] == ""
    assert firewall["properties"]["sourceRanges"] == [""]
    assert web["warnings"] == [
        "../common/vm.jinja line 12: 'dict object' has no attribute 'natIP' (rendered empty)",
        "../common/firewall.jinja line 6: 'dict object' has no attribute 'cidr'"
        " (rendered empty)",
    ]


def test_a_lookup_inside_an_undefined_value_renders_empty_too(expand):
    answer = expand.ok(
        "resources:\n- {name: db, type: sql.jinja}\n",
        {"sql.jinja": "resources:\n- name: db\n  type: sqladmin.v1beta4.instance\n"
                      "  properties:\n"
                      "    networks: '{{ properties['ip']['authorizedNetworks'] }}'\n"},
    )
    assert answer["config"]["resources"][0]["properties"] == {"networks": ""}
    assert answer["warnings"] == [
        "sql.jinja line 5: 'dict object' has no attribute 'ip' (rendered empty)"
    ]


def test_an_undefined_variable_printed_in_a_helper_macro_names_the_helper(expand):
    answer = expand.ok(
        "resources:\n- {name: a, type: t.jinja}\n",
        {
            "helpers/net.jinja": "{% macro range() %}\n[{{ cidr }}]\n{% endmacro %}",
            "t.jinja": "{% import 'helpers/net.jinja' as net %}resources:\n- name: fw\n"
                       "  type: compute.v1.firewall\n  properties: {r: {{ net.range() }}}\n",
        },
    )
    assert answer["config"]["resources"][0]["properties"] == {"r": []}
    assert answer["warnings"] == ["helpers/net.jinja line 2: 'cidr' is undefined (rendered empty)"]


def test_each_undefined_value_is_warned_about_once(expand):
    answer = expand.ok(
        "resources:\n- {name: a, type: t.jinja}\n- {name: b, type: t.jinja}\n",
        {"t.jinja": "resources:\n- {name: '{{ env.name }}{{ suffix }}', type: P}\n"},
    )
    assert answer["warnings"] == ["t.jinja line 2: 'suffix' is undefined (rendered empty)"]


def test_strict_mode_in_the_request_makes_printing_undefined_an_error(client):
    response = _post(client, WEB_CONFIG, _gcp_imports(), options={"strictUndefined": True})
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "template ../common/vm.jinja (resource 'site-vm'): ../common/vm.jinja line 12:"
        " undefined variable: 'dict object' has no attribute 'natIP'"
    )


def test_strict_mode_as_a_setting_makes_printing_undefined_an_error():
    app = create_app({**LIMITS, "STRICT_UNDEFINED": True})
    try:
        message = Expand(app.test_client()).error(
            "resources:\n- {name: fw, type: fw.jinja}\n",
            {"fw.jinja": "resources:\n- name: fw\n  type: compute.v1.firewall\n"
                         "  properties: {sourceRanges: ['{{ cidr }}']}\n"},
        )
    finally:
        app.extensions["expander"].close()
    assert message == (
        "template fw.jinja (resource 'fw'): fw.jinja line 4: undefined variable:"
        " 'cidr' is undefined"
    )


def test_strict_undefined_must_be_a_boolean(client):
    response = _post(client, WEB_CONFIG, _gcp_imports(), options={"strictUndefined": "yes"})
    assert response.get_json() == {
        "status": 400, "message": "template.options.strictUndefined must be true or false"
    }


def test_layout_properties_are_absent_when_none_were_given(expand):
    answer = expand.ok(
        "resources:\n- {name: net, type: net.jinja}\n",
        {"net.jinja": "resources:\n- {name: net, type: compute.v1.network}\n"},
    )
    assert answer["layout"]["resources"] == [{
        "name": "net", "type": "net.jinja",
        "resources": [{"name": "net", "type": "compute.v1.network"}],
    }]


def test_layout_properties_given_as_null_stay_null(expand):
    answer = expand.ok(
        "resources:\n- name: net\n  type: net.jinja\n  properties:\n",
        {"net.jinja": "resources:\n- {name: net, type: compute.v1.network}\n"},
    )
    assert answer["layout"]["resources"][0]["properties"] is None


def test_layout_properties_show_the_defaults_filled_in_when_none_were_given(expand):
    answer = expand.ok(
        "resources:\n- {name: net, type: net.jinja}\n",
        {
            "net.jinja": "resources:\n- {name: net, type: compute.v1.network}\n",
            "net.jinja.schema": "properties:\n  autoCreateSubnetworks: {default: false}\n",
        },
    )
    assert answer["layout"]["resources"][0]["properties"] == {"autoCreateSubnetworks": False}


def test_layout_properties_show_the_given_ones_after_defaults(web):
    vm = web["layout"]["resources"][0]["resources"][0]
    assert vm["properties"] == {
        "zone": "europe-west1-b", "machineType": "e2-small", "network": "default"
    }


def test_every_problem_of_an_invalid_schema_is_reported(client):
    imports = _gcp_imports()
    imports[3]["content"] = textwrap.dedent("""\
        properties:
          size: {type: int}
          tier: {enum: not a list}
          disks: {type: integer, exclusiveMaximum: true}
    """)
    message = _post(client, WEB_CONFIG, imports).get_json()["message"]
    assert message.startswith(
        "template ../common/vm.jinja (resource 'site-vm'): schema ../common/vm.jinja.schema"
        " is invalid: "
    )
    places = [part.rsplit(" (at ", 1)[1] for part in message.split("; ")]
    assert places == ["properties/disks)", "properties/size/type)", "properties/tier/enum)"]


def test_env_has_a_stable_project_number_and_the_default_username(web):
    email = web["config"]["resources"][0]["properties"]["serviceAccounts"][0]["email"]
    # The same project gets the same number in every process and release.
    assert email == "873814785139-compute@developer.gserviceaccount.com"
    assert project_number("shop-prod") == "873814785139"
    assert project_number("shop-dev") != "873814785139"


def test_env_username_is_the_callers_when_the_manager_sends_it(expand):
    template = "resources:\n- {name: '{{ env.username }}', type: P}\n"
    sent = expand.ok("resources:\n- {name: a, type: t.jinja}\n", {"t.jinja": template},
                     env={"deployment": "d", "username": "alice"})
    default = expand.ok("resources:\n- {name: a, type: t.jinja}\n", {"t.jinja": template},
                        env={"deployment": "d"})
    assert sent["config"]["resources"][0]["name"] == "alice"
    assert default["config"]["resources"][0]["name"] == "deployment-manager"
