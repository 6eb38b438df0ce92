"""`fabnode design …` on real homes, locally and through running nodes."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from node.demo.parts import binary_stl, box
from node.ops import context as operations
from node.ops import designs
from node.store.home import NodeHome
from protocol.design import DESIGN
from protocol.ids import id_from_text, id_to_text
from tests.cli_helpers import fabnode, fabnode_text
from tests.node_process import api, running_node, wait_until
from tests.paths import ROOT

PARTS = ROOT / "node" / "data" / "parts"
CUBE = PARTS / "calibration-cube-20mm.stl"
LOSH = ROOT.parent / "shared" / "data" / "okh-losh" / "manifest_files"


def init_home(root: Path, name: str = "lab") -> Path:
    home = root / name
    status, _ = fabnode("init", home=home)
    assert status == 0
    return home


def design_dir(root: Path, name: str, licence: str, *, mesh: bool = True) -> Path:
    folder = root / name.lower().replace(" ", "-")
    folder.mkdir()
    manifest = (
        f'name = "{name}"\nlicense = "{licence}"\nlicensor = "Ada Lab"\n'
        f'function = "A {name.lower()} for checking printers."\n'
    )
    if mesh:
        shutil.copy(CUBE, folder / CUBE.name)
        manifest += f'source = "{CUBE.name}"\n'
    (folder / "okh.toml").write_text(manifest)
    return folder


def publish(home: Path, folder: Path, *extra: str) -> tuple[int, Any]:
    return fabnode("design", "publish", folder, *extra, home=home)


def log_length(home: Path) -> int:
    status, out = fabnode("ledger", "log", home=home)
    assert status == 0
    return len(out["entries"])


def test_publish_show_search_and_fetch_a_design_with_its_mesh(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    status, out = publish(home, design_dir(tmp_path, "Calibration cube", "CERN-OHL-S-2.0"))
    assert status == 0, out
    design_id = out["design_id"]
    assert out["licence"] == "CERN-OHL-S-2.0"
    want_sha = hashlib.sha256(CUBE.read_bytes()).hexdigest()

    status, shown = fabnode("design", "show", design_id, home=home)
    assert status == 0
    (file,) = shown["body"]["files"]
    assert file["path"] == CUBE.name
    assert file["sha256"] == want_sha
    assert file["media_type"] == "model/stl"
    assert file["geometry"]["volume_mm3"] == 8000
    assert file["geometry"]["closed"] is True
    assert shown["catalogue"] == {"listed": True}

    status, found = fabnode("design", "search", "calibration", home=home)
    assert status == 0
    assert [d["id"] for d in found["designs"]] == [design_id]
    status, found = fabnode("design", "search", "cube", "--family", "permissive", home=home)
    assert status == 0 and found["designs"] == []
    status, listed = fabnode("design", "list", home=home)
    assert [d["id"] for d in listed["designs"]] == [design_id]

    out_dir = tmp_path / "out"
    status, fetched = fabnode("design", "fetch", design_id, "-o", out_dir, home=home)
    assert status == 0, fetched
    assert (out_dir / CUBE.name).read_bytes() == CUBE.read_bytes()
    assert fetched["files"][0]["size"] == CUBE.stat().st_size


def test_publishing_measures_print_readiness_and_show_prints_it(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    folder = tmp_path / "fin"
    folder.mkdir()
    fin = binary_stl(box((40.0, 0.5, 20.0)), b"a thin fin")
    (folder / "fin.stl").write_bytes(fin)
    (folder / "okh.toml").write_text(
        'name = "Fin"\nlicense = "MIT"\nlicensor = "Ada Lab"\nsource = "fin.stl"\n'
        'fabcommons-processes = ["fdm"]\n'
    )
    status, out = publish(home, folder)
    assert status == 0, out
    stored = NodeHome(home).readiness / f"{hashlib.sha256(fin).hexdigest()}.json"
    assert stored.is_file()  # kept by the mesh's hash when published
    status, shown = fabnode("design", "show", out["design_id"], home=home)
    assert status == 0
    (row,) = shown["readiness"]
    assert row["path"] == "fin.stl" and row["sha256"] == hashlib.sha256(fin).hexdigest()
    assert row["readiness"]["thinnest_wall_um"] == 500
    assert row["readiness"]["open_edges"] == 0 and row["readiness"]["shells"] == 1
    assert [(w["code"], w["value"], w["limit"]) for w in row["warnings"]] == [
        ("thin-wall", 500, 800)
    ]
    status, text = fabnode_text("design", "show", out["design_id"], home=home)
    assert status == 0
    assert (
        "print-readiness of fin.stl (measured here): closed, 1 shell(s) apart, "
        "thinnest wall ~0.50 mm"
    ) in text
    status, log = fabnode("ledger", "log", home=home)
    assert [e["kind"] for e in log["entries"]][-2:] == ["design", "design.readiness"]
    assert out["readiness_entries"] == [log["entries"][-1]["id"]]
    assert "warning: thinnest wall about 0.50 mm, under this process's 0.80 mm" in text


def test_derivatives_obey_the_licence_rule_and_lineage_shows_attribution(
    tmp_path: Path,
) -> None:
    home = init_home(tmp_path)
    status, parent = publish(home, design_dir(tmp_path, "Strong cube", "CERN-OHL-S-2.0"))
    assert status == 0
    before = log_length(home)

    child_dir = design_dir(tmp_path, "Permissive remix", "MIT", mesh=False)
    status, out = publish(home, child_dir, "--derived-from", parent["design_id"])
    assert status == 1
    assert out["error"]["code"] == "rule.derivative-forbidden"
    nc_dir = design_dir(tmp_path, "Private cube", "CC-BY-NC-4.0", mesh=False)
    status, out = publish(home, nc_dir)
    assert status == 1
    assert out["error"]["code"] == "rule.licence-not-open"
    assert log_length(home) == before  # nothing was signed

    remix_dir = design_dir(tmp_path, "Strong remix", "CERN-OHL-S-2.0", mesh=False)
    status, child = publish(home, remix_dir, "--derived-from", parent["design_id"])
    assert status == 0, child
    status, lineage = fabnode("design", "lineage", child["design_id"], home=home)
    assert status == 0
    assert [a["id"] for a in lineage["ancestors"]] == [parent["design_id"]]
    assert lineage["ancestors"][0]["licensors"] == ["Ada Lab"]
    assert lineage["attribution"] == ["Strong cube by Ada Lab (CERN-OHL-S-2.0)"]
    status, lineage = fabnode("design", "lineage", parent["design_id"], home=home)
    assert [d["id"] for d in lineage["descendants"]] == [child["design_id"]]
    status, shown = fabnode("design", "show", child["design_id"], home=home)
    assert shown["body"]["derived_from"] == [parent["design_id"]]
    assert shown["attribution"] == ["Strong cube by Ada Lab (CERN-OHL-S-2.0)"]


def test_a_design_breaking_the_licence_rule_stays_in_the_log_but_not_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a peer might send: signed directly, past the publish check."""
    home = init_home(tmp_path)
    monkeypatch.setenv("FABNODE_STATE_DIR", str(home) + "-state")
    status, parent = publish(home, design_dir(tmp_path, "Strong cube", "CERN-OHL-S-2.0"))
    assert status == 0
    status, shown = fabnode("design", "show", parent["design_id"], home=home)
    body = dict(shown["body"], name="Sneaky remix", licence="MIT", files=[], summary="")
    body["derived_from"] = [id_from_text(parent["design_id"])]
    with operations.open_local(NodeHome(home)) as ctx:
        (entry,) = operations.append_own(ctx, [(DESIGN, body)])
        skipped = [s for s in ctx.catalogue.skipped() if s.entry_id == entry.id]
        assert [s.code for s in skipped] == ["rule.derivative-forbidden"]
    status, found = fabnode("design", "search", "sneaky", home=home)
    assert status == 0 and found["designs"] == []
    status, shown = fabnode("design", "show", id_to_text(entry.id), home=home)
    assert status == 0
    assert shown["catalogue"]["code"] == "rule.derivative-forbidden"
    status, lineage = fabnode("design", "lineage", parent["design_id"], home=home)
    assert lineage["descendants"] == []


def test_import_okh_reports_every_file(tmp_path: Path) -> None:
    if not LOSH.is_dir():
        pytest.skip(f"the OKH-LOSH manifests are not at {LOSH}")
    manifests = sorted(LOSH.rglob("*.toml"))[:20]
    bad = tmp_path / "okh-broken.toml"
    bad.write_text('name = "No licence"\n')
    home = init_home(tmp_path)
    status, out = fabnode("design", "import-okh", *manifests, bad, home=home)
    assert status == 0, out
    assert len(out["results"]) == 21
    assert [r["file"] for r in out["results"]] == [str(p) for p in [*manifests, bad]]
    assert out["results"][-1]["error"]["code"] == "decode.bad-manifest"
    assert out["results"][-1]["error"]["field"] == "license"
    assert out["imported"] + out["failed"] == 21
    assert out["imported"] >= 19
    ok = [r for r in out["results"] if "design_id" in r]
    status, shown = fabnode("design", "show", ok[0]["design_id"], home=home)
    assert status == 0 and shown["body"]["files"] == []  # references stay links


def rich_design_dir(root: Path) -> Path:
    """A design with most of the body's fields: links, tags, processes, dimensions."""
    folder = design_dir(root, "Bench vise", "CERN-OHL-W-2.0")
    manifest = (folder / "okh.toml").read_text() + (
        'version = "1.2"\norganisation = "Ada Lab"\ndocumentation-language = "en"\n'
        'repo = "https://example.org/vise.git"\nfabcommons-tags = ["clamp", "workshop"]\n'
        'fabcommons-processes = ["3d-printing"]\nfabcommons-materials = ["PLA"]\n'
        '[outer-dimensions]\nopenSCAD = "cube(size = [20,20,20])"\nunit = "mm"\n'
    )
    (folder / "okh.toml").write_text(manifest)
    return folder


def test_export_okh_writes_a_manifest_that_imports_to_the_same_body(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    status, out = publish(home, rich_design_dir(tmp_path))
    assert status == 0, out
    design_id = out["design_id"]
    manifest = tmp_path / "exported" / "okh.toml"
    manifest.parent.mkdir()
    status, exported = fabnode("design", "export-okh", design_id, "-o", manifest, home=home)
    assert status == 0, exported
    assert manifest.read_text() == exported["manifest"]
    status, shown = fabnode("design", "show", design_id, home=home)

    other = init_home(tmp_path, "other")
    status, imported = fabnode("design", "import-okh", manifest, home=other)
    assert status == 0 and imported["imported"] == 1, imported
    status, back = fabnode("design", "show", imported["results"][0]["design_id"], home=other)
    assert status == 0
    # The files stay paths (an import fetches nothing); every other field comes back.
    assert {**back["body"], "files": None} == {**shown["body"], "files": None}
    status, text = fabnode("design", "export-okh", design_id, home=home)
    assert status == 0 and text["manifest"] == exported["manifest"]


def test_importing_a_manifest_again_is_the_same_design_or_a_new_version(
    tmp_path: Path,
) -> None:
    home = init_home(tmp_path)
    folder = rich_design_dir(tmp_path)
    manifest = folder / "okh.toml"
    status, first = fabnode("design", "import-okh", manifest, home=home)
    assert status == 0 and first["imported"] == 1, first
    design_id = first["results"][0]["design_id"]
    before = log_length(home)

    status, again = fabnode("design", "import-okh", manifest, manifest, home=home)
    assert status == 0, again
    assert [r["design_id"] for r in again["results"]] == [design_id, design_id]
    assert all(r["unchanged"] for r in again["results"])
    assert (again["imported"], again["unchanged"]) == (0, 2)
    assert log_length(home) == before  # nothing signed

    manifest.write_text(manifest.read_text().replace('version = "1.2"', 'version = "1.3"'))
    status, changed = fabnode("design", "import-okh", manifest, home=home)
    assert status == 0 and changed["imported"] == 1, changed
    (result,) = changed["results"]
    assert result["supersedes"] == design_id and result["design_id"] != design_id
    status, shown = fabnode("design", "show", result["design_id"], home=home)
    assert shown["body"]["supersedes"] == design_id and shown["body"]["version"] == "1.3"
    status, found = fabnode("design", "search", "vise", home=home)
    assert [d["id"] for d in found["designs"]] == [result["design_id"]]  # v1.2 is superseded
    status, again = fabnode("design", "import-okh", manifest, home=home)
    assert again["results"][0] == {
        "file": str(manifest),
        "design_id": result["design_id"],
        "unchanged": True,
    }


def test_import_okh_applies_the_networks_allow_list(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    open_one = design_dir(tmp_path, "Strong cube", "CERN-OHL-S-2.0", mesh=False) / "okh.toml"
    mit = design_dir(tmp_path, "Permissive cube", "MIT", mesh=False) / "okh.toml"
    nc = design_dir(tmp_path, "Private cube", "CC-BY-NC-4.0", mesh=False) / "okh.toml"
    status, out = fabnode("design", "import-okh", nc, home=home)  # the default list
    assert status == 1
    assert out["results"][0]["error"]["code"] == "rule.licence-not-open"
    assert out["results"][0]["error"]["field"] == "licence"
    with operations.open_local(NodeHome(home)) as ctx:
        ctx.catalogue.allow_list = frozenset({"CERN-OHL-S-2.0"})  # a network's narrower list
        out = designs.import_okh(ctx, [open_one, mit])
    assert "design_id" in out["results"][0]
    assert out["results"][1]["error"]["code"] == "rule.licence-not-open"
    assert (out["imported"], out["failed"]) == (1, 1)
    status, found = fabnode("design", "search", "cube", home=home)
    assert [d["name"] for d in found["designs"]] == ["Strong cube"]


def test_search_takes_filters_alone_or_an_empty_query(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    status, vise = publish(home, rich_design_dir(tmp_path))
    assert status == 0, vise
    status, cube = publish(home, design_dir(tmp_path, "Calibration cube", "CERN-OHL-S-2.0"))
    assert status == 0, cube
    status, found = fabnode("design", "search", "--tag", "clamp", home=home)
    assert status == 0, found
    assert [d["id"] for d in found["designs"]] == [vise["design_id"]]
    status, found = fabnode("design", "search", "", home=home)
    assert status == 0, found
    assert {d["id"] for d in found["designs"]} == {vise["design_id"], cube["design_id"]}
    status, found = fabnode("design", "search", "", "--process", "3d-printing", home=home)
    assert [d["id"] for d in found["designs"]] == [vise["design_id"]]


def test_fetch_of_a_design_without_files_says_why(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    status, out = publish(home, design_dir(tmp_path, "Paper jig", "MIT", mesh=False))
    assert status == 0, out
    out_dir = tmp_path / "out"
    status, fetched = fabnode("design", "fetch", out["design_id"], "-o", out_dir, home=home)
    assert status == 0, fetched
    assert fetched["files"] == [] and fetched["note"] == designs.NO_FILES
    fetch = ["design", "fetch", out["design_id"], "-o", str(out_dir)]
    human = subprocess.run(
        [sys.executable, "-m", "node.cli", "--home", str(home), *fetch],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "FABNODE_STATE_DIR": str(home) + "-state"},
    )
    assert designs.NO_FILES in human.stdout
    status, cube = publish(home, design_dir(tmp_path, "Calibration cube", "CERN-OHL-S-2.0"))
    status, fetched = fabnode("design", "fetch", cube["design_id"], "-o", out_dir, home=home)
    assert status == 0 and fetched["note"] is None


@pytest.mark.integration
def test_the_api_exports_searches_by_filters_and_explains_an_empty_fetch(tmp_path: Path) -> None:
    """The same commands through a running node's API."""
    home = init_home(tmp_path)
    with running_node(home):
        status, vise = publish(home, rich_design_dir(tmp_path))
        assert status == 0, vise
        exported = api(home, "GET", f"/api/v1/designs/{vise['design_id']}/okh")
        assert exported["manifest"].startswith('okhv = "OKH-LOSHv1.0"\nname = "Bench vise"\n')
        status, out = fabnode("design", "export-okh", vise["design_id"], home=home)
        assert status == 0 and out["manifest"] == exported["manifest"]
        found = api(home, "GET", "/api/v1/designs?tag=clamp")["designs"]
        assert [d["id"] for d in found] == [vise["design_id"]]
        assert len(api(home, "GET", "/api/v1/designs?q=")["designs"]) == 1
        status, found = fabnode("design", "search", "--material", "PLA", home=home)
        assert status == 0 and [d["id"] for d in found["designs"]] == [vise["design_id"]]
        status, jig = publish(home, design_dir(tmp_path, "Paper jig", "MIT", mesh=False))
        status, fetched = fabnode("design", "fetch", jig["design_id"], "-o", tmp_path, home=home)
        assert status == 0 and fetched["note"] == designs.NO_FILES
        manifest = tmp_path / "vise.toml"
        manifest.write_text(exported["manifest"])
        status, imported = fabnode("design", "import-okh", manifest, home=home)
        assert status == 0 and imported["results"][0]["supersedes"] == vise["design_id"]


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


@pytest.mark.integration
def test_a_design_published_on_a_is_fetched_on_b_with_its_mesh(
    tmp_path: Path, stack: ExitStack
) -> None:
    a, b = init_home(tmp_path, "a"), init_home(tmp_path, "b")
    _, ready_a = stack.enter_context(running_node(a))
    stack.enter_context(running_node(b, "--bootstrap", ready_a["listen"][0]))
    status, out = publish(a, design_dir(tmp_path, "Calibration cube", "CERN-OHL-S-2.0"))
    assert status == 0, out  # through a's API
    design_id = out["design_id"]

    def b_finds_it() -> bool:
        found = api(b, "GET", "/api/v1/designs?q=calibration")["designs"]
        return any(d["id"] == design_id for d in found)

    wait_until("b's catalogue lists the design", b_finds_it)
    (before,) = api(b, "GET", f"/api/v1/designs/{design_id}")["readiness"]
    # b does not hold the mesh yet: it shows the findings a published with the design.
    assert before["source"] == "author" and before["readiness"]["thinnest_wall_um"] == 20000
    out_dir = tmp_path / "on-b"
    status, fetched = fabnode("design", "fetch", design_id, "-o", out_dir, home=b)
    assert status == 0, fetched
    assert [f["status"] for f in fetched["fetched"]] == ["stored"]  # the STL came from a
    assert fetched["fetched"][0]["peer"] == ready_a["peer_id"]
    assert (out_dir / CUBE.name).read_bytes() == CUBE.read_bytes()
    status, shown = fabnode("design", "show", design_id, home=b)
    assert shown["body"]["files"][0]["geometry"]["volume_mm3"] == 8000
    # b measured the mesh's print-readiness once it held the file.
    assert shown["readiness"][0]["source"] == "measured"
    assert shown["readiness"][0]["readiness"] == before["readiness"]
    assert shown["readiness"][0]["warnings"] == []
