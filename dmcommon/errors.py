"""Exceptions that carry an HTTP status, and the one place that renders them as JSON."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException


class DMError(Exception):
    """A failure with an HTTP status and a message that is safe to show to the caller."""

    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(DMError):
    status = 400


class Unauthorized(DMError):
    status = 401


class Forbidden(DMError):
    status = 403


class NotFound(DMError):
    status = 404


class Conflict(DMError):
    status = 409


class PayloadTooLarge(DMError):
    status = 413


class BadGateway(DMError):
    status = 502


class ServiceUnavailable(DMError):
    status = 503


class GatewayTimeout(DMError):
    status = 504


def error_response(status: int, message: str):
    """The error body of every service: `{"status": <code>, "message": "..."}`."""
    return jsonify({"status": status, "message": message}), status


def register_error_handlers(app: Flask) -> None:
    """Render domain errors, HTTP errors and surprises as JSON; never a stack trace."""

    @app.errorhandler(DMError)
    def _domain(error: DMError):
        return error_response(error.status, error.message)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            return error_response(413, f"request body is larger than the limit of {limit} bytes")
        return error_response(error.code or 500, error.description or error.name)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unexpected error")
        return error_response(500, "internal error")
