"""A design's file between two labs behind their own NATs (specs/0009 §12; tests/netns.py;
issue 15 "Blobs from anywhere"): one member with a public address, two labs each behind
an nftables-masquerade router (no port forwarded), so neither lab can dial the other.
Lab a publishes a design; lab c, connected only to the member, fetches its file
through the member, verified, and the answer names the member as `through`.

Skipped, with the reason, where namespaces or nftables are missing (not root, no
iproute2/nftables: .ci/run installs both)."""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol.ids import id_from_text, id_to_text
from tests import netns
from tests.node_process import running_node, wait_until

pytestmark = pytest.mark.integration
PORT = 4001
TIMEOUT_S = 120


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
