"""The `capability.advert` entry kind: what a lab can make (specs/0011-capabilities.md).

An advert lists a lab's machines — each with a process from one vocabulary
(`PROCESSES`, §2), make and model, build volume, the materials it works, the ISO 2768-1
tolerance class it holds, a throughput for machine-time estimates and a price model —
and the lab's location, currency, lead time, availability and the public key that
customers seal private part files to (protocol/sealed.py). A lab's newest advert
replaces its older ones (ledger.matching.newest_adverts).

Guarantees: an `AdvertBody` is within every bound below; every field is present on
the wire, so one advert has one canonical encoding. Integers only: lengths in
micrometres (`_um`), coordinates in micro-degrees, money in minor currency units
(`_minor`, ISO 4217 exponent), time in days or mm³ per hour. Design records name
processes with free tokens (specs/0010-designs.md §2); `processes_for_token` maps those
tokens onto this vocabulary. Matching and quotes are ledger.matching's business.
Its kind is listed in `KINDS`, which protocol.kinds gathers.

`advert_from_toml` reads a lab's advert file (TOML, §7.1), `advert_fields` and
`validate_advert` the same fields given as a table: a body, or `decode.too-large`, or
`decode.bad-advert` with `field`, the body field at fault. Pure: no I/O.
"""

from __future__ import annotations

import re
import tomllib
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from protocol.bodies import KindSpec, StrictBody
from protocol.errors import DecodeError
from protocol.fields import Material, Name, sorted_unique
from protocol.processes import (
    AVAILABILITY,
    PROCESSES,
    TOLERANCE_CLASSES,
    Availability,
    Location,
    ProcessId,
    ToleranceClass,
    processes_for_token,
    tolerance_holds,
)

__all__ = [
    "ADVERT",
    "AVAILABILITY",
    "PROCESSES",
    "TOLERANCE_CLASSES",
    "AdvertBody",
    "Availability",
    "Location",
    "Machine",
    "PriceModel",
    "ProcessId",
    "SealKey",
    "SlicerSettings",
    "ToleranceClass",
    "MAX_ADVERT_FILE_BYTES",
    "advert_body_map",
    "advert_fields",
    "advert_from_toml",
    "degrees_to_microdeg",
    "processes_for_token",
    "tolerance_holds",
    "validate_advert",
]

ADVERT: Final = "capability.advert"

#: Sealed-file suites a lab may publish a key for (protocol/sealed.py) and their
#: public key sizes in bytes.
SealSuite = Literal[
    "x25519-hkdf-sha256-chacha20poly1305", "mlkem768x25519-hkdf-sha256-chacha20poly1305"
]
SEAL_PUBLIC_KEY_BYTES: Final[dict[str, int]] = {
    "x25519-hkdf-sha256-chacha20poly1305": 32,
    "mlkem768x25519-hkdf-sha256-chacha20poly1305": 1184 + 32,
}

MAX_MACHINES: Final = 64
MAX_MACHINE_MATERIALS: Final = 32
MAX_LEAD_TIME_DAYS: Final = 3650
MAX_MINOR: Final = 10**12
MAX_THROUGHPUT_MM3_PER_HOUR: Final = 10**12
#: Largest build volume edge: 100 m in micrometres.
MAX_BUILD_UM: Final = 10**8
_CURRENCY = r"^[A-Z]{3}$"
_URL = r"^[a-z][a-z0-9+.-]*://[^\s\x00-\x1f\x7f]+$"

Minor = Annotated[int, Field(ge=0, le=MAX_MINOR)]
BuildEdge_um = Annotated[int, Field(ge=1, le=MAX_BUILD_UM)]


class PriceModel(StrictBody):
    """What one machine's work costs, in minor units of the advert's currency (§4)."""

    setup_fee_minor: Minor
    per_cm3_minor: Minor
    per_hour_minor: Minor


#: The one process a machine may publish slicer settings for (§2.2).
SLICED_PROCESS: Final = "3dp-fdm"
Density_mg_per_cm3 = Annotated[int, Field(ge=100, le=25_000)]


class SlicerSettings(StrictBody):
    """How a lab slices the parts it quotes on one FDM machine (§2.2): a slicer run
    with these settings gives the print time and filament mass its quote is made of."""

    layer_height_um: Annotated[int, Field(ge=10, le=2000)]
    infill_percent: Annotated[int, Field(ge=0, le=100)]
    perimeters: Annotated[int, Field(ge=0, le=50)]
    supports: bool
    nozzle_um: Annotated[int, Field(ge=100, le=3000)]
    filament_diameter_um: Annotated[int, Field(ge=1000, le=4000)]
    #: Filament density per material of the machine, in mg/cm³ (1240: PLA's 1.24 g/cm³).
    density_mg_per_cm3: Annotated[
        dict[Material, Density_mg_per_cm3],
        Field(min_length=1, max_length=MAX_MACHINE_MATERIALS),
    ]

    @model_validator(mode="after")
    def _layer_fits_nozzle(self) -> SlicerSettings:
        if self.layer_height_um > self.nozzle_um:
            raise ValueError(
                f"layer_height_um: got {self.layer_height_um}, want at most nozzle_um "
                f"({self.nozzle_um})"
            )
        return self


class Machine(StrictBody):
    """One machine of the lab (§2). `slicer` is absent from the wire when None (§2.2)."""

    process: ProcessId
    make: Name
    model: Name
    build_volume_um: Annotated[list[BuildEdge_um], Field(min_length=3, max_length=3)]
    materials: Annotated[
        list[Material],
        Field(min_length=1, max_length=MAX_MACHINE_MATERIALS),
        AfterValidator(sorted_unique),
    ]
    tolerance: ToleranceClass
    throughput_mm3_per_hour: Annotated[int, Field(ge=1, le=MAX_THROUGHPUT_MM3_PER_HOUR)]
    price: PriceModel
    slicer: SlicerSettings | None = None

    @field_validator("slicer", mode="before")
    @classmethod
    def _absent_not_nil(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("absent when the machine has no slicer settings, never nil")
        return value

    @model_validator(mode="after")
    def _settings_fit_machine(self) -> Machine:
        if self.slicer is None:
            return self
        if self.process != SLICED_PROCESS:
            raise ValueError(f"slicer: only a {SLICED_PROCESS} machine has slicer settings")
        if sorted(self.slicer.density_mg_per_cm3) != self.materials:
            raise ValueError("slicer: density_mg_per_cm3 names exactly the machine's materials")
        return self

    @model_serializer(mode="wrap")
    def _absent_when_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Every dump is the map an advert carries: no `slicer` key when it has none."""
        out: dict[str, Any] = handler(self)
        if self.slicer is None:
            out.pop("slicer", None)
        return out


class SealKey(StrictBody):
    """The lab's public encryption key for sealed files (specs/0011 §6)."""

    suite: SealSuite
    public_key: Annotated[bytes, Field(min_length=32, max_length=1216)]

    @model_validator(mode="after")
    def _size_fits_suite(self) -> SealKey:
        want = SEAL_PUBLIC_KEY_BYTES[self.suite]
        if len(self.public_key) != want:
            raise ValueError(f"public_key: got {len(self.public_key)} bytes, want {want}")
        return self


class AdvertBody(StrictBody):
    """capability.advert — a lab's machines, prices and terms (specs/0011 §1)."""

    name: Name
    website: Annotated[str, Field(min_length=8, max_length=2048, pattern=_URL)] | None
    location: Location
    currency: Annotated[str, Field(pattern=_CURRENCY)]
    lead_time_days: Annotated[int, Field(ge=0, le=MAX_LEAD_TIME_DAYS)]
    availability: Availability
    machines: Annotated[list[Machine], Field(min_length=1, max_length=MAX_MACHINES)]
    seal_key: SealKey | None


def advert_body_map(body: AdvertBody) -> dict[str, Any]:
    """The body as the map an entry carries: every field, nil where absent (a machine's
    `slicer` aside: absent when it has none, §2.2)."""
    return body.model_dump()


KINDS: tuple[KindSpec, ...] = (KindSpec(ADVERT, AdvertBody),)


# -- the advert file (§7) ------------------------------------------------------------------

#: Largest advert file, in bytes, checked before parsing.
MAX_ADVERT_FILE_BYTES: Final = 256 * 1024
BAD_ADVERT: Final = "decode.bad-advert"
_DEGREES = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_MICRO: Final = Decimal(1_000_000)


def _bad(field: str, message: str) -> DecodeError:
    return DecodeError(BAD_ADVERT, f"{field}: {message}", field=field)


def degrees_to_microdeg(value: Any, what: str) -> int:
    """Decimal degrees to integer micro-degrees, rounded half to even at the sixth
    decimal (about 0.1 m): an integer, a finite float (its shortest decimal that reads
    back as the same float), or a string of digits with an optional sign and fraction."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad("location", f"{what}: want decimal degrees")
    text = repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str) and not _DEGREES.fullmatch(value):
        raise _bad("location", f"{what}: {value!r} is not decimal degrees")
    number = Decimal(text)
    if not number.is_finite():
        raise _bad("location", f"{what}: {value!r} is not a number")
    return int((number * _MICRO).to_integral_value(ROUND_HALF_EVEN))


def _machine_from_table(machine: Any) -> Any:
    if not isinstance(machine, dict):
        return machine
    out = dict(machine)
    if "build_volume_mm" in out and "build_volume_um" not in out:
        mm = out.pop("build_volume_mm")
        if isinstance(mm, list) and all(type(v) is int for v in mm):
            mm = [v * 1000 for v in mm]
        out["build_volume_um"] = mm
    materials = out.get("materials")
    if isinstance(materials, list) and all(isinstance(m, str) for m in materials):
        out["materials"] = sorted(set(materials))
    return out


def advert_fields(table: dict[str, Any]) -> dict[str, Any]:
    """The advert body fields of an advert file's table (§7.1 A4 to A6): `location` as
    `{lat, lon}` in decimal degrees and `build_volume_mm` are accepted for people's ease,
    an absent `website` or `seal_key` is nil, and materials are sorted without repeats."""
    out = dict(table)
    out.setdefault("website", None)
    out.setdefault("seal_key", None)
    location = out.get("location")
    if isinstance(location, dict) and set(location) == {"lat", "lon"}:
        out["location"] = {
            "lat_microdeg": degrees_to_microdeg(location["lat"], "lat"),
            "lon_microdeg": degrees_to_microdeg(location["lon"], "lon"),
        }
    if isinstance(out.get("machines"), list):
        out["machines"] = [_machine_from_table(m) for m in out["machines"]]
    return out


def validate_advert(fields: dict[str, Any]) -> AdvertBody:
    """An advert body from fields, or decode.bad-advert naming the first bad field
    (§7.1 A7: the body's fields in their order, then unknown keys in the table's)."""
    try:
        return AdvertBody.model_validate(fields, strict=True)
    except ValidationError as e:
        first = e.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "advert"
        where = ".".join(str(p) for p in first["loc"]) or "advert"
        raise DecodeError(BAD_ADVERT, f"{where}: {first['msg']}", field=field) from e


def advert_from_toml(data: bytes) -> AdvertBody:
    """An advert file (TOML, §7.1) as a body, its `seal_key` nil."""
    if len(data) > MAX_ADVERT_FILE_BYTES:
        raise DecodeError("decode.too-large", f"advert file of {len(data)} bytes")
    try:
        table = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise DecodeError(BAD_ADVERT, f"not UTF-8: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise DecodeError(BAD_ADVERT, f"not TOML: {e}") from e
    except RecursionError as e:
        raise DecodeError(BAD_ADVERT, "not TOML: nested too deeply") from e
    table.pop("seal_key", None)  # the node fills in its own key
    return validate_advert(advert_fields(table))
