"""The shared rules that hide secret values."""

from __future__ import annotations

import base64

from dmcommon.redact import Redactor, marker, replace_at, secret_values, values_at


def test_a_marker_shows_a_digest_and_the_length_but_not_the_value():
    assert marker("S3cr3t") == "<redacted sha256:1b7d649c len=6>"
    assert marker("S3cr3t") != marker("S3cr3u")


def test_secret_values_include_decoded_data_and_nested_string_data():
    secret = {
        "kind": "Secret",
        "data": {"token": base64.b64encode(b"t0ken-value").decode()},
        "stringData": {"password": {"nested": "S3cr3t"}},
    }
    assert secret_values(secret) == {
        base64.b64encode(b"t0ken-value").decode(), "t0ken-value", "S3cr3t"
    }
    assert secret_values({"kind": "ConfigMap", "data": {"a": "b"}}) == set()


def test_text_is_scrubbed_of_every_value_longest_first():
    hide = Redactor({"S3cr3t", "S3cr3t-long", "ab"})
    text = 'Invalid value: {"nested":"S3cr3t-long"} and S3cr3t, ab'
    assert hide.text(text) == (
        f'Invalid value: {{"nested":"{marker("S3cr3t-long")}"}} and {marker("S3cr3t")}, ab'
    )


def test_a_secret_object_shows_markers_for_its_values():
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": "S3cr3t"}}
    assert Redactor().object(secret) == {
        "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": marker("S3cr3t")}
    }
    assert secret["stringData"] == {"p": "S3cr3t"}


def test_paths_reach_nested_properties_and_list_items():
    properties = {"db": {"password": "pw-1"}, "users": [{"key": "k-1"}, {"key": "k-2"}]}
    paths = [["db", "password"], ["users", "*", "key"], ["absent"]]
    assert values_at(properties, paths) == ["pw-1", "k-1", "k-2"]
    assert replace_at(properties, paths) == {
        "db": {"password": marker("pw-1")},
        "users": [{"key": marker("k-1")}, {"key": marker("k-2")}],
    }
