"""The one place that renders errors as the JSON body every service answers with."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from dmcommon.bodies import limit_request_bodies, too_large_message
from dmcommon.errors import DMError


def error_response(status: int, message: str):
    """The error body of every service: `{"status": <code>, "message": "..."}`."""
    return jsonify({"status": status, "message": message}), status


def register_error_handlers(app: Flask) -> None:
    """Render domain errors, HTTP errors and surprises as JSON; never a stack trace.

    Also refuses bodies over the size limit, chunked ones included, with a JSON 413.
    """
    limit_request_bodies(app)

    @app.errorhandler(DMError)
    def _domain(error: DMError):
        return error_response(error.status, error.message)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code == 413:
            return error_response(413, too_large_message(app.config.get("MAX_CONTENT_LENGTH")))
        body, status = error_response(error.code or 500, error.description or error.name)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            body.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return body, status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unexpected error")
        return error_response(500, "internal error")
