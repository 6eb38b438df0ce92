"""Which labs can make a part, ranked, with an instant quote each (specs/0011 §5).

`newest_adverts` keeps one advert per lab: the newest wins (highest seq in the lab's
log, then the greater entry id, so any order of the same adverts gives the same
result). `match(request, adverts)` checks every lab against the request — the lab is
not closed, is within the radius (great-circle, ledger.greatcircle), and has a machine
of a wanted process that works the material, holds the tolerance class and fits every
part in one of the six axis-aligned orientations of its bounding box — and returns the
labs that can make it, ranked, each with the cheapest such machine and its quote (and
the print-readiness warnings for that machine's process, specs/0010 §3.4: advice, never
a reason to exclude), and the labs that cannot, each with the reasons. Quotes come from
ledger.quotes: from the volume model, or from slicer figures the caller passes
(`slices`, for the settings `wanted_slices` names).

Guarantees: integers only (µm, mm³, metres, minor currency units); quotes round up to
the next minor unit, once per component; the result depends only on the inputs, not on
their order. Pure: no I/O; which adverts are valid and not revoked is the caller's
business (the entries' bodies are already decoded `AdvertBody` values).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import permutations
from typing import Final

from ledger.greatcircle import distance_m
from ledger.quotes import Quote, Slices, SliceSettings, machine_quote, slice_settings
from ledger.readiness import Readiness, ReadinessWarning, warnings_for
from protocol.capability import AdvertBody, Location, Machine, tolerance_holds
from protocol.design import DesignBody, Geometry

#: Criteria in the order the spec lists them; reasons are reported in this order.
#: `frozen` (a fork proof freezes the lab, specs/0004 §4) is reported alone.
REASONS: Final = (
    "frozen",
    "availability",
    "distance",
    "process",
    "material",
    "build-volume",
    "tolerance",
)
_ORIENTATIONS: Final = tuple(permutations(range(3)))


@dataclass(frozen=True, slots=True)
class LabAdvert:
    """One decoded advert entry: its author (the lab), seq, entry id and body."""

    lab: bytes
    seq: int
    entry_id: bytes
    body: AdvertBody


@dataclass(frozen=True, slots=True)
class Part:
    """What matching needs of one part: bounding-box edges (µm) and volume (mm³), and
    its print-readiness when known (specs/0010 §3.3), which gives warnings, never
    exclusions."""

    size_um: tuple[int, int, int]
    volume_mm3: int
    readiness: Readiness | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """What the customer asks for. Empty `processes` accepts any process; `material`
    None any material; `near` None any place (then `radius_m` is ignored)."""

    parts: tuple[Part, ...]
    processes: frozenset[str] = frozenset()
    material: str | None = None
    tolerance: str = "v"
    near: Location | None = None
    radius_m: int | None = None
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class Candidate:
    """A lab that can make the request, with its cheapest fitting machine."""

    advert: LabAdvert
    machine_index: int
    distance_m: int | None
    quote: Quote
    #: For each part, the axis permutation that fits: part axis i on machine axis [i].
    orientations: tuple[tuple[int, int, int], ...]
    #: Print-readiness warnings for this machine's process (specs/0010 §3.4), in part
    #: order: (part index, warning).
    warnings: tuple[tuple[int, ReadinessWarning], ...] = ()


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A lab that cannot make the request, and why (codes from REASONS)."""

    advert: LabAdvert
    reasons: tuple[str, ...]
    distance_m: int | None = None


@dataclass(frozen=True, slots=True)
class MatchResult:
    candidates: list[Candidate] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)


def newest_adverts(adverts: Iterable[LabAdvert]) -> list[LabAdvert]:
    """One advert per lab, the newest (highest seq, then greatest entry id), by lab."""
    best: dict[bytes, LabAdvert] = {}
    for advert in adverts:
        held = best.get(advert.lab)
        if held is None or (advert.seq, advert.entry_id) > (held.seq, held.entry_id):
            best[advert.lab] = advert
    return [best[lab] for lab in sorted(best)]


def part_from_geometry(geometry: Geometry, readiness: Readiness | None = None) -> Part:
    """A part from a mesh's recorded geometry: its box edges, and its volume when the
    mesh is closed, else the box's volume rounded up to whole mm³ (an upper bound).
    When its readiness knows the solid's volume (the union of its shells, specs/0010
    §3.3), a closed mesh's volume is that: overlapping shells are not paid twice."""
    edges = [hi - lo for lo, hi in zip(geometry.bbox_min_um, geometry.bbox_max_um, strict=True)]
    size = (edges[0], edges[1], edges[2])
    if geometry.closed:
        solid = None if readiness is None else readiness.solid_volume_mm3
        return Part(size, geometry.volume_mm3 if solid is None else solid, readiness)
    return Part(size, -(-size[0] * size[1] * size[2] // 10**9), readiness)


def parts_of_design(
    design: DesignBody, readiness: Mapping[bytes, Readiness | None] | None = None
) -> tuple[Part, ...]:
    """Every file of a design that has geometry, as a part, in file order, with its
    readiness from `readiness` (by the file's hash) where given."""
    known = readiness or {}
    return tuple(
        part_from_geometry(f.geometry, known.get(f.sha256))
        for f in design.files
        if f.geometry is not None
    )


def part_warnings(parts: Sequence[Part], process: str) -> tuple[tuple[int, ReadinessWarning], ...]:
    """The readiness warnings of each part for a machine of `process`, in part order."""
    return tuple(
        (i, w)
        for i, p in enumerate(parts)
        if p.readiness is not None
        for w in warnings_for(p.readiness, process)
    )


def orientation_fitting(size_um: Sequence[int], build_um: Sequence[int]) -> tuple[int, int, int]:
    """The first axis permutation p (in itertools order) with size[i] ≤ build[p[i]]
    for every axis i; raises LookupError when none fits."""
    for p in _ORIENTATIONS:
        if all(size_um[i] <= build_um[p[i]] for i in range(3)):
            return (p[0], p[1], p[2])
    raise LookupError("no orientation fits")


def machine_failures(machine: Machine, request: Request) -> list[str]:
    """The machine criteria (process, material, build-volume, tolerance) it fails."""
    failed = []
    if request.processes and machine.process not in request.processes:
        failed.append("process")
    wanted = None if request.material is None else request.material.casefold()
    if wanted is not None and wanted not in {m.casefold() for m in machine.materials}:
        failed.append("material")
    for part in request.parts:
        try:
            orientation_fitting(part.size_um, machine.build_volume_um)
        except LookupError:
            failed.append("build-volume")
            break
    if not tolerance_holds(machine.tolerance, request.tolerance):
        failed.append("tolerance")
    return failed


def _lab_distance(advert: LabAdvert, request: Request) -> int | None:
    if request.near is None:
        return None
    here = advert.body.location
    return distance_m(
        request.near.lat_microdeg,
        request.near.lon_microdeg,
        here.lat_microdeg,
        here.lon_microdeg,
    )


def _lab_failures(advert: LabAdvert, request: Request, distance: int | None) -> list[str]:
    """The lab-level criteria (availability, distance) the lab fails."""
    failed = []
    if advert.body.availability == "closed":
        failed.append("availability")
    if distance is not None and request.radius_m is not None and distance > request.radius_m:
        failed.append("distance")
    return failed


def _ordered(reasons: Iterable[str]) -> tuple[str, ...]:
    found = set(reasons)
    return tuple(r for r in REASONS if r in found)


def assess(
    advert: LabAdvert, request: Request, slices: Slices | None = None
) -> Candidate | Exclusion:
    """One lab against the request: its best candidate machine, or why it has none.

    An excluded lab's reasons are its lab-level failures (availability, distance)
    plus, when no machine passes, the failures of its machines of a wanted process —
    or `process` alone when it has no such machine. Quotes use `slices` (§5.5).
    """
    body = advert.body
    distance = _lab_distance(advert, request)
    lab_failed = _lab_failures(advert, request, distance)
    fitting: list[tuple[int, int]] = []
    quotes: dict[int, Quote] = {}
    per_machine: list[list[str]] = []
    for index, machine in enumerate(body.machines):
        failed = machine_failures(machine, request)
        per_machine.append(failed)
        if not failed:
            quotes[index] = machine_quote(
                machine, body.currency, request.parts, request.quantity, request.material, slices
            )
            fitting.append((quotes[index].total_minor, index))
    if lab_failed or not fitting:
        own = [f for f in per_machine if "process" not in f]
        machine_reasons = [r for f in own for r in f] if own else ["process"]
        reasons = lab_failed + ([] if fitting else machine_reasons)
        return Exclusion(advert, _ordered(reasons), distance)
    _, index = min(fitting)
    machine = body.machines[index]
    return Candidate(
        advert=advert,
        machine_index=index,
        distance_m=distance,
        quote=quotes[index],
        orientations=tuple(
            orientation_fitting(p.size_um, machine.build_volume_um) for p in request.parts
        ),
        warnings=part_warnings(request.parts, machine.process),
    )


def _rank(candidate: Candidate) -> tuple[int, int, int, bytes, int]:
    return (
        candidate.distance_m or 0,
        candidate.quote.total_minor,
        candidate.advert.body.lead_time_days,
        candidate.advert.lab,
        candidate.machine_index,
    )


def wanted_slices(
    request: Request, adverts: Iterable[LabAdvert], frozen: Collection[bytes] = frozenset()
) -> list[SliceSettings]:
    """§5.5: the slicer runs `match` can use — the settings of every machine that passes
    criteria 3-6 in a lab that passes 1-2 and is not frozen — each once, in first-seen
    order (labs by id, machines by index). Empty when the request has no parts."""
    wanted: dict[SliceSettings, None] = {}
    if not request.parts:
        return []
    for advert in newest_adverts(adverts):
        if advert.lab in frozen or _lab_failures(advert, request, _lab_distance(advert, request)):
            continue
        for machine in advert.body.machines:
            settings = slice_settings(machine, request.material)
            if settings is not None and not machine_failures(machine, request):
                wanted[settings] = None
    return list(wanted)


def match(
    request: Request,
    adverts: Iterable[LabAdvert],
    frozen: Collection[bytes] = frozenset(),
    slices: Slices | None = None,
) -> MatchResult:
    """§5: the newest advert of each lab against the request. Candidates rank by
    distance (when `near` is given), then quote total, lead time, lab id; excluded
    labs come in lab id order. A lab in `frozen` is excluded for that alone (§5.1).
    A machine with slicer settings is quoted from `slices` when it holds its figures
    (§5.5), else by the volume model with the reason."""
    result = MatchResult()
    for advert in newest_adverts(adverts):
        if advert.lab in frozen:
            distance = _lab_distance(advert, request)
            result.excluded.append(Exclusion(advert, ("frozen",), distance))
            continue
        outcome = assess(advert, request, slices)
        if isinstance(outcome, Candidate):
            result.candidates.append(outcome)
        else:
            result.excluded.append(outcome)
    result.candidates.sort(key=_rank)
    return result
