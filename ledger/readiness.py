"""Print-readiness of a mesh and the warnings it gives beside a quote (specs/0010 §3.3).

`Readiness` holds what node.ops.readiness measures of one mesh: integers only (edge and
face counts, micrometres, cubic millimetres, permille), None where a check was not made
(over the bound of §3.3, or a shell not closed). `readiness_from_json` reads its JSON
form back, refusing anything else with ValueError (a stored form this node wrote: a bad
one is measured again, never a peer's fault).
`warnings_for(readiness, process)` applies the rules of §3.4: which findings a lab of a
process should be told about. A warning is advice beside a quote, never a reason to
exclude a lab (specs/0011 §5).

Pure: no numpy, no I/O. Measuring is node.ops.readiness; storing it, node.store.readiness.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final

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

_FIELDS: Final = (
    "open_edges",
    "non_manifold_edges",
    "degenerate_faces",
    "winding_errors",
    "shells",
    "overlapping_shells",
    "solid_volume_mm3",
    "thinnest_wall_um",
    "wall_rays",
    "overhang_permille",
)
_MAX_COUNT: Final = 2**63 - 1


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

    @property
    def watertight(self) -> bool:
        return self.open_edges == 0 and self.non_manifold_edges == 0


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
    """A Readiness from its JSON form (exactly the fields of `Readiness.to_json`)."""
    if not isinstance(data, dict) or set(data) != set(_FIELDS):
        raise _bad(f"want an object with exactly the fields {', '.join(_FIELDS)}")
    for name in _FIELDS:
        value = data[name]
        nullable = name in ("shells", "overlapping_shells", "solid_volume_mm3", "thinnest_wall_um")
        if value is None and nullable:
            continue
        if name == "overlapping_shells":
            if not isinstance(value, bool):
                raise _bad(f"{name}: want true, false or null")
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT:
            raise _bad(f"{name}: want a whole number from 0")
    if data["overhang_permille"] > 1000:
        raise _bad("overhang_permille: at most 1000")
    if (data["overlapping_shells"] is None) != (data["solid_volume_mm3"] is None):
        raise _bad("solid_volume_mm3 is given exactly when overlapping_shells is")
    return Readiness(**data)


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


def _bad(message: str) -> ValueError:
    return ValueError(f"not a readiness: {message}")
