"""The code guard of Python templates: a checked syntax tree, guarded attributes and builtins.

Attribute names that lead from any object to classes, frames or module globals are
rejected when a template is compiled; `str.format` and `str.format_map` (which walk
attributes in C) go through `format_guard`, which checks the format string first; the
builtins a template gets have no `open`, `eval`, `exec`, `compile`, `globals` or `vars`,
and their `getattr` family applies the same attribute rules at run time.
"""

from __future__ import annotations

import ast
import builtins
import re
import string
import types
from typing import Any, Callable

from dmcommon.errors import BadRequest

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
FORMAT_GUARD = "__dm_format__"


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
            guard = ast.copy_location(ast.Name(FORMAT_GUARD, ast.Load()), node)
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


def compiled_bytes() -> int:
    """Source text whose checked code this process keeps; it grows when code is kept."""
    return _compiled_bytes


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


def format_guard(obj: Any, name: str) -> Any:
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


class SafeFormatter(string.Formatter):
    """`string.Formatter` that refuses unsafe attribute fields."""

    def get_field(self, field_name, args, kwargs):
        _check_format_string("{" + field_name + "}")
        return super().get_field(field_name, args, kwargs)


def _safe_getattr(obj: Any, name: str, *default: Any) -> Any:
    if not isinstance(name, str) or not attribute_allowed(name):
        raise AttributeError(f"access to attribute {name!r} is not allowed in templates")
    if name in _FORMAT_METHODS:
        return format_guard(obj, name)
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


def safe_builtins(importer: Callable[..., Any]) -> dict[str, Any]:
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


