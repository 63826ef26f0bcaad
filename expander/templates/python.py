"""Python templates as restricted code: a checked syntax tree, safe builtins, guarded imports.

This is one layer of the sandbox; the other is the confined worker process
(`expander.sandbox.forkserver`) every expansion runs in. Here the template is kept from reaching
the interpreter's internals: attribute names that lead from any object to classes,
frames or module globals are rejected when the template is compiled, `str.format`
(which walks attributes in C) is wrapped, the builtins have no `open`, `eval`, `exec`,
`compile`, `globals` or `vars`, and `import` only finds the request's Python imports and
an allow-list of standard modules, each seen through a copy that holds only its public,
non-module names.
"""

from __future__ import annotations
import __future__

import ast
import base64
import builtins
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
from typing import Any, Callable, Mapping

import yaml

from dmcommon.errors import BadRequest

ALLOWED_MODULES: dict[str, types.ModuleType] = {
    module.__name__: module
    for module in (
        __future__, base64, collections, collections.abc, copy, datetime, functools, hashlib,
        itertools, json, math, random, re, string, textwrap,
    )
}

# Dunder names a template may use: defining classes needs `__init__`, and
# `if __name__ == ...` and docstrings are common and harmless.
SAFE_DUNDERS = frozenset({"__init__", "__name__", "__doc__", "__file__"})
# Module and class level names that only describe the code.
SAFE_DUNDER_NAMES = SAFE_DUNDERS | {"__all__", "__slots__", "__version__", "__author__"}

# Attributes that lead from ordinary objects to frames, code and globals.
UNSAFE_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "cr_origin",
    "ag_frame", "ag_code", "ag_await", "tb_frame", "tb_next", "f_back", "f_globals",
    "f_locals", "f_builtins", "f_code", "f_trace", "func_globals", "func_code", "mro",
})

_FORMAT_METHODS = ("format", "format_map")
# A dunder name, so template code can neither read nor replace it.
_FORMAT_GUARD = "__dm_format__"


def attribute_allowed(name: str) -> bool:
    """Whether a template may read or write an attribute of this name."""
    if name.startswith("__") and name not in SAFE_DUNDERS:
        return False
    return name not in UNSAFE_ATTRIBUTES


class TemplateCodeError(BadRequest):
    """A Python template or helper module broke the rules or failed."""


class _Checker(ast.NodeTransformer):
    """Rejects unsafe names and attributes; routes `.format` through the guard."""

    def __init__(self, filename: str):
        self.filename = filename

    def _reject(self, node: ast.AST, what: str) -> None:
        line = getattr(node, "lineno", "?")
        raise TemplateCodeError(f"{self.filename} line {line}: {what} is not allowed in templates")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id.startswith("__") and node.id not in SAFE_DUNDER_NAMES:
            self._reject(node, f"the name '{node.id}'")
        return node

    def visit_MatchClass(self, node: ast.MatchClass) -> ast.AST:
        # `case C(attr=...)` reads attributes without an Attribute node.
        for name in node.kwd_attrs:
            if not attribute_allowed(name) or name in _FORMAT_METHODS:
                self._reject(node, f"access to attribute '{name}' in a class pattern")
        self.generic_visit(node)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if not attribute_allowed(node.attr):
            self._reject(node, f"access to attribute '{node.attr}'")
        if node.attr in _FORMAT_METHODS and not isinstance(node.ctx, ast.Load):
            # `s.format += x` would read the unguarded method before storing.
            self._reject(node, f"assigning attribute '{node.attr}'")
        if node.attr in _FORMAT_METHODS:
            guard = ast.copy_location(ast.Name(_FORMAT_GUARD, ast.Load()), node)
            name = ast.copy_location(ast.Constant(node.attr), node)
            return ast.copy_location(ast.Call(guard, [node.value, name], []), node)
        return node


def compile_restricted(source: str, filename: str) -> types.CodeType:
    """Parse, check and compile a template or helper module."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as error:
        raise TemplateCodeError(
            f"{filename} line {error.lineno}: syntax error: {error.msg}"
            + (f"\n    {error.text.strip()}" if error.text else "")
        ) from None
    return compile(_Checker(filename).visit(tree), filename, "exec")


# Checked code of the files earlier requests supplied, keyed by file name and text. Only
# the fork server adds to it for good (`remember`); a child's additions die with it.
_COMPILED: dict[tuple[str, str], types.CodeType] = {}
# Bounds the memory the cache holds: total source text kept as keys.
_MAX_COMPILED_BYTES = 16 * 1024 * 1024
_compiled_bytes = 0


def compile_cached(source: str, filename: str) -> types.CodeType:
    """`compile_restricted`, reusing the code of an identical file compiled before."""
    key = (filename, source)
    global _compiled_bytes
    code = _COMPILED.get(key)
    if code is None:
        code = compile_restricted(source, filename)
        if _compiled_bytes + len(source) <= _MAX_COMPILED_BYTES:
            _compiled_bytes += len(source)
            _COMPILED[key] = code
    return code


def _check_format_string(text: str) -> None:
    """Refuse replacement fields that walk into unsafe attributes, e.g. `{0.__class__}`."""
    for _, field, spec, _ in string.Formatter().parse(text):
        if field:
            for name in re.findall(r"\.([^.\[]+)", field):
                if not attribute_allowed(name):
                    raise TemplateCodeError(
                        f"format field '{{{field}}}' reads attribute '{name}', which is not allowed"
                    )
        if spec and "{" in spec:
            _check_format_string(spec)


def _format_guard(obj: Any, name: str) -> Any:
    """What `obj.format` / `obj.format_map` would be, with the format string checked first."""
    method = getattr(obj, name)
    owner = getattr(method, "__self__", None)
    if isinstance(owner, str):
        def bound(*args, **kwargs):
            _check_format_string(owner)
            return method(*args, **kwargs)
        return bound
    if method is str.format or method is str.format_map:
        def unbound(text, *args, **kwargs):
            _check_format_string(text)
            return method(text, *args, **kwargs)
        return unbound
    return method


class _SafeFormatter(string.Formatter):
    """`string.Formatter` that refuses unsafe attribute fields."""

    def get_field(self, field_name, args, kwargs):
        _check_format_string("{" + field_name + "}")
        return super().get_field(field_name, args, kwargs)


def _safe_getattr(obj: Any, name: str, *default: Any) -> Any:
    if not isinstance(name, str) or not attribute_allowed(name):
        raise AttributeError(f"access to attribute {name!r} is not allowed in templates")
    if name in _FORMAT_METHODS:
        return _format_guard(obj, name)
    return getattr(obj, name, *default)


def _safe_hasattr(obj: Any, name: str) -> bool:
    try:
        _safe_getattr(obj, name)
    except AttributeError:
        return False
    return True


def _safe_setattr(obj: Any, name: str, value: Any) -> None:
    if not isinstance(name, str) or not attribute_allowed(name):
        raise AttributeError(f"setting attribute {name!r} is not allowed in templates")
    setattr(obj, name, value)


def _safe_delattr(obj: Any, name: str) -> None:
    if not isinstance(name, str) or not attribute_allowed(name):
        raise AttributeError(f"deleting attribute {name!r} is not allowed in templates")
    delattr(obj, name)


_SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr",
    "classmethod", "complex", "dict", "dir", "divmod", "enumerate", "filter", "float",
    "format", "frozenset", "hash", "hex", "id", "int", "isinstance", "issubclass", "iter",
    "len", "list", "map", "max", "min", "next", "object", "oct", "ord", "pow", "print",
    "property", "range", "repr", "reversed", "round", "set", "slice", "sorted",
    "staticmethod", "str", "sum", "super", "tuple", "type", "zip", "__build_class__",
    "NotImplemented", "Ellipsis",
)


def _safe_builtins(importer: Callable[..., Any]) -> dict[str, Any]:
    names = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
    exceptions = {
        name: value
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    return {
        **exceptions,
        **names,
        "getattr": _safe_getattr,
        "hasattr": _safe_hasattr,
        "setattr": _safe_setattr,
        "delattr": _safe_delattr,
        "__import__": importer,
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
    overrides = {"Formatter": _SafeFormatter} if name == "string" else {}
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
        self.builtins = _safe_builtins(self.import_module)
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
            _FORMAT_GUARD: _format_guard,
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
