"""capabilities/okw: reading an Open Know-Where document into an advert (specs/0011 §8).

Documents are written here as text; each expectation is the advert the key table of
0011 §8.1 gives for it, or the row that refuses it, never read from the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol.jsonform import to_json
from specs.vectorgen.capabilities import advert, machine, slicer
from specs.vectorgen.common import Case, error, ok

BAD = "decode.bad-okw"

DOCUMENT = """\
manufacturing-facility:
  name: Fab Lab Barcelona
  website: https://fablabbcn.org
  location:
    gps-coordinates: "41.396900,2.194200"
  facility-status: Active
  manufacturing-processes: [3dp-fdm]
  equipment:
  - equipment-type: 3D printer
    manufacturing-process: 3dp-fdm
    make: Prusa
    model: MK4
    materials-worked: [PLA, PETG]
    x-fabcommons:
      build-volume-um: [250000, 210000, 220000]
      tolerance-iso2768: m
      throughput-mm3-per-hour: 15000
      setup-fee-minor: 500
      price-per-cm3-minor: 12
      price-per-hour-minor: 400
  x-fabcommons:
    currency: EUR
    lead-time-days: 5
    availability: open
"""


def _body(**changes: Any) -> dict[str, Any]:
    return advert(seal_key=None, **changes)


def _case(name: str, description: str, text: str | bytes, expect: dict[str, Any]) -> Case:
    data = text if isinstance(text, bytes) else text.encode()
    if expect["ok"]:
        expect = {**expect, "advert": to_json(expect["advert"])}
    return Case("capabilities", "okw", name, description, {"okw_hex": data.hex()}, expect)


def _edit(old: str, new: str) -> str:
    assert old in DOCUMENT, old
    return DOCUMENT.replace(old, new, 1)


_SLICER = """      price-per-hour-minor: 400
      slicer:
        layer-height-um: 200
        infill-percent: 20
        perimeters: 2
        supports: false
        nozzle-um: 400
        filament-diameter-um: 1750
        density-mg-per-cm3: {PLA: 1240, PETG: 1270}
"""


def _slicer_cases() -> Iterator[Case]:
    yield _case(
        "slicer-settings",
        "A machine's slicer settings (0011 §2.2) under its x-fabcommons, keys in kebab case.",
        _edit("      price-per-hour-minor: 400\n", _SLICER),
        ok(advert=_body(machines=[machine(slicer=slicer())])),
    )
    yield _case(
        "slicer-not-a-mapping",
        "O7: x-fabcommons.slicer is a mapping.",
        _edit(
            "      price-per-hour-minor: 400\n",
            "      price-per-hour-minor: 400\n      slicer: fast\n",
        ),
        error(BAD, field="equipment[0].x-fabcommons.slicer"),
    )
    yield _case(
        "slicer-out-of-bounds",
        "O9: settings out of §2.2's bounds name the machine's slicer.",
        _edit(
            "      price-per-hour-minor: 400\n", _SLICER.replace("perimeters: 2", "perimeters: 51")
        ),
        error(BAD, field="equipment[0].x-fabcommons.slicer"),
    )


def cases() -> Iterator[Case]:
    yield _case("happy", "A document as export-okw writes it.", DOCUMENT, ok(advert=_body()))
    yield from _slicer_cases()
    yield _case(
        "process-label",
        "O8: a manufacturing-process given as a label that names one process.",
        _edit("manufacturing-process: 3dp-fdm", "manufacturing-process: FDM"),
        ok(advert=_body()),
    )
    yield _case(
        "no-website-southern-western",
        "O5: negative degrees; website is optional.",
        _edit("  website: https://fablabbcn.org\n", "").replace(
            '"41.396900,2.194200"', '"-41.3969,-2.1942"'
        ),
        ok(
            advert=_body(
                website=None, location={"lat_microdeg": -41_396_900, "lon_microdeg": -2_194_200}
            )
        ),
    )
    yield _case(
        "materials-repeated",
        "O8: materials are sorted and their repeats dropped.",
        _edit("[PLA, PETG]", "[PLA, PETG, PLA]"),
        ok(advert=_body(machines=[machine(materials=["PETG", "PLA"])])),
    )
    yield _case(
        "not-utf8", "O2: bytes that are not UTF-8.", DOCUMENT.encode() + b"\xff", error(BAD)
    )
    yield _case("not-yaml", "O3: text that is not YAML.", "manufacturing-facility: [\n", error(BAD))
    yield _case(
        "alias",
        "O3: YAML aliases are refused.",
        _edit("  name: Fab Lab Barcelona", "  name: &n Fab Lab Barcelona\n  x-name: *n"),
        error(BAD),
    )
    yield _case(
        "not-a-mapping", "O4: the document is a list.", "- manufacturing-facility\n", error(BAD)
    )
    yield _case(
        "facility-missing",
        "O4: no manufacturing-facility.",
        DOCUMENT.replace("manufacturing-facility:", "facility:", 1),
        error(BAD),
    )
    yield _case(
        "extension-missing",
        "O4: the facility's x-fabcommons is missing.",
        DOCUMENT[: DOCUMENT.rindex("  x-fabcommons:")],
        error(BAD),
    )
    yield _case(
        "gps-not-a-pair",
        "O5: gps-coordinates with no comma.",
        _edit('"41.396900,2.194200"', '"41.396900"'),
        error(BAD),
    )
    yield _case(
        "gps-seven-decimals",
        "O5: at most six decimals.",
        _edit('"41.396900,2.194200"', '"41.3969001,2.194200"'),
        error(BAD),
    )
    yield _case(
        "gps-exponent",
        "O5: no exponent.",
        _edit('"41.396900,2.194200"', '"4.13969e1,2.194200"'),
        error(BAD),
    )
    yield _case(
        "equipment-not-a-list",
        "O6: equipment is a list.",
        _edit("  equipment:\n  - equipment-type", "  equipment:\n    equipment-type").replace(
            "\n    manufacturing-process: 3dp-fdm", "\n    manufacturing-process: 3dp-fdm", 1
        ),
        error(BAD),
    )
    yield _case(
        "machine-extension-missing",
        "O7: a machine without its x-fabcommons facts.",
        _edit("      price-per-hour-minor: 400\n", ""),
        error(BAD),
    )
    yield _case(
        "materials-one",
        "O7: materials-worked given as one text is a list of one.",
        _edit("[PLA, PETG]", "PLA"),
        ok(advert=_body(machines=[machine(materials=["PLA"])])),
    )
    yield _case(
        "materials-not-text",
        "O7: a material that is neither text nor a mapping with a name.",
        _edit("[PLA, PETG]", "[PLA, [PETG]]"),
        error(BAD, field="equipment[0].materials-worked"),
    )
    yield from _okw_template_cases()
    yield _case(
        "process-ambiguous",
        "O8: a label that names no single process.",
        _edit("manufacturing-process: 3dp-fdm", "manufacturing-process: printing"),
        error(BAD),
    )
    yield _case(
        "body-invalid",
        "O9: the advert is checked as a body (0011 §2): a negative lead time.",
        _edit("lead-time-days: 5", "lead-time-days: -1"),
        error(BAD),
    )
    yield _case(
        "make-not-text",
        "O9: YAML reads `make: 1` as an integer; the body wants text.",
        _edit("make: Prusa", "make: 1"),
        error(BAD),
    )


# An Open Know-Where document as the Internet of Production Alliance's template writes
# one: the facility at the top level, `title`, an address beside the coordinates,
# processes as Wikipedia URLs, materials as Material mappings; the facts OKW has no
# field for given once, in the facility's x-fabcommons.
TEMPLATE = """\
title: Fab Lab Barcelona
description: A fab lab in Poblenou.
location:
  address:
    street-address: Carrer de Pujades 102
    locality: Barcelona
    region: Catalonia
    postal-code: "08005"
    country: Spain
  gps-coordinates: "41.3969, 2.1942"
  directions: Ground floor, entrance on Pujades.
owner:
  name: Institute for Advanced Architecture of Catalonia
contact:
  name: Front desk
  email: info@fablabbcn.org
facility-status: Active
access-type: Restricted
opening-hours: Mon-Fri 10:00-19:00
manufacturing-processes:
- https://en.wikipedia.org/wiki/3D_printing
- https://en.wikipedia.org/wiki/Laser_cutting
equipment:
- equipment-type: https://en.wikipedia.org/wiki/3D_printing
  manufacturing-process: https://en.wikipedia.org/wiki/Fused_filament_fabrication
  make: Prusa
  model: MK4
  serial-number: SN-0042
  quantity: 4
  materials-worked:
  - material-type: https://en.wikipedia.org/wiki/Polylactic_acid
    name: PLA
  - name: PETG
- equipment-type: https://en.wikipedia.org/wiki/Laser_cutting
  make: Trotec
  model: Speedy 400
  materials-worked: [Plywood, Acrylic]
  x-fabcommons:
    build-volume-um: [1000000, 610000, 305000]
    tolerance-iso2768: f
typical-batch-size: small
x-fabcommons:
  currency: EUR
  lead-time-days: 5
  build-volume-um: [250000, 210000, 220000]
  tolerance-iso2768: m
  throughput-mm3-per-hour: 15000
  setup-fee-minor: 500
  price-per-cm3-minor: 12
  price-per-hour-minor: 400
"""

_LASER = machine(
    process="laser-cutting",
    make="Trotec",
    model="Speedy 400",
    materials=["Acrylic", "Plywood"],
    build_volume_um=[1_000_000, 610_000, 305_000],
    tolerance="f",
)


def _template(old: str, new: str) -> str:
    assert old in TEMPLATE, old
    return TEMPLATE.replace(old, new, 1)


def _okw_template_cases() -> Iterator[Case]:
    yield _case(
        "okw-template",
        "O4-O9: a document in the OKW template's shape (the facility at the top, title, "
        "Wikipedia process URLs, Material mappings, shared facts in the facility's X).",
        TEMPLATE,
        ok(advert=_body(website=None, machines=[machine(), _LASER])),
    )
    yield _case(
        "okw-template-wrapped",
        "O4: the same facility under manufacturing-facility, named with name.",
        "manufacturing-facility:\n"
        + "".join(f"  {line}\n" for line in TEMPLATE.splitlines()).replace(
            "  title:", "  name:", 1
        ),
        ok(advert=_body(website=None, machines=[machine(), _LASER])),
    )
    yield _case(
        "status-temporary-closure",
        "O9: with no x-fabcommons availability, facility-status gives it.",
        _template("facility-status: Active", "facility-status: Temporary Closure"),
        ok(advert=_body(website=None, availability="closed", machines=[machine(), _LASER])),
    )
    yield _case(
        "status-unknown",
        "O9: no availability and a facility-status that is none of OKW's.",
        _template("facility-status: Active", "facility-status: Sometimes"),
        error(BAD, field="x-fabcommons.availability"),
    )
    yield _case(
        "address-without-coordinates",
        "O4: an address alone is not read (nothing is geocoded).",
        _template('  gps-coordinates: "41.3969, 2.1942"\n', ""),
        error(BAD, field="location.gps-coordinates"),
    )
    yield _case(
        "no-title-no-name",
        "O4: the facility has neither name nor title.",
        _template("title: Fab Lab Barcelona\n", ""),
        error(BAD, field="name"),
    )
    yield _case(
        "fact-missing-everywhere",
        "O8: a machine fact in neither the machine's X nor the facility's.",
        _template("  price-per-hour-minor: 400\n", ""),
        error(BAD, field="equipment[0].x-fabcommons.price-per-hour-minor"),
    )
    yield _case(
        "process-url-ambiguous",
        "O8: a process URL that names a family (3D printing), not one process.",
        _template(
            "  manufacturing-process: https://en.wikipedia.org/wiki/Fused_filament_fabrication\n",
            "",
        ),
        error(BAD, field="equipment[0].equipment-type"),
    )
    yield _case(
        "currency-missing",
        "O9: the currency, which OKW has no field for, is missing.",
        _template("  currency: EUR\n", ""),
        error(BAD, field="x-fabcommons.currency"),
    )
    yield _case(
        "body-field-named",
        "O9: a body rule broken by a document key is named by that key.",
        _template("  model: Speedy 400", "  model: 400"),
        error(BAD, field="equipment[1].model"),
    )
