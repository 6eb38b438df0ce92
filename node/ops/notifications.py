"""What deserves a notification, judged against this node's identity (README
"Notifications").

Runs on the storage thread (or the CLI's local context), over committed entries:

- `job-near`: another identity's new offer, still open, for a process and material
  our advert's machines work, delivered within `radius_km` of our advert's location;
- `job-bid`, `job-counter`, `job-award`, `job-step`, `job-message`: another party's
  entry on a job we are a party to (customer, bidder or awarded lab); an entry the
  job's derivation refused makes none; a `job.*` kind not listed (a message kind of a
  newer node) is a `job-message`;
- `proposal-open`: another member's `gov.proposal`; `application`: a `member.apply`;
- `proposal-closing` (from `due_notices`, on a timer): a proposal still voting whose
  deadline is within `CLOSING_WITHIN_S`, on which we, a member, have not voted;
- `fork`: a fork proof we hold, not lifted.

Each `Notice` has a `key` unique to what it is about (the store deduplicates on it),
a title, a one-line text and a dashboard link. It never carries an entry's body
beyond an offer's title, a proposal's title or an applicant's name: nothing sealed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from ledger.governance import Outcome
from ledger.jobs import within
from node.ops.capabilities import adverts
from node.ops.context import LedgerContext
from node.ops.jobs import job_set
from node.ops.myjobs import my_roles
from node.ops.names import label, names
from protocol import jobs
from protocol.entry import Entry
from protocol.governance import APPLY, PROPOSAL
from protocol.ids import id_to_text
from protocol.jobs import State
from protocol.jobstate import JobView

CLOSING_WITHIN_S: Final = 24 * 3600
#: Entry kinds the notifier looks at; the commit hook keeps no others.
PREFIXES: Final = ("job.", "gov.", "member.")
_JOB_KINDS: Final = {
    jobs.BID: ("job-bid", "New bid"),
    jobs.WITHDRAW: ("job-bid", "Bid withdrawn"),
    jobs.COUNTER: ("job-counter", "Counter-offer"),
    jobs.AWARD: ("job-award", "Job awarded"),
    jobs.FILES: ("job-step", "Files attached"),
}


@dataclass(frozen=True)
class Notice:
    key: str
    kind: str
    title: str
    text: str
    link: str  # the dashboard's fragment, e.g. "#/mine"


def notices_for(ctx: LedgerContext, entries: Sequence[Entry], radius_km: int) -> list[Notice]:
    """The notices that `entries` (just committed) make for us, in entry order."""
    me = ctx.identity.id
    mine = [e for e in entries if e.author != me and e.kind.startswith(PREFIXES)]
    if not mine:
        return []
    known = {id_to_text(k): v for k, v in names(ctx).items()}

    def who(entry: Entry) -> str:
        return label(known, id_to_text(entry.author))

    out: list[Notice] = []
    job_entries = [e for e in mine if e.kind.startswith("job.")]
    if job_entries:
        views = {v.id: v for v in job_set(ctx).jobs}
        place = _my_place(ctx)
        for entry in job_entries:
            notice = _job_notice(entry, views, me, place, radius_km, who(entry))
            if notice is not None:
                out.append(notice)
    out += _governance_notices(ctx, [e for e in mine if not e.kind.startswith("job.")], who)
    return out


def _my_place(ctx: LedgerContext) -> tuple[object, frozenset[str], frozenset[str]] | None:
    """Our advert's location, processes and materials; None if we advertise nothing."""
    for advert in adverts(ctx):
        if advert.lab == ctx.identity.id:
            body = advert.body
            processes = frozenset(m.process for m in body.machines)
            materials = frozenset(x for m in body.machines for x in m.materials)
            return body.location, processes, materials
    return None


def _job_notice(
    entry: Entry,
    views: dict[bytes, JobView],
    me: bytes,
    place: tuple[object, frozenset[str], frozenset[str]] | None,
    radius_km: int,
    author: str,
) -> Notice | None:
    key = f"entry:{id_to_text(entry.id)}"
    if entry.kind == jobs.OFFER:
        view = views.get(entry.id)
        if view is None or place is None or view.state is not State.OPEN:
            return None
        location, processes, materials = place
        offer = view.offer
        if offer.process not in processes or offer.material not in materials:
            return None
        if not within(view, location, radius_km):  # type: ignore[arg-type]
            return None
        text = f"{offer.quantity} x {offer.process}, {offer.material}, by {author}"
        return Notice(key, "job-near", f"New job near you: {offer.title}", text, "#/jobs")
    job = entry.body.get("job")
    view = views.get(job) if isinstance(job, bytes) else None
    if view is None or not my_roles(view, me):
        return None
    if entry.id in {r.entry_id for r in view.refused}:
        return None
    kind, what = _JOB_KINDS.get(entry.kind, ("job-message", "Message"))
    if entry.kind in jobs.STEP_KINDS and entry.kind != jobs.AWARD:
        kind, what = "job-step", entry.kind.removeprefix("job.").capitalize()
    if entry.kind == jobs.AWARD and view.lab == me:
        what = "Job awarded to you"
    return Notice(key, kind, f"{what}: {view.offer.title}", f"by {author}", "#/mine")


def _governance_notices(
    ctx: LedgerContext, entries: list[Entry], who: Callable[[Entry], str]
) -> list[Notice]:
    view = ctx.governance
    if view is None or not entries:
        return []
    out = []
    for entry in entries:
        key = f"entry:{id_to_text(entry.id)}"
        author = who(entry)
        if entry.kind == PROPOSAL and entry.id in view.proposal_titles:
            title = view.proposal_titles[entry.id][0]
            out.append(
                Notice(
                    key, "proposal-open", f"New proposal: {title}", f"by {author}", "#/governance"
                )
            )
        elif entry.kind == APPLY:
            found = [a for a in view.applications.values() if a.entry_id == entry.id]
            name = found[0].name if found else author
            out.append(
                Notice(
                    key,
                    "application",
                    f"Admission application: {name}",
                    f"from {author}",
                    "#/governance",
                )
            )
    return out


def due_notices(ctx: LedgerContext, now_s: int) -> list[Notice]:
    """Notices due by time rather than by an entry: proposals closing within a day on
    which we have not voted, and fork proofs held (deduplicated by the store's keys)."""
    out = [
        Notice(
            f"fork:{id_to_text(p.id)}",
            "fork",
            "Fork detected",
            f"{id_to_text(p.author)[:12]}… signed two histories; its log is frozen",
            "#/node",
        )
        for p in ctx.store.fork_proofs()
        if not ctx.ledger.is_lifted(p.id)
    ]
    view = ctx.governance
    if view is None or view.state is None:
        return out
    me = ctx.identity.id
    if me not in view.state.members:
        return out
    voted = {v.proposal for v in view.votes.values() if v.voter == me}
    for proposal_id, (title, _) in sorted(view.proposal_titles.items()):
        result = view.result_of(proposal_id)
        if result is None or result.outcome is not Outcome.VOTING or proposal_id in voted:
            continue
        left_s = (result.deadline_s or 0) - now_s
        if 0 <= left_s <= CLOSING_WITHIN_S:
            out.append(
                Notice(
                    f"closing:{id_to_text(proposal_id)}",
                    "proposal-closing",
                    f"Closing soon, not voted: {title}",
                    f"voting ends in {left_s // 3600} h {left_s % 3600 // 60} min",
                    "#/governance",
                )
            )
    return out
