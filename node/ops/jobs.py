"""Jobs on the ledger: offer, list, show, bid, award, make, ship, confirm, review; a
lab's reputation and an identity's contributions (specs/0007-jobs.md).

Each function runs on a `LedgerContext` (the CLI's local home or the daemon's storage
thread). Reads derive every job from the stored entries (ledger.jobs) at the current
time; writes check the step against the derived state first (protocol.jobs.transition),
so an out-of-turn or forged step fails here with its `job.*` code before anything is
signed, then sign the entry into our own log. Signing functions return (result,
entries signed), the shape NodeService.signing announces.

An offer's lifetime is capped by the rules in force: a chartered federation's
job_offer_ttl_s (specs/0008 §2), or on a development network `DEV_JOB_OFFER_TTL_S`, the
value of specs/0008's example charter.
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import replace
from typing import Any, Final

from ledger.contributions import contributions
from ledger.jobs import (
    JobSet,
    derive_jobs,
    distance_to,
    job_json,
    job_summary,
    match_request,
    refused_json,
)
from ledger.kindindex import KindIndex
from ledger.quotes import NotSliced
from ledger.reputation import lab_reputation
from ledger.store import LogStore
from node.i18n import N_
from node.ops.capabilities import (
    MatchPlan,
    adverts,
    design_meshes,
    frozen_labs,
    matched,
    missing_meshes,
)
from node.ops.context import LedgerContext, append_own, now_ms
from node.ops.designs import design_entry
from node.ops.jobfiles import check_sealed
from node.ops.readiness import readiness_by_hash
from node.ops.slicing import MeshSource, Slicer
from protocol import jobs
from protocol.design import DESIGN
from protocol.entry import Entry
from protocol.errors import JobError, LocalMisuseError
from protocol.governance import VOTE
from protocol.ids import id_from_field, id_to_text
from protocol.jobs import Role, State
from protocol.jobstate import JobView
from protocol.kinds import check_body
from protocol.processes import Location

DEV_JOB_OFFER_TTL_S: Final = 604_800
MAX_LIST: Final = 1000
Signed = tuple[dict[str, Any], list[Entry]]


_INDEXES: weakref.WeakKeyDictionary[LogStore, dict[tuple[str, ...], KindIndex]] = (
    weakref.WeakKeyDictionary()
)


def stored_entries(ctx: LedgerContext, wanted: tuple[str, ...]) -> list[Entry]:
    """Every unrevoked entry of our network whose kind starts with one of `wanted`;
    each log is read once, then only its new entries (the index lives with the store)."""
    indexes = _INDEXES.setdefault(ctx.store, {})
    return indexes.setdefault(wanted, KindIndex(wanted)).refresh(ctx.store, ctx.network)


_DERIVED: weakref.WeakKeyDictionary[LogStore, tuple[bytes, JobSet]] = weakref.WeakKeyDictionary()


def offer_ttl_cap(ctx: LedgerContext) -> int:
    """The rules' job_offer_ttl_s in force now (specs/0007 §5), for offers and expiry."""
    governance = ctx.governance
    if governance is not None and governance.state is not None:
        return governance.state.rules.job_offer_ttl_s
    return DEV_JOB_OFFER_TTL_S


def job_set(ctx: LedgerContext) -> JobSet:
    """Every job, derived once per set of job entries; the reader's time only turns
    open offers past their expiry into expired ones (specs/0007 §5 step 7)."""
    entries = stored_entries(ctx, ("job.",))
    cap = offer_ttl_cap(ctx)
    key = hashlib.sha256(cap.to_bytes(8, "big") + b"".join(sorted(e.id for e in entries))).digest()
    cached = _DERIVED.get(ctx.store)
    if cached is None or cached[0] != key:
        cached = key, derive_jobs(entries, max_ttl_s=cap, now_ms=0)
        _DERIVED[ctx.store] = cached
    now = now_ms()
    views = tuple(
        replace(v, state=State.EXPIRED) if v.state is State.OPEN and now >= v.expires_ms else v
        for v in cached[1].jobs
    )
    return replace(cached[1], jobs=views)


def job_view(ctx: LedgerContext, job_id: bytes) -> JobView:
    view = job_set(ctx).get(job_id)
    if view is None:
        raise LocalMisuseError("misuse.unknown-job", f"no job {id_to_text(job_id)} here")
    return view


# -- reads ---------------------------------------------------------------------------


def show(ctx: LedgerContext, job_id: bytes) -> dict[str, Any]:
    return job_json(job_view(ctx, job_id))


def list_jobs(
    ctx: LedgerContext,
    *,
    open_only: bool = False,
    near: Location | None = None,
    radius_km: int | None = None,
    party: bytes | None = None,
    limit: int = MAX_LIST,
) -> dict[str, Any]:
    """Jobs, newest offer first; `near` sorts by distance and keeps those within
    `radius_km` (default: each offer's own radius); `party` keeps a customer's or lab's."""
    found = job_set(ctx)
    rows = []
    for view in sorted(found.jobs, key=lambda v: (-v.offered_ms, v.id)):
        if open_only and view.state is not State.OPEN:
            continue
        if party is not None and party not in (view.customer, view.lab):
            continue
        row = job_summary(view)
        if near is not None:
            row["distance_m"] = distance_to(view, near)
            if row["distance_m"] > (radius_km or view.offer.radius_km) * 1000:
                continue
        rows.append(row)
    if near is not None:
        rows.sort(key=lambda r: (r["distance_m"], r["id"]))
    return {
        "jobs": rows[: max(1, min(limit, MAX_LIST))],
        "bad_offers": [refused_json(r) for r in found.bad_offers],
    }


def plan_candidates(ctx: LedgerContext, job_id: bytes) -> MatchPlan:
    """The ledger's part of matching a job (its part, or its design's meshes)."""
    view = job_view(ctx, job_id)
    design = None if view.offer.design is None else design_entry(ctx, view.offer.design)[1]
    readiness = None
    if design is not None and view.offer.design is not None:  # warnings (specs/0010 §3.4)
        readiness = readiness_by_hash(ctx, view.offer.design, design)
    request = match_request(view, design, readiness)
    meshes: list[MeshSource | NotSliced] = []
    missing: list[bytes] = []
    if view.offer.part is not None:
        meshes = [NotSliced("no-mesh", "a part stated by its box and volume (sealed files)")]
    elif design is not None:
        meshes = design_meshes(ctx, design)
        missing = missing_meshes(meshes, design)
    frozen = frozen_labs(ctx)  # out of matching, with why (issue 14)
    return MatchPlan(request, adverts(ctx), frozen, tuple(meshes), tuple(missing))


def candidates(ctx: LedgerContext, job_id: bytes, slicer: Slicer | None) -> dict[str, Any]:
    """The labs that can make the job, ranked, each with its instant quote (§6), in the
    JSON of `fabnode capability match` (planning and slicing in one go: the CLI with
    no node running; the node plans on the ledger, slices on a worker thread)."""
    return matched(plan_candidates(ctx, job_id), slicer)


def offer_with_candidates(
    ctx: LedgerContext, fields: dict[str, Any], slicer: Slicer | None
) -> Signed:
    """`offer_from_json`, then the labs that can make it, with their quotes."""
    out, made = offer_from_json(ctx, fields)
    out.update(candidates(ctx, made[-1].id, slicer))
    return out, made


def reputation(ctx: LedgerContext, lab: bytes) -> dict[str, Any]:
    return lab_reputation(lab, job_set(ctx).jobs)


def contributions_of(ctx: LedgerContext, identity: bytes) -> dict[str, Any]:
    entries = stored_entries(ctx, (DESIGN, VOTE))
    views = job_set(ctx).jobs
    checkpoints = [
        c for h in ctx.ledger.heads() for c in ctx.store.checkpoints(h.network, h.author)
    ]
    keys: list[bytes] = []
    if ctx.ledger.head(ctx.network, identity) is not None:
        history = ctx.ledger.key_history(ctx.network, identity)
        keys = [p.signing_key for p in history.periods]
    return contributions(identity, entries, views, ctx.catalogue, checkpoints, keys)


# -- writes: each returns (result, entries signed) -----------------------------------


def _body(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    status = check_body(kind, body)
    if not status.valid:
        raise LocalMisuseError("misuse.bad-job", f"{kind}: {status.reason}", field=status.field)
    return body


def _signed(ctx: LedgerContext, kind: str, body: dict[str, Any], job_id: bytes) -> Signed:
    made = append_own(ctx, [(kind, _body(kind, body))])
    entry = made[-1]
    return {"entry_id": id_to_text(entry.id), "kind": kind, "job": show(ctx, job_id)}, made


def offer(ctx: LedgerContext, fields: dict[str, Any]) -> Signed:
    """Sign a job.offer (fields as OfferBody, `ttl_s` defaulting to the rule); return
    the job (`candidates` gives the labs that can make it, with their quotes)."""
    cap = offer_ttl_cap(ctx)
    body = {"ttl_s": cap, "note": "", "tolerance": None, "part": None,
            "budget": None, "design": None, "sealed": False, **fields}  # fmt: skip
    _body(jobs.OFFER, body)
    if body["ttl_s"] > cap:
        raise JobError("job.bad-offer", f"ttl_s above the rule ({cap} s)", field="ttl_s")
    if body["deadline_ms"] <= now_ms():
        raise JobError("job.bad-offer", "the deadline is in the past", field="deadline_ms")
    if body["design"] is not None:
        design_entry(ctx, body["design"])  # misuse.unknown-design when not held
    made = append_own(ctx, [(jobs.OFFER, body)])
    job_id = made[-1].id
    out = {"entry_id": id_to_text(job_id), "kind": jobs.OFFER, "job": show(ctx, job_id)}
    return out, made


def _role(ctx: LedgerContext, view: JobView) -> Role:
    me = ctx.identity.id
    if me == view.customer:
        return Role.CUSTOMER
    return Role.LAB if me == view.lab else Role.OTHER


def _bid_of(view: JobView, bid_id: bytes) -> Any:
    bid = next((b for b in view.bids if b.entry_id == bid_id), None)
    if bid is None:
        raise LocalMisuseError("misuse.unknown-bid", f"no bid {id_to_text(bid_id)} on this job")
    return bid


def step(ctx: LedgerContext, job_id: bytes, kind: str, extra: dict[str, Any]) -> Signed:
    """Sign one lifecycle step after the job's head, once the table allows it (§3)."""
    if kind not in jobs.STEP_KINDS:
        raise LocalMisuseError("misuse.bad-job", f"{kind} is not a lifecycle step")
    _body(kind, {"job": job_id, "after": job_id, **extra})  # its fields first, in any state
    view = job_view(ctx, job_id)
    if view.state is State.EXPIRED:
        raise JobError("job.expired", N_("the offer expired"))
    jobs.transition(view.state, kind, _role(ctx, view))
    if kind == jobs.AWARD:
        bid = _bid_of(view, extra["bid"])
        if bid.status == "withdrawn":
            raise JobError("job.bid-withdrawn", N_("that bid was withdrawn"))
    head = view.steps[-1].entry_id if view.steps else view.id
    return _signed(ctx, kind, {"job": job_id, "after": head, **extra}, job_id)


def bid(
    ctx: LedgerContext, job_id: bytes, price: dict[str, Any], ready_ms: int, note: str
) -> Signed:
    body = _body(jobs.BID, {"job": job_id, "price": price, "ready_ms": ready_ms, "note": note})
    view = job_view(ctx, job_id)
    if ctx.identity.id == view.customer:
        raise JobError("job.own-offer", N_("a customer does not bid on its own offer"))
    if view.state is not State.OPEN:
        code = "job.expired" if view.state is State.EXPIRED else "job.out-of-turn"
        raise JobError(code, f"the job is {view.state.value}, not open")
    return _signed(ctx, jobs.BID, body, job_id)


def counter(
    ctx: LedgerContext,
    job_id: bytes,
    bid_id: bytes,
    price: dict[str, Any],
    ready_ms: int,
    note: str,
) -> Signed:
    body = {"job": job_id, "bid": bid_id, "price": price, "ready_ms": ready_ms, "note": note}
    _body(jobs.COUNTER, body)  # its fields first
    view = job_view(ctx, job_id)
    if ctx.identity.id != view.customer:
        raise JobError("job.not-party", N_("only the customer counters a bid"))
    _bid_of(view, bid_id)
    return _signed(ctx, jobs.COUNTER, body, job_id)


def withdraw(ctx: LedgerContext, job_id: bytes, bid_id: bytes) -> Signed:
    view = job_view(ctx, job_id)
    held = _bid_of(view, bid_id)
    if held.lab != ctx.identity.id:
        raise JobError("job.not-party", N_("only the bidder withdraws a bid"))
    if held.status == "awarded":
        raise JobError("job.out-of-turn", N_("the bid was already awarded"))
    return _signed(ctx, jobs.WITHDRAW, {"job": job_id, "bid": bid_id}, job_id)


def attach_files(ctx: LedgerContext, job_id: bytes, blobs: list[bytes]) -> Signed:
    view = job_view(ctx, job_id)
    if ctx.identity.id != view.customer:
        raise JobError("job.not-party", N_("only the customer attaches files"))
    if view.lab is None:
        raise JobError("job.out-of-turn", N_("files are attached after an award"))
    check_sealed(ctx, view, blobs)  # job.files-not-sealed (§2.4)
    return _signed(ctx, jobs.FILES, {"job": job_id, "blobs": blobs}, job_id)


# -- JSON inputs (the API's bodies and the CLI's arguments, ids as text) -------------


def _ids(values: Any, field: str) -> list[bytes]:
    if not isinstance(values, list):
        raise LocalMisuseError("misuse.bad-job", f"{field}: a list of ids", field=field)
    return [_id(v, field) for v in values]


def _id(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise LocalMisuseError("misuse.bad-job", f"{field}: an id text", field=field)
    return id_from_field(value, field)


def offer_from_json(ctx: LedgerContext, fields: dict[str, Any]) -> Signed:
    """`offer` with the JSON form of the fields (the design as id text)."""
    body = dict(fields)
    if body.get("design") is not None:
        body["design"] = _id(body["design"], "design")
    body = {k: v for k, v in body.items() if not (k == "ttl_s" and v is None)}
    return offer(ctx, body)


STEP_ACTIONS: Final = {kind.removeprefix("job."): kind for kind in jobs.STEP_KINDS}


def step_from_json(
    ctx: LedgerContext, job_id: bytes, action: str, fields: dict[str, Any]
) -> Signed:
    """`step` for an action name (award, start, ship, …) and its JSON fields."""
    kind = STEP_ACTIONS.get(action)
    if kind is None:
        raise LocalMisuseError(
            "misuse.bad-job", f"no step {action!r}; one of {sorted(STEP_ACTIONS)}"
        )
    extra: dict[str, Any] = {}
    if kind == jobs.AWARD:
        extra["bid"] = _id(fields.get("bid"), "bid")
    elif kind == jobs.CANCEL:
        extra["reason"] = fields.get("reason") or ""
    elif kind == jobs.SHIP:
        extra["tracking"] = fields.get("tracking") or None  # "" is no tracking number
    elif kind == jobs.DISPUTE:
        extra["reason"] = fields.get("reason") or ""
        extra["evidence"] = _ids(fields.get("evidence") or [], "evidence")
    elif kind == jobs.REFUND:
        extra["note"] = fields.get("note") or ""
    elif kind == jobs.REVIEW:
        extra["score"] = fields.get("score")
        extra["text"] = fields.get("text") or ""
    return step(ctx, job_id, kind, extra)
