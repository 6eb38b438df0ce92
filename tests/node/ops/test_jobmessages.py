"""A job's thread on three homes in one process (specs/0007 §2.5, §5.6): the customer
talks with each bidder before the award and with the awarded lab after it; an
outsider reads nothing; a changed bit or a re-signed blob is a typed error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from node.ops import jobmessages, jobs
from node.ops.context import LedgerContext
from node.store.home import NodeHome
from protocol.ids import id_from_text
from protocol.sealed import key_id, read_header
from tests.node.ops.test_myjobs import code_of, offer, parties, price, share

__all__ = ["parties"]  # the fixture, used by name


def copy_blobs(source: LedgerContext, *targets: LedgerContext) -> None:
    """Every blob of one home into the others (what a blob fetch does)."""
    store = source.home.blob_store()
    for blob, _, _ in store.held():
        data = store.path_of(blob).read_bytes()
        for target in targets:
            target.home.blob_store().add_bytes(data)


def texts(ctx: LedgerContext, job: bytes) -> list[Any]:
    rows = jobmessages.thread(ctx, job)["messages"]
    return [r["text"] if r["error"] is None else r["error"]["code"] for r in rows]


def bid(lab: LedgerContext, job: bytes, amount: int) -> bytes:
    out = jobs.bid(lab, job, price(amount), 0, "")[0]
    return id_from_text(out["entry_id"])


def test_a_thread_before_and_after_the_award(parties: list[LedgerContext], tmp_path: Path) -> None:
    customer, lab_a, lab_b = parties
    job = offer(customer)
    share(*parties)
    bid_a = bid(lab_a, job, 9000)
    bid(lab_b, job, 8000)
    share(*parties)
    me_b = lab_b.identity.id
    # the customer has no advert: lab B cannot write first
    assert code_of(lambda: jobmessages.send_message(lab_b, job, None, "Hi", [])) == (
        "misuse.no-seal-key"
    )
    # two bidders: the customer names the lab
    assert code_of(lambda: jobmessages.send_message(customer, job, None, "Hi", [])) == (
        "misuse.bad-argument"
    )
    jobmessages.send_message(customer, job, me_b, "Black PLA?", [])
    share(*parties)
    copy_blobs(customer, lab_b)
    jobmessages.send_message(lab_b, job, None, "Yes, black.", [])
    share(*parties)
    copy_blobs(lab_b, customer, lab_a)
    copy_blobs(customer, lab_a)
    assert texts(customer, job) == ["Black PLA?", "Yes, black."]
    assert texts(lab_b, job) == ["Black PLA?", "Yes, black."]
    assert texts(lab_a, job) == ["misuse.not-a-recipient"] * 2  # not its thread
    jobs.step(customer, job, "job.award", {"bid": bid_a})
    share(*parties)
    assert code_of(lambda: jobmessages.send_message(lab_b, job, None, "Still?", [])) == (
        "job.out-of-turn"
    )
    assert code_of(lambda: jobmessages.send_message(customer, job, me_b, "B?", [])) == (
        "job.out-of-turn"
    )
    # after the award, to lab A by default; A replies with an attachment
    jobmessages.send_message(customer, job, None, "Thanks!", [])
    share(*parties)
    copy_blobs(customer, lab_a)
    drawing = tmp_path / "drawing.pdf"
    drawing.write_bytes(b"%PDF-1.7 drawing")
    out = jobmessages.send_message(lab_a, job, None, "Drawing attached.", [drawing])[0]
    share(*parties)
    copy_blobs(lab_a, customer)
    rows = jobmessages.thread(customer, job)["messages"]
    assert [r["text"] for r in rows][-2:] == ["Thanks!", "Drawing attached."]
    assert rows[-1]["names"] == ["drawing.pdf"]
    attachment = id_from_text(rows[-1]["attachments"][0])
    assert attachment == id_from_text(out["sealed"][1])
    assert jobmessages.open_sealed_blob(customer.home, attachment) == b"%PDF-1.7 drawing"
    assert texts(lab_b, job)[2:] == ["misuse.blob-missing"] * 2


def test_a_changed_bit_and_a_resigned_blob_are_detected(parties: list[LedgerContext]) -> None:
    customer, lab_a, _ = parties
    job = offer(customer)
    share(*parties)
    bid(lab_a, job, 9000)
    share(*parties)
    sealed = id_from_text(
        jobmessages.send_message(customer, job, None, "Hello", [])[0]["sealed"][0]
    )
    share(*parties)
    copy_blobs(customer, lab_a)
    # lab A re-signs the customer's sealed blob as its own message
    plan = jobmessages.plan_message(lab_a, job, None)
    jobmessages.sign_message(lab_a, plan, sealed, [])
    assert texts(lab_a, job) == ["Hello", "verify.message-mismatch"]
    path = NodeHome(customer.home.path).blob_store().path_of(sealed)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    assert texts(customer, job)[0] == "verify.blob-hash-mismatch"


def test_sealed_to_both_parties(parties: list[LedgerContext]) -> None:
    customer, lab_a, _ = parties
    job = offer(customer)
    share(*parties)
    bid(lab_a, job, 9000)
    share(*parties)
    plan = jobmessages.plan_message(customer, job, None)
    assert plan.to == lab_a.identity.id
    sealed, _ = jobmessages.seal_message(customer.home, plan, "Hi", [], 1)
    data = customer.home.blob_store().path_of(sealed).read_bytes()
    held = {kid for kid, _ in read_header(data).recipients}
    assert held == {key_id(plan.their_key), key_id(plan.our_key)}
    bell = "bell\x07"
    assert code_of(lambda: jobmessages.seal_message(customer.home, plan, bell, [], 1)) == (
        "misuse.bad-message"
    )
