"""What the docker backend accepts of an object, checked without an engine."""

from __future__ import annotations

import pytest

from dmcommon.identity import ObjectKey
from resourcifier.backends.docker.kinds import canonical_kind
from resourcifier.backends.docker.networks import selector_matches
from resourcifier.backends.docker.pods import template_hash
from resourcifier.backends.docker.spec import (
    SpecError,
    check_object,
    identify,
    parse_cpu,
    parse_memory,
)


def _pod(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "main", "image": "busybox"}], **spec}}


@pytest.mark.parametrize("name, kind", [
    ("Deployment", "Deployment"), ("deployments", "Deployment"), ("deploy", "Deployment"),
    ("deployments.apps", "Deployment"), ("svc", "Service"), ("jobs.batch", "Job"),
    ("deployments.batch", None), ("gizmos", None),
])
def test_kinds_are_named_as_kubectl_names_them(name, kind):
    assert canonical_kind(name) == kind


def test_namespace_comes_from_the_object_then_the_request():
    obj = _pod()
    assert identify(obj, "shop").namespace == "shop"
    obj["metadata"]["namespace"] = "other"
    assert identify(obj, "shop").namespace == "other"


def test_the_key_is_the_shared_one_and_a_namespace_lives_in_no_namespace():
    assert str(identify(_pod(), "shop")) == "Pod shop/p"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    assert identify(namespace, "default") == ObjectKey("", "Namespace", "", "shop")


@pytest.mark.parametrize("obj, message", [
    ({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"}},
     "not supported by the docker backend: kind DaemonSet"),
    ({"apiVersion": "v1", "kind": "Deployment", "metadata": {"name": "d"}},
     "no kind Deployment in version 'v1'"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Name"}}, "metadata.name"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a..b"}}, "metadata.name"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a" * 254}},
     "metadata.namespace"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": []}},
     "not supported by the docker backend: metadata.finalizers"),
])
def test_identity_problems_are_named(obj, message):
    with pytest.raises(SpecError, match=message):
        identify(obj, "default")


@pytest.mark.parametrize("spec, path", [
    ({"hostNetwork": True}, "spec.hostNetwork"),
    ({"volumes": [{"name": "v", "hostPath": {"path": "/"}}]}, "spec.volumes[0].hostPath"),
    ({"dnsPolicy": "Default"}, "spec.dnsPolicy Default"),
])
def test_pod_fields_it_cannot_honour_are_named_by_path(spec, path):
    with pytest.raises(SpecError) as caught:
        check_object(_pod(**spec))
    assert str(caught.value) == f"not supported by the docker backend: {path}"


@pytest.mark.parametrize("field, value, path", [
    ("livenessProbe", {"exec": {"command": ["true"]}}, "spec.containers[0].livenessProbe"),
    ("volumeMounts", [{"name": "v", "mountPath": "/v", "subPath": "x"}],
     "spec.containers[0].volumeMounts[0].subPath"),
    ("ports", [{"containerPort": 80, "hostPort": 80}], "spec.containers[0].ports[0].hostPort"),
])
def test_container_fields_it_cannot_honour_are_named_by_path(field, value, path):
    obj = _pod(volumes=[{"name": "v", "emptyDir": {}}])
    obj["spec"]["containers"][0][field] = value
    with pytest.raises(SpecError) as caught:
        check_object(obj)
    assert str(caught.value) == f"not supported by the docker backend: {path}"


def test_mount_of_an_unknown_volume_is_refused():
    obj = _pod()
    obj["spec"]["containers"][0]["volumeMounts"] = [{"name": "nope", "mountPath": "/x"}]
    with pytest.raises(SpecError, match="'nope' is not a volume of the pod"):
        check_object(obj)


def test_quantities_read_as_kubernetes_writes_them():
    assert parse_cpu("500m") == 0.5
    assert parse_cpu(2) == 2.0
    assert parse_memory("128Mi") == 128 * 1024**2
    assert parse_memory("1G") == 10**9


def test_empty_selector_matches_nothing():
    assert not selector_matches({}, {"app": "web"})
    assert selector_matches({"app": "web"}, {"app": "web", "tier": "front"})


def test_template_hash_changes_with_the_template_or_its_host_ports():
    template = {"spec": {"containers": [{"name": "a", "image": "x"}]}}
    base = template_hash(template, [])
    assert template_hash(template, []) == base
    assert template_hash(template, [(30080, 80, "tcp")]) != base
    assert template_hash({"spec": {"containers": [{"name": "a", "image": "y"}]}}, []) != base
