"""Files between two labs behind their own NATs (specs/0009 §12; tests/netns.py; issue 15
"Blobs from anywhere"): one member with a public address, two labs each behind an
nftables-masquerade router (no port forwarded), so neither lab can dial the other.
- A design's file: lab a publishes a design; lab c, connected only to the member,
  fetches its file through the member, verified, and the answer names the member as
  `through`.
- A sealed job's files (specs/0007 §2.4, §2.5; 0014 §7; issue 15 test 1): a customer
  behind one NAT offers a sealed job, a lab behind the other bids and is awarded (all
  through the member). The member does not fetch a job's files for others (it keeps
  only what it would keep itself, 0009 §12.3), so the files cross on the link the two
  hold through the member's relay (or a hole-punched one, 0014 §7.5): the customer's
  file sealed to the lab crosses both NATs and the lab opens it; the lab's reply with a
  sealed attachment crosses back and the customer opens it; the member fetches both
  and opens neither.

Skipped, with the reason, where namespaces or nftables are missing (not root, no
iproute2/nftables: .ci/run installs both)."""

from __future__ import annotations

import hashlib
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol.errors import CommonsError
from protocol.ids import id_from_text, id_to_text
from tests import netns
from tests.integration.test_jobs import advert, advertise_offline
from tests.jobs_factory import sealed_offer_json
from tests.node_process import running_node, wait_until

pytestmark = pytest.mark.integration
PORT = 4001
TIMEOUT_S = 120
#: Reservations at the member, then the relayed records' exchange: ~40-80 s (test_nat_relay).
LINK_TIMEOUT_S = 180


def need(reason: str | None) -> None:
    netns.require(reason, "NAT test")


init = netns.init_home

on = netns.api_on


def test_a_file_reaches_a_lab_behind_nat_through_the_member_between(
    caps: netns.Capabilities, tmp_path: Path
) -> None:
    need(caps.namespaces)
    need(caps.nft)
    with netns.switch(caps, 1) as net, ExitStack() as stack:
        (member_host,) = net.hosts
        a_host, _ = net.add_nat_lab()
        c_host, _ = net.add_nat_lab()
        member, a, c = (init(tmp_path, n) for n in ("member", "a", "c"))

        def run(home: Path, host: netns.Host, listen: str, *extra: str) -> dict[str, Any]:
            running = running_node(home, "--listen", listen, *extra, wrap=host.wrap())
            return dict(stack.enter_context(running)[1])

        ready_member = run(member, member_host, member_host.listen(PORT))
        boot = ["--bootstrap", ready_member["listen"][0]]
        ready_a = run(a, a_host, f"/ip4/0.0.0.0/tcp/{PORT}", *boot)
        run(c, c_host, f"/ip4/0.0.0.0/tcp/{PORT}", *boot)

        folder = tmp_path / "bracket"
        folder.mkdir()
        data = hashlib.sha256(b"a bracket behind a NAT").digest() * 4096  # 128 KiB
        (folder / "bracket.scad").write_bytes(data)
        (folder / "okh.toml").write_text(
            'name = "Wall bracket"\nlicense = "CERN-OHL-S-2.0"\nlicensor = "Ada Lab"\n'
            'function = "Holds a shelf."\nsource = "bracket.scad"\n'
        )
        design = on(a_host, a, "POST", "/api/v1/designs", {"path": str(folder)})["design_id"]
        blob = id_to_text(hashlib.sha256(data).digest())
        for host, home in ((member_host, member), (c_host, c)):
            wait_until(
                f"the design on {home.name}",
                lambda h=host, m=home: [
                    d
                    for d in on(h, m, "GET", "/api/v1/designs?q=bracket")["designs"]
                    if d["id"] == design
                ],
                TIMEOUT_S,
            )
        peers_of_c = on(c_host, c, "GET", "/api/v1/status")["peers"]
        assert ready_a["peer_id"] not in peers_of_c  # behind two NATs: no way between them

        fetched = on(c_host, c, "POST", f"/api/v1/blobs/{blob}/fetch")
        assert fetched["status"] == "stored"
        assert fetched["peer"] == fetched["through"] == ready_member["peer_id"]
        assert BlobStore(NodeHome(c).blobs).has(id_from_text(blob))
        assert BlobStore(NodeHome(member).blobs).has(id_from_text(blob))  # kept on the way
        status = on(c_host, c, "GET", f"/api/v1/blobs/{blob}/status")
        assert status["held"] and {"peer": ready_member["peer_id"], "held": True} in status["peers"]


def job_at(host: netns.Host, home: Path, job: str) -> dict[str, Any] | None:
    """The job as the node of `home` derives it, or None while it has not arrived."""
    try:
        found: dict[str, Any] = on(host, home, "GET", f"/api/v1/jobs/{job}")
    except CommonsError:
        return None
    return found


def refused_on(host: netns.Host, home: Path, path: str, body: Any) -> str:
    """The error code of an API call (POST) that must fail."""
    with pytest.raises(CommonsError) as caught:
        on(host, home, "POST", path, body)
    return caught.value.code


def test_a_sealed_job_file_crosses_two_nats(caps: netns.Capabilities, tmp_path: Path) -> None:
    need(caps.namespaces)
    need(caps.nft)
    with netns.switch(caps, 1) as net, ExitStack() as stack:
        (member_host,) = net.hosts
        customer_host, _ = net.add_nat_lab()
        lab_host, _ = net.add_nat_lab()
        member, customer, lab = (init(tmp_path, n) for n in ("member", "customer", "lab"))
        advertise_offline(lab, advert("Lab B", 52_530_000, 13_410_000, 250, 20))  # its seal key

        def run(home: Path, host: netns.Host, listen: str, *extra: str) -> dict[str, Any]:
            running = running_node(home, "--listen", listen, *extra, wrap=host.wrap())
            return dict(stack.enter_context(running)[1])

        started = time.monotonic()
        ready_member = run(member, member_host, member_host.listen(PORT))
        boot = ["--bootstrap", ready_member["listen"][0]]
        ready_customer = run(customer, customer_host, f"/ip4/0.0.0.0/tcp/{PORT}", *boot)
        customer_peer = ready_customer["peer_id"]
        run(lab, lab_host, f"/ip4/0.0.0.0/tcp/{PORT}", *boot)
        lab_id = on(lab_host, lab, "GET", "/api/v1/status")["identity"]

        fields = sealed_offer_json("Jig", 1)
        job = on(customer_host, customer, "POST", "/api/v1/jobs", fields)["entry_id"]
        wait_until("the offer at the lab", lambda: job_at(lab_host, lab, job), TIMEOUT_S)
        price = {"price": {"amount_minor": 9000, "currency": "EUR"}, "ready_ms": 0}
        bid = on(lab_host, lab, "POST", f"/api/v1/jobs/{job}/bids", price)["entry_id"]
        wait_until(
            "the bid at the customer",
            lambda: (job_at(customer_host, customer, job) or {"bids": []})["bids"],
            TIMEOUT_S,
        )
        on(customer_host, customer, "POST", f"/api/v1/jobs/{job}/steps/award", {"bid": bid})

        # the customer's file, sealed to the lab, named by a job.files entry
        secret = tmp_path / "jig.step"
        secret.write_bytes(b"ISO-10303-21; the customer's own jig\n" * 4000)  # ~150 KiB
        body = {"path": str(secret), "lab": lab_id}
        sealed = on(customer_host, customer, "POST", "/api/v1/sealed", body)["blob"]
        on(customer_host, customer, "POST", f"/api/v1/jobs/{job}/files", {"blobs": [sealed]})
        wait_until(
            "the files at the lab",
            lambda: (job_at(lab_host, lab, job) or {"files": []})["files"],
            TIMEOUT_S,
        )
        flowed_s = time.monotonic() - started

        def link() -> list[str]:
            connections = on(lab_host, lab, "GET", "/api/v1/doctor")["connections"]
            return [c["connection"] for c in connections if c["peer"] == customer_peer]

        wait_until("the lab linked to the customer", link, LINK_TIMEOUT_S)
        linked_s, paths = time.monotonic() - started, link()
        out = tmp_path / "opened.step"
        on(lab_host, lab, "POST", f"/api/v1/sealed/{sealed}/open", {"out": str(out)})
        assert out.read_bytes() == secret.read_bytes()

        # the customer writes (its message carries its key), the lab replies with a
        # sealed attachment, which crosses back
        ask = {"text": "The jig is attached: when can you start?"}
        on(customer_host, customer, "POST", f"/api/v1/jobs/{job}/messages", ask)

        def thread(host: netns.Host, home: Path) -> list[Any]:
            rows = on(host, home, "GET", f"/api/v1/jobs/{job}/thread")["messages"]
            return [r for r in rows if r["error"] is None]

        wait_until("the message at the lab", lambda: thread(lab_host, lab), TIMEOUT_S)
        plan = tmp_path / "plan.txt"
        plan.write_text("Monday: print; Tuesday: ship.\n")
        reply = {"text": "Starting Monday; plan attached.", "paths": [str(plan)]}
        on(lab_host, lab, "POST", f"/api/v1/jobs/{job}/messages", reply)

        (message,) = wait_until(
            "the reply at the customer",
            lambda: thread(customer_host, customer)[1:],  # after its own message
            TIMEOUT_S,
        )
        assert message["text"] == reply["text"] and message["names"] == ["plan.txt"]
        (attachment,) = message["attachments"]
        got = tmp_path / "got-plan.txt"
        on(customer_host, customer, "POST", f"/api/v1/sealed/{attachment}/open", {"out": str(got)})
        assert got.read_text() == plan.read_text()

        # the member in the middle gets both files (it fetches what it lacks) and opens neither
        for blob in (sealed, attachment):
            opened = f"/api/v1/sealed/{blob}/open"
            nothing = {"out": str(tmp_path / "member.out")}
            assert refused_on(member_host, member, opened, nothing) == "misuse.not-a-recipient"
            assert BlobStore(NodeHome(member).blobs).has(id_from_text(blob))
        print(f"\n[nat-jobs] seconds: job awarded and files named at the lab {flowed_s:.1f}, "
              f"lab linked to the customer {linked_s:.1f} ({paths}), both files opened "
              f"{time.monotonic() - started:.1f}")  # fmt: skip
