"""The simulator is a development and test tool: no service may depend on it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = ("manager", "expander", "resourcifier", "dmcommon")


def _imported_modules(source: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_no_service_package_imports_the_simulator(package):
    importers = sorted(
        str(source.relative_to(ROOT))
        for source in (ROOT / package).rglob("*.py")
        if any(module.split(".")[0] == "kubesim" for module in _imported_modules(source))
    )
    assert importers == []
