"""The resourcifier's requests, each checked and handed to whichever backend it was given."""

from __future__ import annotations

import re
from typing import Any, Callable

from dmcommon.errors import BadRequest
from dmcommon.names import is_dns_label
from dmcommon.redact import Redactor, secret_values
from resourcifier.backends.base import Backend, ResourceResult
from resourcifier.wire import Configuration

# Path and query values reach kubectl as arguments: anything that could read as a
# flag or a list of several types is refused before kubectl sees it.
_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


class Resourcifier:
    """Validates requests, hands them to the backend and puts the answers together."""

    def __init__(self, backend: Backend, default_namespace: str | None = None):
        self.backend = backend
        self.default_namespace = default_namespace

    def apply(self, body: Any, dry_run: bool = False) -> Configuration:
        """Create or update every resource; each comes back with its state."""
        return self._each(body, self.backend.apply, dry_run, known_kinds=True)

    def delete(self, body: Any, dry_run: bool = False) -> Configuration:
        """Delete every resource; one already gone counts as deleted.

        A kind the runtime does not serve is not refused here: no object of it can exist,
        and a deployment must stay deletable after its CRD was removed.
        """
        return self._each(body, self.backend.delete, dry_run, known_kinds=False)

    def get(self, type_: str, name: str, namespace: str | None) -> dict[str, Any]:
        """The live object named `name` of kind or resource `type_`."""
        _check("type", type_, _TYPE)
        _check("name", name, _NAME)
        return self.backend.get(type_, name, _namespace(namespace))

    def list(self, type_: str, namespace: str | None) -> list[dict[str, Any]]:
        """The live objects of kind or resource `type_`."""
        _check("type", type_, _TYPE)
        return self.backend.list(type_, _namespace(namespace))

    def check(self) -> None:
        """Raise `ServiceUnavailable` when the backend's runtime does not answer."""
        self.backend.check()

    def _each(
        self,
        body: Any,
        action: Callable[..., list[ResourceResult]],
        dry_run: bool,
        known_kinds: bool,
    ) -> Configuration:
        """Validate `body`, run `action` on its objects, attach each result to its resource."""
        configuration = Configuration.from_dict(body)
        if configuration.namespace is not None:
            _check_namespace(configuration.namespace)
        if known_kinds:
            configuration.check_kinds(self.backend)
        configuration.check_duplicates(self.default_namespace)
        results = action(configuration.objects, configuration.namespace, dry_run)
        # A cluster error may quote the values it refused: Secret values never leave here.
        hide = Redactor(set().union(*map(secret_values, configuration.objects)))
        for resource, result in zip(configuration.resources, results, strict=True):
            result.errors = [hide.text(error) for error in result.errors]
            resource.state = result
        return configuration


def _namespace(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    _check_namespace(value)
    return value


def _check_namespace(value: str) -> None:
    if not is_dns_label(value):
        raise BadRequest(f"invalid namespace {value!r}")


def _check(what: str, value: str, pattern: re.Pattern[str]) -> None:
    if not pattern.fullmatch(value) or len(value) > 253:
        raise BadRequest(f"invalid {what} {value!r}")
