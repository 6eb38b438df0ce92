"""My jobs, counters and a job's sealed files on three homes in one process (specs/0007
§2.2, §2.4, §9): a customer and two labs, their logs copied between them by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from node.cli.jobs import _job_text, _mine_text
from node.cli.main import main
from node.ops import capabilities, jobfiles, jobs, myjobs
from node.ops.context import LedgerContext, open_local
from node.ops.sealing import open_blob_bytes, seal_bytes_to_blob, seal_key
from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol.capability import AdvertBody
from protocol.errors import CommonsError
from protocol.ids import id_from_text
from protocol.sealed import seal
from tests.integration.test_jobs import advert
from tests.jobs_factory import SOON_MS, sealed_offer_json

EUR = "EUR"


@pytest.fixture
def parties(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[LedgerContext]]:
    """Customer, lab A (advertises a sealed-file key), lab B, each an open home."""
    monkeypatch.setenv("FABNODE_STATE_DIR", str(tmp_path / "state"))
    with ExitStack() as stack:
        ctxs = []
        for name in ("customer", "lab-a", "lab-b"):
            assert main(["--home", str(tmp_path / name), "init", "--json"]) == 0
            ctxs.append(stack.enter_context(open_local(NodeHome(tmp_path / name))))
        for ctx, name in ((ctxs[1], "Lab A"), (ctxs[2], "Lab B")):
            body = advert(name, 52_530_000, 13_410_000, 250, 20)
            capabilities.set_advert(ctx, AdvertBody.model_validate(body, strict=True))
        yield ctxs


def share(*ctxs: LedgerContext) -> None:
    """Every log of each home copied into the others (what sync does)."""
    for source in ctxs:
        for head in source.store.heads():
            raws = source.store.read_entries(head.network, head.author, 1, head.size + 1)
            for target in ctxs:
                if target is not source:
                    target.ledger.ingest(raws)


def code_of(call: Any) -> str:
    with pytest.raises(CommonsError) as e:
        call()
    return e.value.code


def price(amount: int) -> dict[str, Any]:
    return {"amount_minor": amount, "currency": EUR}


def offer(customer: LedgerContext) -> bytes:
    fields = sealed_offer_json("Gear", 2)
    return id_from_text(jobs.offer_from_json(customer, fields)[0]["entry_id"])


def mine_of(ctx: LedgerContext, job: bytes) -> dict[str, Any]:
    rows = [r for r in myjobs.mine(ctx)["jobs"] if id_from_text(r["id"]) == job]
    assert len(rows) == 1
    row: dict[str, Any] = rows[0]
    return row


def yours(row: dict[str, Any]) -> set[str]:
    return {n["action"] for n in row["next"] if n["yours"]}


def test_mine_lists_every_party_with_counters_and_what_comes_next(
    parties: list[LedgerContext],
) -> None:
    customer, lab_a, lab_b = parties
    job = offer(customer)
    share(*parties)
    assert myjobs.mine(lab_a)["jobs"] == []  # not a party yet
    bid_a = id_from_text(jobs.bid(lab_a, job, price(9000), SOON_MS, "")[0]["entry_id"])
    bid_b = id_from_text(jobs.bid(lab_b, job, price(8000), SOON_MS, "")[0]["entry_id"])
    share(*parties)
    jobs.counter(customer, job, bid_b, price(7000), SOON_MS, "Can you do 70?")
    assert code_of(lambda: jobs.counter(lab_a, job, bid_a, price(1), SOON_MS, "")) == (
        "job.not-party"
    )
    share(*parties)
    seen_by_b = mine_of(lab_b, job)
    assert seen_by_b["roles"] == ["bidder"] and {"bid", "withdraw"} <= yours(seen_by_b)
    countered = next(b for b in seen_by_b["job"]["bids"] if id_from_text(b["entry_id"]) == bid_b)
    assert countered["counters"][0]["price"] == price(7000)
    text = _job_text(jobs.show(customer, job), {})
    assert "counter" in text and "Can you do 70?" in text
    jobs.bid(lab_b, job, price(7000), SOON_MS, "Yes, 70")  # a counter is answered by a bid
    share(*parties)
    as_customer = mine_of(customer, job)
    assert as_customer["roles"] == ["customer"] and {"award", "cancel", "counter"} <= yours(
        as_customer
    )
    kinds = [t["kind"] for t in as_customer["timeline"]]
    assert kinds[0] == "job.offer"  # then by (timestamp_ms, id): equal times may swap
    assert sorted(kinds[1:]) == ["job.bid", "job.bid", "job.bid", "job.counter"]
    assert all(t["witnessed_at_s"] is None for t in as_customer["timeline"])
    assert myjobs.mine(customer)["witness_times"] is False  # a development network

    jobs.step_from_json(customer, job, "award", {"bid": as_customer["job"]["bids"][0]["entry_id"]})
    share(*parties)
    as_lab = mine_of(lab_a, job)
    assert as_lab["roles"] == ["lab"] and yours(as_lab) == {"start"}
    assert mine_of(lab_b, job)["roles"] == ["bidder"]  # still listed after the award
    assert yours(mine_of(lab_b, job)) == set()
    assert {n["role"] for n in as_lab["next"] if not n["yours"]} == {"customer"}  # cancel, files
    assert "waiting on: customer" in _mine_text({"jobs": [as_lab]})
    jobs.step_from_json(lab_a, job, "start", {})
    out, _ = jobs.step_from_json(lab_a, job, "ship", {"tracking": ""})  # "" is no number
    assert out["job"]["steps"][-1]["body"]["tracking"] is None
    assert mine_of(lab_a, job)["activity_ms"] >= as_lab["activity_ms"]
    assert myjobs.mine(lab_a)["jobs"][0]["id"] == as_lab["id"]


def test_files_must_be_sealed_to_the_awarded_lab_and_the_customer(
    parties: list[LedgerContext],
) -> None:
    customer, lab_a, lab_b = parties
    job = offer(customer)
    share(*parties)
    bid_a = jobs.bid(lab_a, job, price(9000), SOON_MS, "")[0]["entry_id"]
    share(*parties)
    store = BlobStore(customer.home.blobs)
    plain, _ = store.add_bytes(b"a plain part file")
    assert code_of(lambda: jobs.attach_files(customer, job, [plain])) == "job.out-of-turn"
    jobs.step_from_json(customer, job, "award", {"bid": bid_a})
    lab_key = capabilities.lab_seal_key(customer, lab_a.identity.id)
    mine = seal_key(customer.home, lab_key.suite).public()
    other = capabilities.lab_seal_key(customer, lab_b.identity.id)
    lab_only, _ = store.add_bytes(seal(b"secret", [lab_key]))
    wrong_lab, _ = store.add_bytes(seal(b"secret", [other, mine]))
    for blob in (plain, lab_only, wrong_lab):
        assert code_of(lambda b=blob: jobs.attach_files(customer, job, [b])) == (
            "job.files-not-sealed"
        )
    assert code_of(lambda: jobs.attach_files(customer, job, [bytes(32)])) == "misuse.blob-missing"
    good = id_from_text(seal_bytes_to_blob(customer.home, b"ISO-10303-21;", lab_key)["blob"])
    assert code_of(lambda: jobs.attach_files(customer, job, [good, plain])) == (
        "job.files-not-sealed"
    )
    jobs.attach_files(customer, job, [good])
    share(*parties)
    view = jobs.job_view(lab_a, job)
    assert jobfiles.check_named(view, good) is True
    assert code_of(lambda: jobfiles.check_named(view, plain)) == "misuse.not-a-job-file"
    BlobStore(lab_a.home.blobs).add_bytes(store.path_of(good).read_bytes())
    assert jobfiles.job_blob(lab_a.home, good, True) == b"ISO-10303-21;"
    assert open_blob_bytes(customer.home, good) == b"ISO-10303-21;"  # the customer too
    assert mine_of(customer, job)["timeline"][-1]["kind"] == "job.files"
