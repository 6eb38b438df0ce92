"""Every job of a ledger, derived from its entries (specs/0007-jobs.md §5-§6).

`derive_jobs(entries, max_ttl_s=..., now_ms=...)` groups the `job.*` entries of one
network by the job they name (a `job.offer`'s entry id is the job id) and folds each
group with protocol.jobstate.derive_job. Offers the rules refuse (a ttl above the
rule, a deadline before the offer) are returned apart with their `job.bad-offer`
error. `job_json` is the one JSON form of a job (CLI, API, dashboard);
`match_request` turns an offer into a ledger.matching request; `within` is the
great-circle filter of `job list --near`.

Guarantees: the result depends on the set of entries only (order, duplicates and
entries of other kinds never change it). The caller passes entries that are valid,
of one network and not revoked; this module does no I/O and reads no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.greatcircle import distance_m
from ledger.matching import Part, Request, parts_of_design
from ledger.readiness import Readiness
from protocol import jobs
from protocol.design import DesignBody
from protocol.entry import Entry
from protocol.errors import JobError
from protocol.ids import id_to_text
from protocol.jobstate import Applied, Bid, JobView, Message, Refused, derive_job
from protocol.processes import Location


@dataclass(frozen=True, slots=True)
class JobSet:
    """The jobs of a ledger, by job id order, and the offers refused with their error."""

    jobs: tuple[JobView, ...]
    bad_offers: tuple[Refused, ...]

    def get(self, job_id: bytes) -> JobView | None:
        return next((j for j in self.jobs if j.id == job_id), None)


def derive_jobs(entries: Iterable[Entry], *, max_ttl_s: int, now_ms: int) -> JobSet:
    """Group job entries by job and derive each job's state (§5)."""
    offers: dict[bytes, Entry] = {}
    named: dict[bytes, dict[bytes, Entry]] = {}
    for entry in entries:
        if entry.kind == jobs.OFFER:
            offers[entry.id] = entry
        elif entry.kind.startswith("job.") and isinstance(entry.body.get("job"), bytes):
            named.setdefault(entry.body["job"], {})[entry.id] = entry
    views, bad = [], []
    for job_id in sorted(offers):
        offer = offers[job_id]
        try:
            group = named.get(job_id, {}).values()
            views.append(derive_job(offer, group, max_ttl_s=max_ttl_s, now_ms=now_ms))
        except JobError as e:
            bad.append(Refused(offer.id, offer.kind, offer.author, e.code, e.message))
    return JobSet(tuple(views), tuple(bad))


def match_request(
    view: JobView,
    design: DesignBody | None,
    readiness: Mapping[bytes, Readiness | None] | None = None,
) -> Request:
    """The matching request of a job: its part (stated, or the design's meshes, with
    their print-readiness by file hash where `readiness` knows it)."""
    offer = view.offer
    if offer.part is not None:
        size = offer.part.size_um
        parts: tuple[Part, ...] = (Part((size[0], size[1], size[2]), offer.part.volume_mm3),)
    else:
        parts = () if design is None else parts_of_design(design, readiness)
    return Request(
        parts=parts,
        processes=frozenset({offer.process}),
        material=offer.material,
        tolerance=offer.tolerance or "v",
        near=offer.location,
        radius_m=offer.radius_km * 1000,
        quantity=offer.quantity,
    )


def distance_to(view: JobView, place: Location) -> int:
    """Metres from `place` to the job's delivery location (great-circle)."""
    at = view.offer.location
    return distance_m(place.lat_microdeg, place.lon_microdeg, at.lat_microdeg, at.lon_microdeg)


def within(view: JobView, place: Location, radius_km: int) -> bool:
    """Whether the job's delivery location is within `radius_km` of `place`."""
    return distance_to(view, place) <= radius_km * 1000


def plain(value: Any) -> Any:
    """A body value as JSON: 32-byte ids as id text, other bytes as hex."""
    if isinstance(value, bytes):
        return id_to_text(value) if len(value) == 32 else value.hex()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _step_json(step: Applied) -> dict[str, Any]:
    body = step.body.model_dump()
    body.pop("job", None)
    return {
        "entry_id": id_to_text(step.entry_id),
        "kind": step.kind,
        "author": id_to_text(step.author),
        "timestamp_ms": step.timestamp_ms,
        "state": step.state.value,
        "body": plain(body),
    }


def _bid_json(bid: Bid) -> dict[str, Any]:
    return {
        "entry_id": id_to_text(bid.entry_id),
        "lab": id_to_text(bid.lab),
        "timestamp_ms": bid.timestamp_ms,
        "price": bid.body.price.model_dump(),
        "ready_ms": bid.body.ready_ms,
        "note": bid.body.note,
        "status": bid.status,
        "counters": [
            {"entry_id": id_to_text(cid), **plain(c.model_dump(exclude={"job", "bid"}))}
            for cid, c in bid.counters
        ],
    }


def refused_json(refused: Refused) -> dict[str, Any]:
    return {
        "entry_id": id_to_text(refused.entry_id),
        "kind": refused.kind,
        "author": id_to_text(refused.author),
        "code": refused.code,
        "message": refused.message,
    }


def job_json(view: JobView) -> dict[str, Any]:
    """The JSON form of a job (README "Jobs"; the API's job object)."""
    offer = plain(view.offer.model_dump())
    head = view.steps[-1].entry_id if view.steps else view.id
    return {
        "id": id_to_text(view.id),
        "customer": id_to_text(view.customer),
        "state": view.state.value,
        "lab": None if view.lab is None else id_to_text(view.lab),
        "awarded_bid": None if view.awarded_bid is None else id_to_text(view.awarded_bid),
        "head": id_to_text(head),
        "offered_ms": view.offered_ms,
        "expires_ms": view.expires_ms,
        "offer": offer,
        "steps": [_step_json(s) for s in view.steps],
        "bids": [_bid_json(b) for b in view.bids],
        "files": [
            {"entry_id": id_to_text(eid), "blobs": [id_to_text(b) for b in f.blobs]}
            for eid, f in view.files
        ],
        "messages": [message_json(m) for m in view.messages],
        "refused": [refused_json(r) for r in view.refused],
    }


def message_json(message: Message) -> dict[str, Any]:
    """A message of the thread as the ledger holds it (sealed: no text here)."""
    body = message.body
    return {
        "entry_id": id_to_text(message.entry_id),
        "author": id_to_text(message.author),
        "to": id_to_text(message.to),
        "timestamp_ms": message.timestamp_ms,
        "sealed": id_to_text(body.sealed),
        "attachments": [id_to_text(b) for b in body.attachments],
    }


def job_summary(view: JobView) -> dict[str, Any]:
    """The short form of a job for listings."""
    offer = view.offer
    return {
        "id": id_to_text(view.id),
        "title": offer.title,
        "state": view.state.value,
        "customer": id_to_text(view.customer),
        "lab": None if view.lab is None else id_to_text(view.lab),
        "process": offer.process,
        "material": offer.material,
        "quantity": offer.quantity,
        "deadline_ms": offer.deadline_ms,
        "expires_ms": view.expires_ms,
        "location": offer.location.model_dump(),
        "radius_km": offer.radius_km,
        "budget": None if offer.budget is None else offer.budget.model_dump(),
        "bids": sum(1 for b in view.bids if b.status in ("active", "awarded")),
    }
