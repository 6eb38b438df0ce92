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
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, Field, model_validator

from protocol.bodies import KindSpec, StrictBody
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
    "ToleranceClass",
    "advert_body_map",
    "processes_for_token",
    "tolerance_holds",
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


class Machine(StrictBody):
    """One machine of the lab (§2)."""

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


KINDS: tuple[KindSpec, ...] = (KindSpec(ADVERT, AdvertBody),)
