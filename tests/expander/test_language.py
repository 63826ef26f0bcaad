"""The configuration language: templates, env, imports, recursion and the layout."""

import re
import textwrap

SERVICE_JINJA = textwrap.dedent("""\
    resources:
    - name: {{ env["name"] }}-deployment
      type: Deployment
      properties:
        replicas: {{ properties["replicas"] }}
        image: {{ properties["image"] }}
    - name: {{ env["name"] }}-service
      type: Service
      properties:
        port: {{ properties["port"] }}
        owner: {{ env["deployment"] }}/{{ env["project"] }}
""")

SERVICE_PY = textwrap.dedent("""\
    def GenerateConfig(context):
        name = context.env['name']
        props = context.properties
        return {'resources': [
            {'name': name + '-deployment', 'type': 'Deployment',
             'properties': {'replicas': props['replicas'], 'image': props['image']}},
            {'name': '%s-service' % name, 'type': 'Service',
             'properties': {'port': props['port'],
                            'owner': '{}/{}'.format(context.env['deployment'],
                                                    context.env['project'])}},
        ]}
""")

CONFIG = textwrap.dedent("""\
    imports:
    - path: {template}
    resources:
    - name: frontend
      type: {template}
      properties: {{replicas: 3, image: "nginx:1.25", port: 80}}
""")


def test_jinja_and_python_variants_expand_identically(expand):
    jinja = expand.ok(CONFIG.format(template="svc.jinja"), {"svc.jinja": SERVICE_JINJA})
    python = expand.ok(CONFIG.format(template="svc.py"), {"svc.py": SERVICE_PY})
    assert jinja["config"] == python["config"]
    assert jinja["config"]["resources"][1] == {
        "name": "frontend-service",
        "type": "Service",
        "properties": {"port": 80, "owner": "demo/proj"},
    }
    for result, template in ((jinja, "svc.jinja"), (python, "svc.py")):
        assert result["layout"] == {"resources": [{
            "name": "frontend",
            "type": template,
            "properties": {"replicas": 3, "image": "nginx:1.25", "port": 80},
            "resources": [
                {"name": "frontend-deployment", "type": "Deployment"},
                {"name": "frontend-service", "type": "Service"},
            ],
        }]}


def test_python_template_may_return_yaml_text(expand):
    template = "def GenerateConfig(context):\n    return 'resources:\\n- {name: x, type: Pod}\\n'\n"
    result = expand.ok("resources:\n- {name: a, type: t.py}\n", {"t.py": template})
    assert result["config"]["resources"] == [{"name": "x", "type": "Pod"}]


def test_env_holds_deployment_project_name_type_and_one_current_time(expand):
    template = "resources:\n- {name: '{{ env.name }}-x', type: Pod, properties: {{ env|tojson }}}\n"
    result = expand.ok(
        "resources:\n- {name: a, type: t.jinja}\n- {name: b, type: t.jinja}\n",
        {"t.jinja": template},
        env={"deployment": "shop"},
        name="shop",
    )
    first, second = (r["properties"] for r in result["config"]["resources"])
    assert first["deployment"] == "shop"
    assert first["project"] == "default"
    assert (first["name"], first["type"]) == ("a", "t.jinja")
    assert second["name"] == "b"
    assert first["current_time"] == second["current_time"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["current_time"])


def test_project_defaults_to_the_namespace(client):
    from tests.expander.conftest import body

    request = body("resources:\n- {name: a, type: t.jinja}\n",
                   {"t.jinja": "resources:\n- {name: '{{ env.project }}', type: Pod}\n"},
                   env={"deployment": "d"})
    request["template"]["namespace"] = "team-a"
    response = client.post("/expand", json=request)
    assert response.get_json()["config"]["resources"][0]["name"] == "team-a"


def test_templates_read_raw_imports(expand):
    imports = {
        "data.txt": "hello",
        "j.jinja": "resources:\n- name: j\n  type: Pod\n"
                   "  properties: {v: '{{ imports['data.txt'] }}'}\n",
        "p.py": "def GenerateConfig(c):\n    return {'resources': [{'name': 'p', 'type': 'Pod',"
                " 'properties': {'v': c.imports['data.txt']}}]}\n",
    }
    result = expand.ok(
        "resources:\n- {name: a, type: j.jinja}\n- {name: b, type: p.py}\n", imports
    )
    assert [r["properties"]["v"] for r in result["config"]["resources"]] == ["hello", "hello"]


def test_jinja_imports_macros_from_another_import(expand):
    imports = {
        "helpers/names.jinja": "{% macro full(n) %}app-{{ n }}{% endmacro %}",
        "t.jinja": "{% import 'helpers/names.jinja' as names %}"
                   "resources:\n- {name: '{{ names.full(env.name) }}', type: Pod}\n",
    }
    result = expand.ok("resources:\n- {name: a, type: t.jinja}\n", imports)
    assert result["config"]["resources"] == [{"name": "app-a", "type": "Pod"}]


def test_python_imports_helper_modules_with_and_without_init(expand):
    imports = {
        "helpers/naming.py": "def full(n):\n    return 'app-' + n\n",
        "lib/__init__.py": "PREFIX = 'lib'\n",
        "lib/ports.py": "from . import PREFIX\nHTTP = 80\n",
        "t.py": "import helpers.naming\nfrom lib import ports\nimport lib\n"
                "def GenerateConfig(c):\n"
                "    return {'resources': [{'name': helpers.naming.full(c.env['name']),"
                " 'type': 'Pod', 'properties': {'port': ports.HTTP, 'p': lib.PREFIX}}]}\n",
    }
    result = expand.ok("resources:\n- {name: a, type: t.py}\n", imports)
    assert result["config"]["resources"] == [
        {"name": "app-a", "type": "Pod", "properties": {"port": 80, "p": "lib"}}
    ]


def test_python_templates_use_allowed_standard_modules(expand):
    template = textwrap.dedent("""\
        import json, yaml, base64, hashlib, math, re, string, copy, itertools
        from collections import OrderedDict
        def GenerateConfig(context):
            data = yaml.safe_load('a: 1')
            digest = hashlib.sha256(b'x').hexdigest()[:8]
            return {'resources': [{'name': 'r-' + digest, 'type': 'Pod', 'properties': {
                'a': json.loads(json.dumps(data))['a'], 'b': base64.b64encode(b'hi').decode(),
                'c': math.floor(2.5), 'd': re.sub('x', 'y', 'xx'),
                'e': string.Template('$v').substitute(v='t'),
                'f': list(OrderedDict(k=1)), 'g': list(itertools.chain([1], [2]))}}]}
    """)
    result = expand.ok("resources:\n- {name: a, type: t.py}\n", {"t.py": template})
    assert result["config"]["resources"][0]["properties"] == {
        "a": 1, "b": "aGk=", "c": 2, "d": "yy", "e": "t", "f": ["k"], "g": [1, 2]
    }


def test_templates_nest_and_the_layout_follows(expand):
    imports = {
        "outer.jinja": "resources:\n- {name: inner, type: inner.py, properties: {n: 2}}\n"
                       "- {name: cm, type: ConfigMap}\n",
        "inner.py": "def GenerateConfig(c):\n    return {'resources': [{'name': 'p%d' % i,"
                    " 'type': 'Pod'} for i in range(c.properties['n'])]}\n",
    }
    result = expand.ok("resources:\n- {name: top, type: outer.jinja}\n", imports)
    assert [r["name"] for r in result["config"]["resources"]] == ["p0", "p1", "cm"]
    assert result["layout"]["resources"][0] == {
        "name": "top",
        "type": "outer.jinja",
        "resources": [
            {"name": "inner", "type": "inner.py", "properties": {"n": 2},
             "resources": [{"name": "p0", "type": "Pod"}, {"name": "p1", "type": "Pod"}]},
            {"name": "cm", "type": "ConfigMap"},
        ],
    }


def test_same_name_at_different_levels_is_allowed(expand):
    imports = {"t.jinja": "resources:\n- {name: web, type: Pod}\n"}
    result = expand.ok("resources:\n- {name: web, type: t.jinja}\n", imports)
    assert result["config"]["resources"] == [{"name": "web", "type": "Pod"}]


def test_outputs_and_other_keys_beside_resources_are_kept(expand):
    imports = {
        "t.jinja": "resources:\n- {name: x, type: Pod}\n"
                   "outputs:\n- {name: ip, value: $(ref.x.status.podIP)}\n",
    }
    result = expand.ok(
        "resources:\n- {name: a, type: t.jinja}\noutputs:\n- {name: top, value: 1}\n", imports
    )
    assert result["layout"]["resources"][0]["outputs"] == [
        {"name": "ip", "value": "$(ref.x.status.podIP)"}
    ]
    assert result["layout"]["outputs"] == [{"name": "top", "value": 1}]


def test_yaml_imports_are_jinja_templates(expand):
    imports = {"t.yaml": "resources:\n- {name: '{{ env.name }}-x', type: Pod}\n"}
    result = expand.ok("resources:\n- {name: a, type: t.yaml}\n", imports)
    assert result["config"]["resources"] == [{"name": "a-x", "type": "Pod"}]


def test_google_style_python_template_expands_unchanged(expand):
    template = textwrap.dedent("""\
        \"\"\"Creates a VM.\"\"\"

        COMPUTE_URL_BASE = 'https://www.googleapis.com/compute/v1/'


        def GenerateConfig(context):
          \"\"\"Creates the instance.\"\"\"
          resources = [{
              'name': context.env['name'],
              'type': 'compute.v1.instance',
              'properties': {
                  'zone': context.properties['zone'],
                  'machineType': ''.join([COMPUTE_URL_BASE, 'projects/',
                                          context.env['project'], '/zones/',
                                          context.properties['zone'],
                                          '/machineTypes/f1-micro']),
              }
          }]
          return {'resources': resources,
                  'outputs': [{'name': 'ip', 'value': '$(ref.' + context.env['name'] + '.ip)'}]}
    """)
    result = expand.ok(
        "imports:\n- path: vm.py\nresources:\n- name: vm-1\n  type: vm.py\n"
        "  properties:\n    zone: us-central1-f\n",
        {"vm.py": template},
    )
    assert result["config"]["resources"][0]["properties"]["machineType"].endswith(
        "projects/proj/zones/us-central1-f/machineTypes/f1-micro"
    )


def test_a_changed_template_text_is_used_on_the_next_request(expand):
    config = "resources:\n- {name: a, type: t.jinja}\n- {name: b, type: t.py}\n"
    for version in ("one", "two"):
        imports = {
            "t.jinja": f"resources:\n- {{name: j-{version}, type: Pod}}\n",
            "t.py": f"def GenerateConfig(c):\n    return {{'resources': [{{'name': 'p-{version}',"
                    " 'type': 'Pod'}]}\n",
        }
        result = expand.ok(config, imports)
        assert [r["name"] for r in result["config"]["resources"]] == [
            f"j-{version}", f"p-{version}"
        ]


def test_helper_modules_may_declare_all_and_classes(expand):
    imports = {
        "helpers/shapes.py": textwrap.dedent("""\
            __all__ = ['Port']


            class Port:
                __slots__ = ('number',)

                def __init__(self, number):
                    self.number = number

                def spec(self):
                    return {'port': self.number}
        """),
        "t.py": "from helpers.shapes import Port\n"
                "def GenerateConfig(c):\n"
                "    return {'resources': [\n"
                "        {'name': 'p', 'type': 'Svc', 'properties': Port(80).spec()}]}\n",
    }
    result = expand.ok("resources:\n- {name: a, type: t.py}\n", imports)
    assert result["config"]["resources"][0]["properties"] == {"port": 80}


def test_the_guestbook_example_expands_the_same_from_python_and_jinja(expand):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "examples" / "guestbook"
    results = {}
    for engine in ("py", "jinja"):
        template = f"replicated_service.{engine}"
        imports = {
            name: (folder / name).read_text() for name in (template, template + ".schema")
        }
        config = (folder / "guestbook.yaml").read_text().replace("replicated_service.py", template)
        results[engine] = expand.ok(config, imports)
    assert results["py"]["config"] == results["jinja"]["config"]
    assert len(results["py"]["config"]["resources"]) == 6
    follower = results["py"]["layout"]["resources"][2]
    assert follower["properties"]["serviceType"] == "ClusterIP"


def test_python_templates_parse_dates(expand):
    template = textwrap.dedent("""\
        import datetime


        def GenerateConfig(context):
            day = datetime.datetime.strptime(context.env['current_time'], '%Y-%m-%dT%H:%M:%SZ')
            return {'resources': [{'name': 'y%d' % day.year, 'type': 'P'}]}
    """)
    result = expand.ok("resources:\n- {name: a, type: t.py}\n", {"t.py": template})
    assert result["config"]["resources"][0]["name"].startswith("y20")


def test_an_import_named_apart_from_its_path_is_found_with_its_schema(client):
    from tests.expander.conftest import body

    request = body("imports:\n- {path: templates/vm.jinja, name: vm}\n"
                   "resources:\n- {name: a, type: vm}\n")
    request["template"]["imports"] = [
        {"name": "vm", "path": "templates/vm.jinja",
         "content": "resources:\n- {name: '{{ properties.zone }}', type: Instance}\n"},
        {"name": "templates/vm.jinja.schema", "path": "templates/vm.jinja.schema",
         "content": "properties:\n  zone: {type: string, default: us-east1-b}\n"},
    ]
    response = client.post("/expand", json=request)
    assert response.get_json()["config"]["resources"] == [
        {"name": "us-east1-b", "type": "Instance"}
    ]
