"""Instant quotes: from a part's volume, or from a slicer's figures (specs/0011 §5.4-5.5).

`volume_quote` prices the request's total volume with a machine's throughput (§5.4).
`slice_settings` says what a slicer must be run with to quote on a machine — the
machine's published settings (protocol.capability.SlicerSettings) and the density of
the material quoted — or None when the machine publishes none. `machine_quote` takes
what slicing gave (a `Sliced` with one `PartFigures` per part, or a `NotSliced` with
its reason) and prices the print time and filament mass it reports (§5.5), falling back
on the volume model, saying why, whenever there is nothing to price.

Guarantees: integers only; each component rounds up once; a quote records its method
(`volume` or `slicer`) and the numbers behind it, so a reader can recompute it. Pure:
running the slicer is the node's business (node.ops.slicing); here its figures are
inputs like any other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from protocol.capability import Machine
from protocol.errors import LocalMisuseError

MM3_PER_CM3: Final = 1000
SECONDS_PER_HOUR: Final = 3600
#: Why a volume quote stands where a slicer quote could be (§5.5), in no order.
FALLBACK_REASONS: Final = (
    "no-settings",  # the machine publishes no slicer settings
    "not-sliced",  # nobody sliced the part for these settings (pure callers)
    "no-slicer",  # the quoting node has no slicer
    "no-mesh",  # a part is stated by box and volume, or is sealed: nothing to slice
    "mesh-not-held",  # the design's mesh is not on the quoting node
    "slicer-failed",  # the slicer refused the part or gave no figures
    "slicer-timeout",  # the slicer ran out of time or memory
    "slice-budget",  # the request asked for more slices than a node runs for one request
)


class PartLike(Protocol):
    @property
    def volume_mm3(self) -> int: ...


@dataclass(frozen=True, slots=True)
class SliceSettings:
    """What one slicer run is made with: a machine's settings, the material quoted."""

    layer_height_um: int
    infill_percent: int
    perimeters: int
    supports: bool
    nozzle_um: int
    filament_diameter_um: int
    material: str
    density_mg_per_cm3: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class PartFigures:
    """What the slicer reports for one copy of one part."""

    print_seconds: int
    filament_mg: int


@dataclass(frozen=True, slots=True)
class Sliced:
    """Every part of a request sliced with one SliceSettings, by `slicer` (name version)."""

    slicer: str
    parts: tuple[PartFigures, ...]


@dataclass(frozen=True, slots=True)
class NotSliced:
    """Why there are no slicer figures (a code of FALLBACK_REASONS, and what happened)."""

    reason: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.reason not in FALLBACK_REASONS:  # the codes quotes carry are a closed set
            raise LocalMisuseError("misuse.bad-argument", f"no fallback reason {self.reason!r}")


SliceOutcome = Sliced | NotSliced
Slices = Mapping[SliceSettings, SliceOutcome]


@dataclass(frozen=True, slots=True)
class Quote:
    """An instant quote in minor units, with its method and the numbers behind it."""

    currency: str
    setup_fee_minor: int
    material_minor: int
    machine_minor: int
    machine_seconds: int
    total_minor: int
    method: Literal["volume", "slicer"] = "volume"
    #: volume: {volume_mm3, throughput_mm3_per_hour}; slicer: the figures and settings.
    basis: tuple[tuple[str, Any], ...] = ()
    #: With the volume method: why no slicer quote (NotSliced); None with the slicer's.
    fallback: NotSliced | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "setup_fee_minor": self.setup_fee_minor,
            "material_minor": self.material_minor,
            "machine_minor": self.machine_minor,
            "machine_seconds": self.machine_seconds,
            "total_minor": self.total_minor,
            "method": self.method,
            "basis": dict(self.basis),
            "fallback": None
            if self.fallback is None
            else {"reason": self.fallback.reason, "detail": self.fallback.detail},
        }


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def volume_quote(
    machine: Machine,
    currency: str,
    parts: Sequence[PartLike],
    quantity: int,
    fallback: NotSliced | None = None,
) -> Quote:
    """§5.4: setup fee + ⌈V·per_cm3/1000⌉ + ⌈V·per_hour/throughput⌉, V = total mm³."""
    volume = quantity * sum(p.volume_mm3 for p in parts)
    price = machine.price
    throughput = machine.throughput_mm3_per_hour
    material = _ceil_div(volume * price.per_cm3_minor, MM3_PER_CM3)
    machine_minor = _ceil_div(volume * price.per_hour_minor, throughput)
    seconds = _ceil_div(volume * SECONDS_PER_HOUR, throughput)
    total = price.setup_fee_minor + material + machine_minor
    basis = (("volume_mm3", volume), ("throughput_mm3_per_hour", throughput))
    return Quote(
        currency, price.setup_fee_minor, material, machine_minor, seconds, total,
        "volume", basis, fallback,
    )  # fmt: skip


def quoted_material(machine: Machine, material: str | None) -> str:
    """The machine's material a request is quoted in: the one equal to `material` under
    case folding, else (any material) the machine's first."""
    if material is not None:
        wanted = material.casefold()
        for own in machine.materials:
            if own.casefold() == wanted:
                return own
    return machine.materials[0]


def slice_settings(machine: Machine, material: str | None) -> SliceSettings | None:
    """§5.5: the slicer run a quote on `machine` needs, or None (no settings published)."""
    settings = machine.slicer
    if settings is None:
        return None
    chosen = quoted_material(machine, material)
    return SliceSettings(
        **settings.model_dump(exclude={"density_mg_per_cm3"}),
        material=chosen,
        density_mg_per_cm3=settings.density_mg_per_cm3[chosen],
    )


def slicer_quote(
    machine: Machine, currency: str, settings: SliceSettings, sliced: Sliced, quantity: int
) -> Quote:
    """§5.5: setup fee + ⌈M·per_cm3/D⌉ + ⌈t·per_hour/3600⌉, with M the filament mass
    (mg) and t the print time (s) of every copy, D the material's density (mg/cm³)."""
    seconds = quantity * sum(p.print_seconds for p in sliced.parts)
    mass_mg = quantity * sum(p.filament_mg for p in sliced.parts)
    price = machine.price
    material = _ceil_div(mass_mg * price.per_cm3_minor, settings.density_mg_per_cm3)
    machine_minor = _ceil_div(seconds * price.per_hour_minor, SECONDS_PER_HOUR)
    total = price.setup_fee_minor + material + machine_minor
    basis = (
        ("slicer", sliced.slicer),
        ("print_seconds", seconds),
        ("filament_mg", mass_mg),
        ("settings", settings.to_json()),
        ("parts", [{"print_seconds": p.print_seconds, "filament_mg": p.filament_mg}
                   for p in sliced.parts]),
    )  # fmt: skip
    return Quote(
        currency, price.setup_fee_minor, material, machine_minor, seconds, total, "slicer", basis
    )


def machine_quote(
    machine: Machine,
    currency: str,
    parts: Sequence[PartLike],
    quantity: int,
    material: str | None,
    slices: Slices | None,
) -> Quote:
    """The quote for `parts` on `machine`: the slicer's when `slices` holds figures for
    every part under the machine's settings, else the volume model with the reason."""
    settings = slice_settings(machine, material)
    if settings is None:
        return volume_quote(machine, currency, parts, quantity, NotSliced("no-settings"))
    outcome = None if slices is None else slices.get(settings)
    if outcome is None:
        outcome = NotSliced("not-sliced")
    if isinstance(outcome, Sliced) and len(outcome.parts) != len(parts):
        outcome = NotSliced("not-sliced")  # figures for another set of parts
    if isinstance(outcome, NotSliced):
        return volume_quote(machine, currency, parts, quantity, outcome)
    return slicer_quote(machine, currency, settings, outcome, quantity)
