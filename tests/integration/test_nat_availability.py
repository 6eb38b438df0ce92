"""A design's file outlives its author's node behind NAT (specs/0009 §13; tests/netns.py;
issue 15 test 3): a federation of three founders, `pin_replicas = 1`; the member M has
a public address, the author A and lab C sit each behind its own nftables-masquerade
router (no port forwarded), so M can reach A only over the connection A opened, and C
can never reach A. A publishes a design whose file the rule gives to M (the file is
chosen so: rendezvous weights computed here from the spec's rule); M fetches and pins
it, C does not hold it; A's node stops for good; C then fetches the file, verified,
from M, and `blob status` names M as the rule's pinner and a holder whose copy passed
the challenge of 0009 §12.4 (as the author's did, asked by M).

Skipped, with the reason, where namespaces or nftables are missing (not root, no
iproute2/nftables: .ci/run installs both)."""

from __future__ import annotations

import hashlib
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ledger.pinning import pinners
from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol.ids import id_from_text, id_to_text
from tests import netns
from tests.cli_helpers import fabnode
from tests.integration.test_governance import charter_toml
from tests.node_process import running_node, wait_until

pytestmark = pytest.mark.integration
PORT = 4001
TIMEOUT_S = 120

on = netns.api_on


def ok(home: Path, *args: str | Path, host: netns.Host | None = None) -> Any:
    status, out = fabnode(*args, home=home, wrap=() if host is None else host.wrap())
    assert status == 0, out
    return out


def holds(home: Path, blob: str) -> bool:
    return BlobStore(NodeHome(home).blobs).has(id_from_text(blob))


def pinned_by(member: str, founders: list[str], author: str) -> bytes:
    """A file's bytes that the rule (pin_replicas = 1, the author left out) gives to
    `member`: the first of a fixed series, by the spec's weights (specs/0009 §13)."""
    members = [id_from_text(f) for f in founders]
    for i in range(64):
        data = hashlib.sha256(b"a bracket behind a NAT %d" % i).digest() * 2048  # 64 KiB
        blob = hashlib.sha256(data).digest()
        if pinners(blob, members, 1, [id_from_text(author)]) == [id_from_text(member)]:
            return data
    raise AssertionError("no file of the series is pinned by the member")  # 2**-64


def test_a_design_stays_fetchable_from_its_pinning_member_once_its_author_behind_nat_stops(
    caps: netns.Capabilities, tmp_path: Path
) -> None:
    netns.require(caps.namespaces, "NAT availability test")
    netns.require(caps.nft, "NAT availability test")
    started = time.monotonic()
    with netns.switch(caps, 1) as net, ExitStack() as stack:
        (m_host,) = net.hosts
        a_host, _ = net.add_nat_lab()
        c_host, _ = net.add_nat_lab()
        m, a, c = (netns.init_home(tmp_path, n) for n in ("member", "author", "lab-c"))
        ids = [ok(home, "id")["identity"] for home in (m, a, c)]
        (tmp_path / "charter.toml").write_text(charter_toml(ids) + "pin_replicas = 1\n")
        network = ok(m, "federation", "create", tmp_path / "charter.toml")["network"]

        def run(stack: ExitStack, home: Path, host: netns.Host, listen: str) -> dict[str, Any]:
            running = running_node(home, "--listen", listen, wrap=host.wrap())
            return dict(stack.enter_context(running)[1])

        ready_m = run(stack, m, m_host, m_host.listen(PORT))
        for home, host in ((a, a_host), (c, c_host)):
            ok(home, "join", network, "--bootstrap", ready_m["listen"][0], host=host)
        author = ExitStack()
        ready_a = run(author, a, a_host, f"/ip4/0.0.0.0/tcp/{PORT}")
        run(stack, c, c_host, f"/ip4/0.0.0.0/tcp/{PORT}")

        folder = tmp_path / "bracket"
        folder.mkdir()
        data = pinned_by(ids[0], ids, author=ids[1])
        (folder / "bracket.scad").write_bytes(data)
        (folder / "okh.toml").write_text(
            'name = "Wall bracket"\nlicense = "CERN-OHL-S-2.0"\nlicensor = "Ada Lab"\n'
            'function = "Holds a shelf."\nsource = "bracket.scad"\n'
        )
        with author:
            on(a_host, a, "POST", "/api/v1/designs", {"path": str(folder)})
            blob = id_to_text(hashlib.sha256(data).digest())
            wait_until("the member pins the file", lambda: holds(m, blob), TIMEOUT_S)
            pinned_s = time.monotonic() - started
            shown = on(m_host, m, "GET", f"/api/v1/blobs/{blob}/status")
            assert shown["pinned_here"] and shown["pinners"] == [ids[0]]
            # the member, holding the file, challenged the author's claim (0009 §12.4)
            assert shown["proved"] == {ready_a["peer_id"]: True}
            wait_until(
                "the design at lab C",
                lambda: on(c_host, c, "GET", "/api/v1/designs?q=bracket")["designs"],
                TIMEOUT_S,
            )
            assert not holds(c, blob)
        # the author's node has stopped for good: only the pinning member holds the file
        fetched = on(c_host, c, "POST", f"/api/v1/blobs/{blob}/fetch")
        assert fetched["status"] == "stored" and fetched["peer"] == ready_m["peer_id"]
        assert holds(c, blob)
        seen = on(c_host, c, "GET", f"/api/v1/blobs/{blob}/status")
        assert seen["held"] and seen["pinners"] == [ids[0]]
        assert {"peer": ready_m["peer_id"], "held": True} in seen["peers"]
        assert seen["proved"] == {ready_m["peer_id"]: True}  # the pinner's copy, checked
        print(f"\n[nat-availability] seconds: pinned at the member {pinned_s:.1f}, "
              f"fetched by lab C without the author {time.monotonic() - started:.1f}")  # fmt: skip
