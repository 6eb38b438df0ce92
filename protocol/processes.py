"""The fabrication vocabulary shared by adverts and jobs (specs/0011-capabilities.md §2-3).

Process ids, ISO 2768-1 tolerance classes, availability and places (integer
micro-degrees). A leaf module: it imports nothing of the protocol, so the kinds that
use these names can load in any order. Pure: no I/O.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

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

MAX_LAT_MICRODEG: Final = 90_000_000
MAX_LON_MICRODEG: Final = 180_000_000


class Location(BaseModel):
    """WGS 84 latitude and longitude in integer micro-degrees."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    lat_microdeg: Annotated[int, Field(ge=-MAX_LAT_MICRODEG, le=MAX_LAT_MICRODEG)]
    lon_microdeg: Annotated[int, Field(ge=-MAX_LON_MICRODEG, le=MAX_LON_MICRODEG)]


def processes_for_token(token: str) -> frozenset[str]:
    """The vocabulary ids a design's process token names (empty when none)."""
    if token in PROCESSES:
        return frozenset({token})
    return frozenset(_TOKEN_FAMILIES.get(token, ()))


def tolerance_holds(machine: str, wanted: str) -> bool:
    """Whether a machine holding class `machine` meets class `wanted` (f finest)."""
    return TOLERANCE_CLASSES.index(machine) <= TOLERANCE_CLASSES.index(wanted)
