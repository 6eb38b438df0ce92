"""A job's thread on a node (specs/0007-jobs.md §2.5, §5.6): sending a sealed message
and reading the thread as this node may.

Sending is three parts, so the API can seal on a worker thread: `plan_message` (on the
ledger) checks the §5.6 rule for us now and finds the recipient's key (its newest
advert, else the `seal_key` of its latest kept message in the job) and ours of that
suite; `seal_message` (any thread) seals the plaintext and each attachment to both
and stores them as blobs; `sign_message` (on the ledger) checks the rule again and
signs the `job.message`. `send_message` does all three (the CLI offline).

`thread(ctx, job)` lists every kept message with its text when this node can open it,
or the typed error why not (§2.5: verify.blob-hash-mismatch, misuse.not-a-recipient,
verify.sealed-tampered, decode.bad-sealed-file, decode.bad-message,
verify.message-mismatch, misuse.blob-missing), one message at a time. Fetching a
missing blob from peers is the caller's (the API's) before it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from node.i18n import N_
from node.ops.capabilities import advert_of
from node.ops.context import LedgerContext, append_own, now_ms
from node.ops.jobs import Signed, job_view, show
from node.ops.sealing import _read_bounded, open_blob_bytes, seal_key
from node.store.home import NodeHome
from protocol import jobs
from protocol.capability import SealKey
from protocol.errors import CommonsError, JobError, LocalMisuseError
from protocol.ids import id_to_text
from protocol.jobmessage import MessagePlain, decode_message, encode_message
from protocol.jobstate import JobView
from protocol.sealed import MAX_PLAINTEXT_BYTES, key_id, seal

MAX_ATTACHMENT_BYTES: Final = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Plan:
    """A message about to be sent: the job, us, the other party and both keys."""

    job: bytes
    sender: bytes
    to: bytes
    their_key: SealKey
    our_key: SealKey


def _lab_of(view: JobView, author: bytes, to: bytes) -> bytes:
    return to if author == view.customer else author


def check_rule(view: JobView, author: bytes, to: bytes) -> None:
    """§5.6 for a message we would sign now (the award, if any, is already ours or
    dated before now): job.not-party or job.out-of-turn."""
    lab = _lab_of(view, author, to)
    bidders = {b.lab for b in view.bids}
    if lab not in bidders or (view.customer not in (author, to)):
        raise JobError("job.not-party", N_("messages go between the customer and a bidder"))
    if view.lab is not None and lab != view.lab:
        raise JobError("job.out-of-turn", N_("after the award only the awarded lab talks"))


def default_to(view: JobView, me: bytes, to: bytes | None) -> bytes:
    """Whom we write to: `to`, else the customer (for a lab), the awarded lab, or the
    only bidder; misuse.bad-argument when the customer must choose."""
    if to is not None:
        return to
    if me != view.customer:
        return view.customer
    if view.lab is not None:
        return view.lab
    bidders = sorted({b.lab for b in view.bids})
    if len(bidders) != 1:
        raise LocalMisuseError(
            "misuse.bad-argument", f"{len(bidders)} labs bid: name the lab to write to"
        )
    return bidders[0]


def party_key(ctx: LedgerContext, view: JobView, party: bytes) -> SealKey:
    """The party's sealed-file key (§2.5): newest advert, else its latest message's."""
    try:
        key = advert_of(ctx, party).body.seal_key
    except LocalMisuseError:
        key = None
    if key is None:
        theirs = [m for m in view.messages if m.author == party]
        if theirs:
            key = theirs[-1].body.seal_key
    if key is None:
        raise LocalMisuseError(
            "misuse.no-seal-key",
            f"{id_to_text(party)} publishes no sealed-file key (a customer writes first)",
        )
    return key


def plan_message(ctx: LedgerContext, job_id: bytes, to: bytes | None) -> Plan:
    view = job_view(ctx, job_id)
    me = ctx.identity.id
    target = default_to(view, me, to)
    check_rule(view, me, target)
    theirs = party_key(ctx, view, target)
    ours = seal_key(ctx.home, theirs.suite).public()
    return Plan(job_id, me, target, theirs, ours)


def _recipients(plan: Plan) -> list[SealKey]:
    same = key_id(plan.their_key) == key_id(plan.our_key)
    return [plan.their_key] if same else [plan.their_key, plan.our_key]


def seal_message(
    home: NodeHome, plan: Plan, text: str, files: list[tuple[str, bytes]], sent_ms: int
) -> tuple[bytes, list[bytes]]:
    """Seal the plaintext and each attachment to both parties; store them as blobs."""
    if len(files) > jobs.MAX_ATTACHMENTS:
        raise LocalMisuseError(
            "misuse.bad-message", f"at most {jobs.MAX_ATTACHMENTS} files", field="attachments"
        )
    plain = MessagePlain(plan.job, plan.sender, plan.to, text, sent_ms, tuple(n for n, _ in files))
    raw = encode_message(plain)
    store, recipients = home.blob_store(), _recipients(plan)
    attachments = [store.add_bytes(seal(data, recipients))[0] for _, data in files]
    if len(set(attachments)) != len(attachments):
        raise LocalMisuseError(
            "misuse.bad-message", "the same file attached twice", field="attachments"
        )
    return store.add_bytes(seal(raw, recipients))[0], attachments


def sign_message(ctx: LedgerContext, plan: Plan, sealed: bytes, attachments: list[bytes]) -> Signed:
    check_rule(job_view(ctx, plan.job), plan.sender, plan.to)
    body = {
        "job": plan.job,
        "to": plan.to,
        "sealed": sealed,
        "attachments": attachments,
        "seal_key": plan.our_key.model_dump(),
    }
    made = append_own(ctx, [(jobs.MESSAGE, body)])
    entry = made[-1]
    out = {"entry_id": id_to_text(entry.id), "kind": jobs.MESSAGE, "job": show(ctx, plan.job)}
    out["sealed"] = [id_to_text(b) for b in (sealed, *attachments)]
    return out, made


def read_files(paths: list[Path]) -> list[tuple[str, bytes]]:
    """Attachments from local files (name, bytes), each within the bound."""
    limit = min(MAX_ATTACHMENT_BYTES, MAX_PLAINTEXT_BYTES)
    return [(p.name, _read_bounded(p, limit)) for p in paths]


def send_message(
    ctx: LedgerContext, job_id: bytes, to: bytes | None, text: str, paths: list[Path]
) -> Signed:
    """Plan, seal and sign in one go (see the module)."""
    plan = plan_message(ctx, job_id, to)
    sealed, attachments = seal_message(ctx.home, plan, text, read_files(paths), now_ms())
    return sign_message(ctx, plan, sealed, attachments)


# -- reading ------------------------------------------------------------------------


def open_sealed_blob(home: NodeHome, blob: bytes) -> bytes:
    """A held sealed blob opened with our key, its hash checked (node.ops.sealing)."""
    return open_blob_bytes(home, blob)


def message_blobs(view: JobView) -> list[bytes]:
    """Every blob the thread names (messages and attachments)."""
    return [b for m in view.messages for b in (m.body.sealed, *m.body.attachments)]


def thread(ctx: LedgerContext, job_id: bytes) -> dict[str, Any]:
    """Every kept message, opened when we can (see the module)."""
    view = job_view(ctx, job_id)
    rows = []
    for m in view.messages:
        row: dict[str, Any] = {
            "entry_id": id_to_text(m.entry_id),
            "author": id_to_text(m.author),
            "to": id_to_text(m.to),
            "timestamp_ms": m.timestamp_ms,
            "sealed": id_to_text(m.body.sealed),
            "attachments": [id_to_text(b) for b in m.body.attachments],
            "text": None,
            "sent_ms": None,
            "names": [],
            "error": None,
        }
        try:
            raw = open_sealed_blob(ctx.home, m.body.sealed)
            plain = decode_message(
                raw, job=view.id, sender=m.author, to=m.to, attachments=len(m.body.attachments)
            )
            row.update(text=plain.text, sent_ms=plain.sent_ms, names=list(plain.names))
        except CommonsError as e:
            row["error"] = {"code": e.code, "message": e.message}
        rows.append(row)
    me = ctx.identity.id
    return {"job": id_to_text(view.id), "me": id_to_text(me), "messages": rows}
