"""The installed packages stand alone: they import nothing from the benchmarks, the frozen lab
scripts or the tests, which are not installed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OUTSIDE = ("benchmarks", "docs", "tests")


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports (absolute imports only)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", ["surgsteer_cli", "surgsteer_convert"])
def test_the_packages_import_nothing_from_outside_them(package: str) -> None:
    found = [
        f"{path.relative_to(REPO)}: {name}"
        for path in sorted((REPO / package).rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] in OUTSIDE
    ]
    assert found == []
