"""What the sandbox answers: an expansion turned into an answer, and the samples that load
and exercise the engine in the fork server before any request.

An answer is a 3-digit HTTP status followed by the JSON body.
"""

from __future__ import annotations

import codecs
import datetime
import json

from dmcommon.errors import DMError
from expander.engine import Expander, to_json
from expander.models import ExpansionRequest, Limits


def failure(status: int, message: str, killed: str | None = None) -> bytes:
    """An error answer; `killed` says why the expansion's process was stopped, if it was."""
    body = {"status": status, "message": message}
    if killed:
        body["killed"] = killed
    return b"%03d" % status + json.dumps(body).encode()


def expand_to_answer(body: bytes, limits: Limits) -> bytes:
    """Expand a request body and return the answer, success or error."""
    try:
        request = ExpansionRequest.from_dict(json.loads(body))
        result = Expander(request, limits).expand().to_dict()
        answer = b"200" + to_json(result).encode()
    except DMError as error:
        return failure(error.status, error.message)
    except MemoryError:
        return failure(
            400, f"template expansion exceeded the memory limit of {limits.memory_mb} MiB"
        )
    except RecursionError:
        return failure(400, "template expansion recursed too deeply")
    except (TypeError, ValueError) as error:
        return failure(400, f"the expansion cannot be written as JSON: {error}")
    if len(answer) > limits.max_output_bytes:
        return failure(
            400,
            f"the expanded configuration is {len(answer) - 3} bytes, larger than the limit of"
            f" {limits.max_output_bytes} bytes",
        )
    return answer


_WARM_UP = {
    "template": {
        "name": "warm-up",
        "content": "resources:\n- {name: a, type: t.jinja}\n- {name: b, type: t.py}\n"
        "- {name: c, type: bad.jinja}\n",
        "imports": [
            {"name": "t.jinja", "content": (
                "{% import 'm.jinja' as m %}resources:\n"
                "{% for i in range(2) %}- {name: {{ m.n(i) }}, type: '{{ env|tojson }}'}\n"
                "{% endfor %}"
            )},
            {"name": "m.jinja", "content": "{% macro n(i) %}x{{ i }}{% endmacro %}"},
            {"name": "t.py", "content": (
                "import json, yaml, string, collections.abc, helpers.h\n"
                "def GenerateConfig(context):\n"
                "    return {'resources': [{'name': '{}'.format(1), 'type': 'y'}]}\n"
            )},
            {"name": "helpers/h.py", "content": "X = 1\n"},
            {"name": "t.py.schema", "content": (
                "properties:\n  p: {$ref: '#/definitions/d'}\n"
                "definitions:\n  d: {type: integer, default: 1}\n"
            )},
            {"name": "bad.jinja", "content": "{{ nothing.here }}\n"},
        ],
    },
    "env": {"deployment": "warm-up"},
}

# What every request goes through: reading it, setting the engine up, YAML, the answer.
_PRIMING = json.dumps({
    "template": {
        "name": "priming",
        "content": "resources:\n- {name: a, type: P, properties: {x: [1, y]}}\n",
    },
    "env": {"deployment": "priming"},
}).encode()

# Codecs are modules loaded on first use; these are the ones templates and Jinja meet.
_ENCODINGS = (
    "ascii", "latin-1", "utf-16", "utf-32", "utf-8-sig", "idna", "unicode_escape",
    "raw_unicode_escape", "cp1252", "base64_codec", "hex_codec",
)


def warm_up() -> None:
    """Load everything a child could need, since a confined child cannot open files."""
    expand_to_answer(json.dumps(_WARM_UP).encode(), Limits())
    failing = json.loads(json.dumps(_WARM_UP))
    failing["template"]["imports"][2]["content"] = "def GenerateConfig(c):\n  1/0\n"
    expand_to_answer(json.dumps(failing).encode(), Limits())
    for encoding in _ENCODINGS:
        codecs.lookup(encoding)
    # `strptime` loads its module on first use.
    datetime.datetime.strptime("2000-01-01", "%Y-%m-%d")


def prime() -> None:
    """Expand a sample in a child waiting for its request.

    That copies the pages every expansion writes to (reference counts) while the child
    waits, so the request itself meets far fewer copy-on-write faults. The sample has no
    templates: priming the pages only Jinja, Python templates or schemas touch as well
    costs more CPU than the requests that use them save, which on busy CPUs is slower.
    """
    expand_to_answer(_PRIMING, Limits())
