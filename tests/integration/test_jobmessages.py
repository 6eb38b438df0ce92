"""A job's sealed thread on real nodes (specs/0007 §2.5, §5.6): the customer talks with
lab B before the award, with lab A after it (A replies with an attachment); an observer
node that syncs everything opens nothing, and a flipped bit in a stored sealed blob is
detected. Every node is a `fabnode run` process; waits poll with deadlines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from node.store.home import NodeHome
from protocol.ids import id_from_text
from tests.integration.test_jobs import advert, advertise_offline, init, job_on, ok
from tests.jobs_factory import sealed_offer_json
from tests.node_process import api, running_node, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def messages_on(home: Path, job: str) -> list[Any]:
    found = job_on(home, job)
    return [] if found is None else list(found["messages"])


def thread(home: Path, job: str) -> list[Any]:
    rows = ok(home, "job", "thread", job)["messages"]
    return [r["text"] if r["error"] is None else r["error"]["code"] for r in rows]


def test_a_sealed_thread_between_customer_and_labs(tmp_path: Path, stack: ExitStack) -> None:
    observer, customer, lab_a, lab_b = (init(tmp_path, n) for n in ("observer", "customer",
                                                                     "lab-a", "lab-b"))  # fmt: skip
    advertise_offline(lab_a, advert("Lab A", 52_530_000, 13_410_000, 250, 20))
    advertise_offline(lab_b, advert("Lab B", 52_390_000, 13_065_000, 200, 15))
    _, first = stack.enter_context(running_node(observer))
    for home in (customer, lab_a, lab_b):
        stack.enter_context(running_node(home, "--bootstrap", first["listen"][0]))
    ids = {h: api(h, "GET", "/api/v1/status")["identity"] for h in (customer, lab_a, lab_b)}
    job = api(customer, "POST", "/api/v1/jobs", sealed_offer_json("Gear", 2))["entry_id"]
    bids = {}
    for lab, amount in ((lab_a, 9000), (lab_b, 8000)):
        wait_until("the offer at the lab", lambda lab=lab: job_on(lab, job))
        body = {"price": {"amount_minor": amount, "currency": "EUR"}, "ready_ms": 0}
        bids[lab] = api(lab, "POST", f"/api/v1/jobs/{job}/bids", body)["entry_id"]
    wait_until("both bids", lambda: len((job_on(customer, job) or {"bids": []})["bids"]) == 2)

    ok(customer, "job", "message", job, "--lab", ids[lab_b], "Black PLA, please?")
    wait_until("the message at B", lambda: messages_on(lab_b, job))
    ok(lab_b, "job", "message", job, "Black it is.")
    wait_until("B's reply", lambda: len(messages_on(customer, job)) == 2)
    # Peers meet through the observer, the first node: reading its thread there
    # fetches the sealed blobs it carries on (it cannot open them).
    wait_until("the thread at the observer", lambda: len(messages_on(observer, job)) == 2)
    assert thread(observer, job) == ["misuse.not-a-recipient"] * 2
    assert thread(customer, job) == ["Black PLA, please?", "Black it is."]

    ok(customer, "job", "award", job, bids[lab_a])
    wait_until("the award at A", lambda: (job_on(lab_a, job) or {}).get("state") == "awarded")
    ok(customer, "job", "message", job, "Yours: when can you start?")
    wait_until("the message at A", lambda: len(messages_on(lab_a, job)) == 3)
    drawing = tmp_path / "schedule.txt"
    drawing.write_text("Monday\n")
    ok(lab_a, "job", "message", job, "Monday; plan attached.", "--attach", str(drawing))
    wait_until("A's reply", lambda: len(messages_on(customer, job)) == 4)
    wait_until("the thread at the observer", lambda: len(messages_on(observer, job)) == 4)
    assert thread(observer, job) == ["misuse.not-a-recipient"] * 4
    got = ok(customer, "job", "thread", job)["messages"]
    assert [m["text"] for m in got] == [
        "Black PLA, please?", "Black it is.", "Yours: when can you start?",
        "Monday; plan attached.",
    ]  # fmt: skip
    assert got[3]["names"] == ["schedule.txt"]
    assert thread(lab_a, job)[2:] == ["Yours: when can you start?", "Monday; plan attached."]

    sealed = id_from_text(got[0]["sealed"])
    path = NodeHome(customer).blob_store().path_of(sealed)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    assert thread(customer, job)[0] == "verify.blob-hash-mismatch"
