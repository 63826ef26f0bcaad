"""The resourcifier's requests, each checked and handed to whichever backend it was given."""

from __future__ import annotations

import re
from typing import Any

from dmcommon.errors import BadRequest
from dmcommon.names import is_dns_label
from dmcommon.redact import Redactor, secret_values
from resourcifier.backends.base import FAILED, Backend, Observation, ResourceResult
from resourcifier.health import MISSING, Health
from resourcifier.wire import Configuration, Resource

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
        """Create or update every resource; each comes back with its state.

        A resource of a kind the runtime does not serve fails alone; the others are applied.
        """
        configuration = self._configuration(body)
        known, unknown = self._split_by_kind(configuration)
        self._apply(known, unknown, configuration.namespace, dry_run)
        return configuration

    def delete(self, body: Any, dry_run: bool = False) -> Configuration:
        """Delete every resource; one already gone counts as deleted.

        A kind the runtime does not serve is not refused here: no object of it can exist,
        and a deployment must stay deletable after its CRD was removed.
        """
        configuration = self._configuration(body)
        results = self.backend.delete(configuration.objects, configuration.namespace, dry_run)
        hide = _hiding(configuration.resources)
        for resource, result in zip(configuration.resources, results, strict=True):
            resource.state = _cleaned(result, hide)
        return configuration

    def status(self, body: Any) -> Configuration:
        """Every resource's live object (None when absent) and health, read in one batch."""
        configuration = self._configuration(body)
        self._observe(*self._split_by_kind(configuration), configuration.namespace)
        return configuration

    def preview(self, body: Any) -> Configuration:
        """A server-side dry run of every resource beside its live object: what applying
        would change. Nothing is persisted."""
        configuration = self._configuration(body)
        known, unknown = self._split_by_kind(configuration)
        self._observe(known, unknown, configuration.namespace)
        self._apply(known, unknown, configuration.namespace, dry_run=True)
        return configuration

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

    def _configuration(self, body: Any) -> Configuration:
        """The validated Configuration of a request body."""
        configuration = Configuration.from_dict(body)
        if configuration.namespace is not None:
            _check_namespace(configuration.namespace)
        configuration.check_duplicates(self.default_namespace)
        return configuration

    def _split_by_kind(
        self, configuration: Configuration
    ) -> tuple[list[Resource], list[tuple[Resource, str]]]:
        """(resources whose kind the runtime serves, [(resource, why not)] for the others)."""
        problems = self.backend.unknown_kinds(configuration.objects)
        known = [r for index, r in enumerate(configuration.resources) if index not in problems]
        unknown = [(configuration.resources[index], reason) for index, reason in problems.items()]
        return known, unknown

    def _apply(
        self,
        known: list[Resource],
        unknown: list[tuple[Resource, str]],
        namespace: str | None,
        dry_run: bool,
    ) -> None:
        if known:
            results = self.backend.apply([resource.properties for resource in known],
                                         namespace, dry_run)
            hide = _hiding(known)
            for resource, result in zip(known, results, strict=True):
                resource.state = _cleaned(result, hide)
        for resource, reason in unknown:
            resource.state = ResourceResult(FAILED, [reason])

    def _observe(
        self, known: list[Resource], unknown: list[tuple[Resource, str]], namespace: str | None
    ) -> None:
        if known:
            observations = self.backend.observe([resource.properties for resource in known],
                                                namespace)
            for resource, observation in zip(known, observations, strict=True):
                resource.observed = observation
        for resource, reason in unknown:
            # No object of a kind the runtime does not serve can exist.
            resource.observed = Observation(None, Health(MISSING, reason))


def _hiding(resources: list[Resource]) -> Redactor:
    """Hides the Secret values of `resources`, which a cluster error may quote."""
    return Redactor(set().union(*(secret_values(resource.properties) for resource in resources)))


def _cleaned(result: ResourceResult, hide: Redactor) -> ResourceResult:
    """`result` with no Secret value in its errors: they never leave the resourcifier."""
    result.errors = [hide.text(error) for error in result.errors]
    return result


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
