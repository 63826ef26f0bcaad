"""The web UI in a real browser, over real services: list, layout tree, live operations,
revisions and rollback, previews, the API token and a phone-sized window."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml
from selenium.webdriver.common.by import By

from dmcli.bundle import load_template
from tests.dmcli.fixtures import write_guestbook_copy
from tests.support import start_manager

pytestmark = pytest.mark.slow

SIX_RESOURCES = [
    f"{service}-{kind}"
    for service in ("frontend", "redis-leader", "redis-follower")
    for kind in ("deployment", "service")
]
TOKEN = "ui-test-token"
OPENAPI = Path(__file__).resolve().parents[3] / "docs" / "openapi" / "manager.yaml"


def manager_offers(path: str) -> bool:
    """True when the manager's API document (which lists every route it serves) has `path`."""
    return path in yaml.safe_load(OPENAPI.read_text())["paths"]


def api(manager_url: str, path: str):
    response = requests.get(f"{manager_url}{path}", timeout=30)
    response.raise_for_status()
    return response.json()


def frontend_replicas(manager_url: str, name: str) -> int:
    deployment = api(manager_url, f"/deployments/{name}")
    manifest = api(manager_url, f"/deployments/{name}/manifests/{deployment['latestManifest']}")
    (frontend,) = [
        item for item in manifest["expandedConfig"]["resources"]
        if item["name"] == "frontend-deployment"
    ]
    return frontend["properties"]["spec"]["replicas"]


def edit_configuration(browser, old: str, new: str) -> None:
    """Open the deployment page's editor and replace `old` with `new` in the configuration."""
    browser.find("details.editor summary").click()
    editor = browser.find("#configuration")
    content = editor.get_attribute("value")
    assert old in content
    browser.driver.execute_script(
        "arguments[0].value = arguments[1]", editor, content.replace(old, new)
    )


def operation_succeeds(browser) -> str:
    """Wait for the page to move to the operation it started and for that to succeed;
    the operation's id."""
    browser.wait_for(lambda: browser.hash().startswith("#/operations/"), "the operation page")
    browser.wait_for_text(".heading .badge", "Succeeded")
    return browser.hash().rsplit("/", 1)[1]


@contextmanager
def paused(process):
    """Hold a service process still (SIGSTOP) for the block, then let it go on."""
    os.kill(process.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.process.pid, signal.SIGCONT)


def test_the_deployments_page_lists_the_guestbook(browser, seen_guestbook):
    browser.open("/deployments")
    row = browser.find(f'tr[data-name="{seen_guestbook}"]')
    assert row.find_element(By.CSS_SELECTOR, "th a").text == seen_guestbook
    assert row.find_element(By.CSS_SELECTOR, 'td[data-label="Status"]').text == "Deployed"
    browser.wait_for(
        lambda: row.find_element(By.CSS_SELECTOR, 'td[data-label="Last operation"]').text
        == "create Succeeded",
        "the last operation to be filled in",
    )
    browser.screenshot("deployments")


def test_the_filter_keeps_the_deployments_that_match(browser, seen_guestbook):
    browser.open("/deployments")
    browser.find(f'tr[data-name="{seen_guestbook}"]')
    browser.find("#filter").send_keys(seen_guestbook)
    shown = [row.get_attribute("data-name") for row in browser.find_all("tbody tr")]
    assert shown == [seen_guestbook]
    browser.find("#filter").send_keys("-nothing-like-it")
    assert browser.find_all("tbody tr") == []


def test_the_layout_tree_expands_from_templates_to_the_six_resources(
    browser, seen_guestbook, manager_url
):
    browser.open(f"/deployments/{seen_guestbook}")
    templates = browser.wait_for(lambda: browser.find_all("li.template"), "the templates")
    assert [item.get_attribute("data-name") for item in templates] == [
        "frontend", "redis-leader", "redis-follower",
    ]
    assert browser.find_all("li.resource") == []
    words = browser.text("main").split()
    assert not {"null", "undefined", "NaN"} & set(words)
    for template in templates:
        twisty = template.find_element(By.CSS_SELECTOR, "button.twisty")
        twisty.click()
        assert twisty.get_attribute("aria-expanded") == "true"
    resources = browser.find_all("li.resource")
    assert [item.get_attribute("data-name") for item in resources] == SIX_RESOURCES

    deployment = api(manager_url, f"/deployments/{seen_guestbook}")
    manifest = api(
        manager_url, f"/deployments/{seen_guestbook}/manifests/{deployment['latestManifest']}"
    )
    states = {item["name"]: item["state"] for item in manifest["expandedConfig"]["resources"]}
    for item in resources:
        state = states[item.get_attribute("data-name")]
        assert item.find_element(By.CSS_SELECTOR, ".state").text == state["status"] == "Created"
        health = state.get("health", {}).get("status", "—")
        assert item.find_element(By.CSS_SELECTOR, ".health").text == health
    browser.screenshot("deployment")


def test_a_resource_shows_its_object_on_demand(browser, seen_guestbook):
    browser.open(f"/deployments/{seen_guestbook}")
    browser.button("Expand all").click()
    show = browser.button("Object of frontend-deployment")
    assert show.get_attribute("aria-expanded") == "false"
    show.click()
    applied = browser.find('pre[aria-label="Applied object of frontend-deployment"]').text
    assert "kind: Deployment" in applied.splitlines()
    assert "  replicas: 3" in applied.splitlines()
    browser.screenshot("deployment-object")


@pytest.mark.skipif(
    not manager_offers("/deployments/{name}/drift"), reason="the manager reports no drift"
)
def test_a_resource_compares_its_live_object_on_demand(browser, seen_guestbook, manager_url):
    drift = api(manager_url, f"/deployments/{seen_guestbook}/drift")
    (entry,) = [item for item in drift["resources"] if item["resource"] == "frontend-service"]
    browser.open(f"/deployments/{seen_guestbook}")
    browser.button("Expand all").click()
    browser.button("Object of frontend-service").click()
    panel = browser.find(".object")
    browser.wait_for(lambda: panel.find_elements(By.CSS_SELECTOR, ".badge"), "the live status")
    assert panel.find_element(By.CSS_SELECTOR, ".badge").text == entry["status"]


def test_an_update_started_from_the_page_shows_its_progress_live_to_the_end(
    browser, guestbook, manager_url, simulator
):
    browser.open(f"/deployments/{guestbook}")
    edit_configuration(browser, "    replicas: 3\n", "    replicas: 4\n")
    browser.driver.execute_script("window.sameDocument = true")
    browser.button("Apply update").click()
    # The cluster holds still while the page opens the operation, so the page shows it
    # running first, then follows its events to the end.
    with paused(simulator.process):
        assert "changed resources are applied" in browser.confirm()
        browser.wait_for(lambda: browser.hash().startswith("#/operations/"), "the operation page")
        bar = browser.find('[role="progressbar"]')
        browser.wait_for_text(".live", "Following the operation as it runs…")
        total = int(bar.get_attribute("aria-valuemax"))
        assert total == 12
        assert int(bar.get_attribute("aria-valuenow")) < total
        browser.screenshot("operation-running")
    browser.wait_for_text(".live", "The operation has ended.")
    assert bar.get_attribute("aria-valuenow") == str(total)
    assert browser.text(".heading .badge") == "Succeeded"
    steps = browser.find_all("ol.steps li")
    assert len(steps) == total
    assert {step.find_element(By.CSS_SELECTOR, ".badge").text for step in steps} == {"Succeeded"}
    assert browser.driver.execute_script("return window.sameDocument") is True
    browser.screenshot("operation")
    assert frontend_replicas(manager_url, guestbook) == 4


def test_a_rollback_from_the_revisions_page(browser, guestbook, manager_url, tmp_path):
    template = load_template(write_guestbook_copy(tmp_path, 5), guestbook)
    answer = requests.put(
        f"{manager_url}/deployments/{guestbook}?wait=true", json=template, timeout=120
    )
    assert answer.json()["state"]["status"] == "Deployed"
    browser.open(f"/deployments/{guestbook}/revisions")
    rows = browser.wait_for(lambda: browser.find_all("tbody tr"), "the revisions")
    assert [row.get_attribute("data-revision") for row in rows] == ["2", "1"]
    diff = browser.find('pre[aria-label="Changes from revision 1 to 2"]').text.splitlines()
    assert "-     replicas: 3" in diff
    assert "+     replicas: 5" in diff
    browser.screenshot("revisions")

    browser.button("Roll back to revision 1").click()
    assert browser.find("#confirm-title").text == f"Roll back {guestbook} to revision 1?"
    browser.confirm()
    operation_succeeds(browser)
    assert browser.find(".heading h1").text == f"rollback of {guestbook}"
    deployment = api(manager_url, f"/deployments/{guestbook}")
    assert deployment["revision"] == 3
    assert frontend_replicas(manager_url, guestbook) == 3


def test_a_sync_from_the_page_reapplies_every_resource(browser, guestbook, manager_url):
    browser.open(f"/deployments/{guestbook}")
    browser.button(f"Sync {guestbook}").click()
    assert browser.confirm() == (
        "Every one of the 6 resources of revision 1 is applied again, repairing any drift."
    )
    operation = api(manager_url, f"/operations/{operation_succeeds(browser)}")
    assert browser.find(".heading h1").text == f"sync of {guestbook}"
    assert operation["type"] == "sync"
    assert [step["resource"] for step in operation["steps"] if step["action"] == "apply"] == (
        SIX_RESOURCES
    )


def test_a_delete_from_the_page_removes_the_deployment(browser, guestbook, manager_url):
    browser.open(f"/deployments/{guestbook}")
    browser.button(f"Delete {guestbook}").click()
    text = browser.confirm()
    assert text.startswith("Its 6 resources are deleted from namespace ui-")
    operation_succeeds(browser)
    assert requests.get(f"{manager_url}/deployments/{guestbook}", timeout=30).status_code == 404


def test_a_change_from_a_page_that_is_out_of_date_shows_the_apis_refusal(
    browser, guestbook, manager_url
):
    shown = api(manager_url, f"/deployments/{guestbook}")["fingerprint"]
    browser.open(f"/deployments/{guestbook}")
    sync = browser.button(f"Sync {guestbook}")
    moved_on = requests.post(f"{manager_url}/deployments/{guestbook}/sync?wait=true", timeout=120)
    current = moved_on.json()["fingerprint"]
    operations = api(manager_url, f"/deployments/{guestbook}/operations")
    sync.click()
    browser.confirm()
    browser.wait_for(lambda: browser.find_all(".messages .error"), "the refusal")
    assert browser.text(".messages .error") == (
        f'409: deployment "{guestbook}" has changed: '
        f'fingerprint "{shown}" is stale (current "{current}")'
    )
    assert browser.hash() == f"#/deployments/{guestbook}"
    assert api(manager_url, f"/deployments/{guestbook}/operations") == operations


def test_cancelling_a_confirmation_changes_nothing(browser, seen_guestbook, manager_url):
    before = api(manager_url, f"/deployments/{seen_guestbook}")
    browser.open(f"/deployments/{seen_guestbook}")
    browser.button(f"Delete {seen_guestbook}").click()
    browser.find("dialog#confirm")
    assert browser.find("#confirm-text").text.startswith("Its 6 resources are deleted")
    browser.button("Cancel").click()
    assert browser.hash() == f"#/deployments/{seen_guestbook}"
    assert api(manager_url, f"/deployments/{seen_guestbook}") == before


@pytest.mark.skipif(
    not manager_offers("/deployments/{name}/preview/apply"), reason="the manager has no previews"
)
def test_a_change_previewed_on_the_page_is_applied_from_it(browser, guestbook, manager_url):
    browser.open(f"/deployments/{guestbook}")
    edit_configuration(browser, "    replicas: 3\n", "    replicas: 2\n")
    browser.button("Preview changes").click()
    browser.wait_for(lambda: browser.hash().endswith("/preview"), "the preview page")
    items = browser.wait_for(lambda: browser.find_all("ul.plan > li"), "the plan")
    plan = api(manager_url, f"/deployments/{guestbook}/preview")["plan"]
    assert [item.get_attribute("data-resource") for item in items] == SIX_RESOURCES == [
        entry["resource"] for entry in plan
    ]
    for item, entry in zip(items, plan):
        assert item.find_element(By.CSS_SELECTOR, ".badge").text == entry["action"]
    frontend = items[0].find_element(By.CSS_SELECTOR, "pre.diff").text.splitlines()
    assert "+  replicas: 2" in frontend
    assert frontend_replicas(manager_url, guestbook) == 3
    browser.screenshot("preview-plan")

    browser.button("Apply preview").click()
    assert browser.find("#confirm-title").text == f"Apply the preview of {guestbook}?"
    browser.confirm()
    operation_succeeds(browser)
    assert frontend_replicas(manager_url, guestbook) == 2


def test_the_preview_page_shows_the_apis_answer(browser, seen_guestbook, manager_url):
    answer = requests.get(f"{manager_url}/deployments/{seen_guestbook}/preview", timeout=30)
    browser.open(f"/deployments/{seen_guestbook}/preview")
    if answer.ok:
        plan = answer.json()["plan"]
        items = browser.wait_for(lambda: browser.find_all("ul.plan > li"), "the plan")
        assert [item.get_attribute("data-resource") for item in items] == [
            entry["resource"] for entry in plan
        ]
    else:
        error = answer.json()
        assert browser.text(".error") == f"{error['status']}: {error['message']}"
    browser.screenshot("preview")


@pytest.fixture(scope="module")
def guarded_url(tmp_path_factory, expander_url, resourcifier_url) -> str:
    """A manager that requires the API token."""
    process, url = start_manager(
        tmp_path_factory.mktemp("guarded"),
        expander_url,
        resourcifier_url,
        env={"DM_API_TOKEN": TOKEN},
    )
    yield url
    process.stop()


def test_with_a_token_set_the_page_asks_for_it_and_keeps_it_in_the_tab(browser, guarded_url):
    browser.open("/deployments", guarded_url)
    browser.wait_for_text("h1", "API token needed")
    assert browser.text(".error") == (
        "401: missing bearer token: send 'Authorization: Bearer <token>'"
    )
    browser.screenshot("token")

    browser.find("#token").send_keys("not-the-token")
    browser.button("Use token").click()
    browser.wait_for_text(".error", "403: invalid bearer token")

    field = browser.find("#token")
    field.clear()
    field.send_keys(TOKEN)
    browser.button("Use token").click()
    browser.wait_for_text("h1", "Deployments")
    storage = browser.driver.execute_script(
        "return [sessionStorage.getItem('dm.apiToken'), localStorage.length]"
    )
    assert storage == [TOKEN, 0]

    browser.button("Forget token").click()
    browser.wait_for_text("h1", "API token needed")


@pytest.mark.parametrize("page", ["deployments", "deployment", "revisions"])
def test_pages_fit_a_phone_sized_window(browser, seen_guestbook, page):
    paths = {
        "deployments": "/deployments",
        "deployment": f"/deployments/{seen_guestbook}",
        "revisions": f"/deployments/{seen_guestbook}/revisions",
    }
    browser.resize(390, 844)
    try:
        browser.open(paths[page])
        browser.find("tbody tr")
        overflow = browser.driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0
        cells_outside = browser.driver.execute_script(
            "return [...document.querySelectorAll('tbody th, tbody td')]"
            ".filter((cell) => cell.getBoundingClientRect().right > window.innerWidth).length"
        )
        assert cells_outside == 0
        browser.screenshot(f"{page}-phone")
    finally:
        browser.resize(1280, 800)
