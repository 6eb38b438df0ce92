"""Print-readiness of a mesh and the warnings it gives beside a quote (specs/0010 §3.3).

`Readiness` holds what node.ops.readiness measures of one mesh: integers only (edge and
face counts, micrometres, cubic millimetres, permille), None where a check was not made
(over the bound of §3.3, or a shell not closed). `readiness_from_json` reads its JSON
form back (the fields of protocol.design.Findings, which `design.readiness` entries
carry), refusing anything else with ValueError.
`warnings_for(readiness, process)` applies the rules of §3.4: which findings a lab of a
process should be told about. A warning is advice beside a quote, never a reason to
exclude a lab (specs/0011 §5).

A design's author also publishes its findings in a `design.readiness` entry (§3.5):
`published_from_entry` reads one, `shown_published` applies the view's rule (the
design's author only, the newest shown), so nodes that do not hold a mesh can warn too.

Pure: no numpy, no I/O. Measuring is node.ops.readiness; storing it, node.store.readiness
and the catalogue (which keeps the entries).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from protocol import kinds
from protocol.design import MAX_READINESS_FILES, READINESS, Findings, ReadinessBody
from protocol.entry import Entry

#: §3.4: the thinnest wall each process makes reliably, in µm (service bureaux' design
#: guides: two 0.4 mm FDM perimeters; unsupported SLA walls; SLS, MJF, metal powder bed).
MIN_WALL_UM: Final[dict[str, int]] = {
    "3dp-fdm": 800,
    "3dp-sla": 400,
    "3dp-sls": 700,
    "3dp-mjf": 600,
    "3dp-metal": 400,
}
#: §3.4: processes that print overhangs only on supports, and the share (permille of
#: the surface) from which a warning says so.
SUPPORTED_PROCESSES: Final = frozenset({"3dp-fdm", "3dp-sla", "3dp-metal"})
OVERHANG_WARN_PERMILLE: Final = 100

#: Warning codes in the order they are reported (§3.4).
WARNING_CODES: Final = (
    "open-mesh",
    "non-manifold",
    "degenerate-faces",
    "inconsistent-winding",
    "overlapping-shells",
    "thin-wall",
    "overhangs",
)


@dataclass(frozen=True, slots=True)
class Readiness:
    """The findings of §3.3 for one mesh."""

    open_edges: int
    non_manifold_edges: int
    degenerate_faces: int
    winding_errors: int
    #: None: over the bound (§3.3), not counted.
    shells: int | None
    #: None: not decided (a shell not closed, or over the bound).
    overlapping_shells: bool | None
    #: The volume of the union of the shells; None when `overlapping_shells` is None.
    solid_volume_mm3: int | None
    #: None: no ray found an opposite wall, or over the bound.
    thinnest_wall_um: int | None
    wall_rays: int
    overhang_permille: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class ReadinessWarning:
    """One finding worth telling a lab of `process` (§3.4): its code, the figure
    behind it and the limit it was held against (None where none applies)."""

    code: str
    value: int | None = None
    limit: int | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def readiness_from_json(data: Any) -> Readiness:
    """A Readiness from its JSON form: exactly the fields of `Readiness.to_json`, within
    the bounds of protocol.design.Findings (ValueError otherwise)."""
    return readiness_from_findings(Findings.model_validate(data))


def readiness_from_findings(findings: Findings) -> Readiness:
    """The findings a `design.readiness` entry carries (specs/0010 §3.5), as a Readiness."""
    return Readiness(**findings.model_dump())


@dataclass(frozen=True, slots=True)
class Published:
    """A valid `design.readiness` entry (specs/0010 §3.5): who signed it, when, the
    design it names, and its findings by mesh hash."""

    entry_id: bytes
    author: bytes
    design: bytes
    timestamp_ms: int
    files: dict[bytes, Readiness]


def published_from_entry(entry: Entry) -> Published | None:
    """The readiness an entry carries, or None if it is not a valid design.readiness."""
    if entry.kind != READINESS:
        return None
    model = kinds.check_body(entry.kind, entry.body).model
    if not isinstance(model, ReadinessBody):
        return None
    files = {f.sha256: readiness_from_findings(f.readiness) for f in model.files}
    return Published(entry.id, entry.author, model.design, entry.timestamp_ms, files)


def readiness_bodies(design: bytes, found: dict[bytes, Readiness]) -> list[dict[str, Any]]:
    """The bodies of the `design.readiness` entries for `design`: its meshes sorted by
    hash, MAX_READINESS_FILES to an entry (§3.5); none when `found` is empty."""
    hashes = sorted(found)
    bodies = []
    for start in range(0, len(hashes), MAX_READINESS_FILES):
        chunk = hashes[start : start + MAX_READINESS_FILES]
        files = [{"sha256": h, "readiness": found[h].to_json()} for h in chunk]
        body = ReadinessBody.model_validate({"design": design, "files": files})
        bodies.append(body.model_dump())
    return bodies


def shown_published(
    design_author: bytes, design_files: frozenset[bytes], published: Iterable[Published]
) -> dict[bytes, Readiness]:
    """§3.5: of the readiness entries naming a design, only its author's count; for each
    file the design names, the newest (timestamp, then entry id) that gives it is shown."""
    own = sorted(
        (p for p in published if p.author == design_author),
        key=lambda p: (p.timestamp_ms, p.entry_id),
    )
    shown: dict[bytes, Readiness] = {}
    for p in own:  # oldest first: a newer entry's findings replace an older one's
        shown.update((h, r) for h, r in p.files.items() if h in design_files)
    return shown


def warnings_for(readiness: Readiness, process: str) -> tuple[ReadinessWarning, ...]:
    """§3.4: the warnings a lab of `process` gets for a mesh, in WARNING_CODES order."""
    r = readiness
    found: list[ReadinessWarning] = []
    if r.open_edges:
        found.append(ReadinessWarning("open-mesh", r.open_edges))
    if r.non_manifold_edges:
        found.append(ReadinessWarning("non-manifold", r.non_manifold_edges))
    if r.degenerate_faces:
        found.append(ReadinessWarning("degenerate-faces", r.degenerate_faces))
    if r.winding_errors:
        found.append(ReadinessWarning("inconsistent-winding", r.winding_errors))
    if r.overlapping_shells:
        found.append(ReadinessWarning("overlapping-shells", r.solid_volume_mm3))
    limit = MIN_WALL_UM.get(process)
    if limit is not None and r.thinnest_wall_um is not None and r.thinnest_wall_um < limit:
        found.append(ReadinessWarning("thin-wall", r.thinnest_wall_um, limit))
    if process in SUPPORTED_PROCESSES and r.overhang_permille >= OVERHANG_WARN_PERMILLE:
        found.append(ReadinessWarning("overhangs", r.overhang_permille, OVERHANG_WARN_PERMILLE))
    return tuple(found)


def describe(warning: ReadinessWarning) -> str:
    """One line for people (the CLI and the dashboard say the same)."""
    v, limit = warning.value, warning.limit
    match warning.code:
        case "open-mesh":
            return f"open mesh: {v} edges border one triangle; the volume is nominal"
        case "non-manifold":
            return f"{v} edges are shared by more than two triangles"
        case "degenerate-faces":
            return f"{v} triangles have no area"
        case "inconsistent-winding":
            return f"{v} edges join triangles facing opposite ways (flipped normals)"
        case "overlapping-shells":
            return (
                f"shells overlap: the volume counts their shared part twice; the solid is {v} mm³"
            )
        case "thin-wall":
            return f"thinnest wall about {_mm(v)} mm, under this process's {_mm(limit)} mm"
        case "overhangs":
            return f"{_permille(v)} of the surface overhangs more than 45°: needs supports"
    return warning.code


def _mm(um: int | None) -> str:
    return "?" if um is None else f"{um / 1000:.2f}"


def _permille(value: int | None) -> str:
    return "?" if value is None else f"{value / 10:.1f} %"
