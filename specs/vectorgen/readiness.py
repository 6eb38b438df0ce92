"""designs/readiness (specs/0010 §3.4): which print-readiness findings warn a lab; and
designs/mesh-readiness (§3.3): the findings of meshes built here with known defects.

Every expectation is written here, never computed by the code under test: warnings from
the rule table of 0010 §3.4 (the order of the codes, the wall minimums per process, the
overhang share and the processes that need supports); findings from how each mesh was
built (boxes whose walls, volumes and faces are known exactly, so the seeded rays of
§3.3 can only find the walls stated); and designs/readiness-body (§3.5): which
`design.readiness` bodies are valid, from the bounds written in §3.5.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol.jsonform import to_json
from specs.vectorgen.common import Case, ok
from specs.vectorgen.designs import Point, Triangle, binary_stl, cube

READY: dict[str, Any] = {
    "open_edges": 0,
    "non_manifold_edges": 0,
    "degenerate_faces": 0,
    "winding_errors": 0,
    "shells": 1,
    "overlapping_shells": False,
    "solid_volume_mm3": 8000,
    "thinnest_wall_um": 20000,
    "wall_rays": 2048,
    "overhang_permille": 0,
}


def _case(
    name: str, description: str, process: str, changes: dict[str, Any], warnings: list[Any]
) -> Case:
    readiness = {**READY, **changes}
    expect = ok(warnings=[{"warning": c, "value": v, "limit": lim} for c, v, lim in warnings])
    return Case(
        "designs", "readiness", name, description, {"readiness": readiness, "process": process},
        expect,
    )  # fmt: skip


def cases() -> Iterator[Case]:
    yield from rule_cases()
    yield from mesh_cases()
    yield from body_cases()


def rule_cases() -> Iterator[Case]:
    yield _case("ready", "A closed, clean cube with thick walls: no warning.", "3dp-fdm", {}, [])
    yield _case(
        "open-mesh", "Four edges border one triangle: open-mesh, with the count.", "3dp-fdm",
        {"open_edges": 4, "overlapping_shells": None, "solid_volume_mm3": None},
        [("open-mesh", 4, None)],
    )  # fmt: skip
    yield _case(
        "non-manifold", "An edge shared by four triangles: non-manifold.", "cnc-milling",
        {"non_manifold_edges": 1, "overlapping_shells": None, "solid_volume_mm3": None},
        [("non-manifold", 1, None)],
    )  # fmt: skip
    yield _case(
        "degenerate-faces", "Two triangles with no area.", "3dp-sla",
        {"degenerate_faces": 2}, [("degenerate-faces", 2, None)],
    )  # fmt: skip
    yield _case(
        "inconsistent-winding", "A flipped triangle: its three edges are wound the same way "
        "by both their triangles.", "3dp-fdm",
        {"winding_errors": 3, "overlapping_shells": None, "solid_volume_mm3": None},
        [("inconsistent-winding", 3, None)],
    )  # fmt: skip
    yield _case(
        "overlapping-shells", "Two cubes overlapping by half: the warning gives the union's "
        "volume.", "laser-cutting",
        {"shells": 2, "overlapping_shells": True, "solid_volume_mm3": 12000},
        [("overlapping-shells", 12000, None)],
    )  # fmt: skip
    yield _case(
        "thin-wall-fdm", "0.799 mm is under FDM's 0.8 mm.", "3dp-fdm",
        {"thinnest_wall_um": 799}, [("thin-wall", 799, 800)],
    )  # fmt: skip
    yield _case(
        "thin-wall-fdm-at-minimum", "Exactly FDM's 0.8 mm: not thin.", "3dp-fdm",
        {"thinnest_wall_um": 800}, [],
    )  # fmt: skip
    yield _case(
        "thin-wall-sla", "0.5 mm is enough for resin (0.4 mm).", "3dp-sla",
        {"thinnest_wall_um": 500}, [],
    )  # fmt: skip
    yield _case(
        "thin-wall-sls", "0.699 mm is under SLS's 0.7 mm.", "3dp-sls",
        {"thinnest_wall_um": 699}, [("thin-wall", 699, 700)],
    )  # fmt: skip
    yield _case(
        "thin-wall-mjf", "0.599 mm is under MJF's 0.6 mm.", "3dp-mjf",
        {"thinnest_wall_um": 599}, [("thin-wall", 599, 600)],
    )  # fmt: skip
    yield _case(
        "thin-wall-metal", "0.399 mm is under metal powder bed's 0.4 mm.", "3dp-metal",
        {"thinnest_wall_um": 399}, [("thin-wall", 399, 400)],
    )  # fmt: skip
    yield _case(
        "thin-wall-cutter", "A laser cutter has no wall minimum.", "laser-cutting",
        {"thinnest_wall_um": 100}, [],
    )  # fmt: skip
    yield _case(
        "thin-wall-unmeasured", "No wall measured (over the bound): no warning.", "3dp-fdm",
        {"thinnest_wall_um": None, "wall_rays": 0, "shells": None,
         "overlapping_shells": None, "solid_volume_mm3": None}, [],
    )  # fmt: skip
    yield _case(
        "overhangs-at-share", "10.0 % of the surface overhangs: FDM needs supports.", "3dp-fdm",
        {"overhang_permille": 100}, [("overhangs", 100, 100)],
    )  # fmt: skip
    yield _case(
        "overhangs-under-share", "9.9 % overhangs: no warning.", "3dp-sla",
        {"overhang_permille": 99}, [],
    )  # fmt: skip
    yield _case(
        "overhangs-in-powder", "SLS needs no supports: no overhang warning.", "3dp-sls",
        {"overhang_permille": 500}, [],
    )  # fmt: skip
    yield _case(
        "every-finding", "Every finding at once: the warnings in the order of §3.4.", "3dp-fdm",
        {"open_edges": 4, "non_manifold_edges": 1, "degenerate_faces": 2, "winding_errors": 3,
         "shells": 2, "overlapping_shells": True, "solid_volume_mm3": 12000,
         "thinnest_wall_um": 100, "overhang_permille": 500},
        [("open-mesh", 4, None), ("non-manifold", 1, None), ("degenerate-faces", 2, None),
         ("inconsistent-winding", 3, None), ("overlapping-shells", 12000, None),
         ("thin-wall", 100, 800), ("overhangs", 500, 100)],
    )  # fmt: skip


# -- designs/mesh-readiness ------------------------------------------------------------------


def _box(size: Point, at: Point = (0.0, 0.0, 0.0)) -> list[Triangle]:
    """designs.cube(2) scaled to `size` and moved to `at` (its centre): outward normals."""
    half = [s / 2 for s in size]
    return [
        tuple(tuple(p[i] * half[i] + at[i] for i in range(3)) for p in t)  # type: ignore[misc]
        for t in cube(2.0)
    ]


def _findings(**changes: Any) -> dict[str, Any]:
    return ok(readiness={**READY, **changes})


def _mesh(name: str, description: str, triangles: list[Triangle], expect: dict[str, Any]) -> Case:
    data = {"media_type": "model/stl", "mesh_hex": binary_stl(triangles).hex()}
    return Case("designs", "mesh-readiness", name, description, data, expect)


def mesh_cases() -> Iterator[Case]:
    box = cube()  # 20 mm, centred on the origin: its bottom at z = -10 is the bed
    undecided = {"overlapping_shells": None, "solid_volume_mm3": None}
    yield _mesh("clean-cube", "A closed 20 mm cube: every ray crosses 20 mm.", box, _findings())
    top = [t for t in box if all(p[2] == 10.0 for p in t)]
    yield _mesh(
        "open-box", "The cube without its top: four open edges; rays up find no wall.",
        [t for t in box if t not in top], _findings(open_edges=4, **undecided),
    )  # fmt: skip
    yield _mesh(
        "overlapping-cubes", "Two cubes overlapping by half read closed, 16,000 mm³ in §3.2; "
        "their union is 12,000 mm³, and rays through the overlap cross 10 mm (1/6 of the "
        "surface, above the 5th percentile).",
        box + _box((20.0, 20.0, 20.0), (10.0, 0.0, 0.0)),
        _findings(shells=2, overlapping_shells=True, solid_volume_mm3=12000,
                  thinnest_wall_um=10000),
    )  # fmt: skip
    yield _mesh(
        "thin-box", "A 40 x 0.5 x 20 mm plate: the thinnest wall is 0.5 mm.",
        _box((40.0, 0.5, 20.0)), _findings(solid_volume_mm3=400, thinnest_wall_um=500),
    )  # fmt: skip
    a, b, c = box[0]
    yield _mesh(
        "inverted-face", "One bottom triangle turned over: its three edges are wound the "
        "same way by both their triangles; its rays leave the part and find no wall.",
        [(a, c, b), *box[1:]], _findings(winding_errors=3, **undecided),
    )  # fmt: skip
    yield _mesh(
        "degenerate-point", "The cube and a triangle whose corners coincide: no area, no "
        "edge, no shell of its own.",
        [*box, (a, a, a)], _findings(degenerate_faces=1),
    )  # fmt: skip
    yield _mesh(
        "cubes-sharing-an-edge", "Two cubes touching along one edge: it belongs to four "
        "triangles, joining them in one shell.",
        box + _box((20.0, 20.0, 20.0), (20.0, 20.0, 0.0)),
        _findings(non_manifold_edges=1, **undecided),
    )  # fmt: skip
    yield _mesh(
        "lifted-cube-overhangs", "A 10 mm cube on the bed and a 20 mm cube 5 mm above it: "
        "the lifted bottom, 400 of 3,000 mm², overhangs (133 per thousand); the small "
        "cube's walls, 1/5 of the surface, are the thinnest.",
        _box((10.0, 10.0, 10.0), (0.0, 0.0, -5.0)) + _box((20.0, 20.0, 20.0), (30.0, 0.0, 5.0)),
        _findings(shells=2, solid_volume_mm3=9000, thinnest_wall_um=10000,
                  overhang_permille=133),
    )  # fmt: skip


# -- designs/readiness-body ------------------------------------------------------------------

DESIGN_ID = bytes(range(32))
SHA_A = bytes([0xA0] * 32)
SHA_B = bytes([0xB0] * 32)


def _body(name: str, description: str, body: dict[str, Any], valid: bool) -> Case:
    status = {"valid": valid, "code": None if valid else "body.invalid"}
    data = {"kind": "design.readiness", "body": to_json(body)}
    return Case("designs", "readiness-body", name, description, data, ok(body_status=status))


def _file(sha: bytes, **changes: Any) -> dict[str, Any]:
    return {"sha256": sha, "readiness": {**READY, **changes}}


def body_cases() -> Iterator[Case]:
    yield _body(
        "two-meshes", "Two meshes in ascending hash order: valid.",
        {"design": DESIGN_ID, "files": [_file(SHA_A), _file(SHA_B, thinnest_wall_um=None)]},
        True,
    )  # fmt: skip
    yield _body(
        "unsorted-files", "Files out of hash order: invalid (one encoding).",
        {"design": DESIGN_ID, "files": [_file(SHA_B), _file(SHA_A)]}, False,
    )  # fmt: skip
    yield _body(
        "repeated-file", "The same mesh twice: invalid.",
        {"design": DESIGN_ID, "files": [_file(SHA_A), _file(SHA_A)]}, False,
    )  # fmt: skip
    yield _body("no-files", "No file: invalid.", {"design": DESIGN_ID, "files": []}, False)
    yield _body(
        "overhang-over-1000", "overhang_permille 1001: invalid.",
        {"design": DESIGN_ID, "files": [_file(SHA_A, overhang_permille=1001)]}, False,
    )  # fmt: skip
    yield _body(
        "negative-count", "A negative count: invalid.",
        {"design": DESIGN_ID, "files": [_file(SHA_A, open_edges=-1)]}, False,
    )  # fmt: skip
    yield _body(
        "solid-without-overlap", "solid_volume_mm3 given while overlapping_shells is null: "
        "invalid.",
        {"design": DESIGN_ID, "files": [_file(SHA_A, overlapping_shells=None)]}, False,
    )  # fmt: skip
    yield _body(
        "overlap-undecided", "overlapping_shells and solid_volume_mm3 both null: valid.",
        {"design": DESIGN_ID,
         "files": [_file(SHA_A, overlapping_shells=None, solid_volume_mm3=None)]},
        True,
    )  # fmt: skip
    missing = {k: v for k, v in READY.items() if k != "wall_rays"}
    yield _body(
        "missing-field", "A finding left out: invalid (every field present).",
        {"design": DESIGN_ID, "files": [{"sha256": SHA_A, "readiness": missing}]}, False,
    )  # fmt: skip
    yield _body(
        "unknown-field", "An extra field: invalid.",
        {"design": DESIGN_ID, "files": [_file(SHA_A)], "note": "hi"}, False,
    )  # fmt: skip
    many = [_file(i.to_bytes(32, "big")) for i in range(129)]
    yield _body(
        "most-files", "128 meshes, the most one entry carries: valid.",
        {"design": DESIGN_ID, "files": many[:128]}, True,
    )  # fmt: skip
    yield _body(
        "too-many-files", "129 meshes: invalid (a publisher signs two entries).",
        {"design": DESIGN_ID, "files": many}, False,
    )  # fmt: skip
    yield _body(
        "short-design-id", "A design id of 31 bytes: invalid.",
        {"design": DESIGN_ID[:31], "files": [_file(SHA_A)]}, False,
    )  # fmt: skip
