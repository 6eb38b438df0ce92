"""capabilities/quote: one machine's quote from the volume model or from slicer figures
(specs/0011 §5.4-5.5).

Expectations come from the formulas written out here, never from the code under test:
the material quoted (case-folded, else the machine's first), its density, and the
rounding of each component. The figures are inputs, of the size a slicer reports (for
a 20 mm calibration cube, 0.2 mm layers, 20 % infill, 2 perimeters, PLA at 1.24 g/cm³,
PrusaSlicer 2.5.0 reports about 17 minutes and 3.88 g).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol.jsonform import to_json
from specs.vectorgen.capabilities import machine, slicer
from specs.vectorgen.common import Case, ok

CUBE = {"print_seconds": 1042, "filament_mg": 3880}
BRACKET = {"print_seconds": 2519, "filament_mg": 9125}


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _material(m: dict[str, Any], wanted: str | None) -> str:
    if wanted is not None:
        for own in m["materials"]:
            if own.casefold() == wanted.casefold():
                return str(own)
    return str(m["materials"][0])


def _expect(data: dict[str, Any]) -> dict[str, Any]:
    m, q = data["machine"], data["quantity"]
    price, rate = m["price"], m["throughput_mm3_per_hour"]
    setup = price["setup_fee_minor"]
    outcome = data["outcome"]
    fallback = None
    if "slicer" not in m:
        fallback = {"reason": "no-settings", "detail": ""}
    elif outcome is None:
        fallback = {"reason": "not-sliced", "detail": ""}
    elif "not_sliced" in outcome:
        fallback = dict(outcome["not_sliced"])
    elif len(outcome["sliced"]["parts"]) != len(data["parts"]):
        fallback = {"reason": "not-sliced", "detail": ""}
    if fallback is not None:
        v = q * sum(p["volume_mm3"] for p in data["parts"])
        material, machine_minor = (
            _ceil(v * price["per_cm3_minor"], 1000),
            _ceil(v * price["per_hour_minor"], rate),
        )
        quote = {"setup_fee_minor": setup, "material_minor": material,
                 "machine_minor": machine_minor, "machine_seconds": _ceil(v * 3600, rate),
                 "total_minor": setup + material + machine_minor, "method": "volume",
                 "basis": {"volume_mm3": v, "throughput_mm3_per_hour": rate},
                 "fallback": fallback}  # fmt: skip
        return ok(quote={"currency": data["currency"], **quote})
    settings = m["slicer"]
    chosen = _material(m, data["material"])
    density = settings["density_mg_per_cm3"][chosen]
    parts = outcome["sliced"]["parts"]
    seconds = q * sum(p["print_seconds"] for p in parts)
    mass = q * sum(p["filament_mg"] for p in parts)
    material = _ceil(mass * price["per_cm3_minor"], density)
    machine_minor = _ceil(seconds * price["per_hour_minor"], 3600)
    used = {k: v for k, v in settings.items() if k != "density_mg_per_cm3"}
    basis = {
        "slicer": outcome["sliced"]["slicer"],
        "print_seconds": seconds,
        "filament_mg": mass,
        "settings": {**used, "material": chosen, "density_mg_per_cm3": density},
        "parts": parts,
    }
    quote = {"currency": data["currency"], "setup_fee_minor": setup, "material_minor": material,
             "machine_minor": machine_minor, "machine_seconds": seconds,
             "total_minor": setup + material + machine_minor, "method": "slicer",
             "basis": basis, "fallback": None}  # fmt: skip
    return ok(quote=quote)


def _sliced(*parts: dict[str, int]) -> dict[str, Any]:
    return {"sliced": {"slicer": "PrusaSlicer 2.5.0", "parts": list(parts)}}


def _case(
    machine_body: dict[str, Any],
    outcome: dict[str, Any] | None,
    parts: tuple[int, ...] = (8000,),
    quantity: int = 1,
    material: str | None = "PLA",
) -> dict[str, Any]:
    return {
        "machine": machine_body,
        "currency": "EUR",
        "parts": [{"volume_mm3": v} for v in parts],
        "quantity": quantity,
        "material": material,
        "outcome": outcome,
    }


def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    fdm = machine(slicer=slicer())
    odd = machine(
        slicer=slicer(density_mg_per_cm3={"PETG": 1270, "PLA": 1247}),
        price={"setup_fee_minor": 250, "per_cm3_minor": 7, "per_hour_minor": 333},
    )
    return [
        ("slicer-cube", "One cube, sliced: priced by its print time and filament mass.",
         _case(fdm, _sliced(CUBE))),
        ("slicer-two-parts-three-copies", "Two parts, three copies: every figure times 3.",
         _case(fdm, _sliced(CUBE, BRACKET), parts=(8000, 19_000), quantity=3)),
        ("slicer-material-case-folded", "`petg` is quoted as the machine's PETG, at its density.",
         _case(fdm, _sliced(CUBE), material="petg")),
        ("slicer-any-material", "No material asked: the machine's first material (PETG).",
         _case(fdm, _sliced(CUBE), material=None)),
        ("slicer-rounds-up", "Each component rounds up on its own.",
         _case(odd, _sliced({"print_seconds": 1001, "filament_mg": 3333}))),
        ("volume-no-settings", "The machine publishes no settings: the volume model.",
         _case(machine(), None)),
        ("volume-not-sliced", "Settings, but no figures given: the volume model, not-sliced.",
         _case(fdm, None)),
        ("volume-slicer-timeout", "The slicer ran out of time: the volume model, with why.",
         _case(fdm, {"not_sliced": {"reason": "slicer-timeout", "detail": "killed after 120 s"}})),
        ("volume-figures-for-other-parts",
         "Figures for one part while the request has two: not usable, not-sliced.",
         _case(fdm, _sliced(CUBE), parts=(8000, 19_000))),
    ]  # fmt: skip


def cases() -> Iterator[Case]:
    for name, description, data in _cases():
        written = {**data, "machine": to_json(data["machine"])}
        yield Case("capabilities", "quote", name, description, written, _expect(data))
