"""Open Know-Where documents for capability adverts (specs/0011-capabilities.md §8).

`advert_to_okw` writes an advert as an OKW-style YAML document — one
`manufacturing-facility` with OKW's field names where OKW has the concept (name,
location.gps-coordinates, website, facility-status, manufacturing-processes,
equipment: equipment-type, manufacturing-process, make, model, materials-worked) and
the rest, which OKW does not describe (build volume, tolerance class, throughput,
prices, currency, lead time), under `x-fabcommons` keys. `advert_from_okw` reads such
a document back; it also reads OKW documents written elsewhere as long as the
`x-fabcommons` facts an advert needs are present, naming the first one missing.

Guarantees: input over `MAX_OKW_BYTES` is refused before parsing; YAML aliases and
tags beyond the safe set are refused; every failure is a DecodeError with code
decode.too-large or decode.bad-okw; a document written by `advert_to_okw` reads back
to the same advert (without its `seal_key`, which only the ledger carries), and one it
would write over MAX_OKW_BYTES is refused instead (misuse.too-large). Pure.
"""

from __future__ import annotations

from typing import Any, Final

import pydantic
import yaml

from protocol import yamlsafe
from protocol.capability import AdvertBody
from protocol.errors import DecodeError, LocalMisuseError
from protocol.processes import processes_for_token

MAX_OKW_BYTES: Final = 256 * 1024
EXT: Final = "x-fabcommons"
#: OKW facility-status for our availability, and back.
_STATUS: Final = {"open": "Active", "busy": "Active", "closed": "Temporary Closure"}
_EQUIPMENT_TYPE: Final = {
    "3dp": "3D printer",
    "cnc": "CNC machine",
    "precision": "CNC milling machine",
    "laser": "laser cutter",
    "vinyl": "vinyl cutter",
    "circuit": "PCB mill",
    "injection": "injection moulding machine",
}


def _bad(message: str) -> DecodeError:
    return DecodeError("decode.bad-okw", message)


def _degrees(microdeg: int) -> str:
    sign = "-" if microdeg < 0 else ""
    whole, frac = divmod(abs(microdeg), 1_000_000)
    return f"{sign}{whole}.{frac:06d}"


def _microdeg(text: str, what: str) -> int:
    """ "41.396900" -> 41396900: at most six decimals, no exponent."""
    t = text.strip()
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    whole, _, frac = t.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 6 or len(whole) > 3:
        raise _bad(f"{what}: {text!r} is not decimal degrees with at most six decimals")
    return sign * (int(whole) * 1_000_000 + int(frac.ljust(6, "0") or "0"))


def _equipment_type(process: str) -> str:
    return _EQUIPMENT_TYPE.get(process.split("-", maxsplit=1)[0], process)


def advert_to_okw(body: AdvertBody) -> str:
    """The advert as an OKW-style YAML document (keys in a fixed order); LocalMisuseError
    (misuse.too-large) for one over MAX_OKW_BYTES, which advert_from_okw would refuse."""
    loc = body.location
    machines = []
    for m in body.machines:
        machines.append(
            {
                "equipment-type": _equipment_type(m.process),
                "manufacturing-process": m.process,
                "make": m.make,
                "model": m.model,
                "materials-worked": list(m.materials),
                EXT: {
                    "build-volume-um": list(m.build_volume_um),
                    "tolerance-iso2768": m.tolerance,
                    "throughput-mm3-per-hour": m.throughput_mm3_per_hour,
                    "setup-fee-minor": m.price.setup_fee_minor,
                    "price-per-cm3-minor": m.price.per_cm3_minor,
                    "price-per-hour-minor": m.price.per_hour_minor,
                },
            }
        )
    facility: dict[str, Any] = {
        "name": body.name,
        "location": {
            "gps-coordinates": f"{_degrees(loc.lat_microdeg)},{_degrees(loc.lon_microdeg)}"
        },
        "facility-status": _STATUS[body.availability],
        "manufacturing-processes": sorted({m.process for m in body.machines}),
        "equipment": machines,
        EXT: {
            "currency": body.currency,
            "lead-time-days": body.lead_time_days,
            "availability": body.availability,
        },
    }
    if body.website is not None:
        facility["website"] = body.website
    text: str = yaml.safe_dump(
        {"manufacturing-facility": facility}, sort_keys=False, allow_unicode=True
    )
    if len(text.encode()) > MAX_OKW_BYTES:
        raise LocalMisuseError(
            "misuse.too-large", f"OKW document of {len(text.encode())} bytes, limit {MAX_OKW_BYTES}"
        )
    return text


def _table(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _bad(f"{what}: want a mapping")
    return value


def _need(table: dict[str, Any], key: str, what: str) -> Any:
    if key not in table:
        raise _bad(f"{what}.{key}: missing")
    return table[key]


def _process(value: Any, what: str) -> str:
    ids = processes_for_token(value) if isinstance(value, str) else frozenset()
    if not ids and isinstance(value, str):
        ids = processes_for_token(value.strip().lower().replace(" ", "-"))
    if len(ids) != 1:
        raise _bad(f"{what}: {value!r} does not name one process of the vocabulary")
    return next(iter(ids))


def _machine(value: Any, at: str) -> dict[str, Any]:
    eq = _table(value, at)
    ext = _table(_need(eq, EXT, at), f"{at}.{EXT}")
    materials = _need(eq, "materials-worked", at)
    if not isinstance(materials, list):
        raise _bad(f"{at}.materials-worked: want a list")
    return {
        "process": _process(_need(eq, "manufacturing-process", at), f"{at}.manufacturing-process"),
        "make": _need(eq, "make", at),
        "model": _need(eq, "model", at),
        "build_volume_um": _need(ext, "build-volume-um", f"{at}.{EXT}"),
        "materials": sorted({str(m) for m in materials}),
        "tolerance": _need(ext, "tolerance-iso2768", f"{at}.{EXT}"),
        "throughput_mm3_per_hour": _need(ext, "throughput-mm3-per-hour", f"{at}.{EXT}"),
        "price": {
            "setup_fee_minor": _need(ext, "setup-fee-minor", f"{at}.{EXT}"),
            "per_cm3_minor": _need(ext, "price-per-cm3-minor", f"{at}.{EXT}"),
            "per_hour_minor": _need(ext, "price-per-hour-minor", f"{at}.{EXT}"),
        },
    }


def _fields(doc: Any) -> dict[str, Any]:
    facility = _table(_need(_table(doc, "document"), "manufacturing-facility", "document"), "f")
    where = "manufacturing-facility"
    ext = _table(_need(facility, EXT, where), f"{where}.{EXT}")
    gps = _need(_table(_need(facility, "location", where), "location"), "gps-coordinates", where)
    if not isinstance(gps, str) or gps.count(",") != 1:
        raise _bad(f"{where}.location.gps-coordinates: want 'LAT,LON'")
    lat, lon = gps.split(",")
    equipment = _need(facility, "equipment", where)
    if not isinstance(equipment, list):
        raise _bad(f"{where}.equipment: want a list")
    return {
        "name": _need(facility, "name", where),
        "website": facility.get("website"),
        "location": {
            "lat_microdeg": _microdeg(lat, "latitude"),
            "lon_microdeg": _microdeg(lon, "longitude"),
        },
        "currency": _need(ext, "currency", f"{where}.{EXT}"),
        "lead_time_days": _need(ext, "lead-time-days", f"{where}.{EXT}"),
        "availability": _need(ext, "availability", f"{where}.{EXT}"),
        "machines": [_machine(m, f"{where}.equipment[{i}]") for i, m in enumerate(equipment)],
        "seal_key": None,
    }


def advert_from_okw(data: bytes) -> AdvertBody:
    """An advert body (seal_key nil) from an OKW-style YAML document, or DecodeError."""
    if len(data) > MAX_OKW_BYTES:
        raise DecodeError("decode.too-large", f"OKW document of {len(data)} bytes")
    try:
        doc = yamlsafe.load(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise _bad("not UTF-8") from e
    except yaml.YAMLError as e:
        raise _bad(f"not YAML: {str(e).splitlines()[0]}") from e
    except RecursionError as e:
        raise _bad("nested too deeply") from e
    fields = _fields(doc)
    try:
        return AdvertBody.model_validate(fields, strict=True)
    except pydantic.ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "advert"
        raise _bad(f"{where}: {first['msg']}") from e
