"""Checkers of the jobs area of the conformance vectors (specs/vectors/jobs/).

jobs/derive  input.offer_hex, entries_hex, max_ttl_s, now_ms -> decode every entry
             (protocol.entry.decode_entry), then protocol.jobstate.derive_job. When ok:
             expect.state, lab (text or null), steps [{kind, entry_id}] in the order
             they apply, refused [{entry_id, code}] and bids [{entry_id, status}], both
             by entry id (bytes), messages [entry_id] in thread order. When not ok:
             the job.* error code (job.bad-offer).
jobs/message input.plaintext_hex, job_hex, from, to (text), attachments (a count) ->
             protocol.jobmessage.decode_message. When ok: expect.text, sent_ms, names.
             When not ok: decode.bad-message or verify.message-mismatch.
"""

from __future__ import annotations

from typing import Any

from protocol.entry import decode_entry
from protocol.ids import id_from_text, id_to_text
from protocol.jobmessage import MessagePlain, decode_message
from protocol.jobstate import JobView, derive_job
from tests.vector_support import Checker, expect_error, same


def _derive(data: dict[str, Any]) -> JobView:
    offer = decode_entry(bytes.fromhex(data["offer_hex"]))
    entries = [decode_entry(bytes.fromhex(h)) for h in data["entries_hex"]]
    return derive_job(offer, entries, max_ttl_s=data["max_ttl_s"], now_ms=data["now_ms"])


def check_derive(data: dict[str, Any], expect: dict[str, Any]) -> None:
    if not expect["ok"]:
        expect_error(expect, lambda: _derive(data))
        return
    view = _derive(data)
    got = {
        "ok": True,
        "state": view.state.value,
        "lab": None if view.lab is None else id_to_text(view.lab),
        "steps": [{"kind": s.kind, "entry_id": id_to_text(s.entry_id)} for s in view.steps],
        "refused": [
            {"entry_id": id_to_text(r.entry_id), "code": r.code}
            for r in sorted(view.refused, key=lambda r: r.entry_id)
        ],
        "bids": [
            {"entry_id": id_to_text(b.entry_id), "status": b.status}
            for b in sorted(view.bids, key=lambda b: b.entry_id)
        ],
        "messages": [id_to_text(m.entry_id) for m in view.messages],
    }
    assert same(got, expect), (got, expect)


def _open(data: dict[str, Any]) -> MessagePlain:
    return decode_message(
        bytes.fromhex(data["plaintext_hex"]),
        job=bytes.fromhex(data["job_hex"]),
        sender=id_from_text(data["from"]),
        to=id_from_text(data["to"]),
        attachments=data["attachments"],
    )


def check_message(data: dict[str, Any], expect: dict[str, Any]) -> None:
    if not expect["ok"]:
        expect_error(expect, lambda: _open(data))
        return
    got = _open(data)
    want = {"ok": True, "text": got.text, "sent_ms": got.sent_ms, "names": list(got.names)}
    assert same(want, expect), (want, expect)


JOB_CHECKERS: dict[tuple[str, str], Checker] = {
    ("jobs", "derive"): check_derive,
    ("jobs", "message"): check_message,
}
