"""capabilities/okw: reading an Open Know-Where document into an advert (specs/0011 §8).

Documents are written here as text; each expectation is the advert the key table of
0011 §8.1 gives for it, or the row that refuses it, never read from the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol.jsonform import to_json
from specs.vectorgen.capabilities import advert, machine
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


def cases() -> Iterator[Case]:
    yield _case("happy", "A document as export-okw writes it.", DOCUMENT, ok(advert=_body()))
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
        "materials-not-a-list",
        "O7: materials-worked is a list.",
        _edit("[PLA, PETG]", "PLA"),
        error(BAD),
    )
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
