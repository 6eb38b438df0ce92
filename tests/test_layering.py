"""The house's order, enforced (docs/architecture.md).

- The pure packages (protocol, ledger, licenses) do no I/O, and dependencies between
  packages point one way: node -> ledger, licenses -> protocol.
- Inside node/, roles are packages in one order, each importing only those before it:
  i18n <- store <- ops <- runtime <- net <- api <- the top (daemon, run, join). The
  CLI (node.cli) imports only i18n, store, ops and itself (its HTTP client); the demo
  only those and the CLI's client. node.i18n (the message catalogs) imports no role.
  Only node.net.host imports libp2p.
- No import cycle anywhere among the project's modules, imports inside functions and
  under TYPE_CHECKING included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("protocol", "ledger", "licenses", "node")
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
ROLE_ORDER = ("i18n", "store", "ops", "runtime", "net", "api")
TOP = "top"  # node.daemon, node.run, node.join: the composition root and its commands
ALLOWED_ROLES: dict[str, set[str]] = {
    **{role: set(ROLE_ORDER[: i + 1]) for i, role in enumerate(ROLE_ORDER)},
    "cli": {"i18n", "store", "ops", "cli"},
    "demo": {"i18n", "store", "ops", "cli", "demo"},
    TOP: {*ROLE_ORDER, "cli", "demo", TOP},
}
#: Libraries a role may not import: the CLI and the layers under the runtime load no
#: server, no libp2p and no trio (a CLI command answers in tens of milliseconds).
SERVER_LIBRARIES = {"fastapi", "starlette", "hypercorn", "libp2p", "multiaddr", "trio"}
NO_SERVER_ROLES = {"i18n", "store", "ops", "cli"}


def imports_in(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) of every import in a file, at any depth."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, tuple(a.name for a in node.names)))
    return found


def imported_modules(path: Path) -> list[tuple[int, str]]:
    return [(line, module) for line, module, _ in imports_in(path)]


def python_files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"package {package} has no modules"
    return files


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def role_of(module: str) -> str | None:
    """The role of a node module: its package under node/, or TOP for node.X itself."""
    parts = module.split(".")
    if parts[0] != "node" or len(parts) < 2:
        return None
    if len(parts) == 2 and not (ROOT / "node" / parts[1]).is_dir():
        return TOP
    return parts[1]


def project_edges() -> Iterator[tuple[str, str, int]]:
    """(importer, imported, line) over every project module; `from a import b` names
    module a.b when it is one."""
    modules = {module_name(p) for pkg in PACKAGES for p in python_files(pkg)}
    for pkg in PACKAGES:
        for path in python_files(pkg):
            me = module_name(path)
            for line, module, names in imports_in(path):
                targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in modules]
                if not targets and module in modules:
                    targets = [module]
                for target in targets:
                    yield me, target, line


def cycles(edges: list[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or with a self-loop
    (Tarjan's algorithm, iterative)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1 or v in graph[v]:
                    found.append(sorted(component))
    return found


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


def test_node_roles_import_only_the_roles_before_them() -> None:
    bad = []
    for importer, imported, line in project_edges():
        mine, theirs = role_of(importer), role_of(imported)
        if mine is None or theirs is None or mine == theirs:
            continue
        if theirs not in ALLOWED_ROLES[mine]:
            bad.append(f"{importer}:{line} ({mine}) imports {imported} ({theirs})")
    assert bad == []


def test_the_cli_and_the_lower_roles_load_no_server_code() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in python_files("node")
        if role_of(module_name(path)) in NO_SERVER_ROLES
        for line, name in imported_modules(path)
        if name.split(".")[0] in SERVER_LIBRARIES
    ]
    assert bad == []


def test_only_one_node_module_imports_libp2p() -> None:
    """node.net.host is the adapter; node.net.gossipsub only builds the gossipsub router
    and pubsub, apart so that the bench's bare py-libp2p peer shares their parameters
    without importing the adapter (and our start-up with it)."""
    users = {
        module_name(path)
        for path in python_files("node")
        for _, name in imported_modules(path)
        if name.split(".")[0] in {"libp2p", "multiaddr"}
    }
    assert users == {"node.net.host", "node.net.gossipsub"}


def test_no_import_cycle_among_the_project_modules() -> None:
    assert cycles([(a, b) for a, b, _ in project_edges()]) == []


def test_the_checkers_see_what_they_look_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom trio import run\ndef f():\n    from protocol import x\n")
    assert [name for _, name in imported_modules(sample)] == ["os", "trio", "protocol"]
    assert cycles([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]) == [["a", "b", "c"]]
    assert cycles([("a", "a"), ("b", "c")]) == [["a"]]
    assert role_of("node.daemon") == TOP and role_of("node.net.host") == "net"
    assert "cli" not in ALLOWED_ROLES["ops"] and "net" not in ALLOWED_ROLES["runtime"]
