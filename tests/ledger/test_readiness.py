"""Print-readiness rules (specs/0010 §3.4): warnings per process, the stored form, and
warnings beside the quote in matching (specs/0011 §5), never exclusions."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.matching import Part, Request, match, part_from_geometry
from ledger.readiness import (
    MIN_WALL_UM,
    WARNING_CODES,
    Readiness,
    ReadinessWarning,
    describe,
    readiness_from_json,
    warnings_for,
)
from protocol.capability import PROCESSES
from protocol.design import Geometry
from tests.ledger.test_matching import lab, machine_map

READY = Readiness(
    open_edges=0,
    non_manifold_edges=0,
    degenerate_faces=0,
    winding_errors=0,
    shells=1,
    overlapping_shells=False,
    solid_volume_mm3=8000,
    thinnest_wall_um=20000,
    wall_rays=2048,
    overhang_permille=0,
)
THIN = dataclasses.replace(READY, thinnest_wall_um=500)
EVERYTHING_WRONG = Readiness(
    open_edges=4,
    non_manifold_edges=1,
    degenerate_faces=2,
    winding_errors=3,
    shells=2,
    overlapping_shells=True,
    solid_volume_mm3=12000,
    thinnest_wall_um=100,
    wall_rays=2048,
    overhang_permille=500,
)


def test_a_ready_mesh_warns_no_process() -> None:
    assert all(warnings_for(READY, p) == () for p in PROCESSES)


def test_every_finding_gives_its_warning_in_the_spec_order() -> None:
    found = warnings_for(EVERYTHING_WRONG, "3dp-fdm")
    assert tuple(w.code for w in found) == WARNING_CODES
    assert found[-2] == ReadinessWarning("thin-wall", 100, 800)
    assert found[-1] == ReadinessWarning("overhangs", 500, 100)
    assert all(describe(w) for w in found)


@pytest.mark.parametrize(("process", "limit"), sorted(MIN_WALL_UM.items()))
def test_a_wall_is_thin_below_the_process_minimum_only(process: str, limit: int) -> None:
    at = dataclasses.replace(READY, thinnest_wall_um=limit)
    under = dataclasses.replace(READY, thinnest_wall_um=limit - 1)
    assert warnings_for(at, process) == ()
    assert warnings_for(under, process) == (ReadinessWarning("thin-wall", limit - 1, limit),)


def test_an_unmeasured_wall_or_shell_warns_nothing() -> None:
    unknown = dataclasses.replace(
        READY, shells=None, overlapping_shells=None, solid_volume_mm3=None, thinnest_wall_um=None
    )
    assert warnings_for(unknown, "3dp-fdm") == ()


optional = st.none() | st.integers(0, 2**63 - 1)
readiness = st.builds(
    lambda counts, shells, overlap, solid, wall, permille: Readiness(
        open_edges=counts[0],
        non_manifold_edges=counts[1],
        degenerate_faces=counts[2],
        winding_errors=counts[3],
        shells=shells,
        overlapping_shells=overlap,
        solid_volume_mm3=None if overlap is None else solid,
        thinnest_wall_um=wall,
        wall_rays=counts[0] % 5000,
        overhang_permille=permille,
    ),
    st.tuples(*[st.integers(0, 2**63 - 1)] * 4),
    optional,
    st.none() | st.booleans(),
    st.integers(0, 2**63 - 1),
    optional,
    st.integers(0, 1000),
)


@given(readiness, st.sampled_from(PROCESSES))
def test_the_stored_form_round_trips_and_warnings_are_ordered(r: Readiness, process: str) -> None:
    assert readiness_from_json(r.to_json()) == r
    codes = [w.code for w in warnings_for(r, process)]
    assert codes == sorted(codes, key=WARNING_CODES.index)


@pytest.mark.parametrize(
    "change",
    [
        {"open_edges": -1},
        {"open_edges": True},
        {"shells": 1.5},
        {"overlapping_shells": 1},
        {"overhang_permille": 1001},
        {"solid_volume_mm3": None},  # given exactly when overlapping_shells is
        {"extra": 0},
    ],
)
def test_a_bad_stored_form_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        readiness_from_json({**READY.to_json(), **change})


CUBE_GEOMETRY = Geometry(
    bbox_min_um=[0, 0, 0], bbox_max_um=[20000, 20000, 20000], volume_mm3=8000, triangles=12,
    closed=True,
)  # fmt: skip


def test_a_thin_wall_is_a_warning_beside_the_quote_not_an_exclusion() -> None:
    laser = machine_map(process="laser-cutting", materials=["PETG", "PLA"])
    fdm, other = lab(1), lab(2, machines=[laser])
    request = Request(parts=(part_from_geometry(CUBE_GEOMETRY, THIN),))
    result = match(request, [fdm, other])
    assert result.excluded == []
    by_lab = {c.advert.lab: c for c in result.candidates}
    assert by_lab[fdm.lab].warnings == ((0, ReadinessWarning("thin-wall", 500, 800)),)
    assert by_lab[other.lab].warnings == ()  # a cutter has no wall minimum
    plain = match(Request(parts=(part_from_geometry(CUBE_GEOMETRY),)), [fdm])
    assert plain.candidates[0].quote == by_lab[fdm.lab].quote


def test_overlapping_shells_are_quoted_by_the_union() -> None:
    double = CUBE_GEOMETRY.model_copy(update={"volume_mm3": 16000})
    overlapping = dataclasses.replace(READY, shells=2, overlapping_shells=True)
    part = part_from_geometry(double, dataclasses.replace(overlapping, solid_volume_mm3=12000))
    assert part == Part((20000, 20000, 20000), 12000, part.readiness)
    (candidate,) = match(Request(parts=(part,)), [lab(1)]).candidates
    assert [w.code for _, w in candidate.warnings] == ["overlapping-shells"]
    assert part_from_geometry(double).volume_mm3 == 16000  # unknown readiness: as recorded
