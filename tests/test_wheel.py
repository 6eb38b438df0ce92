"""Install without a checkout (README "Install on a lab's machine"): the wheel holds
every file the node reads, and installed into a fresh venv outside the repository it
runs a node that serves its dashboard and API.

The wheel is built once per session from a copy of the packages (a stale build/ in
the checkout cannot leak into it). The venv gets the project only from the wheel;
its dependencies are those of the interpreter running the tests, made visible by a
.pth file naming their site-packages (installing them from the registry would take
minutes). The node runs from a temporary folder with PYTHONPATH empty, and the test
asserts that `node` is imported from the venv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.node_process import running_node

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("protocol", "ledger", "licenses", "node")
SOURCE_FILES = ("pyproject.toml", "README.md")
CACHE_NAMES = ("__pycache__", "*.pyc", "*.egg-info")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built by pip as `make wheel` builds it."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCE_FILES:
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns(*CACHE_NAMES)
        )
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = out.glob("fabcommons-*.whl")
    return found


def clean_env(**extra: str) -> dict[str, str]:
    """The environment with nothing pointing at this checkout or its venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = ""  # empty: Python ignores it, and running_node adds nothing
    return {**env, **extra}


@pytest.fixture(scope="session")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed and the test interpreter's dependencies
    visible behind it."""
    where = tmp_path_factory.mktemp("venv") / "fabnode"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    # before the .pth exists, so pip sees no fabcommons already installed anywhere
    subprocess.run([*install, "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    theirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "zz_test_dependencies.pth").write_text("\n".join(sorted(theirs)) + "\n")
    return where


def non_python_files(names: list[str]) -> set[str]:
    return {
        n
        for n in names
        if not n.endswith((".py", "/"))
        and "__pycache__" not in n
        and n.split("/")[0] in PACKAGES
        and not n.endswith(".pyc")
    }


def test_the_wheel_holds_every_file_the_packages_ship(wheel: Path) -> None:
    """Dashboard files, demo parts, py.typed: every non-Python file under the packages
    (subfolders included) is in the wheel, so pyproject's package-data cannot fall
    behind a new web file."""
    on_disk = [
        p.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for p in (ROOT / package).rglob("*")
        if p.is_file()
    ]
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = archive.namelist()
    assert non_python_files(on_disk) - non_python_files(in_wheel) == set()
    assert (
        "node/api/web/index.html" in in_wheel and "node/data/parts/spacer-m5-10x8.stl" in in_wheel
    )
    assert "node/i18n/locale/es/LC_MESSAGES/fabnode.mo" in in_wheel  # README "Languages"
    entry_points = next(n for n in in_wheel if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        assert "fabnode = node.cli.main:main" in archive.read(entry_points).decode()


def test_the_installed_wheel_runs_a_node_with_its_dashboard(venv: Path, tmp_path: Path) -> None:
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import json, node, sys; print(json.dumps([node.__file__, sys.path]))",
        ],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    node_file, path = json.loads(where)
    assert node_file.startswith(str(venv) + "/")
    # The checkout is not on the path (the test venv may live inside it: .venv/...)
    assert not any((cwd / p).resolve() == ROOT for p in path)  # relative: to its cwd
    fabnode = str(venv / "bin" / "fabnode")
    home = tmp_path / "lab"
    state = {"FABNODE_STATE_DIR": str(tmp_path / "state")}
    subprocess.run(
        [fabnode, "--home", str(home), "init"], cwd=cwd, env=clean_env(**state), check=True
    )
    spanish = clean_env(**state, LANG="es_ES.UTF-8", LC_ALL="", LC_MESSAGES="", LANGUAGE="")
    done = subprocess.run(
        [fabnode, "--home", str(home), "status"],
        cwd=cwd, env=spanish, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1  # the catalogs came with the wheel:
    assert done.stderr.startswith("error [misuse.node-not-running]: no hay ningún nodo")
    with running_node(home, cwd=cwd, env=clean_env(**state), program=[fabnode]) as (_, ready):
        url = ready["api"]
        page = fetch(url + "/")
        assert "<html" in page.lower()
        files = re.findall(r"/static/[\w./-]+", page)
        assert any(f.endswith(".js") for f in files) and any(f.endswith(".css") for f in files)
        for file in files:
            assert fetch(url + file)
        token = (home / "api.token").read_text().strip()
        spec = json.loads(fetch(url + "/openapi.json", token))
        assert "/api/v1/status" in spec["paths"]


def fetch(url: str, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
        assert r.status == 200
        body: bytes = r.read()
    return body.decode()
