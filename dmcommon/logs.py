"""How a service's log lines look: plain text or one JSON object per line (DM_LOG_FORMAT).

Every line names the request it was written for (its `X-Request-ID`, see request_ids.py)
and, when the code that wrote it passed them as `extra`, the deployment, operation and
resource it concerns. gunicorn's own error and access logs get the same formatting.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from gunicorn.glogging import Logger as GunicornLogger

from dmcommon.request_ids import HEADER, bound_request_id, current_request_id

JSON = "json"

# `extra` fields that say what a line is about, in the order they are shown.
CONTEXT_FIELDS = ("deployment", "operation", "resource")

# gunicorn's access line without its own timestamp: the formatter adds one.
ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


class RequestIdFilter(logging.Filter):
    """Give every record the current request id (unless its writer gave one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and context."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class PlainFormatter(logging.Formatter):
    """`time level logger [request id] message key=value...`, the context as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            _timestamp(record),
            record.levelname,
            record.name,
            f"[{getattr(record, 'request_id', None) or '-'}]",
            record.getMessage(),
        ]
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                parts.append(f"{field}={value}")
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == JSON else PlainFormatter()


def dress(handler: logging.Handler, log_format: str) -> None:
    """Make `handler` write lines in `log_format`, each with its request id."""
    handler.setFormatter(formatter(log_format))
    if not any(isinstance(item, RequestIdFilter) for item in handler.filters):
        handler.addFilter(RequestIdFilter())


def configure_logging(log_format: str, level: str) -> None:
    """Send the process's log records to stderr in `log_format`, from `level` up."""
    handler = logging.StreamHandler(sys.stderr)
    dress(handler, log_format)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def gunicorn_logger(log_format: str) -> type[GunicornLogger]:
    """A gunicorn logger class whose error and access lines are written in `log_format`."""

    class ServiceLogger(GunicornLogger):
        def setup(self, cfg) -> None:
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    dress(handler, log_format)

        def access(self, resp, req, environ, request_time) -> None:
            # Written once the request is done: the id is the one its answer carries.
            sent = [value for name, value in resp.headers if name.lower() == HEADER.lower()]
            with bound_request_id(sent[0] if sent else None):
                super().access(resp, req, environ, request_time)

    return ServiceLogger
