"""Exceptions that carry an HTTP status. Domain code raises them; `dmcommon.web` renders them.

This module imports nothing but the standard library, so any domain module can raise
an error without loading a web framework.
"""

from __future__ import annotations


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
