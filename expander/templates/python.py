"""Running Python templates: guarded imports and `GenerateConfig(context)`.

This is one layer of the sandbox; the other is the confined worker process
(`expander.sandbox.forkserver`) every expansion runs in. The code itself is checked and
given restricted builtins by `expander.templates.restricted`; here `import` only finds
the request's Python imports and an allow-list of standard modules, each seen through a
copy that holds only its public, non-module names, and a failure is reported with the
template's own traceback lines.
"""

from __future__ import annotations
import __future__

import base64
import collections
import collections.abc
import copy
import datetime
import functools
import hashlib
import itertools
import json
import math
import random
import re
import string
import textwrap
import traceback
import types
from typing import Any, Mapping

import yaml

from expander.templates.restricted import (
    FORMAT_GUARD,
    SafeFormatter,
    TemplateCodeError,
    compile_cached,
    format_guard,
    safe_builtins,
)

ALLOWED_MODULES: dict[str, types.ModuleType] = {
    module.__name__: module
    for module in (
        __future__, base64, collections, collections.abc, copy, datetime, functools, hashlib,
        itertools, json, math, random, re, string, textwrap,
    )
}

# Public names that evaluate strings as code (type hints of registered functions).
_WITHHELD = {"functools": {"singledispatch", "singledispatchmethod"}}


def _public_copy(module: types.ModuleType, overrides: Mapping[str, Any] = ()) -> types.ModuleType:
    """A module holding only `module`'s public names that are not themselves modules."""
    proxy = types.ModuleType(module.__name__, module.__doc__)
    withheld = _WITHHELD.get(module.__name__, ())
    for name, value in vars(module).items():
        if name.startswith("_") or name in withheld or isinstance(value, types.ModuleType):
            continue
        setattr(proxy, name, value)
    for name, value in dict(overrides).items():
        setattr(proxy, name, value)
    return proxy


def _safe_yaml() -> types.ModuleType:
    """`yaml` whose load functions only ever build plain data."""

    def load(stream, Loader=None):  # noqa: N803 - PyYAML's own signature
        return yaml.load(stream, Loader=yaml.SafeLoader)

    def load_all(stream, Loader=None):  # noqa: N803
        return yaml.load_all(stream, Loader=yaml.SafeLoader)

    def dump(data, stream=None, **kwargs):
        kwargs.pop("Dumper", None)
        return yaml.dump(data, stream, Dumper=yaml.SafeDumper, **kwargs)

    def dump_all(documents, stream=None, **kwargs):
        kwargs.pop("Dumper", None)
        return yaml.dump_all(documents, stream, Dumper=yaml.SafeDumper, **kwargs)

    proxy = types.ModuleType("yaml")
    for name in ("safe_load", "safe_load_all", "safe_dump", "safe_dump_all", "YAMLError",
                 "MarkedYAMLError", "SafeLoader", "SafeDumper"):
        setattr(proxy, name, getattr(yaml, name))
    for function in (load, load_all, dump, dump_all):
        setattr(proxy, function.__name__, function)
    proxy.FullLoader = proxy.Loader = proxy.UnsafeLoader = yaml.SafeLoader
    proxy.Dumper = yaml.SafeDumper
    return proxy


def _stdlib_proxy(name: str) -> types.ModuleType:
    if name == "yaml":
        return _safe_yaml()
    overrides = {"Formatter": SafeFormatter} if name == "string" else {}
    return _public_copy(ALLOWED_MODULES[name], overrides)


def python_module_names(path: str) -> list[str]:
    """Dotted module names an import file answers to: `helpers/x.py` -> `helpers.x`."""
    parts = [part for part in path.removesuffix(".py").split("/") if part not in ("", ".", "..")]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return [".".join(parts)] if parts else []


class ModuleLoader:
    """Imports for the Python templates of one request.

    `sources` maps a module name to `(filename, source)`. A dotted name's parents are
    packages even without an `__init__.py`.
    """

    def __init__(self, sources: Mapping[str, tuple[str, str]]):
        self.sources = dict(sources)
        self.packages = {
            ".".join(name.split(".")[:depth])
            for name in self.sources
            for depth in range(1, name.count(".") + 1)
        }
        self.modules: dict[str, types.ModuleType] = {}
        self.code: dict[str, types.CodeType] = {}
        self.builtins = safe_builtins(self.import_module)
        self.filenames = {filename: source for filename, source in self.sources.values()}

    def compiled(self, filename: str, source: str) -> types.CodeType:
        """The checked code of a file, compiled once per request."""
        if filename not in self.code:
            self.code[filename] = compile_cached(source, filename)
        return self.code[filename]

    def new_globals(self, name: str, filename: str, package: str) -> dict[str, Any]:
        """Fresh globals for a template or module run under the restricted builtins."""
        return {
            "__builtins__": self.builtins,
            "__name__": name,
            "__file__": filename,
            "__package__": package,
            FORMAT_GUARD: format_guard,
        }

    def import_module(self, name, globals=None, locals=None, fromlist=(), level=0):
        """The `__import__` templates get."""
        if level:
            package = (globals or {}).get("__package__") or ""
            base = package.split(".")
            if level - 1:
                base = base[: -(level - 1)]
            name = ".".join(part for part in [*base, name] if part)
        module = self._load(name)
        if not fromlist:
            return self._load(name.partition(".")[0])
        for item in fromlist:
            if item != "*" and not hasattr(module, item) and f"{name}.{item}" in self._known():
                self._load(f"{name}.{item}")
        return module

    def _known(self) -> set[str]:
        return set(self.sources) | self.packages | set(ALLOWED_MODULES)

    def _load(self, name: str) -> types.ModuleType:
        if name in self.modules:
            return self.modules[name]
        parent, _, child = name.rpartition(".")
        if name in ALLOWED_MODULES or name == "yaml":
            module = self.modules[name] = _stdlib_proxy(name)
            if parent:
                setattr(self._load(parent), child, module)
            return module
        if name not in self.sources and name not in self.packages:
            allowed = ", ".join(sorted([*ALLOWED_MODULES, "yaml"]))
            raise ImportError(
                f"import of '{name}' is not allowed: templates may import the request's Python"
                f" imports and the modules {allowed}"
            )
        if parent:
            self._load(parent)
        module = types.ModuleType(name)
        is_package = name in self.packages
        if is_package:
            module.__path__ = []
        self.modules[name] = module
        if name in self.sources:
            filename, source = self.sources[name]
            package = name if is_package else parent
            module.__dict__.update(self.new_globals(name, filename, package))
            try:
                exec(self.compiled(filename, source), module.__dict__)
            except BaseException:
                del self.modules[name]
                raise
        if parent:
            setattr(self.modules[parent], child, module)
        return module


class Context:
    """What `GenerateConfig(context)` receives."""

    def __init__(self, properties: dict[str, Any], env: dict[str, Any], imports: dict[str, str]):
        self.properties = properties
        self.env = env
        self.imports = imports


def run_python_template(
    loader: ModuleLoader, filename: str, source: str, context: Context
) -> Any:
    """Run a template's `GenerateConfig(context)` and return what it returns.

    A failure is a TemplateCodeError whose message holds the template's own traceback
    lines (the engine's frames are left out).
    """
    code = loader.compiled(filename, source)
    namespace = loader.new_globals(filename.removesuffix(".py").replace("/", "."), filename, "")
    try:
        exec(code, namespace)
        generate = namespace.get("GenerateConfig") or namespace.get("generate_config")
        if not callable(generate):
            raise TemplateCodeError(f"{filename} does not define GenerateConfig(context)")
        return generate(context)
    except TemplateCodeError:
        raise
    except MemoryError:
        raise
    except Exception as error:
        raise TemplateCodeError(_describe_failure(error, loader.filenames)) from None


def _describe_failure(error: BaseException, sources: Mapping[str, str]) -> str:
    """`Type: message` plus the traceback frames that belong to template files.

    Runs of the same frame (endless recursion) are shown once with a count.
    """
    frames = [
        frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename in sources
    ]
    lines: list[str] = []
    repeats = 0
    for index, frame in enumerate(frames):
        previous = frames[index - 1] if index else None
        if previous is not None and (frame.filename, frame.lineno, frame.name) == (
            previous.filename, previous.lineno, previous.name
        ):
            repeats += 1
            continue
        if repeats:
            lines.append(f"  [previous frame repeated {repeats} more times]")
            repeats = 0
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        source_lines = sources[frame.filename].splitlines()
        if frame.lineno and 0 < frame.lineno <= len(source_lines):
            lines.append("    " + source_lines[frame.lineno - 1].strip())
    if repeats:
        lines.append(f"  [previous frame repeated {repeats} more times]")
    summary = "".join(traceback.format_exception_only(type(error), error)).strip()
    if not lines:
        return summary
    return "Traceback (most recent call last):\n" + "\n".join(lines) + "\n" + summary
