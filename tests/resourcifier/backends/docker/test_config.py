"""ConfigMaps, Secrets and PersistentVolumeClaims delivered to pods as the spec asks."""

from __future__ import annotations

import base64

import pytest

from tests.contract.conftest import config_map, states
from tests.resourcifier.backends.docker.helpers import container, containers_of, pod, run

pytestmark = pytest.mark.docker


def _secret(name: str, **values: str) -> dict:
    data = {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}
    return {"name": name, "type": "Secret", "properties": {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": data}}


def _claim(name: str) -> dict:
    return {"name": name, "type": "PersistentVolumeClaim", "properties": {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}


def _sleeper(name: str, **fields) -> dict:
    return container(name, "sleep", "3600", **fields)


def test_env_comes_from_values_config_maps_secrets_and_fields(backend, namespace, docker_client):
    env = [
        {"name": "PLAIN", "value": "p"},
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}}},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    env_from = [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}]
    resources = [config_map("settings", color="red"), _secret("creds", password="s3cret"),
                 pod("reader", [_sleeper("main", env=env, envFrom=env_from)])]
    assert states(backend.apply(resources, namespace)) == ["Created"] * 3
    (reader,) = containers_of(docker_client, namespace, "reader")
    environment = dict(line.split("=", 1) for line in reader.attrs["Config"]["Env"])
    assert environment["PLAIN"] == "p"
    assert environment["COLOR"] == environment["CFG_color"] == "red"
    assert environment["PASSWORD"] == "s3cret"
    assert environment["POD"] == "reader"


def test_config_map_and_secret_volumes_become_files(backend, namespace, docker_client):
    volumes = [{"name": "conf", "configMap": {"name": "settings"}},
               {"name": "keys", "secret": {"secretName": "creds",
                                           "items": [{"key": "password", "path": "db/pw"}]}}]
    mounts = [{"name": "conf", "mountPath": "/etc/app"},
              {"name": "keys", "mountPath": "/etc/keys", "readOnly": True}]
    resources = [config_map("settings", **{"app.conf": "level=debug\n"}),
                 _secret("creds", password="s3cret"),
                 pod("reader", [_sleeper("main", volumeMounts=mounts)], volumes=volumes)]
    backend.apply(resources, namespace)
    (reader,) = containers_of(docker_client, namespace, "reader")
    assert run(reader, "cat", "/etc/app/app.conf") == "level=debug\n"
    assert run(reader, "cat", "/etc/keys/db/pw") == "s3cret"


def test_missing_config_map_fails_the_pod_and_starts_nothing(backend, namespace, docker_client):
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}]
    response = backend.apply([pod("reader", [_sleeper("main", env=env)])], namespace)
    assert states(response) == ["Failed"]
    assert "configmap 'absent' not found" in response.json()["resources"][0]["state"]["errors"][0]
    assert containers_of(docker_client, namespace, "reader") == []


def test_claim_is_a_volume_that_outlives_its_pods(backend, namespace, docker_client):
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "store"}}]
    mounts = [{"name": "data", "mountPath": "/data"}]
    first = pod("writer", [_sleeper("main", volumeMounts=mounts)], volumes=volumes)
    backend.apply([_claim("store"), first], namespace)
    (writer,) = containers_of(docker_client, namespace, "writer")
    run(writer, "sh", "-c", "echo kept > /data/file")
    backend.delete([first], namespace)
    second = pod("reader", [_sleeper("main", volumeMounts=mounts)], volumes=volumes)
    backend.apply([second], namespace)
    (reader,) = containers_of(docker_client, namespace, "reader")
    assert run(reader, "cat", "/data/file") == "kept\n"
    assert backend.get("pvc/store", namespace).json()["status"]["phase"] == "Bound"


def test_deleting_a_claim_removes_its_volume(backend, namespace, docker_client):
    backend.apply([_claim("store")], namespace)
    volume = f"dm.{namespace}.claim.store"
    assert docker_client.volumes.get(volume)
    assert states(backend.delete([_claim("store")], namespace)) == ["Deleted"]
    assert volume not in [v.name for v in docker_client.volumes.list()]


def test_pod_listed_before_its_config_map_in_one_batch_still_gets_it(
    backend, namespace, docker_client
):
    env = [{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "c"}}}]
    response = backend.apply([pod("reader", [_sleeper("main", env=env)]),
                              config_map("later", c="green")], namespace)
    assert states(response) == ["Created", "Created"]
    assert response.json()["resources"][0]["live"]["kind"] == "Pod"
    (reader,) = containers_of(docker_client, namespace, "reader")
    assert "COLOR=green" in reader.attrs["Config"]["Env"]
