"""Labs behind NAT outlive their bootstrap node (specs/0014 §3-§5; tests/netns.py; issue
15 test 4). Behind NAT a lab can only dial out, so after its bootstrap node is gone it
can rejoin only through a public node it learned about. The topology: two public
members, M1 (everyone's bootstrap) and M2 (which knows only M1), and two labs each
behind its own nftables-masquerade router (no port forwarded) that are given only M1.

1. The labs learn M2's address record from M1 (the address exchange) and dial it.
2. M1 stops for good; M2 and the labs stop too and restart with no bootstrap list:
   the labs find M2 from their peer stores, and through it (gossip and sync) each
   lab's new entries reach the other lab, which neither can dial.
It proves what a federation behind NATs needs: its nodes keep the addresses they
learned, so the loss of the bootstrap node costs nothing while another public node
lives. (That two labs behind NAT then reach each other through M2's relay is
tests/integration/test_nat_relay.py's part.)

Skipped, with the reason, where namespaces or nftables are missing (not root, no
iproute2/nftables: .ci/run installs both)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests import netns
from tests.node_process import running_node, wait_until

pytestmark = pytest.mark.integration
PORT = 4001
TIMEOUT_S = 90
LAB_LISTEN = ("--listen", f"/ip4/0.0.0.0/tcp/{PORT}")  # the same port across restarts

on = netns.api_on


def status(host: netns.Host, home: Path) -> dict[str, Any]:
    found: dict[str, Any] = on(host, home, "GET", "/api/v1/status")
    return found


def log_size(host: netns.Host, home: Path, author: str) -> int:
    logs = status(host, home)["logs"]
    return next((h["size"] for h in logs if h["author"] == author), 0)


def test_labs_behind_nat_find_a_public_member_from_their_stores_once_the_bootstrap_is_gone(
    caps: netns.Capabilities, tmp_path: Path
) -> None:
    netns.require(caps.namespaces, "NAT discovery test")
    netns.require(caps.nft, "NAT discovery test")
    with netns.switch(caps, 2) as net:
        m1_host, m2_host = net.hosts
        (l1_host, _), (l2_host, _) = (net.add_nat_lab() for _ in range(2))
        m1, m2, l1, l2 = (netns.init_home(tmp_path, n) for n in ("m1", "m2", "lab-1", "lab-2"))
        labs = ((l1_host, l1), (l2_host, l2))

        def run(stack: ExitStack, home: Path, host: netns.Host, *args: str) -> dict[str, Any]:
            return dict(stack.enter_context(running_node(home, *args, wrap=host.wrap()))[1])

        def each_lab_reaches_m2(what: str) -> None:
            for host, home in labs:
                wait_until(
                    f"{home.name} {what}",
                    lambda h=host, d=home: m2_peer in status(h, d)["peers"],
                    TIMEOUT_S,
                )

        started = time.monotonic()
        with ExitStack() as first:
            ready_m1 = run(first, m1, m1_host, "--listen", m1_host.listen(PORT))
            boot = ("--bootstrap", ready_m1["listen"][0])
            ready_m2 = run(first, m2, m2_host, "--listen", m2_host.listen(PORT), *boot)
            m2_peer = ready_m2["peer_id"]
            # M1 holds M2's record before the labs come, so it shares it with them
            wait_until(
                "M1 holds M2's record",
                lambda: status(m1_host, m1)["discovery"]["known_peers"] >= 1,
                TIMEOUT_S,
            )
            for host, home in labs:
                run(first, home, host, *LAB_LISTEN, *boot)
            each_lab_reaches_m2("dialed M2, learned from M1")
            learned_s = time.monotonic() - started
        # M1 is gone for good; the others restart knowing no one but their peer stores.
        restarted = time.monotonic()
        with ExitStack() as second:
            assert run(second, m2, m2_host, "--listen", m2_host.listen(PORT))["peer_id"] == m2_peer
            for host, home in labs:
                run(second, home, host, *LAB_LISTEN)
            each_lab_reaches_m2("finds M2 again")
            found_s = time.monotonic() - restarted
            notes = {}
            for host, home in labs:
                text = {"text": f"{home.name}: still here without the bootstrap node"}
                on(host, home, "POST", "/api/v1/notes", text)
                notes[home] = status(host, home)["identity"]
            for (host, home), (_, other) in zip(labs, reversed(labs), strict=True):
                wait_until(
                    f"{home.name} holds the other lab's note",
                    lambda h=host, d=home, o=other: log_size(h, d, notes[o]) >= 2,
                    TIMEOUT_S,
                )
            linked = [p for p in status(l1_host, l1)["peers"] if p != m2_peer]
            print(f"\n[nat-discovery] seconds: labs learned M2 {learned_s:.1f}; after the "
                  f"restart found M2 {found_s:.1f}, notes crossed "
                  f"{time.monotonic() - restarted:.1f}; lab 1's other peers: {linked}")  # fmt: skip
