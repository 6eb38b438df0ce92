"""Quotes from a real slicer (specs/0011 §5.5): PrusaSlicer's command line slices a
part with the lab's settings; a slicer that hangs, fails or is absent leaves the
volume model's quote with the reason; a part is sliced once.

These run the real `prusa-slicer` (CI installs Debian's package) and skip, saying so,
only where it is absent.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.quotes import NotSliced, PartFigures, Sliced, SliceSettings
from node.ops.slicing import (
    MeshSource,
    PartSlice,
    Slicer,
    figures_from_gcode,
    slice_request,
    slicer_from_env,
)
from tests.cli_helpers import fabnode
from tests.node.ops.test_capabilities import CUBE, LAB_TOML, advert_file, make_home
from tests.node_process import api, running_node, wait_until

PRUSA = shutil.which("prusa-slicer")
needs_slicer = pytest.mark.skipif(
    PRUSA is None, reason="prusa-slicer is not installed (Debian package prusa-slicer)"
)
SLICER_TOML = """
[machines.slicer]
layer_height_um = 200
infill_percent = 20
perimeters = 2
supports = false
nozzle_um = 400
filament_diameter_um = 1750
density_mg_per_cm3 = { PLA = 1240, PETG = 1270 }
"""
# The laser cutter of LAB_TOML is the second machine: the settings go with the first.
SLICED_LAB = LAB_TOML.replace("\n[[machines]]\nprocess = \"laser-cutting\"", SLICER_TOML
                              + "\n[[machines]]\nprocess = \"laser-cutting\"")  # fmt: skip
SETTINGS = SliceSettings(200, 20, 2, False, 400, 1750, "PLA", 1240)


def direct_slice(tmp_path: Path, mesh: Path) -> tuple[int, int]:
    """Slice the way specs/0011 §5.5 says, written out here, and read the G-code's own
    figures: (print seconds, filament mg)."""
    assert PRUSA is not None
    out = tmp_path / "direct.gcode"
    subprocess.run(
        [PRUSA, "--export-gcode", "--layer-height", "0.2", "--first-layer-height", "0.2",
         "--fill-density", "20%", "--perimeters", "2", "--nozzle-diameter", "0.4",
         "--filament-diameter", "1.75", "--filament-density", "1.24",
         "--bed-shape", "0x0,1000x0,1000x1000,0x1000", "--max-print-height", "1000",
         "--datadir", str(tmp_path / "direct-config"), "-o", str(out), str(mesh)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    text = out.read_text()
    grams = re.search(r"^; filament used \[g\] = ([0-9.]+)$", text, re.M)
    time = re.search(r"^; estimated printing time \(normal mode\) = (.+)$", text, re.M)
    assert grams is not None and time is not None
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    seconds = sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)([dhms])", time.group(1)))
    mass_mg = int((Decimal(grams.group(1)) * 1000).to_integral_value(ROUND_CEILING))
    return seconds, mass_mg


def publish_cube(tmp_path: Path, home: Path) -> dict[str, Any]:
    folder = tmp_path / "cube"
    folder.mkdir()
    shutil.copy(CUBE, folder / CUBE.name)
    (folder / "okh.toml").write_text(
        f'name = "Cube"\nlicense = "MIT"\nlicensor = "Ada Lab"\nsource = "{CUBE.name}"\n'
    )
    status, published = fabnode("design", "publish", folder, home=home)
    assert status == 0
    return dict(published)


def sliced_lab_home(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    home = make_home(tmp_path, "lab")
    status, _ = fabnode("capability", "set", advert_file(tmp_path, SLICED_LAB), home=home)
    assert status == 0
    return home, publish_cube(tmp_path, home)


def cube_quote(home: Path, design: str) -> dict[str, Any]:
    status, matched = fabnode(
        "capability", "match", "--design", design, "--material", "pla", home=home
    )
    assert status == 0, matched
    (best,) = matched["candidates"]
    return dict(best["quote"])


def volume_total(volume_mm3: int) -> int:
    return 500 + -(-volume_mm3 * 12 // 1000) + -(-volume_mm3 * 400 // 15000)


@needs_slicer
def test_a_cube_is_quoted_from_the_slicers_own_figures(tmp_path: Path) -> None:
    home, published = sliced_lab_home(tmp_path)
    quote = cube_quote(home, published["design_id"])
    seconds, mass_mg = direct_slice(tmp_path, CUBE)
    assert quote["method"] == "slicer" and quote["fallback"] is None
    basis = quote["basis"]
    # The slicer's own figures. Its time estimate moves by a few seconds from run to
    # run on a loaded machine (PrusaSlicer 2.5 slices on TBB threads, and cannot be
    # told to use one: 1,056 against 1,059 s for this cube in one CI run), so the time
    # is held to within 1 %; the filament is the same to the milligram.
    assert basis["filament_mg"] == mass_mg
    assert abs(basis["print_seconds"] - seconds) <= max(5, seconds // 100), (basis, seconds)
    assert basis["slicer"].startswith("PrusaSlicer ")
    assert basis["settings"] == {**SLICER_SETTINGS_JSON, "material": "PLA"}
    # 500 setup + ⌈mass·12/1240⌉ material + ⌈seconds·400/3600⌉ machine time.
    assert quote["material_minor"] == -(-mass_mg * 12 // 1240)
    assert quote["machine_minor"] == -(-seconds * 400 // 3600)
    assert quote["total_minor"] == 500 + quote["material_minor"] + quote["machine_minor"]
    assert quote["machine_seconds"] == seconds
    # The second match reads the home's cache: the same figures.
    assert cube_quote(home, published["design_id"]) == quote
    assert len(list((home / "slices").glob("*.json"))) == 1


SLICER_SETTINGS_JSON = {
    "layer_height_um": 200, "infill_percent": 20, "perimeters": 2, "supports": False,
    "nozzle_um": 400, "filament_diameter_um": 1750, "density_mg_per_cm3": 1240,
}  # fmt: skip


def fake_slicer(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-slicer"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def test_a_slicer_that_hangs_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = fake_slicer(tmp_path, f"sleep 600 &\necho $! > {pid_file}\nwait\n")
    slicer = Slicer(script, timeout_s=1)
    mesh = MeshSource(CUBE, hashlib.sha256(CUBE.read_bytes()).digest(), ".stl")
    outcome = slicer.slice_part(mesh, SETTINGS)
    assert isinstance(outcome, NotSliced) and outcome.reason == "slicer-timeout"
    child = int(wait_until("the child's pid", lambda: pid_file.exists() and pid_file.read_text()))

    def gone() -> bool:
        try:
            state = Path(f"/proc/{child}/stat").read_text().split(") ")[1][0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        return state == "Z"

    wait_until("the slicer's child to be killed", gone)
    assert slicer.statistics().timeouts == 1
    # A timeout is not remembered: the next request tries again.
    assert isinstance(slicer.slice_part(mesh, SETTINGS), NotSliced)
    assert slicer.statistics().runs == 2


@needs_slicer
def test_a_mesh_the_slicer_refuses_is_a_failure_with_its_words(tmp_path: Path) -> None:
    assert PRUSA is not None
    junk = tmp_path / "junk.stl"
    junk.write_bytes(b"solid junk\nnot a facet\n")
    slicer = Slicer(Path(PRUSA), cache_dir=tmp_path / "slices")
    mesh = MeshSource(junk, hashlib.sha256(junk.read_bytes()).digest(), ".stl")
    outcome = slicer.slice_part(mesh, SETTINGS)
    assert isinstance(outcome, NotSliced) and outcome.reason == "slicer-failed"
    assert outcome.detail and str(tmp_path) not in outcome.detail
    # Remembered in memory (not on disk): the same request does not run it again.
    assert slicer.slice_part(mesh, SETTINGS) == outcome
    assert slicer.statistics().runs == 1 and not (tmp_path / "slices").exists()


@needs_slicer
def test_a_part_is_sliced_once(tmp_path: Path) -> None:
    assert PRUSA is not None
    cache = tmp_path / "slices"
    slicer = Slicer(Path(PRUSA), cache_dir=cache)
    mesh = MeshSource(CUBE, hashlib.sha256(CUBE.read_bytes()).digest(), ".stl")
    first = slicer.slice_part(mesh, SETTINGS)
    assert isinstance(first, PartSlice)
    assert slicer.slice_part(mesh, SETTINGS) == first
    assert (slicer.statistics().runs, slicer.statistics().cache_hits) == (1, 1)
    # Another slicer (a restarted node, or the CLI) reads the cache folder.
    again = Slicer(Path(PRUSA), cache_dir=cache)
    table = slice_request(again, [mesh, mesh], [SETTINGS])
    assert table[SETTINGS] == Sliced(first.slicer, (first.figures, first.figures))
    assert again.statistics().runs == 0
    # Other settings are another slice.
    thicker = SliceSettings(300, 20, 2, False, 400, 1750, "PLA", 1240)
    assert again.slice_part(mesh, thicker) != first and again.statistics().runs == 1


def test_slicer_failures_and_absence_fall_back_to_the_volume_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, published = sliced_lab_home(tmp_path)
    volume = published["files"][0]["geometry"]["volume_mm3"]
    cases = [
        ("none", "no-slicer"),
        (str(fake_slicer(tmp_path, "echo 'cannot read the part' >&2\nexit 3\n")), "slicer-failed"),
    ]
    for program, reason in cases:
        monkeypatch.setenv("FABNODE_SLICER", program)
        quote = cube_quote(home, published["design_id"])
        assert quote["method"] == "volume" and quote["fallback"]["reason"] == reason
        assert quote["total_minor"] == volume_total(volume)
    hang = fake_slicer(tmp_path, "sleep 600\n")
    monkeypatch.setenv("FABNODE_SLICER", str(hang))
    monkeypatch.setenv("FABNODE_SLICER_TIMEOUT_S", "0.5")
    quote = cube_quote(home, published["design_id"])
    assert quote["fallback"]["reason"] == "slicer-timeout"
    assert quote["total_minor"] == volume_total(volume)


def test_a_stated_part_has_no_mesh_to_slice() -> None:
    (outcome,) = slice_request(None, [NotSliced("no-mesh")], [SETTINGS]).values()
    assert isinstance(outcome, NotSliced) and outcome.reason == "no-slicer"
    slicer = Slicer(Path("/nonexistent"))
    (outcome,) = slice_request(slicer, [NotSliced("no-mesh")], [SETTINGS]).values()
    assert isinstance(outcome, NotSliced) and outcome.reason == "no-mesh"
    assert slice_request(slicer, [], []) == {}
    assert slicer.statistics().runs == 0


def test_slicer_from_env_finds_it_or_says_none(tmp_path: Path) -> None:
    assert slicer_from_env(tmp_path, {"FABNODE_SLICER": "none"}) is None
    assert slicer_from_env(tmp_path, {"FABNODE_SLICER": str(tmp_path / "missing")}) is None
    script = fake_slicer(tmp_path, "exit 0\n")
    env = {"FABNODE_SLICER": str(script), "FABNODE_SLICER_TIMEOUT_S": "7",
           "FABNODE_SLICER_MEMORY_MB": "512"}  # fmt: skip
    found = slicer_from_env(tmp_path, env)
    assert found is not None and found.program == script and found.timeout_s == 7
    assert found.memory_bytes == 512 * 1024 * 1024 and found.cache_dir == tmp_path / "slices"


@pytest.mark.parametrize(
    ("time", "seconds"),
    [("17m 22s", 1042), ("45s", 45), ("1d 4h 20m 49s", 102_049), ("2h 0m 0s", 7200)],
)
def test_gcode_figures_are_read_from_its_comments(time: str, seconds: int) -> None:
    head = "; generated by PrusaSlicer 2.5.0 on 2026-12-07 at 14:05:28 UTC\n"
    tail = f"G1 X1\n; filament used [g] = 3.88\n; estimated printing time (normal mode) = {time}\n"
    assert figures_from_gcode(head, tail) == PartSlice(
        "PrusaSlicer 2.5.0", PartFigures(seconds, 3880)
    )


@pytest.mark.parametrize(
    ("head", "tail"),
    [
        ("; generated by Cura\n", "; filament used [g] = 1.00\n; estimated printing time "
         "(normal mode) = 1s\n"),
        ("; generated by PrusaSlicer 2.5.0 on x\n", "; filament used [g] = 1.00\n"),
        ("; generated by PrusaSlicer 2.5.0 on x\n", "; filament used [g] = lots\n"
         "; estimated printing time (normal mode) = 1s\n"),
        ("; generated by PrusaSlicer 2.5.0 on x\n", "; filament used [g] = 1.00\n"
         "; estimated printing time (normal mode) = soon\n"),
    ],
)  # fmt: skip
def test_gcode_without_figures_gives_none(head: str, tail: str) -> None:
    assert figures_from_gcode(head, tail) is None


@needs_slicer
def test_the_running_node_quotes_jobs_and_matches_by_slicer(tmp_path: Path) -> None:
    """Through the API of a running node: slicing runs off the storage thread."""
    home, published = sliced_lab_home(tmp_path)
    env = {"FABNODE_SLICER": "prusa-slicer", "PATH": os.environ.get("PATH", "")}
    with running_node(home, env=env):
        matched = api(home, "POST", "/api/v1/match",
                      {"design": published["design_id"], "material": "PLA"})  # fmt: skip
        (best,) = matched["candidates"]
        assert best["quote"]["method"] == "slicer"
        assert best["machine"]["slicer"]["layer_height_um"] == 200
        assert api(home, "GET", "/api/v1/status")  # the node still answers
        offer = {
            "title": "Cube", "design": published["design_id"], "process": "3dp-fdm",
            "material": "PLA", "quantity": 2, "deadline_ms": 4_102_444_800_000,
            "location": {"lat_microdeg": 41_396_900, "lon_microdeg": 2_194_200},
            "radius_km": 50,
        }  # fmt: skip
        offered = api(home, "POST", "/api/v1/jobs", offer)
        (job_best,) = offered["candidates"]
        per_copy = best["quote"]["basis"]["print_seconds"]
        assert job_best["quote"]["method"] == "slicer"
        assert job_best["quote"]["basis"]["print_seconds"] == 2 * per_copy
        again = api(home, "GET", f"/api/v1/jobs/{offered['entry_id']}/candidates")
        assert again["candidates"][0]["quote"] == job_best["quote"]


@needs_slicer
def test_the_slicers_memory_is_bounded(tmp_path: Path) -> None:
    """Under 64 MiB of address space PrusaSlicer cannot even load: the limit is applied
    to the slicer (prlimit), and the quote falls back; with the default it slices."""
    assert PRUSA is not None
    mesh = MeshSource(CUBE, hashlib.sha256(CUBE.read_bytes()).digest(), ".stl")
    starved = Slicer(Path(PRUSA), memory_bytes=64 * 1024 * 1024)
    outcome = starved.slice_part(mesh, SETTINGS)
    assert isinstance(outcome, NotSliced) and outcome.reason == "slicer-failed"
    assert isinstance(Slicer(Path(PRUSA)).slice_part(mesh, SETTINGS), PartSlice)


def test_an_upgraded_slicer_at_the_same_path_is_not_answered_from_the_cache(
    tmp_path: Path,
) -> None:
    program = tmp_path / "prusa-slicer"
    program.write_text("#!/bin/sh\n")
    settings = SliceSettings(200, 20, 2, False, 400, 1750, "PLA", 1240)
    before = Slicer(program, cache_dir=tmp_path / "slices").cache_key(bytes(32), settings)
    assert Slicer(program).cache_key(bytes(32), settings) == before  # the same program
    program.write_text("#!/bin/sh\n# 2.6\n")  # another release installed over it
    assert Slicer(program).cache_key(bytes(32), settings) != before
