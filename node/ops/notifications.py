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
a title, a one-line text and a dashboard link. Titles and texts are written by the
`Translator` given (node.i18n: the language the notification settings name; English
when none is given), with the entry's own words (titles, names) left as they are. It
never carries an entry's body beyond an offer's title, a proposal's title or an
applicant's name: nothing sealed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from ledger.governance import Outcome
from ledger.jobs import within
from node.i18n import N_, Translator, translator
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
    jobs.BID: ("job-bid", N_("New bid: {title}")),
    jobs.WITHDRAW: ("job-bid", N_("Bid withdrawn: {title}")),
    jobs.COUNTER: ("job-counter", N_("Counter-offer: {title}")),
    jobs.AWARD: ("job-award", N_("Job awarded: {title}")),
    jobs.FILES: ("job-step", N_("Files attached: {title}")),
}
#: The title of each job step's notice (a step kind of a newer node: STEP_OTHER).
_STEP_TITLES: Final = {
    jobs.CANCEL: N_("Cancelled: {title}"),
    jobs.START: N_("Started: {title}"),
    jobs.SHIP: N_("Shipped: {title}"),
    jobs.DELIVER: N_("Delivered: {title}"),
    jobs.CONFIRM: N_("Confirmed: {title}"),
    jobs.DISPUTE: N_("Disputed: {title}"),
    jobs.REFUND: N_("Refunded: {title}"),
    jobs.REVIEW: N_("Reviewed: {title}"),
}
STEP_OTHER: Final = N_("{step}: {title}")
MESSAGE_TITLE: Final = N_("Message: {title}")


@dataclass(frozen=True)
class Notice:
    key: str
    kind: str
    title: str
    text: str
    link: str  # the dashboard's fragment, e.g. "#/mine"


def notices_for(
    ctx: LedgerContext, entries: Sequence[Entry], radius_km: int, tr: Translator | None = None
) -> list[Notice]:
    """The notices that `entries` (just committed) make for us, in entry order, written
    by `tr` (English when None)."""
    tr = tr or translator()
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
            notice = _job_notice(entry, views, me, place, radius_km, who(entry), tr)
            if notice is not None:
                out.append(notice)
    others = [e for e in mine if not e.kind.startswith("job.")]
    out += _governance_notices(ctx, others, who, tr)
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
    tr: Translator,
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
        text = tr.gettext("{quantity} x {process}, {material}, by {author}").format(
            quantity=offer.quantity, process=offer.process, material=offer.material, author=author
        )
        title = tr.gettext("New job near you: {title}").format(title=offer.title)
        return Notice(key, "job-near", title, text, "#/jobs")
    job = entry.body.get("job")
    view = views.get(job) if isinstance(job, bytes) else None
    if view is None or not my_roles(view, me):
        return None
    if entry.id in {r.entry_id for r in view.refused}:
        return None
    kind, what = _JOB_KINDS.get(entry.kind, ("job-message", MESSAGE_TITLE))
    step = entry.kind.removeprefix("job.").capitalize()
    if entry.kind in jobs.STEP_KINDS and entry.kind != jobs.AWARD:
        kind, what = "job-step", _STEP_TITLES.get(entry.kind, STEP_OTHER)
    if entry.kind == jobs.AWARD and view.lab == me:
        what = N_("Job awarded to you: {title}")
    title = tr.gettext(what).format(title=view.offer.title, step=step)
    return Notice(key, kind, title, by(tr, author), "#/mine")


def by(tr: Translator, author: str) -> str:
    return tr.gettext("by {author}").format(author=author)


def _governance_notices(
    ctx: LedgerContext, entries: list[Entry], who: Callable[[Entry], str], tr: Translator
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
            heading = tr.gettext("New proposal: {title}").format(title=title)
            out.append(Notice(key, "proposal-open", heading, by(tr, author), "#/governance"))
        elif entry.kind == APPLY:
            found = [a for a in view.applications.values() if a.entry_id == entry.id]
            name = found[0].name if found else author
            out.append(
                Notice(
                    key,
                    "application",
                    tr.gettext("Admission application: {name}").format(name=name),
                    tr.gettext("from {author}").format(author=author),
                    "#/governance",
                )
            )
    return out


def due_notices(ctx: LedgerContext, now_s: int, tr: Translator | None = None) -> list[Notice]:
    """Notices due by time rather than by an entry: proposals closing within a day on
    which we have not voted, and fork proofs held (deduplicated by the store's keys);
    written by `tr` (English when None)."""
    tr = tr or translator()
    forked = tr.gettext("{author}… signed two histories; its log is frozen")
    out = [
        Notice(
            f"fork:{id_to_text(p.id)}",
            "fork",
            tr.gettext("Fork detected"),
            forked.format(author=id_to_text(p.author)[:12]),
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
                    tr.gettext("Closing soon, not voted: {title}").format(title=title),
                    tr.gettext("voting ends in {hours} h {minutes} min").format(
                        hours=left_s // 3600, minutes=left_s % 3600 // 60
                    ),
                    "#/governance",
                )
            )
    return out
