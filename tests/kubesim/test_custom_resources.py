"""CustomResourceDefinitions: creating one serves a new kind to the real kubectl."""

from __future__ import annotations

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""
WIDGET = """\
apiVersion: example.com/v1
kind: Widget
metadata: {name: sprocket, labels: {size: big}}
spec: {teeth: 12}
"""


def test_a_new_crd_serves_its_kind_even_with_a_warm_discovery_cache(sim, namespace):
    sim.kubectl("api-resources")  # fills kubectl's discovery cache before the kind exists
    sim.kubectl("apply", "-f", "-", stdin=CRD)
    sim.kubectl("wait", "--for=condition=established", "--timeout=5s",
                "crd/widgets.example.com")
    sim.kubectl("apply", "-n", namespace, "-f", "-", stdin=WIDGET)
    widget = sim.get_json("wd", "sprocket", "-n", namespace)
    assert widget["spec"] == {"teeth": 12}
    assert widget["apiVersion"] == "example.com/v1"
    out = sim.kubectl("get", "widgets", "-n", namespace, "-l", "size=big", "-o", "name").stdout
    assert out.split() == ["widget.example.com/sprocket"]
    sim.kubectl("patch", "widget", "sprocket", "-n", namespace, "--type=merge",
                "-p", '{"spec": {"teeth": 13}}')
    assert sim.get_json("widget", "sprocket", "-n", namespace)["spec"] == {"teeth": 13}


def test_deleting_the_crd_removes_its_objects_and_its_kind(sim, namespace):
    # A group of its own, so the outcome does not depend on which other tests ran first.
    crd = CRD.replace("example.com", "example.org").replace("widgets", "gadgets").replace(
        "widget", "gadget").replace("Widget", "Gadget").replace("wd]", "gd]")
    gadget = WIDGET.replace("example.com", "example.org").replace("Widget", "Gadget")
    sim.kubectl("apply", "-f", "-", stdin=crd)
    sim.kubectl("apply", "-n", namespace, "-f", "-", stdin=gadget)
    gadget_path = f"/apis/example.org/v1/namespaces/{namespace}/gadgets/sprocket"
    assert sim.api("GET", gadget_path).status_code == 200
    sim.kubectl("delete", "crd", "gadgets.example.org")
    assert sim.api("GET", "/apis/example.org/v1").status_code == 404
    assert "example.org" not in [g["name"] for g in sim.api("GET", "/apis").json()["groups"]]
    assert sim.api("GET", gadget_path).status_code == 404


def test_an_invalid_crd_is_rejected_and_serves_nothing(sim):
    bad = CRD.replace("metadata: {name: widgets.example.com}", "metadata: {name: wrong.name}")
    bad = bad.replace("widgets", "doodads").replace("Widget", "Doodad").replace("wd]", "dd]")
    result = sim.kubectl("create", "-f", "-", stdin=bad, check=False)
    assert result.returncode != 0
    assert "must be spec.names.plural" in result.stderr
    assert sim.api("GET", "/apis/example.com/v1/doodads").status_code == 404
