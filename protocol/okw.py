"""Open Know-Where documents for capability adverts (specs/0011-capabilities.md §8).

`advert_to_okw` writes an advert as an OKW-style YAML document — one
`manufacturing-facility` with OKW's field names where OKW has the concept (name,
location.gps-coordinates, website, facility-status, manufacturing-processes,
equipment: equipment-type, manufacturing-process, make, model, materials-worked) and
the rest, which OKW does not describe (build volume, tolerance class, throughput,
prices, currency, lead time), under `x-fabcommons` keys. `advert_from_okw` reads such
a document back, and reads OKW documents written elsewhere (specs/0011 §8.1): the
facility at the top level or under `manufacturing-facility`, `title` for `name`,
processes as tokens, labels or Wikipedia URLs, materials as text or Material mappings,
availability from `facility-status`, and the facts OKW lacks from the machine's
`x-fabcommons` or, once for all machines, the facility's. It geocodes nothing.

Guarantees: input over `MAX_OKW_BYTES` is refused before parsing; YAML aliases and
tags beyond the safe set are refused; every failure is a DecodeError with code
decode.too-large or decode.bad-okw, the latter with `field` (the key at fault); a
document written by `advert_to_okw` reads back to the same advert (without its
`seal_key`, which only the ledger carries), and one it would write over MAX_OKW_BYTES
is refused instead (misuse.too-large). Pure.
"""

from __future__ import annotations

from typing import Any, Final

import pydantic
import yaml

from protocol import yamlsafe
from protocol.capability import AdvertBody, Machine
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


def _bad(message: str, field: str) -> DecodeError:
    """decode.bad-okw naming the key at fault, relative to the facility (§8.1)."""
    return DecodeError("decode.bad-okw", message, field=field)


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
        raise _bad(
            f"{what}: {text!r} is not decimal degrees with at most six decimals",
            "location.gps-coordinates",
        )
    return sign * (int(whole) * 1_000_000 + int(frac.ljust(6, "0") or "0"))


def _equipment_type(process: str) -> str:
    return _EQUIPMENT_TYPE.get(process.split("-", maxsplit=1)[0], process)


def _slicer_to_okw(machine: Machine) -> dict[str, Any]:
    """A machine's slicer settings (specs/0011 §2.2) under kebab-case keys."""
    assert machine.slicer is not None
    settings = machine.slicer.model_dump()
    return {key.replace("_", "-"): value for key, value in settings.items()}


def _slicer_from_okw(value: Any, at: str) -> dict[str, Any]:
    """`x-fabcommons.slicer` back to the body's keys (the densities' keys are materials)."""
    table = _table(value, at)
    return {key.replace("-", "_"): v for key, v in table.items()}


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
                    **({} if m.slicer is None else {"slicer": _slicer_to_okw(m)}),
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


# Labels OKW documents use for processes (often a Wikipedia article's URL), after the
# reading of §8.1 row O8, for the processes they name exactly.
_OKW_LABELS: Final = {
    "fused-filament-fabrication": "3dp-fdm",
    "fused-deposition-modeling": "3dp-fdm",
    "stereolithography": "3dp-sla",
    "selective-laser-sintering": "3dp-sls",
    "multi-jet-fusion": "3dp-mjf",
    "selective-laser-melting": "3dp-metal",
    "laser-cutter": "laser-cutting",
    "laser-engraver": "laser-engraving",
    "vinyl-cutter": "vinyl-cutting",
    "water-jet-cutter": "waterjet-cutting",
    "plasma-cutting": "plasma-cutting",
    "injection-molding": "injection-moulding",
    "vacuum-forming": "vacuum-forming",
    "lathe": "cnc-turning",
}
#: OKW facility-status, read when x-fabcommons gives no availability (row O9).
_AVAILABILITY: Final = {
    "active": "open",
    "planned": "closed",
    "temporary closure": "closed",
    "closed": "closed",
}
_MACHINE_FACTS: Final = (
    "build-volume-um",
    "tolerance-iso2768",
    "throughput-mm3-per-hour",
    "setup-fee-minor",
    "price-per-cm3-minor",
    "price-per-hour-minor",
)
# Body fields (pydantic locations) as the document keys that gave them, for `field`.
_BODY_KEYS: Final = {
    "name": "name",
    "website": "website",
    "location": "location.gps-coordinates",
    "currency": f"{EXT}.currency",
    "lead_time_days": f"{EXT}.lead-time-days",
    "availability": f"{EXT}.availability",
}
_MACHINE_KEYS: Final = {
    "process": "manufacturing-process",
    "make": "make",
    "model": "model",
    "materials": "materials-worked",
    "build_volume_um": f"{EXT}.build-volume-um",
    "tolerance": f"{EXT}.tolerance-iso2768",
    "throughput_mm3_per_hour": f"{EXT}.throughput-mm3-per-hour",
    "price": EXT,
    "slicer": f"{EXT}.slicer",
}


def _table(value: Any, at: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _bad(f"{at or 'document'}: want a mapping", at or "document")
    return value


def _need(table: dict[str, Any], key: str, at: str) -> Any:
    if key not in table or table[key] is None:
        raise _bad(f"{at}{key}: missing", at + key)
    return table[key]


def _label(text: str) -> str:
    """`https://en.wikipedia.org/wiki/Fused_filament_fabrication` -> its last segment;
    lower case, spaces and underscores as hyphens, a trailing `(…)` dropped."""
    t = text.strip()
    if "://" in t:
        t = t.rstrip("/").rsplit("/", maxsplit=1)[-1]
    t = t.split("(", maxsplit=1)[0].strip(" _")
    return "-".join(t.lower().replace("_", " ").split())


def _process(value: Any, at: str) -> str:
    ids = processes_for_token(value) if isinstance(value, str) else frozenset()
    if not ids and isinstance(value, str):
        label = _label(value)
        ids = processes_for_token(label)
        if not ids and label in _OKW_LABELS:
            ids = frozenset({_OKW_LABELS[label]})
    if len(ids) != 1:
        raise _bad(f"{at}: {value!r} does not name one process of the vocabulary", at)
    return next(iter(ids))


def _materials(value: Any, at: str) -> list[str]:
    """Text, or a list of text or of OKW Material mappings (`name`, else `material-type`)."""
    names = []
    for item in value if isinstance(value, list) else [value]:
        name = item.get("name", item.get("material-type")) if isinstance(item, dict) else item
        if isinstance(name, int) and not isinstance(name, bool):
            name = str(name)  # `materials-worked: [316]`: YAML reads a number
        if not isinstance(name, str):
            raise _bad(f"{at}: want text, a list of text or of materials with a name", at)
        names.append(name)
    return sorted(set(names))


def _machine(value: Any, at: str, defaults: dict[str, Any]) -> dict[str, Any]:
    eq = _table(value, at)
    ext = _table(eq.get(EXT, {}), f"{at}.{EXT}")
    facts = {key: ext.get(key, defaults.get(key)) for key in _MACHINE_FACTS}
    for key, fact in facts.items():
        if fact is None:
            where = f"{at}.{EXT}.{key}"
            raise _bad(f"{where}: missing (here or in the facility's {EXT})", where)
    materials_key = "materials-worked" if "materials-worked" in eq else "materials"
    process_key = "manufacturing-process" if "manufacturing-process" in eq else "equipment-type"
    slicer = (
        {}
        if "slicer" not in ext
        else {"slicer": _slicer_from_okw(ext["slicer"], f"{at}.{EXT}.slicer")}
    )
    return {
        "process": _process(_need(eq, process_key, f"{at}."), f"{at}.{process_key}"),
        "make": _need(eq, "make", f"{at}."),
        "model": _need(eq, "model", f"{at}."),
        "build_volume_um": facts["build-volume-um"],
        "materials": _materials(_need(eq, materials_key, f"{at}."), f"{at}.{materials_key}"),
        "tolerance": facts["tolerance-iso2768"],
        "throughput_mm3_per_hour": facts["throughput-mm3-per-hour"],
        "price": {
            "setup_fee_minor": facts["setup-fee-minor"],
            "per_cm3_minor": facts["price-per-cm3-minor"],
            "per_hour_minor": facts["price-per-hour-minor"],
        },
        **slicer,
    }


def _facility(doc: Any) -> dict[str, Any]:
    """F: the document's `manufacturing-facility`, else the document itself (row O4)."""
    table = _table(doc, "")
    inner = table.get("manufacturing-facility")
    return table if inner is None else _table(inner, "manufacturing-facility")


def _availability(facility: dict[str, Any], ext: dict[str, Any]) -> Any:
    if ext.get("availability") is not None:
        return ext["availability"]
    status = facility.get("facility-status")
    if isinstance(status, str) and status.strip().lower() in _AVAILABILITY:
        return _AVAILABILITY[status.strip().lower()]
    raise _bad(f"{EXT}.availability: missing, and no facility-status", f"{EXT}.availability")


def _fields(doc: Any) -> dict[str, Any]:
    facility = _facility(doc)
    ext = _table(facility.get(EXT, {}), EXT)
    location = _table(_need(facility, "location", ""), "location")
    gps = _need(location, "gps-coordinates", "location.")
    if not isinstance(gps, str) or gps.count(",") != 1:
        raise _bad("location.gps-coordinates: want 'LAT,LON'", "location.gps-coordinates")
    lat, lon = gps.split(",")
    equipment = _need(facility, "equipment", "")
    if not isinstance(equipment, list):
        raise _bad("equipment: want a list", "equipment")
    machines = [_machine(m, f"equipment[{i}]", ext) for i, m in enumerate(equipment)]
    return {
        "name": _need(
            facility, "title" if "name" not in facility and "title" in facility else "name", ""
        ),
        "website": facility.get("website"),
        "location": {
            "lat_microdeg": _microdeg(lat, "latitude"),
            "lon_microdeg": _microdeg(lon, "longitude"),
        },
        "currency": _need(ext, "currency", f"{EXT}."),
        "lead_time_days": _need(ext, "lead-time-days", f"{EXT}."),
        "availability": _availability(facility, ext),
        "machines": machines,
        "seal_key": None,
    }


def _document_key(loc: tuple[int | str, ...]) -> str:
    """The document key that gave a body field (for `field`), from pydantic's location."""
    if len(loc) >= 2 and loc[0] == "machines" and isinstance(loc[1], int):
        key = _MACHINE_KEYS.get(str(loc[2]), "") if len(loc) > 2 else ""
        return f"equipment[{loc[1]}]" + (f".{key}" if key else "")
    return _BODY_KEYS.get(str(loc[0]), "document") if loc else "document"


def advert_from_okw(data: bytes) -> AdvertBody:
    """An advert body (seal_key nil) from an OKW YAML document, or DecodeError."""
    if len(data) > MAX_OKW_BYTES:
        raise DecodeError("decode.too-large", f"OKW document of {len(data)} bytes")
    try:
        doc = yamlsafe.load(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise _bad("not UTF-8", "document") from e
    except yaml.YAMLError as e:
        raise _bad(f"not YAML: {str(e).splitlines()[0]}", "document") from e
    except RecursionError as e:
        raise _bad("nested too deeply", "document") from e
    fields = _fields(doc)
    try:
        return AdvertBody.model_validate(fields, strict=True)
    except pydantic.ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "advert"
        raise _bad(f"{where}: {first['msg']}", _document_key(tuple(first["loc"]))) from e
