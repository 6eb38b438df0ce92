"""Capability adverts on a node: publish ours, read everyone's, match requests
(specs/0011-capabilities.md).

The operator's advert file is read by protocol.capability.advert_from_toml;
`set_advert` signs it into our log with our sealed-file key filled in; `adverts(ctx)`
gives the newest valid, unrevoked advert of each lab, kept by an in-memory index
(ledger.adverts) that reads only the entries added since it last looked;
`find`/`match_query` wrap ledger.matching with the JSON the API and the CLI speak;
both leave out frozen labs (`frozen_labs`), saying why and since when. A match is
planned on the ledger (`plan_match`: the request, the adverts, each part's mesh) and
finished anywhere (`finish_match`): it slices the parts for the labs that publish
slicer settings (node.ops.slicing, blocking for seconds: the node runs it on a worker
thread, never the storage thread) and quotes from the figures (specs/0011 §5.5).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pydantic

from ledger.adverts import AdvertIndex
from ledger.matching import (
    Candidate,
    Exclusion,
    LabAdvert,
    Part,
    Request,
    match,
    parts_of_design,
    wanted_slices,
)
from ledger.quotes import NotSliced
from ledger.readiness import describe
from ledger.store import LogStore
from node.i18n import N_
from node.ops import designs, freezes, readiness
from node.ops.context import LedgerContext, append_own
from node.ops.geometry import THREEMF_MEDIA_TYPES
from node.ops.sealing import seal_key
from node.ops.slicing import MeshSource, Slicer, slice_request
from protocol.capability import (
    ADVERT,
    PROCESSES,
    TOLERANCE_CLASSES,
    AdvertBody,
    Location,
    SealKey,
    advert_body_map,
    degrees_to_microdeg,
    processes_for_token,
)
from protocol.design import DesignBody
from protocol.entry import Entry
from protocol.errors import LocalMisuseError
from protocol.ids import id_from_text, id_to_text
from protocol.sealed import HYBRID_SUITE

MAX_MATCH_PARTS: Final = 256
MAX_RADIUS_M: Final = 20_100_000


# -- publishing ----------------------------------------------------------------------------


def with_our_key(ctx: LedgerContext, body: AdvertBody) -> AdvertBody:
    """The body with our sealed-file public key (the suite it names, else hybrid)."""
    suite = HYBRID_SUITE if body.seal_key is None else body.seal_key.suite
    return body.model_copy(update={"seal_key": seal_key(ctx.home, suite).public()})


def set_advert(ctx: LedgerContext, body: AdvertBody) -> tuple[dict[str, Any], list[Entry]]:
    """Sign our advert (replacing the older ones) with our sealed-file key in it."""
    body = with_our_key(ctx, body)
    made = append_own(ctx, [(ADVERT, advert_body_map(body))])
    entry = made[-1]
    advert = LabAdvert(entry.author, entry.seq, entry.id, body)
    return {"entry_id": id_to_text(entry.id), "seq": entry.seq, **advert_json(advert)}, made


# -- reading: the newest advert of each lab --------------------------------------------------


_INDEXES: weakref.WeakKeyDictionary[LogStore, AdvertIndex] = weakref.WeakKeyDictionary()


def adverts(ctx: LedgerContext) -> list[LabAdvert]:
    """The newest valid, unrevoked advert of each lab of our network, by lab id."""
    index = _INDEXES.setdefault(ctx.store, AdvertIndex())
    return index.refresh(ctx.store, ctx.network)


def frozen_labs(ctx: LedgerContext) -> dict[bytes, dict[str, Any]]:
    """The frozen authors of our network, each with why and since when (node.ops.freezes):
    out of the directory and of matching (specs/0011 §5.1) until a vote lifts it."""
    return freezes.frozen_authors(ctx)


def advert_of(ctx: LedgerContext, lab: bytes | None) -> LabAdvert:
    """One lab's newest advert (ours when `lab` is None); misuse.unknown-lab if none."""
    who = ctx.identity.id if lab is None else lab
    for advert in adverts(ctx):
        if advert.lab == who:
            return advert
    raise LocalMisuseError("misuse.unknown-lab", f"no capability advert from {id_to_text(who)}")


def lab_seal_key(ctx: LedgerContext, lab: bytes) -> SealKey:
    """The sealed-file key a lab publishes in its newest advert (misuse.no-seal-key)."""
    key = advert_of(ctx, lab).body.seal_key
    if key is None:
        raise LocalMisuseError(
            "misuse.no-seal-key", f"{id_to_text(lab)} publishes no sealed-file key"
        )
    return key


# -- JSON ----------------------------------------------------------------------------------


def advert_json(advert: LabAdvert) -> dict[str, Any]:
    body = advert_body_map(advert.body)
    key = advert.body.seal_key
    if key is not None:
        body["seal_key"] = {"suite": key.suite, "public_key": key.public_key.hex()}
    return {
        "lab": id_to_text(advert.lab),
        "advert_id": id_to_text(advert.entry_id),
        "seq": advert.seq,
        "advert": body,
    }


def candidate_json(c: Candidate) -> dict[str, Any]:
    machine = c.advert.body.machines[c.machine_index]
    return {
        **advert_json(c.advert),
        "machine_index": c.machine_index,
        "machine": machine.model_dump(),  # `slicer` only when set (its serializer)
        "distance_m": c.distance_m,
        "orientations": [list(o) for o in c.orientations],
        "quote": c.quote.to_json(),
        "lead_time_days": c.advert.body.lead_time_days,
        "warnings": [{"part": part, **w.to_json(), "text": describe(w)} for part, w in c.warnings],
    }


def exclusion_json(
    e: Exclusion, frozen: dict[bytes, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An excluded lab; a frozen one with why and since when (`frozen`)."""
    out: dict[str, Any] = {
        "lab": id_to_text(e.advert.lab),
        "name": e.advert.body.name,
        "reasons": list(e.reasons),
        "distance_m": e.distance_m,
    }
    if frozen is not None and e.advert.lab in frozen:
        out["frozen"] = frozen[e.advert.lab]
    return out


# -- queries -------------------------------------------------------------------------------


def _process_set(tokens: list[str]) -> frozenset[str]:
    wanted: set[str] = set()
    for token in tokens:
        ids = processes_for_token(token)
        if not ids:
            raise LocalMisuseError(
                "misuse.unknown-process", f"{token!r} is none of {', '.join(PROCESSES)}"
            )
        wanted |= ids
    return frozenset(wanted)


def _radius_m(radius_km: int | None) -> int | None:
    if radius_km is None:
        return None
    if not 0 <= radius_km * 1000 <= MAX_RADIUS_M:
        raise LocalMisuseError("misuse.bad-radius", f"radius {radius_km} km out of range")
    return radius_km * 1000


def find(
    ctx: LedgerContext,
    near: Location | None,
    radius_km: int | None,
    process: str | None,
    material: str | None = None,
) -> dict[str, Any]:
    """`capability list`: labs of a process near a place, nearest first."""
    request = Request(
        parts=(),
        processes=_process_set([] if process is None else [process]),
        material=material,
        near=near,
        radius_m=_radius_m(radius_km),
    )
    frozen = frozen_labs(ctx)
    result = match(request, adverts(ctx), frozen)
    rows = []
    for c in result.candidates:
        rows.append({**advert_json(c.advert), "distance_m": c.distance_m})
    out_of_it = [
        {**advert_json(e.advert), "distance_m": e.distance_m, "frozen": frozen[e.advert.lab]}
        for e in result.excluded
        if e.advert.lab in frozen
    ]
    return {"adverts": rows, "frozen": out_of_it}


class PartIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True, extra="forbid")

    size_um: list[int] = pydantic.Field(min_length=3, max_length=3)
    volume_mm3: int = pydantic.Field(ge=0, le=2**63 - 1)


class MatchQuery(pydantic.BaseModel):
    """POST /api/v1/match: a design (its meshes and process tokens) and/or explicit
    parts; the other fields narrow the search (specs/0011 §5)."""

    model_config = pydantic.ConfigDict(strict=True, extra="forbid")

    design: str | None = None
    parts: list[PartIn] = pydantic.Field(default_factory=list, max_length=MAX_MATCH_PARTS)
    processes: list[str] = pydantic.Field(default_factory=list, max_length=16)
    material: str | None = pydantic.Field(default=None, max_length=64)
    tolerance: str = "v"
    near: Location | None = None
    radius_km: int | None = None
    quantity: int = pydantic.Field(default=1, ge=1, le=1_000_000)


@dataclass(frozen=True)
class MatchPlan:
    """What a match needs from the ledger: the request, the newest adverts, the frozen
    labs, and each part's mesh on this node (or why there is none to slice)."""

    request: Request
    adverts: list[LabAdvert]
    frozen: dict[bytes, dict[str, Any]]
    meshes: tuple[MeshSource | NotSliced, ...]
    #: The blobs of meshes this node does not hold (a running node may fetch them).
    missing_meshes: tuple[bytes, ...] = ()


def design_meshes(ctx: LedgerContext, body: DesignBody) -> list[MeshSource | NotSliced]:
    """The mesh of each part of a design (its files with geometry, in order), where
    this node holds it; `mesh-not-held` where it does not (`missing_meshes`)."""
    store = ctx.home.blob_store()
    out: list[MeshSource | NotSliced] = []
    for f in body.files:
        if f.geometry is None:
            continue
        path = store.path_of(f.sha256)
        suffix = ".3mf" if f.media_type in THREEMF_MEDIA_TYPES else ".stl"
        if store.has(f.sha256):
            out.append(MeshSource(path, f.sha256, suffix))
        else:
            out.append(NotSliced("mesh-not-held", f"{f.path} is not on this node"))
    return out


def missing_meshes(meshes: Sequence[MeshSource | NotSliced], body: DesignBody) -> list[bytes]:
    """The blob ids of the design's meshes `design_meshes` found missing."""
    files = [f for f in body.files if f.geometry is not None]
    return [f.sha256 for f, m in zip(files, meshes, strict=True) if isinstance(m, NotSliced)]


STATED_PART: Final = NotSliced("no-mesh", "a part given by its box and volume")


def plan_match(ctx: LedgerContext, query: MatchQuery) -> MatchPlan:
    """The ledger's part of a match (run it on the storage thread)."""
    if query.tolerance not in TOLERANCE_CLASSES:
        raise LocalMisuseError("misuse.bad-tolerance", f"{query.tolerance!r} is not f, m, c or v")
    parts = [Part((p.size_um[0], p.size_um[1], p.size_um[2]), p.volume_mm3) for p in query.parts]
    if any(s < 0 for p in parts for s in p.size_um):
        raise LocalMisuseError("misuse.bad-part", N_("part edges are not negative"))
    meshes: list[MeshSource | NotSliced] = [STATED_PART] * len(parts)
    missing: list[bytes] = []
    tokens = list(query.processes)
    if query.design is not None:
        design_id = id_from_text(query.design)
        _, body = designs.design_entry(ctx, design_id)
        parts.extend(parts_of_design(body, readiness.readiness_by_hash(ctx, design_id, body)))
        own = design_meshes(ctx, body)
        meshes.extend(own)
        missing = missing_meshes(own, body)
        if not tokens:
            tokens = [t for t in body.processes if processes_for_token(t)]
    request = Request(
        parts=tuple(parts),
        processes=_process_set(tokens),
        material=query.material,
        tolerance=query.tolerance,
        near=query.near,
        radius_m=_radius_m(query.radius_km),
        quantity=query.quantity,
    )
    return MatchPlan(request, adverts(ctx), frozen_labs(ctx), tuple(meshes), tuple(missing))


def matched(plan: MatchPlan, slicer: Slicer | None) -> dict[str, Any]:
    """Slice what the plan's labs need (blocking: a worker thread), then match:
    `{candidates, excluded}` with quotes from the slicer where it gave figures."""
    frozen = plan.frozen
    wanted = wanted_slices(plan.request, plan.adverts, frozen)
    slices = slice_request(slicer, plan.meshes, wanted)
    result = match(plan.request, plan.adverts, frozen, slices)
    return {
        "candidates": [candidate_json(c) for c in result.candidates],
        "excluded": [exclusion_json(e, frozen) for e in result.excluded],
    }


def finish_match(plan: MatchPlan, slicer: Slicer | None) -> dict[str, Any]:
    """POST /api/v1/match's answer for a plan (blocking: a worker thread)."""
    parts: Sequence[Part] = plan.request.parts
    return {
        "parts": [
            {
                "size_um": list(p.size_um),
                "volume_mm3": p.volume_mm3,
                "readiness": None if p.readiness is None else p.readiness.to_json(),
            }
            for p in parts
        ],
        "processes": sorted(plan.request.processes),
        **matched(plan, slicer),
    }


def match_query(ctx: LedgerContext, query: MatchQuery, slicer: Slicer | None) -> dict[str, Any]:
    """Match a query against every lab's newest advert; candidates ranked, quotes
    (the CLI with no node running: planning and slicing in one go)."""
    return finish_match(plan_match(ctx, query), slicer)


def parse_near(text: str) -> Location:
    """`LAT,LON` in decimal degrees -> a Location (misuse.bad-location otherwise)."""
    parts = text.split(",")
    if len(parts) != 2:
        raise LocalMisuseError("misuse.bad-location", f"{text!r}: want LAT,LON")
    try:
        lat = degrees_to_microdeg(parts[0].strip(), "lat")
        lon = degrees_to_microdeg(parts[1].strip(), "lon")
        return Location(lat_microdeg=lat, lon_microdeg=lon)
    except Exception as e:
        raise LocalMisuseError("misuse.bad-location", f"{text!r}: want LAT,LON in degrees") from e
