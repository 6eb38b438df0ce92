"""capabilities/advert-toml: reading a lab's advert file into a body (specs/0011 §7).

Files are written here as text; each expectation is the body the rows of 0011 §7.1
give for it, or the row that refuses it, never read from the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol.jsonform import to_json
from specs.vectorgen.capabilities import advert, machine, slicer
from specs.vectorgen.common import Case, error, ok

BAD = "decode.bad-advert"
LIMIT = 262_144

MINIMAL = """\
name = "Fab Lab Barcelona"
location = { lat_microdeg = 41396900, lon_microdeg = 2194200 }
currency = "EUR"
lead_time_days = 5
availability = "open"

[[machines]]
process = "3dp-fdm"
make = "Prusa"
model = "MK4"
build_volume_um = [250000, 210000, 220000]
materials = ["PETG", "PLA"]
tolerance = "m"
throughput_mm3_per_hour = 15000
price = { setup_fee_minor = 500, per_cm3_minor = 12, per_hour_minor = 400 }
"""

FULL = """\
name = "Fab Lab Barcelona"
website = "https://fablabbcn.org"
location = { lat = 41.3969, lon = 2.1942 }
currency = "EUR"
lead_time_days = 5
availability = "open"

[seal_key]
suite = "x25519-hkdf-sha256-chacha20poly1305"
public_key = "not read"

[[machines]]
process = "3dp-fdm"
make = "Prusa"
model = "MK4"
build_volume_mm = [250, 210, 220]
materials = ["PLA", "PETG", "PLA"]
tolerance = "m"
throughput_mm3_per_hour = 15000
price = { setup_fee_minor = 500, per_cm3_minor = 12, per_hour_minor = 400 }

[[machines]]
process = "laser-cutting"
make = "Trotec"
model = "Speedy 400"
build_volume_um = [1000000, 600000, 25000]
materials = ["plywood", "acrylic"]
tolerance = "c"
throughput_mm3_per_hour = 200000
price = { setup_fee_minor = 0, per_cm3_minor = 3, per_hour_minor = 2500 }
"""

LASER = machine(
    process="laser-cutting",
    make="Trotec",
    model="Speedy 400",
    build_volume_um=[1_000_000, 600_000, 25_000],
    materials=["acrylic", "plywood"],
    tolerance="c",
    throughput_mm3_per_hour=200_000,
    price={"setup_fee_minor": 0, "per_cm3_minor": 3, "per_hour_minor": 2500},
)


def _body(**changes: Any) -> dict[str, Any]:
    return advert(**{"seal_key": None, "website": None, **changes})


def _at(lat: int, lon: int) -> dict[str, int]:
    return {"lat_microdeg": lat, "lon_microdeg": lon}


def _case(name: str, description: str, text: str | bytes, expect: dict[str, Any]) -> Case:
    if isinstance(text, bytes):
        data: dict[str, Any] = {"toml": None, "toml_hex": text.hex()}
    else:
        data = {"toml": text}
    if expect["ok"]:
        expect = {**expect, "advert": to_json(expect["advert"])}
    return Case("capabilities", "advert-toml", name, description, data, expect)


def _edit(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _location(lat: str, lon: str) -> str:
    return _edit(
        "location = { lat_microdeg = 41396900, lon_microdeg = 2194200 }",
        f"location = {{ lat = {lat}, lon = {lon} }}",
    )


def _padded(size: int) -> str:
    """MINIMAL with a comment line that brings it to `size` bytes."""
    room = size - len(MINIMAL.encode()) - len("#\n")
    return MINIMAL + "#" + "x" * room + "\n"


def _happy() -> Iterator[Case]:
    yield _case(
        "minimal", "Every required field, in the body's own units.", MINIMAL, ok(advert=_body())
    )
    yield _case(
        "full",
        "A4-A6: website, degrees, build_volume_mm, materials unsorted with a repeat, a "
        "seal_key that is dropped, and a second machine.",
        FULL,
        ok(
            advert=_body(
                website="https://fablabbcn.org",
                machines=[machine(materials=["PETG", "PLA"]), LASER],
            )
        ),
    )
    yield _case(
        "size-at-limit",
        "A1: a file of exactly 262,144 bytes is read.",
        _padded(LIMIT),
        ok(advert=_body()),
    )
    yield _case(
        "degrees-strings-negative",
        "A5: degrees as strings with a sign.",
        _location('"-41.3969"', '"+2.1942"'),
        ok(advert=_body(location=_at(-41_396_900, 2_194_200))),
    )
    yield _case(
        "degrees-integers-at-bounds",
        "A5, A7: whole degrees, at the bounds of latitude and longitude.",
        _location("90", "-180"),
        ok(advert=_body(location=_at(90_000_000, -180_000_000))),
    )
    yield _case(
        "degrees-half-to-even",
        "A5: a seventh decimal of exactly 5 rounds to the even micro-degree.",
        _location('"0.0000005"', '"-0.0000015"'),
        ok(advert=_body(location=_at(0, -2))),
    )
    yield _case(
        "degrees-float-shortest-decimal",
        "A5: a float is read as its shortest decimal, 0.1234565, whose half rounds to even.",
        _location("0.1234565", "1e-7"),
        ok(advert=_body(location=_at(123_456, 0))),
    )
    yield _case(
        "lead-time-at-limit",
        "A7: the longest lead time, 3650 days.",
        _edit("lead_time_days = 5", "lead_time_days = 3650"),
        ok(advert=_body(lead_time_days=3650)),
    )


SLICER = """
[machines.slicer]
layer_height_um = 200
infill_percent = 20
perimeters = 2
supports = false
nozzle_um = 400
filament_diameter_um = 1750
density_mg_per_cm3 = { PLA = 1240, PETG = 1270 }
"""


def _slicer_cases() -> Iterator[Case]:
    yield _case(
        "slicer-settings",
        "A7: a machine's slicer settings (§2.2) as a table under the machine; densities "
        "in any order.",
        MINIMAL + SLICER,
        ok(advert=_body(machines=[machine(slicer=slicer())])),
    )
    yield _case(
        "slicer-density-for-one-material",
        "A7: a density for PLA alone while the machine works PETG too.",
        MINIMAL + SLICER.replace("PLA = 1240, PETG = 1270", "PLA = 1240"),
        error(BAD, field="machines"),
    )
    yield _case(
        "slicer-layer-in-mm",
        "A7: the layer height as a float of millimetres is no integer of µm.",
        MINIMAL + SLICER.replace("layer_height_um = 200", "layer_height_um = 0.2"),
        error(BAD, field="machines"),
    )


def _refused() -> Iterator[Case]:
    yield _case(
        "size-over-limit",
        "A1: a file of 262,145 bytes, refused before parsing.",
        _padded(LIMIT + 1),
        error("decode.too-large"),
    )
    yield _case(
        "not-utf8", "A2: bytes that are not UTF-8.", MINIMAL.encode() + b"#\xff\n", error(BAD)
    )
    yield _case("not-toml", "A3: text that is not TOML.", "name = = 1\n", error(BAD))
    yield _case(
        "key-twice",
        "A3: TOML does not allow a key twice.",
        'currency = "USD"\n' + MINIMAL,
        error(BAD),
    )
    yield _case(
        "degrees-not-a-number",
        "A5: a string that is not decimal degrees.",
        _location('"north"', "2.1942"),
        error(BAD, field="location"),
    )
    yield _case(
        "degrees-exponent-string",
        "A5: a string with an exponent is not decimal degrees.",
        _location('"4.13969e1"', "2.1942"),
        error(BAD, field="location"),
    )
    yield _case(
        "degrees-boolean",
        "A5: a boolean is not degrees.",
        _location("41.3969", "true"),
        error(BAD, field="location"),
    )
    yield _case(
        "degrees-nan",
        "A5: a float that is not finite.",
        _location("nan", "2.1942"),
        error(BAD, field="location"),
    )
    yield _case(
        "degrees-before-body",
        "A5 before A7: bad degrees and an empty name give the location's error.",
        _edit('name = "Fab Lab Barcelona"', 'name = ""', _location('"north"', "2.1942")),
        error(BAD, field="location"),
    )
    yield _case(
        "location-extra-key",
        "A5: a location with another key beside lat and lon is left as it is, and is no "
        "body's location.",
        _edit(
            "location = { lat_microdeg = 41396900, lon_microdeg = 2194200 }",
            "location = { lat = 41.3969, lon = 2.1942, alt = 12 }",
        ),
        error(BAD, field="location"),
    )
    yield _case(
        "latitude-over-bound",
        "A7: a latitude one micro-degree past 90.",
        _location('"90.000001"', "0"),
        error(BAD, field="location"),
    )
    yield _case(
        "build-volume-mm-floats",
        "A6: build_volume_mm of floats is renamed but not scaled, and a body wants integers.",
        _edit(
            "build_volume_um = [250000, 210000, 220000]", "build_volume_mm = [250.0, 210.0, 220.0]"
        ),
        error(BAD, field="machines"),
    )
    yield _case(
        "build-volume-both",
        "A6: with build_volume_um given, build_volume_mm stays, an unknown key of a machine.",
        _edit(
            "build_volume_um = [250000, 210000, 220000]",
            "build_volume_um = [250000, 210000, 220000]\nbuild_volume_mm = [250, 210, 220]",
        ),
        error(BAD, field="machines"),
    )
    yield _case(
        "materials-not-text",
        "A6, A7: materials that are not all strings are not sorted, and a body wants strings.",
        _edit('materials = ["PETG", "PLA"]', 'materials = ["PETG", 7]'),
        error(BAD, field="machines"),
    )
    yield _case(
        "currency-missing",
        "A7: a required field is missing.",
        _edit('currency = "EUR"\n', ""),
        error(BAD, field="currency"),
    )
    yield _case(
        "lead-time-over-limit",
        "A7: a lead time of 3651 days.",
        _edit("lead_time_days = 5", "lead_time_days = 3651"),
        error(BAD, field="lead_time_days"),
    )
    yield _case(
        "lead-time-float",
        "A7: 5.0 is a TOML float, never an integer.",
        _edit("lead_time_days = 5", "lead_time_days = 5.0"),
        error(BAD, field="lead_time_days"),
    )
    yield _case(
        "website-date",
        "A7: a TOML date is not a string.",
        _edit('currency = "EUR"', 'currency = "EUR"\nwebsite = 2026-01-01'),
        error(BAD, field="website"),
    )
    yield _case(
        "unknown-key",
        "A7: a key the body does not have.",
        'colour = "red"\n' + MINIMAL,
        error(BAD, field="colour"),
    )
    yield _case(
        "body-fields-before-unknown-keys",
        "A7: a bad body field is named before an unknown key that comes first in the file.",
        'colour = "red"\n' + _edit('availability = "open"', 'availability = "sometimes"'),
        error(BAD, field="availability"),
    )
    yield _case(
        "body-field-order",
        "A7: of two bad fields, the first in the body's order is named, not the file's.",
        'currency = "eur"\n'
        + _edit('currency = "EUR"\n', "", _edit('name = "Fab Lab Barcelona"', 'name = " padded "')),
        error(BAD, field="name"),
    )


def cases() -> Iterator[Case]:
    yield from _happy()
    yield from _refused()
    yield from _slicer_cases()
