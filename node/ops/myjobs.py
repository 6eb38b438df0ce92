"""My jobs: every job this node's identity is a party to, with its timeline and what
comes next (specs/0007-jobs.md §1, §3, §9; README "Dashboard").

`mine(ctx)` lists the jobs where we are the customer, a bidder or the awarded lab,
newest activity first. Each job carries its full JSON form (ledger.jobs.job_json), a
timeline of every entry that counts for it (the offer, bids, counters, withdrawals,
files and applied steps; refused entries stay in the job's `refused`), and `next`: the
actions the lifecycle table allows now, each with the role that may take it and
whether that role is ours.

Times: each timeline row has its signer's `timestamp_ms` and, on a chartered
federation, `witnessed_at_s`, the network's time for it (specs/0008 §4: the earliest
median of k member cosignatures over a checkpoint covering the entry); on a
development network there are no witnesses and it is null (`witness_times` false).
Job rules themselves use signer time (specs/0007 §7); witnessed times are shown only.

Reads only; the derivation is node.ops.jobs.job_set's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ledger.jobs import job_json, plain
from node.ops.context import LedgerContext
from node.ops.jobs import job_set, stored_entries
from protocol import jobs
from protocol.entry import Entry
from protocol.ids import id_to_text
from protocol.jobs import TERMINAL, TRANSITIONS, State
from protocol.jobstate import JobView
from protocol.kinds import check_body

#: Side actions (§2.2) and who may take them; steps come from the lifecycle table.
SIDE_ROLES: Final = {"bid": "bidder", "counter": "customer", "withdraw": "bidder"}

WitnessTime = Callable[[Entry], int | None]


def mine(ctx: LedgerContext) -> dict[str, Any]:
    """Every job we are a party to, newest activity first (see the module)."""
    me = ctx.identity.id
    found = job_set(ctx)
    named: dict[bytes, list[Entry]] = {}
    offers: dict[bytes, Entry] = {}
    for entry in stored_entries(ctx, ("job.",)):
        if entry.kind == jobs.OFFER:
            offers[entry.id] = entry
        elif isinstance(entry.body.get("job"), bytes):
            named.setdefault(entry.body["job"], []).append(entry)
    witnessed = _witness_time(ctx)
    rows = []
    for view in found.jobs:
        roles = my_roles(view, me)
        if not roles:
            continue
        timeline = _timeline(view, offers[view.id], named.get(view.id, []), witnessed)
        rows.append(
            {
                "id": id_to_text(view.id),
                "title": view.offer.title,
                "state": view.state.value,
                "roles": roles,
                "activity_ms": max(t["timestamp_ms"] for t in timeline),
                "next": next_actions(view, me),
                "timeline": timeline,
                "job": job_json(view),
            }
        )
    rows.sort(key=lambda r: (-r["activity_ms"], r["id"]))
    return {"me": id_to_text(me), "witness_times": ctx.governance is not None, "jobs": rows}


def my_roles(view: JobView, me: bytes) -> list[str]:
    """Our parts in the job: customer, lab (awarded), bidder (a bid held, not awarded)."""
    roles = []
    if view.customer == me:
        roles.append("customer")
    if view.lab == me:
        roles.append("lab")
    elif any(b.lab == me for b in view.bids):
        roles.append("bidder")
    return roles


def next_actions(view: JobView, me: bytes) -> list[dict[str, Any]]:
    """What the table allows now (§3), side actions (§2.2) included, and whether the
    role that may act is ours. A final or expired job has none."""
    if view.state in TERMINAL:
        return []
    roles = set(my_roles(view, me))
    out = [
        {"action": kind.removeprefix("job."), "role": role.value, "yours": role.value in roles}
        for (state, kind), (role, _) in TRANSITIONS.items()
        if state is view.state
    ]
    if view.state is State.OPEN:
        ours = {
            "bid": me != view.customer,  # any identity but the customer bids (again)
            "counter": "customer" in roles,
            "withdraw": "bidder" in roles,
        }
        out += [{"action": a, "role": r, "yours": ours[a]} for a, r in SIDE_ROLES.items()]
    elif view.lab is not None:
        out.append({"action": "files", "role": "customer", "yours": "customer" in roles})
    return out


def _role_of(view: JobView, author: bytes) -> str:
    if author == view.customer:
        return "customer"
    if author == view.lab:
        return "lab"
    return "bidder" if any(b.lab == author for b in view.bids) else "other"


def _timeline(
    view: JobView, offer: Entry, entries: list[Entry], witnessed: WitnessTime
) -> list[dict[str, Any]]:
    """The offer and every entry of the job that counts, by (timestamp_ms, entry id)."""
    refused = {r.entry_id for r in view.refused}
    kept = {offer.id: offer}
    for entry in entries:
        if entry.id in refused or entry.kind not in jobs.STEP_KINDS + jobs.SIDE_KINDS:
            continue
        if check_body(entry.kind, entry.body).valid:
            kept[entry.id] = entry
    applied = {s.entry_id for s in view.steps}
    rows = []
    for entry in sorted(kept.values(), key=lambda e: (e.timestamp_ms, e.id)):
        if entry.kind in jobs.STEP_KINDS and entry.id not in applied:
            continue  # a step not applied is in `refused`
        body = {k: v for k, v in entry.body.items() if k not in ("job", "after")}
        rows.append(
            {
                "entry_id": id_to_text(entry.id),
                "kind": entry.kind,
                "author": id_to_text(entry.author),
                "role": _role_of(view, entry.author),
                "timestamp_ms": entry.timestamp_ms,
                "witnessed_at_s": witnessed(entry),
                "body": plain(body) if entry.kind != jobs.OFFER else None,
            }
        )
    return rows


def _witness_time(ctx: LedgerContext) -> WitnessTime:
    governance = ctx.governance
    if governance is None or governance.state is None:
        return lambda _: None
    view, ledger = governance, ctx.ledger
    return lambda entry: view.witnessed_at_s(ledger, entry.author, entry.seq)
