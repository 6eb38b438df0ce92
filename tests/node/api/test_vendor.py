"""The three.js the dashboard ships (node/api/web/vendor/three; README "Previews"): the
version pinned in tools/three, its licence beside it, and every module import a relative
path to a shipped file — the dashboard's CSP allows no import map and nothing from
outside, so a bare `from 'three'` or a URL would break the viewer in the browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.paths import ROOT

WEB = ROOT / "node" / "api" / "web"
VENDOR = WEB / "vendor" / "three"
# `import … from '…'`, `export … from '…'` and `import('…')`, at the start of a line.
IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)""",
    re.MULTILINE,
)


def imports_of(path: Path) -> list[str]:
    text = path.read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)  # doc comments show examples
    return [a or b for a, b in IMPORT.findall(text)]


def test_the_shipped_release_is_the_pinned_one_with_its_licence() -> None:
    pinned = json.loads((ROOT / "tools" / "three" / "package.json").read_text())
    version = pinned["dependencies"]["three"]
    locked = json.loads((ROOT / "tools" / "three" / "package-lock.json").read_text())
    assert locked["packages"]["node_modules/three"]["version"] == version
    assert (VENDOR / "VERSION").read_text().strip() == version
    assert "MIT License" in (VENDOR / "LICENSE").read_text()


def test_every_import_is_a_relative_path_to_a_shipped_file() -> None:
    modules = [*VENDOR.rglob("*.js"), WEB / "viewer.js", WEB / "previews.js"]
    seen = 0
    for module in modules:
        for target in imports_of(module):
            assert target.startswith(("./", "../")), f"{module.name} imports {target!r}"
            assert (module.parent / target).resolve().is_file(), f"{module.name}: {target}"
            seen += 1
    assert seen >= 10  # the checker found the imports it looks for
    assert "./vendor/three/build/three.module.js" in imports_of(WEB / "viewer.js")
