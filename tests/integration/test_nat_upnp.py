"""A lab behind a NAT router that runs a real UPnP gateway (specs/0014 §6.1; tests/netns.py,
tests/netns_upnp.py): `fabnode run --upnp` maps its TCP port there, `fabnode doctor`
says `mapped` at the router's public address, a member dials the lab at that address,
the members' dial-backs make it `public`, and the mapping is gone once the lab stops.
Behind a router whose own address is private, the doctor says `double-nat`; with no
gateway at all, `no-gateway`; with a gateway that denies the mapping, `refused`. The
port mapper alone, with a short lease: the gateway's lease is renewed before it runs
down, and the mapping deleted when the mapper stops.

The switch is on a public /24 here (no namespace routes anywhere): miniupnpd refuses
to map on a private external address, as it should. Skipped, with the reason, where
namespaces, nftables or miniupnpd are missing (.ci/run installs all three)."""

from __future__ import annotations

import sqlite3
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import miniupnpc
import pytest
import trio

from node.net import upnp
from protocol.address import decode_address_record
from protocol.ids import id_from_text
from tests import netns
from tests.cli_helpers import fabnode
from tests.netns_upnp import miniupnpd_missing, upnp_gateway
from tests.node_process import running_node, wait_until

pytestmark = pytest.mark.integration
PORT = 4001
PUBLIC_SUBNET = "44.77.0"


def need(caps: netns.Capabilities) -> None:
    netns.require(caps.namespaces, "UPnP test")
    netns.require(caps.nft, "UPnP test")
    netns.require(miniupnpd_missing(), "UPnP test")


def doctor(host: netns.Host, home: Path) -> dict[str, Any]:
    out: dict[str, Any] = netns.api_on(host, home, "GET", "/api/v1/doctor")
    return out


def mappings(router: str) -> str:
    """The DNAT rules miniupnpd holds in the router (its nftables chain)."""
    chain = "list chain inet miniupnpd prerouting_miniupnpd"
    return netns.sh(f"ip netns exec {router} nft {chain}").stdout


def recorded_addrs(host: netns.Host, home: Path, peer_id: str) -> tuple[str, ...]:
    """The addresses of `peer_id`'s record in the peer store of the node of `home`."""
    network = id_from_text(netns.api_on(host, home, "GET", "/api/v1/status")["network"]["id"])
    with sqlite3.connect(f"file:{home / 'peers.sqlite3'}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT record FROM peers WHERE peer_id = ?", (peer_id,)).fetchone()
    if row is None:
        return ()
    return decode_address_record(bytes(row[0]), network, int(time.time() * 1000)).addrs


def test_a_lab_maps_its_port_by_upnp_and_is_reached_at_its_router(
    caps: netns.Capabilities, tmp_path: Path
) -> None:
    need(caps)
    with netns.switch(caps, 2, subnet=PUBLIC_SUBNET) as net, ExitStack() as stack:
        m1_host, m2_host = net.hosts
        lab_host, router = net.add_nat_lab()
        wan = f"{PUBLIC_SUBNET}.3"
        stack.enter_context(upnp_gateway(router, lab_host, tmp_path / "upnp"))
        m1, m2, lab = (netns.init_home(tmp_path, n) for n in ("m1", "m2", "lab"))

        def run(home: Path, host: netns.Host, listen: str, *extra: str) -> dict[str, Any]:
            running = running_node(home, "--listen", listen, *extra, wrap=host.wrap())
            return dict(stack.enter_context(running)[1])

        ready_m1 = run(m1, m1_host, m1_host.listen(PORT))
        started = time.monotonic()
        lab_run = ExitStack()
        argv = ["--listen", f"/ip4/0.0.0.0/tcp/{PORT}", "--upnp"]
        argv += ["--bootstrap", ready_m1["listen"][0]]
        ready_lab = dict(lab_run.enter_context(running_node(lab, *argv, wrap=lab_host.wrap()))[1])
        status = wait_until(
            "the lab's port is mapped",
            lambda: (s := doctor(lab_host, lab)["upnp_status"])["code"] == "mapped" and s,
            timeout_s=60,
        )
        mapped_s = time.monotonic() - started
        assert status == {"code": "mapped", "external_ip": wan, "port": PORT, "detail": ""}
        assert f"dport {PORT} dnat ip to {lab_host.address}:{PORT}" in mappings(router)
        code, report = fabnode("doctor", home=lab, wrap=lab_host.wrap())  # as the lab would
        assert code == 0 and report["upnp"] == f"TCP port {PORT} mapped at {wan}"

        # a member dials the lab at its router's address, through the mapping
        external = f"/ip4/{wan}/tcp/{PORT}/p2p/{ready_lab['peer_id']}"
        run(m2, m2_host, m2_host.listen(PORT), "--bootstrap", external)
        remotes = wait_until(
            "m2 connected to the lab at its router's address",
            lambda: {
                c["remote"]
                for c in doctor(m2_host, m2)["connections"]
                if c["peer"] == ready_lab["peer_id"]
            },
            timeout_s=60,
        )
        assert f"{wan}:{PORT}" in remotes
        report = wait_until(  # both members dial back through the mapping
            "the lab is public",
            lambda: (r := doctor(lab_host, lab))["reachability"] == "public" and r,
            timeout_s=150,
        )
        public_s = time.monotonic() - started
        codes = [item["code"] for item in report["advice_items"]]
        assert "upnp-mapped" in codes and "forward-port" not in codes
        assert all(v["reached"] for v in report["dialbacks"])
        wait_until(  # the lab's record, as m1 keeps it, names its address at the router
            "m1 holds the lab's mapped address",
            lambda: f"/ip4/{wan}/tcp/{PORT}" in recorded_addrs(m1_host, m1, ready_lab["peer_id"]),
            timeout_s=60,
        )

        lab_run.close()  # a stopping node deletes its mapping
        assert "dnat" not in mappings(router)
        print(f"\n[upnp] seconds: to mapped {mapped_s:.1f}, to public {public_s:.1f}")


def test_a_gateway_without_a_public_address_is_a_double_nat_and_none_is_no_gateway(
    caps: netns.Capabilities, tmp_path: Path
) -> None:
    need(caps)
    with netns.switch(caps, 0) as net:  # the private 10.77.0.0/24: a NAT in front
        lab_host, router = net.add_nat_lab()
        lab = netns.init_home(tmp_path, "lab")
        argv = ["--listen", f"/ip4/0.0.0.0/tcp/{PORT}", "--upnp"]

        def upnp_code() -> dict[str, Any]:
            with running_node(lab, *argv, wrap=lab_host.wrap()):
                return dict(
                    wait_until(
                        "UPnP's result",
                        lambda: (
                            (s := doctor(lab_host, lab)["upnp_status"])["code"] != "pending" and s
                        ),
                        timeout_s=60,
                    )
                )

        assert upnp_code()["code"] == "no-gateway"
        with upnp_gateway(router, lab_host, tmp_path / "upnp"):
            status = upnp_code()
            assert status["code"] == "double-nat" and status["port"] is None
            assert "dnat" not in mappings(router)


def test_a_gateway_that_denies_the_mapping_is_reported_as_refused(
    caps: netns.Capabilities, tmp_path: Path
) -> None:
    need(caps)
    with netns.switch(caps, 0, subnet=PUBLIC_SUBNET) as net:
        lab_host, router = net.add_nat_lab()
        lab = netns.init_home(tmp_path, "lab")
        argv = ["--listen", f"/ip4/0.0.0.0/tcp/{PORT}", "--upnp"]
        with (
            upnp_gateway(router, lab_host, tmp_path / "upnp", allow=False),
            running_node(lab, *argv, wrap=lab_host.wrap()),
        ):
            status = wait_until(
                "UPnP's result",
                lambda: (s := doctor(lab_host, lab)["upnp_status"])["code"] != "pending" and s,
                timeout_s=60,
            )
            report = doctor(lab_host, lab)
            assert "dnat" not in mappings(router)
        assert status["code"] == "refused" and status["external_ip"] == f"{PUBLIC_SUBNET}.1"
        assert status["port"] == PORT and status["detail"]  # the gateway's own words
        assert "upnp-mapped" not in [item["code"] for item in report["advice_items"]]


def lease_left(router: str, lab_host: netns.Host) -> int | None:
    """Seconds left on the lab's mapping of PORT, as the gateway tells a UPnP client
    (GetSpecificPortMappingEntry), or None when there is no mapping."""

    def ask() -> int | None:
        gateway = miniupnpc.UPnP()
        gateway.discoverdelay = 2000
        gateway.discover()
        gateway.selectigd()
        entry = gateway.getspecificportmapping(PORT, "TCP")
        return None if entry is None else int(entry[-1])

    return lab_host.call(ask)


def test_a_mapping_is_renewed_before_its_lease_ends_and_deleted_at_stop(
    caps: netns.Capabilities, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """node.net.upnp.PortMapper in the lab's namespace, with a 30 s lease renewed every
    2 s (the node's: 1 h, every 30 min): the gateway's lease never runs down, where
    an unrenewed one would have lost the seconds waited."""
    need(caps)
    monkeypatch.setattr(upnp, "LEASE_S", 30)
    monkeypatch.setattr(upnp, "RENEW_S", 2.0)
    with netns.switch(caps, 1, subnet=PUBLIC_SUBNET) as net:
        lab_host, router = net.add_nat_lab()
        with upnp_gateway(router, lab_host, tmp_path / "upnp"):
            seen: list[int | None] = []
            mapped: list[str | None] = []

            async def run_mapper() -> None:
                mapper = upnp.PortMapper(PORT, mapped.append)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(mapper.run)
                    with trio.fail_after(30):
                        while mapper.status.code != "mapped":
                            await trio.sleep(0.2)
                    for _ in range(3):  # 9 s: four renewals, none of them awaited here
                        await trio.sleep(3.0)
                        seen.append(await trio.to_thread.run_sync(lease_left, router, lab_host))
                    nursery.cancel_scope.cancel()

            lab_host.call(lambda: trio.run(run_mapper))
            assert mapped[0] is not None and mapped[0].startswith(f"/ip4/{PUBLIC_SUBNET}.")
            assert mapped[0].endswith(f"/tcp/{PORT}") and mapped[-1] is None
            print(f"\n[upnp renewal] lease left after 3, 6, 9 s: {seen}")
            assert all(left is not None and left > 30 - 2 - 3 for left in seen), seen
            assert lease_left(router, lab_host) is None  # deleted when the mapper stopped
