"""What `fabnode demo` seeds a new federation with, through each node's API as a user
would (node.demo.federation runs it once, on the first start).

The bundled STL parts (node.demo.parts) as designs of the first lab and a remix of one by
the second (a lineage); a few real OKH-LOSH manifests imported by the third when a
folder of them is at hand; then the `SEEDERS` for features a node may not serve —
each lab's capability advert, an open job, an open proposal with a vote — each
skipped, with a word, when the node answers 404 for its routes.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from node.demo.lab import Lab
from node.demo.parts import PARTS_FOLDER
from node.i18n import _, message
from protocol.errors import CommonsError, RemoteFaultError

Say = Callable[[str], None]
Seeder = Callable[[list["Lab"], Path, Say], None]
OKH_MANIFESTS = 4
OKH_PREFERRED = ("FarmBot", "Jubilee", "OpenPCR", "lasersaur")
#: The bundled parts, each published by the first lab under an open licence.
PART_DESIGNS = (
    ("calibration-cube-20mm.stl", "Calibration cube 20 mm", "CC0-1.0", "Check a printer's scale"),
    ("l-bracket-40x30x20.stl", "L bracket 40x30x20", "CERN-OHL-S-2.0", "Mount a shelf or a rail"),
    ("spacer-m5-10x8.stl", "M5 spacer 10x8", "CERN-OHL-P-2.0", "Space a PCB off its case"),
)


# -- seeding ---------------------------------------------------------------------------


def seed(labs: list[Lab], base: Path, okh_folder: Path | None, say: Say) -> None:
    for seeder in SEEDERS:
        seeder(labs, base, say)
    if okh_folder is not None:
        seed_okh(labs, okh_folder, say)
    else:
        say(_("no OKH manifests folder found (--okh DIR): only the bundled parts are seeded"))


def seed_parts(labs: list[Lab], base: Path, say: Say) -> None:
    """The bundled STL parts as designs of the first lab; a remix by the second."""
    published: dict[str, str] = {}
    for file_name, name, licence, function in PART_DESIGNS:
        folder = base / "seed" / file_name.removesuffix(".stl")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(PARTS_FOLDER / file_name, folder / file_name)
        _manifest(folder, name, licence, labs[0].name, function, file_name)
        out = labs[0].client.call("POST", "/api/v1/designs", {"path": str(folder)})
        published[file_name] = out["design_id"]
        say(
            _("{lab} published {design} ({licence})").format(
                lab=labs[0].name, design=name, licence=licence
            )
        )
    remix = base / "seed" / "bracket-remix"
    remix.mkdir(parents=True, exist_ok=True)
    shutil.copy(PARTS_FOLDER / "l-bracket-40x30x20.stl", remix / "l-bracket-remix.stl")
    name = "L bracket, wider screw holes"
    _manifest(remix, name, "CERN-OHL-S-2.0", labs[1].name, "A remix", "l-bracket-remix.stl")
    body = {"path": str(remix), "derived_from": [published["l-bracket-40x30x20.stl"]]}
    labs[1].client.call("POST", "/api/v1/designs", body)
    say(
        _("{lab} published {design}, derived from the L bracket").format(
            lab=labs[1].name, design=name
        )
    )


def _manifest(folder: Path, name: str, licence: str, by: str, function: str, source: str) -> None:
    lines = [
        f"name = {json.dumps(name)}",
        f"license = {json.dumps(licence)}",
        f"licensor = {json.dumps(by)}",
        f"function = {json.dumps(function)}",
        f"source = {json.dumps(source)}",
    ]
    (folder / "okh.toml").write_text("\n".join(lines) + "\n")


def seed_okh(labs: list[Lab], folder: Path, say: Say) -> None:
    """A few real OKH-LOSH manifests, imported by the third lab."""
    every = sorted(folder.rglob("*.toml"))
    known = [p for p in every if p.stem.removeprefix("okh-") in OKH_PREFERRED]
    manifests = (known or every)[:OKH_MANIFESTS]
    if not manifests:
        return
    try:
        out = labs[2].client.call(
            "POST", "/api/v1/designs/import-okh", {"paths": [str(p) for p in manifests]}
        )
    except CommonsError as e:
        say(
            _("OKH import skipped: {code}: {reason}").format(code=e.code, reason=message(e.message))
        )
        return
    imported = _("{lab} imported {count} OKH manifests")
    say(imported.format(lab=labs[2].name, count=out.get("imported", 0)))


def seed_optional(path: str, what: str, build: Callable[[list[Lab]], None]) -> Seeder:
    """A seeder for a feature the node may not serve: skipped when its routes are absent."""

    def seeder(labs: list[Lab], _base: Path, say: Say) -> None:
        try:
            labs[0].client.call("GET", path)
        except CommonsError as e:
            if e.code != "http.404":
                raise
            say(f"no {what} seeded: this node does not serve {path}")
            return
        build(labs)
        say(f"seeded {what}")

    return seeder


#: Each lab's advert: where it is, what it makes (specs/0011; degrees and mm for ease).
ADVERTS = (
    ("Fab Lab Aurora", (41.3969, 2.1943), [
        ("3dp-fdm", "Prusa", "MK4", [250, 210, 220], ["PETG", "PLA"], "m", 12_000, (300, 8, 250)),
        ("laser-cutting", "Trotec", "Speedy 400", [1000, 610, 305], ["MDF", "PMMA", "plywood"],
         "m", 400_000, (500, 2, 4_000)),
    ]),
    ("Fab Lab Borealis", (52.3728, 4.9003), [
        ("3dp-sla", "Formlabs", "Form 3", [145, 145, 185], ["resin-standard"], "f", 8_000,
         (800, 25, 600)),
        ("cnc-milling", "Shopbot", "PRSalpha", [2440, 1220, 200], ["MDF", "aluminium", "plywood"],
         "m", 600_000, (1_500, 3, 6_000)),
    ]),
    ("Fab Lab Cassini", (45.7640, 4.8357), [
        ("3dp-fdm", "Ultimaker", "S5", [330, 240, 300], ["ABS", "PETG", "PLA"], "m", 15_000,
         (400, 9, 300)),
    ]),
)  # fmt: skip


#: The slicer settings Aurora's Prusa quotes with (specs/0011 §2.2): where PrusaSlicer is
#: installed, the demo shows one lab quoting by slicer beside labs quoting by volume.
SLICER_SETTINGS: dict[tuple[str, str], dict[str, Any]] = {
    ("Fab Lab Aurora", "MK4"): {
        "layer_height_um": 200, "infill_percent": 20, "perimeters": 2, "supports": False,
        "nozzle_um": 400, "filament_diameter_um": 1750,
        "density_mg_per_cm3": {"PETG": 1270, "PLA": 1240},
    },
}  # fmt: skip


def _slicer(lab: str, model: str) -> dict[str, Any]:
    settings = SLICER_SETTINGS.get((lab, model))
    return {} if settings is None else {"slicer": settings}


def seed_adverts(labs: list[Lab]) -> None:
    for lab, (name, (lat, lon), machines) in zip(labs, ADVERTS, strict=True):
        advert = {
            "name": name,
            "location": {"lat": str(lat), "lon": str(lon)},
            "currency": "EUR",
            "lead_time_days": 5,
            "availability": "open",
            "machines": [
                {
                    "process": process,
                    "make": make,
                    "model": model,
                    "build_volume_mm": volume,
                    "materials": materials,
                    "tolerance": tolerance,
                    "throughput_mm3_per_hour": throughput,
                    "price": {
                        "setup_fee_minor": setup,
                        "per_cm3_minor": per_cm3,
                        "per_hour_minor": per_hour,
                    },
                    **_slicer(name, model),
                }
                for process, make, model, volume, materials, tolerance, throughput, (
                    setup,
                    per_cm3,
                    per_hour,
                ) in machines
            ],
        }
        lab.client.call("POST", "/api/v1/capabilities", {"advert": advert})


def seed_job(labs: list[Lab]) -> None:
    """An open job: the third lab wants ten L brackets printed near the first."""
    customer = labs[2].client

    def bracket() -> list[dict[str, Any]]:
        found = customer.call("GET", "/api/v1/designs?q=bracket&limit=20")["designs"]
        return [d for d in found if d["name"] == "L bracket 40x30x20"]

    design = _poll(bracket)
    (lat, lon) = ADVERTS[0][1]
    offer = {
        "title": "Ten L brackets for a shelf",
        "design": design[0]["id"],
        "process": "3dp-fdm",
        "material": "PETG",
        "quantity": 10,
        "deadline_ms": int(time.time() * 1000) + 21 * 86_400_000,
        "location": {"lat_microdeg": int(lat * 1e6), "lon_microdeg": int(lon * 1e6)},
        "radius_km": 1500,
        "budget": {"amount_minor": 6000, "currency": "EUR"},
        "note": "Seeded by the demo",
    }
    customer.call("POST", "/api/v1/jobs", offer)


def _poll(check: Callable[[], list[dict[str, Any]]], timeout_s: float = 60.0) -> Any:
    """Wait for gossip or sync to bring what `check` looks for (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise RemoteFaultError("remote.timeout", "the labs did not sync in time")


def seed_proposal(labs: list[Lab]) -> None:
    """An open proposal: job offers should last two weeks; the second lab votes yes."""
    change = {
        "action": "rules.change",
        "title": "Job offers last two weeks",
        "changes": {"job_offer_ttl_s": 14 * 86_400},
    }
    made = labs[0].client.call("POST", "/api/v1/governance/proposals", change)
    voter = labs[1].client

    def held() -> list[dict[str, Any]]:
        found = voter.call("GET", "/api/v1/governance/proposals")["proposals"]
        return [p for p in found if p["id"] == made["proposal"]]

    _poll(held)
    voter.call("POST", f"/api/v1/governance/proposals/{made['proposal']}/votes", {"choice": "yes"})


#: Everything seeded on first start, in order.
SEEDERS: list[Seeder] = [
    seed_parts,
    seed_optional("/api/v1/capabilities", "capability adverts", seed_adverts),
    seed_optional("/api/v1/jobs", "an open job", seed_job),
    seed_optional("/api/v1/governance/proposals", "an open proposal", seed_proposal),
]
