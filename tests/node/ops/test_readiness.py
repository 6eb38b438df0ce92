"""Print-readiness (specs/0010 §3.3) of meshes with known defects, built here as STL bytes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.readiness import Readiness, warnings_for
from node.demo.parts import Point, Triangle, binary_stl, box
from node.ops import readiness as measuring
from node.ops.geometry import read_mesh
from node.ops.readiness import measure_readiness


def shifted(triangles: list[Triangle], by: Point) -> list[Triangle]:
    return [
        (
            (a[0] + by[0], a[1] + by[1], a[2] + by[2]),
            (b[0] + by[0], b[1] + by[1], b[2] + by[2]),
            (c[0] + by[0], c[1] + by[1], c[2] + by[2]),
        )
        for a, b, c in triangles
    ]


def measured(triangles: list[Triangle]) -> Readiness:
    """Through the bytes of a binary STL, as a published file is measured."""
    _, corners = read_mesh(binary_stl(triangles, b"readiness test"), "model/stl")
    return measure_readiness(corners)


CUBE = box((20.0, 20.0, 20.0))


def test_a_clean_cube_is_ready() -> None:
    assert measured(CUBE) == Readiness(
        open_edges=0,
        non_manifold_edges=0,
        degenerate_faces=0,
        winding_errors=0,
        shells=1,
        overlapping_shells=False,
        solid_volume_mm3=8000,
        thinnest_wall_um=20000,
        wall_rays=measuring.WALL_RAYS,
        overhang_permille=0,  # its bottom lies on the bed
    )
    assert warnings_for(measured(CUBE), "3dp-fdm") == ()


def test_an_open_box_has_open_edges_and_no_solid_volume() -> None:
    top = [t for t in CUBE if all(p[2] == 20.0 for p in t)]
    assert len(top) == 2
    found = measured([t for t in CUBE if t not in top])
    assert found.open_edges == 4
    assert found.overlapping_shells is None and found.solid_volume_mm3 is None
    assert [w.code for w in warnings_for(found, "3dp-fdm")] == ["open-mesh"]


def test_two_overlapping_cubes_read_closed_but_their_solid_is_the_union() -> None:
    triangles = CUBE + shifted(CUBE, (10.0, 0.0, 0.0))
    geometry, corners = read_mesh(binary_stl(triangles, b"two cubes"), "model/stl")
    assert geometry.closed and geometry.volume_mm3 == 16000  # the shared 4000 mm³ twice
    found = measure_readiness(corners)
    assert found.shells == 2
    assert found.overlapping_shells is True
    assert found.solid_volume_mm3 == 12000
    (warning,) = warnings_for(found, "3dp-sla")
    assert (warning.code, warning.value) == ("overlapping-shells", 12000)


def test_two_cubes_apart_do_not_overlap() -> None:
    found = measured(CUBE + shifted(CUBE, (30.0, 0.0, 0.0)))
    assert (found.shells, found.overlapping_shells, found.solid_volume_mm3) == (2, False, 16000)


def test_a_thin_wall_is_measured_and_warned_against_the_process_minimum() -> None:
    found = measured(box((40.0, 0.5, 20.0)))
    assert found.thinnest_wall_um == 500
    (warning,) = warnings_for(found, "3dp-fdm")
    assert (warning.code, warning.value, warning.limit) == ("thin-wall", 500, 800)
    assert warnings_for(found, "3dp-sla") == ()  # 0.4 mm is enough for resin
    assert warnings_for(found, "laser-cutting") == ()  # no wall minimum for a cutter


def test_an_inverted_face_breaks_the_winding() -> None:
    a, b, c = CUBE[0]
    found = measured([(a, c, b), *CUBE[1:]])
    assert found.winding_errors == 3  # its three edges
    assert found.open_edges == 0 and found.non_manifold_edges == 0
    assert found.overlapping_shells is None  # not decided for a mesh wound both ways
    assert [w.code for w in warnings_for(found, "3dp-fdm")] == ["inconsistent-winding"]


def test_a_degenerate_face_is_counted_and_is_no_shell() -> None:
    corner = CUBE[0][0]
    found = measured([*CUBE, (corner, corner, corner)])
    assert found.degenerate_faces == 1
    assert (found.open_edges, found.shells) == (0, 1)
    sliver = measured([*CUBE, ((0.0, 0.0, 0.0), (10.0, 10.0, 10.0), (20.0, 20.0, 20.0))])
    assert sliver.degenerate_faces == 1 and sliver.open_edges == 3


def test_a_non_manifold_edge_is_counted() -> None:
    # A fin: two triangles hinged on the cube's top front edge.
    fin: list[Triangle] = [
        ((0.0, 0.0, 20.0), (20.0, 0.0, 20.0), (10.0, -10.0, 30.0)),
        ((20.0, 0.0, 20.0), (0.0, 0.0, 20.0), (10.0, -10.0, 30.0)),
    ]
    assert measured(CUBE + fin).non_manifold_edges == 1


def test_overhangs_count_faces_facing_down_off_the_bed() -> None:
    lifted = measured(shifted(box((10.0, 10.0, 10.0)), (0.0, 0.0, 0.0)) + shifted(CUBE, (30, 0, 5)))
    # The lifted cube's bottom (400 mm²) of 600 + 2400 mm² of surface: 133 permille.
    assert lifted.overhang_permille == 133
    assert [w.code for w in warnings_for(lifted, "3dp-fdm")] == ["overhangs"]
    assert warnings_for(lifted, "3dp-sls") == ()  # powder holds overhangs


def test_the_bound_leaves_shells_and_walls_unmeasured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(measuring, "MAX_SOLID_TRIANGLES", 11)
    found = measured(CUBE)  # 12 triangles
    assert (found.shells, found.overlapping_shells, found.thinnest_wall_um) == (None, None, None)
    assert found.wall_rays == 0
    assert found.open_edges == 0 and found.overhang_permille == 0


sides = st.integers(min_value=5, max_value=500).map(lambda tenths: tenths / 10)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=sides, y=sides, z=sides, at=st.tuples(*[st.integers(-100, 100)] * 3))
def test_a_box_is_clean_and_its_thinnest_wall_is_its_smallest_side(
    x: float, y: float, z: float, at: tuple[int, int, int]
) -> None:
    triangles = shifted(box((x, y, z)), (float(at[0]), float(at[1]), float(at[2])))
    found = measured(triangles)
    assert found == measured(triangles)  # the same bytes, the same findings
    assert (found.open_edges, found.winding_errors, found.degenerate_faces) == (0, 0, 0)
    assert (found.shells, found.overlapping_shells, found.overhang_permille) == (1, False, 0)
    assert found.thinnest_wall_um is not None
    assert abs(found.thinnest_wall_um - round(min(x, y, z) * 1000)) <= 2
