"""Kubernetes `Status` failures: raised by the simulator's domain code, rendered by its server."""

from __future__ import annotations

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class StatusError(Exception):
    """A failed API call, shaped like the Status object the Kubernetes API server answers with."""

    def __init__(
        self, code: int, message: str, reason: str | None = None, details: dict | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def to_dict(self) -> dict:
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status


def details(resource: str, group: str, name: str) -> dict:
    """The `details` of a Status about one object: its name, resource (or kind) and group."""
    about = {"name": name, "kind": resource}
    if group:
        about["group"] = group
    return about


def not_found(resource: str, group: str, name: str) -> StatusError:
    """`deployments.apps "web" not found`."""
    qualified = f"{resource}.{group}" if group else resource
    return StatusError(
        404, f'{qualified} "{name}" not found', "NotFound", details(resource, group, name)
    )


def namespace_not_found(namespace: str) -> StatusError:
    return not_found("namespaces", "", namespace)


def already_exists(resource: str, group: str, name: str) -> StatusError:
    qualified = f"{resource}.{group}" if group else resource
    return StatusError(
        409, f'{qualified} "{name}" already exists', "AlreadyExists",
        details(resource, group, name),
    )


def conflict(resource: str, group: str, name: str, why: str) -> StatusError:
    qualified = f"{resource}.{group}" if group else resource
    return StatusError(
        409, f'Operation cannot be fulfilled on {qualified} "{name}": {why}', "Conflict",
        details(resource, group, name),
    )


STALE_VERSION = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> StatusError:
    """422 listing every (field, problem) pair, the way the API server joins field errors."""
    problems = [f"{path}: {problem}" for path, problem in causes]
    joined = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
    about = details(kind, group, name)
    about["causes"] = [
        {"reason": "FieldValueInvalid", "message": problem, "field": path}
        for path, problem in causes
    ]
    return StatusError(422, f'{kind}.{group} "{name}" is invalid: {joined}' if group
                       else f'{kind} "{name}" is invalid: {joined}', "Invalid", about)


def bad_request(message: str) -> StatusError:
    return StatusError(400, message, "BadRequest")


def no_such_resource() -> StatusError:
    """404 for a path that names no served resource (or subresource)."""
    return StatusError(404, "the server could not find the requested resource", "NotFound")


def method_not_allowed() -> StatusError:
    """405 for a verb the addressed resource path does not take."""
    return StatusError(405, "the server does not allow this method on the requested resource")
