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
Importing this module registers the kind with protocol.kinds.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, Field, model_validator

from protocol.design import Material, Name, _sorted_unique
from protocol.kinds import KindSpec, StrictBody, register

ADVERT: Final = "capability.advert"

#: The process vocabulary (§2): stable ids, never renamed; new ones are only added.
ProcessId = Literal[
    "3dp-fdm",
    "3dp-sla",
    "3dp-sls",
    "3dp-mjf",
    "3dp-metal",
    "cnc-milling",
    "cnc-turning",
    "precision-milling",
    "laser-cutting",
    "laser-engraving",
    "vinyl-cutting",
    "waterjet-cutting",
    "plasma-cutting",
    "circuit-production",
    "pcb-assembly",
    "injection-moulding",
    "vacuum-forming",
    "casting",
    "sheet-metal",
    "welding",
    "sewing",
    "embroidery",
]
PROCESSES: Final[tuple[str, ...]] = get_args(ProcessId)

#: Design-record tokens (specs/0010-designs.md, OKH imports) that name a family of
#: processes rather than one; any vocabulary id is also a token naming itself.
_TOKEN_FAMILIES: Final[dict[str, tuple[str, ...]]] = {
    "3d-printing": ("3dp-fdm", "3dp-sla", "3dp-sls", "3dp-mjf", "3dp-metal"),
    "additive-manufacturing": ("3dp-fdm", "3dp-sla", "3dp-sls", "3dp-mjf", "3dp-metal"),
    "fdm": ("3dp-fdm",),
    "fff": ("3dp-fdm",),
    "sla": ("3dp-sla",),
    "dlp": ("3dp-sla",),
    "sls": ("3dp-sls",),
    "mjf": ("3dp-mjf",),
    "slm": ("3dp-metal",),
    "dmls": ("3dp-metal",),
    "cnc-machining": ("cnc-milling", "cnc-turning", "precision-milling"),
    "cnc": ("cnc-milling", "cnc-turning", "precision-milling"),
    "milling": ("cnc-milling", "precision-milling"),
    "turning": ("cnc-turning",),
    "laser": ("laser-cutting", "laser-engraving"),
    "pcb": ("circuit-production",),
    "pcb-fabrication": ("circuit-production",),
    "pcb-milling": ("circuit-production", "precision-milling"),
    "injection-molding": ("injection-moulding",),
    "vacuum-molding": ("vacuum-forming",),
    "sheet-metal-fabrication": ("sheet-metal",),
    "textile": ("sewing", "embroidery"),
}

#: ISO 2768-1 general tolerance classes, finest first (§3).
ToleranceClass = Literal["f", "m", "c", "v"]
TOLERANCE_CLASSES: Final[tuple[str, ...]] = get_args(ToleranceClass)

Availability = Literal["open", "busy", "closed"]
AVAILABILITY: Final[tuple[str, ...]] = get_args(Availability)

#: Sealed-file suites a lab may publish a key for (protocol/sealed.py) and their
#: public key sizes in bytes.
SealSuite = Literal["x25519-hkdf-sha256-chacha20poly1305", "mlkem768x25519-sha256-chacha20poly1305"]
SEAL_PUBLIC_KEY_BYTES: Final[dict[str, int]] = {
    "x25519-hkdf-sha256-chacha20poly1305": 32,
    "mlkem768x25519-sha256-chacha20poly1305": 1184 + 32,
}

MAX_MACHINES: Final = 64
MAX_MACHINE_MATERIALS: Final = 32
MAX_LEAD_TIME_DAYS: Final = 3650
MAX_MINOR: Final = 10**12
MAX_THROUGHPUT_MM3_PER_HOUR: Final = 10**12
#: Largest build volume edge: 100 m in micrometres.
MAX_BUILD_UM: Final = 10**8
MAX_LAT_MICRODEG: Final = 90_000_000
MAX_LON_MICRODEG: Final = 180_000_000
_CURRENCY = r"^[A-Z]{3}$"
_URL = r"^[a-z][a-z0-9+.-]*://[^\s\x00-\x1f\x7f]+$"

Minor = Annotated[int, Field(ge=0, le=MAX_MINOR)]
BuildEdge_um = Annotated[int, Field(ge=1, le=MAX_BUILD_UM)]


class PriceModel(StrictBody):
    """What one machine's work costs, in minor units of the advert's currency (§4)."""

    setup_fee_minor: Minor
    per_cm3_minor: Minor
    per_hour_minor: Minor


class Machine(StrictBody):
    """One machine of the lab (§2)."""

    process: ProcessId
    make: Name
    model: Name
    build_volume_um: Annotated[list[BuildEdge_um], Field(min_length=3, max_length=3)]
    materials: Annotated[
        list[Material],
        Field(min_length=1, max_length=MAX_MACHINE_MATERIALS),
        AfterValidator(_sorted_unique),
    ]
    tolerance: ToleranceClass
    throughput_mm3_per_hour: Annotated[int, Field(ge=1, le=MAX_THROUGHPUT_MM3_PER_HOUR)]
    price: PriceModel


class Location(StrictBody):
    """WGS 84 latitude and longitude in integer micro-degrees."""

    lat_microdeg: Annotated[int, Field(ge=-MAX_LAT_MICRODEG, le=MAX_LAT_MICRODEG)]
    lon_microdeg: Annotated[int, Field(ge=-MAX_LON_MICRODEG, le=MAX_LON_MICRODEG)]


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
    """The body as the map an entry carries: every field, nil where absent."""
    return body.model_dump()


def processes_for_token(token: str) -> frozenset[str]:
    """The vocabulary ids a design's process token names (empty when none)."""
    if token in PROCESSES:
        return frozenset({token})
    return frozenset(_TOKEN_FAMILIES.get(token, ()))


def tolerance_holds(machine: str, wanted: str) -> bool:
    """Whether a machine holding class `machine` meets class `wanted` (f finest)."""
    return TOLERANCE_CLASSES.index(machine) <= TOLERANCE_CLASSES.index(wanted)


register(KindSpec(ADVERT, AdvertBody))
