"""The simulator's pure rules: selectors, patches, field ownership, protobuf decoding."""

from __future__ import annotations

import pytest

from kubesim import protobuf
from kubesim import store as store_module
from kubesim.managed import Manager, server_side_apply
from kubesim.patch import json_merge_patch, json_patch, strategic_merge
from kubesim.selectors import parse_field_selector, parse_label_selector
from kubesim.status import StatusError


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=1", {"a": "1"}, True),
        ("a!=1", {}, True),
        ("a in (1, 2),b", {"a": "2", "b": ""}, True),
        ("a notin (1)", {"a": "1"}, False),
        ("!a", {"a": "x"}, False),
        ("a, !b", {"a": "x"}, True),
    ],
)
def test_label_selectors(selector, labels, expected):
    assert parse_label_selector(selector)(labels) is expected


@pytest.mark.parametrize("selector", ["a in (1", "=x", "a=b=c"])
def test_unreadable_label_selectors_are_400(selector):
    with pytest.raises(StatusError) as raised:
        parse_label_selector(selector)
    assert raised.value.code == 400


def test_field_selector_on_name_and_namespace():
    match = parse_field_selector("metadata.name=a,metadata.namespace!=kube-system")
    assert match({"metadata": {"name": "a", "namespace": "default"}})
    assert not match({"metadata": {"name": "a", "namespace": "kube-system"}})


def test_strategic_merge_merges_containers_by_name_and_honours_directives():
    original = {"containers": [{"name": "a", "image": "1", "env": [{"name": "X", "value": "1"}]},
                               {"name": "b", "image": "1"}]}
    patch = {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
        "containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]},
                       {"name": "b", "$patch": "delete"}],
    }
    merged = strategic_merge(original, patch)
    assert merged == {"containers": [{"name": "a", "image": "1", "env": [
        {"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]}


def test_strategic_merge_replaces_plain_lists_and_deletes_nulls():
    merged = strategic_merge({"args": ["a", "b"], "x": 1, "keep": {"y": 1}},
                             {"args": ["c"], "x": None, "keep": {"$patch": "replace", "z": 2}})
    assert merged == {"args": ["c"], "keep": {"z": 2}}


def test_strategic_merge_retain_keys_drops_the_others():
    merged = strategic_merge({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"a": 1}}},
                             {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}})
    assert merged == {"strategy": {"type": "Recreate"}}


def test_json_merge_patch():
    assert json_merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {
        "a": {"c": 2, "d": 3}}


def test_json_patch_operations_and_failures():
    doc = {"spec": {"list": [1, 2]}}
    patched = json_patch(doc, [
        {"op": "add", "path": "/spec/list/-", "value": 3},
        {"op": "copy", "from": "/spec/list", "path": "/spec/copy"},
        {"op": "remove", "path": "/spec/list/0"},
        {"op": "test", "path": "/spec/list", "value": [2, 3]},
    ])
    assert patched == {"spec": {"list": [2, 3], "copy": [1, 2, 3]}}
    assert doc == {"spec": {"list": [1, 2]}}
    with pytest.raises(StatusError) as raised:
        json_patch(doc, [{"op": "remove", "path": "/spec/missing"}])
    assert raised.value.code == 422
    with pytest.raises(StatusError) as raised:
        json_patch(doc, [{"op": "remove", "path": ""}])
    assert raised.value.code == 422
    with pytest.raises(StatusError) as raised:
        json_patch(doc, {"op": "add"})
    assert raised.value.code == 400


def test_server_side_apply_keeps_fields_another_manager_owns():
    managers: list[Manager] = []
    obj = server_side_apply(managers, "a", "v1", "t", None,
                            {"data": {"x": "1", "y": "1"}}, force=False)
    obj = server_side_apply(managers, "b", "v1", "t", obj, {"data": {"y": "1"}}, force=False)
    obj = server_side_apply(managers, "a", "v1", "t", obj, {"data": {}}, force=False)
    assert obj == {"data": {"y": "1"}}
    with pytest.raises(StatusError) as raised:
        server_side_apply(managers, "a", "v1", "t", obj, {"data": {"y": "2"}}, force=False)
    assert raised.value.code == 409 and 'conflict with "b"' in raised.value.message


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_protobuf_configmap_decodes_to_json():
    metadata = _field(1, b"cfg") + _field(2, b"") + _field(11, _field(1, b"k") + _field(2, b"v"))
    raw = _field(1, metadata) + _field(2, _field(1, b"a") + _field(2, b"1"))
    body = protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"ConfigMap")) + _field(2, raw)
    assert protobuf.decode(body) == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "labels": {"k": "v"}}, "data": {"a": "1"},
    }


def test_protobuf_with_fields_the_simulator_does_not_know_is_415():
    raw = _field(1, _field(1, b"cfg")) + _field(9, b"surprise")
    body = protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"ConfigMap")) + _field(2, raw)
    with pytest.raises(StatusError) as raised:
        protobuf.decode(body)
    assert raised.value.code == 415


def test_watching_from_a_version_older_than_the_history_is_410(monkeypatch):
    monkeypatch.setattr(store_module, "EVENT_HISTORY", 3)
    store = store_module.Store()
    configmaps = store.catalog.lookup("", "v1", "configmaps")
    for name in "abcde":
        store.create(configmaps, "default", {"metadata": {"name": name}},
                     store_module.WriteOptions())

    def everything(_):
        return True

    with pytest.raises(StatusError) as raised:
        store.watch(configmaps, "default", everything, everything, "1", timeout=0)
    assert raised.value.code == 410
    recent = store.watch(configmaps, "default", everything, everything,
                         str(int(store.resource_version) - 1), timeout=0.05)
    events = [event for event in recent if event]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "e")]
