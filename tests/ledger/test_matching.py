"""Matching, ranking and instant quotes (specs/0011-capabilities.md §5)."""

from __future__ import annotations

import math
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.greatcircle import distance_m
from ledger.matching import (
    Candidate,
    LabAdvert,
    Part,
    Request,
    match,
    newest_adverts,
    orientation_fitting,
    part_from_geometry,
)
from ledger.quotes import volume_quote
from protocol.capability import PROCESSES, AdvertBody, Location, Machine
from protocol.design import Geometry
from tests.protocol.test_capability import advert_map

BARCELONA = Location(lat_microdeg=41_396_900, lon_microdeg=2_194_200)


def machine_map(**changes: Any) -> dict[str, Any]:
    machine: dict[str, Any] = dict(advert_map()["machines"][0])
    machine.update(changes)
    return machine


def lab(n: int, seq: int = 1, **overrides: Any) -> LabAdvert:
    body = AdvertBody.model_validate(advert_map(**overrides), strict=True)
    return LabAdvert(bytes([n]) * 32, seq, bytes([n, seq]) * 16, body)


def reference_distance_m(a: Location, b: Location) -> float:
    p1, p2 = math.radians(a.lat_microdeg / 1e6), math.radians(b.lat_microdeg / 1e6)
    dl = math.radians((b.lon_microdeg - a.lon_microdeg) / 1e6)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


lats = st.integers(-90_000_000, 90_000_000)
lons = st.integers(-180_000_000, 180_000_000)
locations = st.builds(Location, lat_microdeg=lats, lon_microdeg=lons)


@settings(max_examples=200)
@given(locations, locations)
def test_distance_is_the_haversine_within_a_metre(a: Location, b: Location) -> None:
    got = distance_m(a.lat_microdeg, a.lon_microdeg, b.lat_microdeg, b.lon_microdeg)
    assert abs(got - reference_distance_m(a, b)) <= 1
    assert got == distance_m(b.lat_microdeg, b.lon_microdeg, a.lat_microdeg, a.lon_microdeg)


def test_known_distances() -> None:
    london = Location(lat_microdeg=51_507_400, lon_microdeg=-127_800)
    assert distance_m(41_396_900, 2_194_200, 41_396_900, 2_194_200) == 0
    assert abs(distance_m(41_396_900, 2_194_200, 51_507_400, -127_800) - 1_138_067) <= 1
    assert round(reference_distance_m(BARCELONA, london)) == 1_138_067
    assert distance_m(0, 0, 0, 180_000_000) == 20_015_114


edges = st.integers(0, 400_000)
sizes = st.tuples(edges, edges, edges)


@given(sizes, st.tuples(edges.map(lambda e: e + 1), edges.map(lambda e: e + 1), edges))
def test_orientation_fits_exactly_when_sorted_edges_fit(
    size: tuple[int, int, int], build: tuple[int, int, int]
) -> None:
    fits = all(s <= b for s, b in zip(sorted(size), sorted(build), strict=True))
    try:
        p = orientation_fitting(size, build)
    except LookupError:
        assert not fits
    else:
        assert fits and all(size[i] <= build[p[i]] for i in range(3))


def test_quote_follows_the_price_model() -> None:
    machine = Machine.model_validate(machine_map(), strict=True)
    got = volume_quote(machine, "EUR", [Part((10_000, 10_000, 10_000), 1_001)], quantity=3)
    # V = 3003 mm³: material ⌈3003·12/1000⌉ = 37, machine ⌈3003·400/15000⌉ = 81,
    # seconds ⌈3003·3600/15000⌉ = 721, total 500 + 37 + 81.
    assert (got.material_minor, got.machine_minor, got.machine_seconds) == (37, 81, 721)
    assert got.total_minor == 618 and got.currency == "EUR"


def test_open_meshes_are_quoted_by_their_box() -> None:
    geometry = Geometry(
        bbox_min_um=[0, 0, 0],
        bbox_max_um=[1500, 1000, 1000],
        volume_mm3=0,
        triangles=4,
        closed=False,
    )
    assert part_from_geometry(geometry) == Part((1500, 1000, 1000), 2)


def test_newest_advert_of_a_lab_wins_in_any_order() -> None:
    old, new, other = lab(1, seq=2), lab(1, seq=7, lead_time_days=1), lab(2, seq=1)
    for order in ([old, new, other], [other, new, old]):
        assert newest_adverts(order) == [new, other]


def test_each_criterion_excludes_with_its_reason() -> None:
    part = Part((100_000, 100_000, 100_000), 50_000)
    near = Location(lat_microdeg=41_400_000, lon_microdeg=2_200_000)
    labs = [
        lab(1),
        lab(2, availability="closed"),
        lab(3, location={"lat_microdeg": 48_856_600, "lon_microdeg": 2_352_200}),
        lab(4, machines=[machine_map(process="laser-cutting")]),
        lab(5, machines=[machine_map(materials=["ABS"])]),
        lab(6, machines=[machine_map(build_volume_um=[90_000, 300_000, 300_000])]),
        lab(7, machines=[machine_map(tolerance="c")]),
    ]
    request = Request(
        parts=(part,),
        processes=frozenset({"3dp-fdm"}),
        material="pla",
        tolerance="m",
        near=near,
        radius_m=50_000,
    )
    result = match(request, labs)
    assert [c.advert.lab[0] for c in result.candidates] == [1]
    reasons = {e.advert.lab[0]: e.reasons for e in result.excluded}
    assert reasons == {
        2: ("availability",),
        3: ("distance",),
        4: ("process",),
        5: ("material",),
        6: ("build-volume",),
        7: ("tolerance",),
    }


def test_the_cheapest_fitting_machine_of_a_lab_is_quoted() -> None:
    cheap = machine_map(price={"setup_fee_minor": 0, "per_cm3_minor": 1, "per_hour_minor": 1})
    small = machine_map(build_volume_um=[1000, 1000, 1000], price=cheap["price"])
    advert = lab(1, machines=[machine_map(), small, cheap])
    result = match(Request(parts=(Part((5000, 5000, 5000), 100),)), [advert])
    assert result.candidates[0].machine_index == 2


# -- properties over random labs ------------------------------------------------------------

machines = st.builds(
    lambda process, build, mats, tol, price: machine_map(
        process=process,
        build_volume_um=list(build),
        materials=sorted(set(mats)),
        tolerance=tol,
        price={"setup_fee_minor": price[0], "per_cm3_minor": price[1], "per_hour_minor": price[2]},
    ),
    st.sampled_from(PROCESSES[:4]),
    st.tuples(*[st.integers(1, 300_000)] * 3),
    st.lists(st.sampled_from(["PLA", "PETG", "ABS"]), min_size=1, max_size=3),
    st.sampled_from(["f", "m", "c", "v"]),
    st.tuples(*[st.integers(0, 10_000)] * 3),
)
labs_st = st.lists(
    st.tuples(locations, st.lists(machines, min_size=1, max_size=3), st.integers(1, 3)),
    min_size=1,
    max_size=5,
).map(
    lambda specs: [
        lab(i + 1, seq=seq, location=loc.model_dump(), machines=ms)
        for i, (loc, ms, seq) in enumerate(specs)
    ]
)
requests = st.builds(
    Request,
    parts=st.tuples(st.builds(Part, size_um=sizes, volume_mm3=st.integers(0, 10**6))),
    processes=st.frozensets(st.sampled_from(PROCESSES[:4]), max_size=2),
    material=st.sampled_from([None, "PLA", "abs"]),
    tolerance=st.sampled_from(["f", "m", "c", "v"]),
    near=st.one_of(st.none(), locations),
    radius_m=st.one_of(st.none(), st.integers(0, 20_100_000)),
    quantity=st.integers(1, 100),
)


def _summary(candidates: list[Candidate]) -> list[tuple[bytes, int, int]]:
    return [(c.advert.lab, c.machine_index, c.quote.total_minor) for c in candidates]


@settings(max_examples=60, deadline=None)
@given(requests, labs_st, st.randoms(use_true_random=False))
def test_matching_is_deterministic_whatever_the_order(
    request: Request, labs: list[LabAdvert], rng: random.Random
) -> None:
    shuffled = list(labs)
    rng.shuffle(shuffled)
    assert match(request, labs) == match(request, shuffled)


@settings(max_examples=60, deadline=None)
@given(requests, labs_st, st.permutations([0, 1, 2]))
def test_matching_is_invariant_under_rotating_the_part(
    request: Request, labs: list[LabAdvert], perm: list[int]
) -> None:
    part = request.parts[0]
    turned = Part(
        (part.size_um[perm[0]], part.size_um[perm[1]], part.size_um[perm[2]]), part.volume_mm3
    )
    other = Request(**{**_fields(request), "parts": (turned,)})
    assert _summary(match(request, labs).candidates) == _summary(match(other, labs).candidates)


@settings(max_examples=60, deadline=None)
@given(requests, labs_st, st.integers(0, 20_000_000), st.integers(0, 20_000_000))
def test_a_wider_radius_never_loses_a_lab(
    request: Request, labs: list[LabAdvert], r1: int, r2: int
) -> None:
    near = request.near or BARCELONA
    small, large = sorted((r1, r2))
    found = [
        {
            c.advert.lab
            for c in match(
                Request(**{**_fields(request), "near": near, "radius_m": r}), labs
            ).candidates
        }
        for r in (small, large)
    ]
    assert found[0] <= found[1]
    for c in match(
        Request(**{**_fields(request), "near": near, "radius_m": small}), labs
    ).candidates:
        assert c.distance_m is not None and c.distance_m <= small


def _fields(request: Request) -> dict[str, Any]:
    return {name: getattr(request, name) for name in Request.__slots__}
