"""A lab behind a real NAT (specs/0014 §6; tests/netns.py): two members with public
addresses on a switched segment, one lab behind its own nftables-masquerade router (no
port forwarded). The lab joins through a member, finds the other through discovery,
syncs both ways, and `fabnode doctor` tells it the truth: `private`, forward TCP 4001.
Once the router forwards the port (DNAT), the restarted lab is told `public`.

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


def need(reason: str | None) -> None:
    netns.require(reason, "NAT test")


init = netns.init_home

on = netns.api_on


def test_a_lab_behind_nat_joins_syncs_and_is_told_to_forward_its_port(
    caps: netns.Capabilities, tmp_path: Path
) -> None:
    need(caps.namespaces)
    need(caps.nft)
    with netns.switch(caps, 2) as net, ExitStack() as stack:
        m1_host, m2_host = net.hosts
        lab_host, router = net.add_nat_lab()
        m1, m2, lab = (init(tmp_path, n) for n in ("m1", "m2", "lab"))

        def run(home: Path, host: netns.Host, listen: str, *extra: str) -> dict[str, Any]:
            running = running_node(home, "--listen", listen, *extra, wrap=host.wrap())
            return dict(stack.enter_context(running)[1])

        ready_m1 = run(m1, m1_host, m1_host.listen(PORT))
        boot = ["--bootstrap", ready_m1["listen"][0]]
        ready_m2 = run(m2, m2_host, m2_host.listen(PORT), *boot)
        lab_run = ExitStack()
        ready_lab = dict(
            lab_run.enter_context(
                running_node(lab, "--listen", f"/ip4/0.0.0.0/tcp/{PORT}", *boot,
                             wrap=lab_host.wrap())
            )[1]
        )  # fmt: skip

        def doctor(host: netns.Host, home: Path) -> dict[str, Any]:
            out: dict[str, Any] = on(host, home, "GET", "/api/v1/doctor")
            return out

        # the lab finds m2 through m1's records and dials it (m2 cannot dial the lab)
        wait_until(
            "the lab connected to m2",
            lambda: ready_m2["peer_id"] in on(lab_host, lab, "GET", "/api/v1/status")["peers"],
            timeout_s=120,
        )
        started = time.monotonic()
        report = wait_until(
            "the lab knows it is private",
            lambda: (r := doctor(lab_host, lab))["reachability"] == "private" and r,
            timeout_s=120,
        )
        private_s = time.monotonic() - started
        assert any(f"forward TCP port {PORT}" in line for line in report["advice"])
        assert all(c["connection"] == "direct" for c in report["connections"])
        seen_from = {c["remote"].split(":")[0] for c in doctor(m1_host, m1)["connections"]}
        assert "10.77.0.3" in seen_from  # the lab reaches m1 from its router's address
        wait_until(
            "m1 is public", lambda: doctor(m1_host, m1)["reachability"] == "public", timeout_s=120
        )

        author = on(lab_host, lab, "POST", "/api/v1/notes", {"text": "from behind the NAT"})
        lab_id = on(lab_host, lab, "GET", "/api/v1/status")["identity"]

        def size_on_m2() -> int:
            logs = on(m2_host, m2, "GET", "/api/v1/status")["logs"]
            return next((h["size"] for h in logs if h["author"] == lab_id), 0)

        assert author["entry_id"]
        wait_until("m2 holds the lab's note", lambda: size_on_m2() == 2, timeout_s=120)

        # the operator forwards the port; after a restart the lab is told it is public
        lab_run.close()
        net.forward_port(router, lab_host, PORT)
        forwarded = time.monotonic()
        with running_node(lab, "--listen", f"/ip4/0.0.0.0/tcp/{PORT}", wrap=lab_host.wrap()):
            report = wait_until(  # a member may refuse a repeat for 30 s: asked again at 45
                "the lab is public once its port is forwarded",
                lambda: (r := doctor(lab_host, lab))["reachability"] == "public" and r,
                timeout_s=150,
            )
        assert not any("forward TCP port" in line for line in report["advice"])
        assert any("local network only" in line for line in report["advice"])  # 10.77/16
        assert ready_lab["peer_id"] == report["peer_id"]
        print(f"\n[nat] seconds: to private {private_s:.1f}, to public after forwarding "
              f"{time.monotonic() - forwarded:.1f}")  # fmt: skip
