"""The internal token: read from a file when given so, and a warning when a service has none."""

from __future__ import annotations

import pytest
import requests

from dmcommon.settings import COMMON_SETTINGS, load_settings
from tests.support import start_service


def test_a_setting_may_be_read_from_the_file_its_file_variable_names(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    environ = {"DM_INTERNAL_TOKEN_FILE": str(secret)}
    assert load_settings(COMMON_SETTINGS, environ=environ)["INTERNAL_TOKEN"] == "s3cret"


def test_the_variable_wins_over_its_file_unless_it_is_empty(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("from-file")
    given = {"DM_INTERNAL_TOKEN": "given", "DM_INTERNAL_TOKEN_FILE": str(secret)}
    empty = {"DM_INTERNAL_TOKEN": "", "DM_INTERNAL_TOKEN_FILE": str(secret)}
    assert load_settings(COMMON_SETTINGS, environ=given)["INTERNAL_TOKEN"] == "given"
    assert load_settings(COMMON_SETTINGS, environ=empty)["INTERNAL_TOKEN"] == "from-file"


def test_an_unreadable_file_is_a_settings_error(tmp_path):
    missing = tmp_path / "absent"
    with pytest.raises(ValueError) as raised:
        load_settings(COMMON_SETTINGS, environ={"DM_INTERNAL_TOKEN_FILE": str(missing)})
    assert str(raised.value) == (
        f"DM_INTERNAL_TOKEN_FILE: cannot read {missing}: No such file or directory"
    )


@pytest.mark.parametrize("name", ["expander", "resourcifier"])
def test_a_service_without_a_token_warns_at_start_up(tmp_path, name):
    process, _ = start_service(name, tmp_path, env={"DM_INTERNAL_TOKEN": ""})
    try:
        log = process.log()
    finally:
        process.stop()
    assert (
        f"dm-{name} serves without DM_INTERNAL_TOKEN: the calls between the services carry "
        "no token and anyone who reaches a service is served"
    ) in log


def test_a_service_with_a_token_file_serves_only_callers_that_send_it(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cret")
    process, url = start_service("expander", tmp_path, env={"DM_INTERNAL_TOKEN_FILE": str(secret)})
    try:
        anonymous = requests.post(f"{url}/expand", json={}, timeout=10)
        known = requests.post(
            f"{url}/expand", json={}, headers={"Authorization": "Bearer s3cret"}, timeout=10
        )
        log = process.log()
    finally:
        process.stop()
    assert (anonymous.status_code, known.status_code) == (401, 400)
    assert "without DM_INTERNAL_TOKEN" not in log
