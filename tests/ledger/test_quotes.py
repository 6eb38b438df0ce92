"""Quotes from slicer figures inside matching (specs/0011 §5.4-5.5): which slices a
match needs, how figures change the chosen machine, and the formula's properties.
The formula's cases are vectors (capabilities/quote); these check what lies around it."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger.matching import LabAdvert, Part, Request, match, wanted_slices
from ledger.quotes import (
    NotSliced,
    PartFigures,
    Sliced,
    machine_quote,
    slice_settings,
    volume_quote,
)
from protocol.capability import AdvertBody, Machine
from tests.protocol.test_capability import advert_map

SETTINGS: dict[str, Any] = {
    "layer_height_um": 200, "infill_percent": 20, "perimeters": 2, "supports": False,
    "nozzle_um": 400, "filament_diameter_um": 1750,
    "density_mg_per_cm3": {"PETG": 1270, "PLA": 1240},
}  # fmt: skip
CUBE = Part((20_000, 20_000, 20_000), 8000)


def fdm(**changes: Any) -> dict[str, Any]:
    machine: dict[str, Any] = dict(advert_map()["machines"][0])
    machine.update(changes)
    return machine


def lab(n: int, *machines: dict[str, Any], **overrides: Any) -> LabAdvert:
    body = AdvertBody.model_validate(advert_map(machines=list(machines), **overrides), strict=True)
    return LabAdvert(bytes([n]) * 32, 1, bytes([n]) * 32, body)


def test_wanted_slices_are_the_settings_of_machines_that_pass() -> None:
    thin = {**SETTINGS, "layer_height_um": 100}
    labs = [
        lab(1, fdm(slicer=SETTINGS), fdm(slicer=thin)),
        lab(2, fdm(slicer=SETTINGS)),  # the same settings: one slice for both labs
        lab(3, fdm(slicer={**SETTINGS, "perimeters": 3}), availability="closed"),
        lab(4, fdm(slicer={**SETTINGS, "perimeters": 4}, build_volume_um=[1000, 1000, 1000])),
        lab(5, fdm()),  # no settings
    ]
    request = Request(parts=(CUBE,), material="pla")
    wanted = wanted_slices(request, labs)
    assert [(w.layer_height_um, w.perimeters, w.material) for w in wanted] == [
        (200, 2, "PLA"),
        (100, 2, "PLA"),
    ]
    assert wanted_slices(request, labs, frozen={bytes([1]) * 32}) == wanted[:1]
    assert wanted_slices(Request(parts=()), labs) == []


def test_slicer_figures_choose_the_machine_and_rank_the_labs() -> None:
    fast = {**SETTINGS, "layer_height_um": 300}
    labs = [lab(1, fdm(slicer=SETTINGS), fdm(slicer=fast)), lab(2, fdm())]
    request = Request(parts=(CUBE,), material="PLA")
    settings = wanted_slices(request, labs)
    slow_fig, fast_fig = PartFigures(3600, 3000), PartFigures(1200, 3100)
    slices = {settings[0]: Sliced("PrusaSlicer 2.5.0", (slow_fig,)),
              settings[1]: Sliced("PrusaSlicer 2.5.0", (fast_fig,))}  # fmt: skip
    result = match(request, labs, slices=slices)
    first, second = result.candidates
    assert first.advert.lab == bytes([1]) * 32 and first.machine_index == 1  # 0.3 mm layers
    assert first.quote.method == "slicer"
    assert dict(first.quote.basis)["print_seconds"] == 1200
    assert second.quote.method == "volume" and second.quote.fallback == NotSliced("no-settings")
    # Without figures the same lab is quoted by volume, saying nobody sliced.
    unsliced = match(request, labs).candidates
    assert {c.quote.fallback for c in unsliced} == {NotSliced("not-sliced"),
                                                   NotSliced("no-settings")}  # fmt: skip


figures = st.builds(PartFigures, st.integers(0, 10**7), st.integers(0, 10**9))


@given(st.lists(figures, min_size=1, max_size=4), st.integers(1, 1000))
def test_a_slicer_quote_grows_with_quantity_and_never_undercuts_setup(
    parts: list[PartFigures], quantity: int
) -> None:
    machine = Machine.model_validate(fdm(slicer=SETTINGS), strict=True)
    settings = slice_settings(machine, "PLA")
    assert settings is not None
    sliced = Sliced("PrusaSlicer 2.5.0", tuple(parts))
    stand_ins = [CUBE] * len(parts)
    one = machine_quote(machine, "EUR", stand_ins, 1, "PLA", {settings: sliced})
    many = machine_quote(machine, "EUR", stand_ins, quantity, "PLA", {settings: sliced})
    assert one.method == many.method == "slicer"
    assert one.setup_fee_minor <= one.total_minor <= many.total_minor
    assert many.total_minor - many.setup_fee_minor <= quantity * (
        one.total_minor - one.setup_fee_minor
    )
    assert many.machine_seconds == quantity * sum(p.print_seconds for p in parts)


@given(st.sampled_from(["no-slicer", "slicer-failed", "slicer-timeout", "mesh-not-held"]))
def test_every_fallback_is_the_volume_quote_with_its_reason(reason: str) -> None:
    machine = Machine.model_validate(fdm(slicer=SETTINGS), strict=True)
    settings = slice_settings(machine, None)
    assert settings is not None and settings.material == "PETG"  # the first material
    got = machine_quote(machine, "EUR", [CUBE], 2, None, {settings: NotSliced(reason, "x")})
    want = volume_quote(machine, "EUR", [CUBE], 2, NotSliced(reason, "x"))
    assert got == want and got.to_json()["fallback"] == {"reason": reason, "detail": "x"}
