"""The pure packages never do I/O, and dependencies point one way (ARCHITECTURE §1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_PURE = {
    "trio",
    "libp2p",
    "sqlite3",
    "socket",
    "asyncio",
    "aiosqlite",
    "os",
    "time",
    "random",
    "node",
    "subprocess",
    "threading",
    "multiprocessing",
    "pathlib",
    "shutil",
    "io",
    "tempfile",
    "select",
    "selectors",
    "urllib",
    "http",
    "secrets",
}
# Which of our packages each package may import.
ALLOWED_OURS = {
    "protocol": {"protocol"},
    "ledger": {"protocol", "ledger"},
    "licenses": {"protocol", "licenses"},
    "node": {"protocol", "ledger", "licenses", "node"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def python_files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"package {package} has no modules"
    return files


@pytest.mark.parametrize("package", ["protocol", "ledger", "licenses"])
def test_pure_packages_do_no_io(package: str) -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in python_files(package)
        for line, name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN_IN_PURE
    ]
    assert bad == []


@pytest.mark.parametrize("package", sorted(ALLOWED_OURS))
def test_dependencies_point_one_way(package: str) -> None:
    ours = set(ALLOWED_OURS)
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in python_files(package)
        for line, name in imported_modules(path)
        if name.split(".")[0] in ours and name.split(".")[0] not in ALLOWED_OURS[package]
    ]
    assert bad == []


def test_only_one_node_module_imports_libp2p() -> None:
    users = {
        str(path.relative_to(ROOT))
        for path in python_files("node")
        for _, name in imported_modules(path)
        if name.split(".")[0] in {"libp2p", "multiaddr"}
    }
    assert len(users) <= 1, users


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom trio import run\nfrom protocol import x\n")
    assert [name for _, name in imported_modules(sample)] == ["os", "trio", "protocol"]
