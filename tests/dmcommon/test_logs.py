"""Log lines as plain text or JSON, each naming its request and what it is about."""

from __future__ import annotations

import datetime
import io
import json
import logging

import pytest
from click.testing import CliRunner
from gunicorn.config import Config

from dmcommon.logs import RequestIdFilter, dress, gunicorn_logger
from dmcommon.request_ids import bound_request_id
from dmcommon.settings import parse_log_format
from expander.server import main as expander_main


@pytest.fixture
def written():
    """A logger whose lines land in a buffer: `written(format)` -> (logger, buffer)."""
    logger = logging.getLogger("tests.dmcommon.logs")
    logger.propagate = False
    logger.setLevel(logging.INFO)

    def make(log_format: str):
        buffer = io.StringIO()
        handler = logging.StreamHandler(buffer)
        dress(handler, log_format)
        logger.handlers = [handler]
        return logger, buffer

    yield make
    logger.handlers = []


def test_a_json_line_has_the_time_level_logger_message_request_id_and_context(written):
    logger, buffer = written("json")
    with bound_request_id("r-7"):
        logger.info(
            "%s applied", "web", extra={"deployment": "shop", "operation": "op1", "resource": "web"}
        )
    line = json.loads(buffer.getvalue())
    assert set(line) == {
        "time", "level", "logger", "message", "request_id", "deployment", "operation", "resource"
    }
    assert line["level"] == "INFO"
    assert line["logger"] == "tests.dmcommon.logs"
    assert line["message"] == "web applied"
    assert line["request_id"] == "r-7"
    assert (line["deployment"], line["operation"], line["resource"]) == ("shop", "op1", "web")
    assert line["time"].endswith("Z")
    datetime.datetime.fromisoformat(line["time"])


def test_a_json_line_outside_a_request_has_a_null_request_id_and_no_context(written):
    logger, buffer = written("json")
    logger.warning("starting")
    line = json.loads(buffer.getvalue())
    assert line["request_id"] is None
    assert "deployment" not in line


def test_an_exception_stays_inside_its_one_json_line(written):
    logger, buffer = written("json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("it failed")
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["message"] == "it failed"
    assert "RuntimeError: boom" in line["exception"]


def test_a_plain_line_shows_the_request_id_and_the_context_as_key_values(written):
    logger, buffer = written("text")
    with bound_request_id("r-8"):
        logger.info("step done", extra={"deployment": "shop", "operation": "op2"})
    text = buffer.getvalue().rstrip("\n")
    assert text.endswith(
        " INFO tests.dmcommon.logs [r-8] step done deployment=shop operation=op2"
    )


def test_gunicorn_access_lines_carry_the_id_the_answer_carried(capsys):
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", '"%(r)s" %(s)s')
    logger = gunicorn_logger("json")(config)

    class Answer:
        status = "200 OK"
        sent = 2
        headers = [("Content-Type", "text/plain"), ("X-Request-ID", "r-9")]

    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/healthz", "SERVER_PROTOCOL": "HTTP/1.1"}
    try:
        logger.access(Answer(), {}, environ, datetime.timedelta(milliseconds=3))
    finally:
        for log in (logger.error_log, logger.access_log):
            log.handlers = []
    line = json.loads(capsys.readouterr().out)
    assert line["logger"] == "gunicorn.access"
    assert line["message"] == '"GET /healthz HTTP/1.1" 200'
    assert line["request_id"] == "r-9"


def test_the_request_id_filter_keeps_an_id_its_writer_gave():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.request_id = "given"
    with bound_request_id("current"):
        RequestIdFilter().filter(record)
    assert record.request_id == "given"


def test_the_log_format_is_text_or_json():
    assert parse_log_format(" JSON ") == "json"
    with pytest.raises(ValueError) as error:
        parse_log_format("xml")
    assert str(error.value) == "unknown log format 'xml'; choose 'text' or 'json'"


def test_a_service_refuses_an_unknown_log_format_before_starting():
    result = CliRunner().invoke(expander_main, ["--log-format", "xml"])
    assert result.exit_code == 2
    assert "unknown log format 'xml'; choose 'text' or 'json'" in result.output


def test_a_service_refuses_an_unknown_log_format_variable_before_starting():
    result = CliRunner().invoke(expander_main, [], env={"DM_LOG_FORMAT": "yaml"})
    assert result.exit_code == 2
    assert "DM_LOG_FORMAT: unknown log format 'yaml'; choose 'text' or 'json'" in result.output
