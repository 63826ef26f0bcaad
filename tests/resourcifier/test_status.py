"""POST /configurations/status on a cluster: live objects and health as kubectl reads them."""

from __future__ import annotations

import requests

from kubesim.client import SimControl
from manager.clients import ResourcifierClient, fixed_url
from tests.resourcifier.conftest import config_map, deployment, post
from tests.support import wait_until


def status(url: str, resources: list[dict], namespace: str) -> list[dict]:
    response = requests.post(
        f"{url}/configurations/status",
        json={"resources": resources, "namespace": namespace},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()["resources"]


def pod(name: str, image: str) -> dict:
    return {
        "name": name,
        "type": "Pod",
        "properties": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "main", "image": image}]},
        },
    }


def test_a_pod_whose_image_cannot_be_pulled_is_degraded_with_the_reason(
    resourcifier_url, simulator, namespace
):
    control = SimControl(simulator.url)
    control.never_ready("registry.invalid/*", "ImagePullBackOff")
    try:
        broken = pod("broken", "registry.invalid/app:1")
        post(resourcifier_url, {"resources": [broken], "namespace": namespace})
        [answered] = wait_until(
            lambda: (lambda found: found if found[0]["health"]["status"] == "Degraded" else None)(
                status(resourcifier_url, [broken], namespace)
            )
        )
    finally:
        control.clear_faults()
    assert answered["health"]["message"].startswith("container main: ImagePullBackOff")
    assert answered["live"]["status"]["phase"] == "Pending"


def test_a_changed_deployment_is_progressing_until_its_controller_observes_it(
    resourcifier_url, simulator, namespace
):
    web = deployment("web")
    post(resourcifier_url, {"resources": [web], "namespace": namespace})
    # The simulator's controllers roll it out: its pod is ready after a moment.
    healthy = {"status": "Healthy", "message": "1/1 replicas available"}
    wait_until(lambda: status(resourcifier_url, [web], namespace)[0]["health"] == healthy)
    web["properties"]["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    applied = post(resourcifier_url, {"resources": [web], "namespace": namespace}).json()
    assert applied["resources"][0]["state"]["health"] == {
        "status": "Progressing",
        "message": "generation 2 not observed yet",
    }


def test_the_managers_client_reads_every_resource_in_order(resourcifier_url, namespace):
    post(resourcifier_url, {"resources": [config_map("a")], "namespace": namespace})
    client = ResourcifierClient(fixed_url(resourcifier_url), timeout=60)
    answers = client.status([config_map("absent"), config_map("a")], namespace)
    assert [answer["name"] for answer in answers] == ["absent", "a"]
    assert [answer["health"]["status"] for answer in answers] == ["Missing", "Healthy"]
    assert answers[0]["live"] is None
    assert answers[1]["live"]["metadata"]["namespace"] == namespace


def test_an_object_that_names_its_own_namespace_is_looked_for_there(
    resourcifier_url, simulator, namespace
):
    post(resourcifier_url, {"resources": [config_map("a", namespace)]})
    [answered] = status(resourcifier_url, [config_map("a", namespace)], "default")
    assert answered["live"]["metadata"]["namespace"] == namespace


def labelled(name: str, **labels: str) -> dict:
    resource = config_map(name)
    resource["properties"]["metadata"]["labels"] = {"app": "many", **labels}
    return resource


def test_many_objects_sharing_labels_are_read_in_one_listing(counted, simulator, namespace):
    url, log = counted
    resources = [labelled(f"cm-{i}", tier=str(i % 2)) for i in range(30)]
    post(url, {"resources": resources, "namespace": namespace})
    # Behind the caller's back: one object is relabelled, another deleted.
    relabelled = labelled("cm-1", tier="1")
    relabelled["properties"]["metadata"]["labels"]["app"] = "other"
    post(url, {"resources": [relabelled], "namespace": namespace})
    post(url, {"resources": [resources[2]], "namespace": namespace}, method="DELETE")
    log.clear()

    answers = status(url, resources, namespace)

    assert [answer["name"] for answer in answers] == [f"cm-{i}" for i in range(30)]
    health = {answer["name"]: answer["health"]["status"] for answer in answers}
    assert health["cm-2"] == "Missing"
    assert {status for name, status in health.items() if name != "cm-2"} == {"Healthy"}
    assert answers[1]["live"]["metadata"]["labels"]["app"] == "other"
    assert all(answer["live"]["metadata"]["name"] == answer["name"] for answer in answers[3:])
    # One listing by the labels all share; only what it did not find is read on its own.
    [listing, rest] = log.calls()
    assert f" get configmaps.v1. --namespace {namespace} --selector app=many -o json" in listing
    assert " get --ignore-not-found -o json -f -" in rest


def test_a_few_objects_are_read_one_by_one(counted, namespace):
    url, log = counted
    resources = [labelled(f"cm-{i}") for i in range(3)]
    post(url, {"resources": resources, "namespace": namespace})
    log.clear()
    answers = status(url, resources, namespace)
    assert [answer["health"]["status"] for answer in answers] == ["Healthy"] * 3
    [call] = log.calls()
    assert " get --ignore-not-found -o json -f -" in call
