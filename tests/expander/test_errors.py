"""Every expansion error says which file, which resource and what is wrong."""

import textwrap


def test_yaml_parse_error_in_config_names_the_line(expand):
    message = expand.error("resources:\n- name: a\n  type: [Pod\n")
    assert message.startswith("config: invalid YAML at line 4")


def test_a_value_written_as_a_number_it_is_not_names_the_line(expand):
    message = expand.error("resources:\n- name: a\n  type: Pod\n  properties: {mask: 0x_}\n")
    assert message == (
        "config: invalid YAML at line 4, column 22: '0x_' is written as an integer but is"
        " not one; quote it to keep it a string"
    )


def test_yaml_parse_error_in_template_output_names_template_and_line(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n",
        {"t.jinja": "resources:\n- name: x\n   type: Pod\n"},
    )
    assert message.startswith(
        "template t.jinja (resource 'a'): the template's output: invalid YAML at line 3"
    )


def test_missing_resources_in_config(expand):
    assert expand.error("name: x\n") == "config: must be a YAML mapping with a 'resources:' list"


def test_missing_resources_in_template_result(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n", {"t.jinja": "outputs: []\n"}
    )
    assert message == (
        "template t.jinja (resource 'a'): the template's result has no 'resources:' list"
    )


def test_resource_without_name(expand):
    assert expand.error("resources:\n- {type: Pod}\n") == "config: resource #1 has no name"


def test_resource_without_type_inside_a_template(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n", {"t.jinja": "resources:\n- {name: x}\n"}
    )
    assert message == "template t.jinja: resource 'x' has no type"


def test_duplicate_names_in_config(expand):
    message = expand.error("resources:\n- {name: a, type: Pod}\n- {name: a, type: Service}\n")
    assert message == "config: duplicate resource name 'a'"


def test_duplicate_names_in_a_template(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n",
        {"t.jinja": "resources:\n- {name: x, type: Pod}\n- {name: x, type: Pod}\n"},
    )
    assert message == "template t.jinja: duplicate resource name 'x'"


def test_python_exception_shows_the_templates_own_traceback(expand):
    template = textwrap.dedent("""\
        def helper(props):
            return props['replicas'] // 0

        def GenerateConfig(context):
            return helper(context.properties)
    """)
    message = expand.error(
        "resources:\n- {name: a, type: t.py, properties: {replicas: 2}}\n", {"t.py": template}
    )
    assert message == (
        "template t.py (resource 'a'): Traceback (most recent call last):\n"
        '  File "t.py", line 5, in GenerateConfig\n'
        "    return helper(context.properties)\n"
        '  File "t.py", line 2, in helper\n'
        "    return props['replicas'] // 0\n"
        "ZeroDivisionError: integer division or modulo by zero"
    )


def test_python_syntax_error_names_file_and_line(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.py}\n",
        {"t.py": "def GenerateConfig(context):\n    print 'python 2'\n"},
    )
    assert message.startswith("template t.py (resource 'a'): t.py line 2: syntax error")


def test_python_template_without_generate_config(expand):
    message = expand.error("resources:\n- {name: a, type: t.py}\n", {"t.py": "X = 1\n"})
    assert message == "template t.py (resource 'a'): t.py does not define GenerateConfig(context)"


def test_python_result_that_is_not_plain_data(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.py}\n",
        {"t.py": "def GenerateConfig(c):\n    return {'resources': [{'name': 'x', 'type': 'P',"
                 " 'properties': {'s': {1, 2}}}]}\n"},
    )
    assert message.startswith("template t.py (resource 'a'): the result is not plain data")


STRICT = {"strictUndefined": True}


def test_undefined_jinja_variable_in_strict_mode_names_file_and_line(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n",
        {"t.jinja": "resources:\n- name: x\n  type: {{ properties.kind }}\n"},
        options=STRICT,
    )
    assert message == (
        "template t.jinja (resource 'a'): t.jinja line 3: undefined variable:"
        " 'dict object' has no attribute 'kind'"
    )


def test_an_undefined_property_tests_false_in_an_if(expand):
    answer = expand.ok(
        "resources:\n- {name: a, type: t.jinja}\n",
        {
            "t.jinja": "resources:\n- name: x\n  type: P\n"
            "{% if properties['optional'] %}  properties: {set: true}\n{% endif %}"
        },
    )
    assert answer["config"]["resources"] == [{"name": "x", "type": "P"}]


def test_comparing_an_undefined_property_is_still_an_error(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n",
        {"t.jinja": "resources:\n- name: x\n  type: {{ 'P' if properties.kind == 1 }}\n"},
    )
    assert message.startswith("template t.jinja (resource 'a'): t.jinja line 3: undefined variable")


def test_undefined_variable_in_an_imported_jinja_file_names_that_file_in_strict_mode(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n",
        {
            "m.jinja": "{% macro f() %}\n{{ missing }}\n{% endmacro %}",
            "t.jinja": "{% import 'm.jinja' as m %}resources:\n- {name: '{{ m.f() }}', type: P}\n",
        },
        options=STRICT,
    )
    assert message == (
        "template t.jinja (resource 'a'): m.jinja line 2: undefined variable:"
        " 'missing' is undefined"
    )


def test_jinja_syntax_error_names_file_and_line(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n", {"t.jinja": "resources:\n{% for x %}\n"}
    )
    assert message.startswith("template t.jinja (resource 'a'): t.jinja line 2: syntax error")


def test_unknown_jinja_import(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n",
        {"t.jinja": "resources: []\n{% import 'nothere.jinja' as n %}\n"},
    )
    assert message == (
        "template t.jinja (resource 'a'): t.jinja line 2: imports 'nothere.jinja',"
        " which was not supplied with the request"
    )


def test_unknown_python_import(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.py}\n",
        {"t.py": "from helpers import nothere\ndef GenerateConfig(c):\n    return {}\n"},
    )
    assert message.startswith("template t.py (resource 'a'): Traceback")
    assert "ImportError: import of 'helpers' is not allowed" in message


def test_recursion_too_deep(expand):
    message = expand.error(
        "resources:\n- {name: a, type: loop.jinja}\n",
        {"loop.jinja": "resources:\n- {name: again, type: loop.jinja}\n"},
    )
    assert message.startswith("template loop.jinja (resource 'again'): templates nest more than 8")
    assert "recursion too deep" in message


def test_import_that_is_not_a_template(expand):
    message = expand.error("resources:\n- {name: a, type: notes.txt}\n", {"notes.txt": "hi"})
    assert message.startswith(
        "template notes.txt (resource 'a'): 'notes.txt' is not a template"
    )


def test_properties_must_be_a_mapping(expand):
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja, properties: [1]}\n", {"t.jinja": "resources: []"}
    )
    assert message == "template t.jinja (resource 'a'): properties must be a mapping"
