"""Jinja templates, rendered in Jinja's sandboxed environment.

Printing an undefined value renders it empty and records a warning naming the file, line
and variable, as templates written for Google Cloud Deployment Manager expect; in strict
mode it is an error instead.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import jinja2
import jinja2.bccache
import jinja2.debug  # noqa: F401 - loaded now: the sandboxed worker cannot read modules later
import jinja2.ext
from jinja2.sandbox import SandboxedEnvironment

from dmcommon.errors import BadRequest


class JinjaTemplateError(BadRequest):
    """A Jinja template failed to compile or render."""


class OutputTooLarge(BadRequest):
    """A template produced more text than the limit allows."""


class _SharedBytecode(jinja2.BytecodeCache):
    """Compiled templates kept in memory, so children forked later skip compiling.

    Entries are keyed by template name and a checksum of the text, so a template always
    runs the code its own text compiles to.
    """

    def __init__(self, capacity_bytes: int = 32 * 1024 * 1024):
        self.capacity_bytes = capacity_bytes
        self.size = 0
        self.codes: dict[tuple[str, str], Any] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        bucket.code = self.codes.get((bucket.key, bucket.checksum))

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        # Only this process sees the entry: it serves the rest of the current request.
        self.codes[(bucket.key, bucket.checksum)] = bucket.code

    def adopt(self, entries: dict[tuple[str, str], Any], size: int) -> None:
        """Keep entries compiled by a confined child (`size` bytes marshalled) for good."""
        if self.size + size <= self.capacity_bytes:
            self.size += size
            self.codes.update(entries)

    def holds(self, name: str, filename: str, source: str) -> bool:
        """Whether the code of this template text is cached."""
        key = (self.get_cache_key(name, filename), self.get_source_checksum(source))
        return key in self.codes


SHARED_BYTECODE = _SharedBytecode()


class _StrictUndefined(jinja2.StrictUndefined):
    """Undefined values fail when used, but test false in `{% if %}`.

    Templates written for other Deployment Managers guard optional properties with
    `{% if properties['x'] %}`; that keeps working, while printing, iterating or
    comparing an undefined value fails with the file and line.
    """

    __slots__ = ()

    def __bool__(self) -> bool:
        return False


class _PrintableUndefined(jinja2.ChainableUndefined, _StrictUndefined):
    """Undefined values that print as nothing, each print reported to `printed`; looking
    up a key or attribute of one gives the same undefined value. Anything else still
    fails, and so does printing what the sandbox refused (an unsafe attribute).
    """

    __slots__ = ()
    printed: Callable[[str], None]

    def __str__(self) -> str:
        if self._undefined_exception is not jinja2.UndefinedError:
            self._fail_with_undefined_error()
        type(self).printed(self._undefined_message)
        return ""


def _template_line() -> tuple[str, int] | None:
    """The file and line of the innermost Jinja template running on this thread."""
    frame = sys._getframe(1)
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            return template.filename, template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None


class JinjaRenderer:
    """Renders the Jinja imports of one request.

    `find_source(name)` returns `(filename, text)` of an import given its name or path,
    or None; `{% import %}` and `{% include %}` use it too. Unless `strict`, printing an
    undefined value adds a warning to `warnings` (once per file, line and message).
    """

    def __init__(
        self,
        find_source: Callable[[str], tuple[str, str] | None],
        max_output: int,
        strict: bool = False,
    ):
        self._find_source = find_source
        self._max_output = max_output
        self._filenames: set[str] = set()
        self._warnings: dict[str, None] = {}
        undefined = _StrictUndefined if strict else type(
            "Undefined",
            (_PrintableUndefined,),
            {"__slots__": (), "printed": staticmethod(self._printed_undefined)},
        )
        self.environment = SandboxedEnvironment(
            loader=jinja2.FunctionLoader(self._load),
            undefined=undefined,
            extensions=[jinja2.ext.do, jinja2.ext.loopcontrols],
            bytecode_cache=SHARED_BYTECODE,
        )

    @property
    def warnings(self) -> list[str]:
        """What the templates rendered so far printed that was undefined, in order."""
        return list(self._warnings)

    def _printed_undefined(self, message: str) -> None:
        where = _template_line()
        place = _at(*where) if where else "a Jinja template"
        self._warnings.setdefault(f"{place}: {message} (rendered empty)")

    def _load(self, name: str):
        found = self._find_source(name)
        if found is None:
            return None
        filename, text = found
        self._filenames.add(filename)
        return text, filename, lambda: True

    def render(self, name: str, variables: dict[str, Any]) -> str:
        """Render import `name` with `variables`; stop as soon as the output is too large."""
        filename = name
        try:
            template = self.environment.get_template(name)
            filename = template.filename or name
            chunks: list[str] = []
            size = 0
            for chunk in template.generate(variables):
                size += len(chunk)
                if size > self._max_output:
                    raise OutputTooLarge(
                        f"{filename}: output is larger than the limit of {self._max_output} bytes"
                    )
                chunks.append(chunk)
            return "".join(chunks)
        except BadRequest:
            raise
        except jinja2.TemplateNotFound as error:
            where = self._innermost(error) or (filename, None)
            raise JinjaTemplateError(
                f"{_at(*where)}: imports '{error.name}', which was not supplied with the request"
            ) from None
        except jinja2.TemplateSyntaxError as error:
            raise JinjaTemplateError(
                f"{_at(error.filename or filename, error.lineno)}: syntax error: {error.message}"
            ) from None
        except jinja2.UndefinedError as error:
            where = self._innermost(error) or (filename, None)
            message = f"{_at(*where)}: undefined variable: {error.message}"
            raise JinjaTemplateError(message) from None
        except MemoryError:
            raise
        except Exception as error:
            where = self._innermost(error) or (filename, None)
            raise JinjaTemplateError(
                f"{_at(*where)}: {type(error).__name__}: {error}"
            ) from None

    def _innermost(self, error: BaseException) -> tuple[str, int] | None:
        """The template file and line where `error` was raised, from Jinja's rewritten traceback."""
        found = None
        tb = error.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename in self._filenames:
                found = (filename, tb.tb_lineno)
            tb = tb.tb_next
        return found


def _at(filename: str, line: int | None) -> str:
    return f"{filename} line {line}" if line else filename
