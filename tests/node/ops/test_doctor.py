"""node.ops.doctor: the advice of `fabnode doctor` from its facts (specs/0014 §6)."""

from __future__ import annotations

from node.ops.doctor import (
    ADVICE,
    UPNP,
    ConnectionOut,
    DoctorReport,
    Reachability,
    UpnpOut,
    listen_port,
    with_advice,
)


def report(
    listen: list[str], reachability: Reachability, remotes: list[str | None]
) -> DoctorReport:
    return DoctorReport(
        peer_id="12D3KooWme", listen_addrs=listen, observed_addrs=[], observed_unconfirmed=[],
        reachability=reachability, dialbacks=[], relays=[], known_peers=0, upnp="not tried",
        connections=[ConnectionOut(peer=f"p{i}", connection="direct", remote=r)
                     for i, r in enumerate(remotes)],
    )  # fmt: skip


PUBLIC = "/ip4/0.0.0.0/tcp/4001/p2p/12D3KooWme"


def advise(facts: DoctorReport) -> list[str]:
    """The English sentences, checked against the items they are made from."""
    facts = with_advice(facts)
    assert [ADVICE[i.code].format(**i.params) for i in facts.advice_items] == facts.advice
    return facts.advice


def test_a_private_node_is_told_which_port_to_forward() -> None:
    advice = advise(report([PUBLIC], "private", ["93.184.216.34:4001", "151.101.1.69:4001"]))
    assert len(advice) == 1 and "forward TCP port 4001" in advice[0]


def test_a_public_node_is_told_nothing_needs_changing() -> None:
    advice = advise(report([PUBLIC], "public", ["93.184.216.34:4001", "151.101.1.69:4001"]))
    assert advice == ["Reachable by peers: nothing to change."]


def test_loopback_no_peers_and_local_only_are_said() -> None:
    lonely = advise(report(["/ip4/127.0.0.1/tcp/5000/p2p/x"], "unknown", []))
    assert "loopback only" in lonely[0] and "--listen /ip4/0.0.0.0/tcp/5000" in lonely[0]
    assert any("No peer is connected" in line for line in lonely)
    assert any("not known yet" in line for line in lonely)
    local = advise(report([PUBLIC], "public", ["192.168.1.20:4001", "10.0.0.3:4001"]))
    assert local == [local[0]] and "local network only" in local[0]


def test_the_listen_port_is_read_from_the_first_tcp_address() -> None:
    assert listen_port(["/ip4/127.0.0.1/tcp/4001/p2p/x", "/ip6/::1/tcp/9"]) == 4001
    assert listen_port(["/ip4/127.0.0.1/udp/4001/quic-v1"]) is None


def test_relays_in_use_are_named_by_their_peer_ids() -> None:
    relay = "12D3KooWGyWQUfj4tmGWnGVCsqkTKZXsDG4T14NXr6zTMySLu1VR"
    facts = report([PUBLIC], "private", ["93.184.216.34:4001"])
    facts.relays = [
        f"/ip4/203.0.113.7/tcp/4001/p2p/{relay}/p2p-circuit",
        f"/dns4/relay.example.org/tcp/4001/p2p/{relay}/p2p-circuit",
    ]
    through = [line for line in advise(facts) if "member relay" in line]
    assert len(through) == 1 and f"1 member relay(s) ({relay})" in through[0]


def test_every_advice_names_its_code_and_figures() -> None:
    facts = with_advice(report(["/ip4/127.0.0.1/tcp/5000/p2p/x"], "unknown", []))
    assert [(i.code, i.params) for i in facts.advice_items] == [
        ("loopback-only", {"port": 5000}),
        ("no-peer", {}),
        ("reachability-unknown", {"count": 0}),
    ]
    facts = with_advice(report(["/ip4/0.0.0.0/udp/4001/quic-v1"], "private", ["93.184.216.34:1"]))
    assert [i.code for i in facts.advice_items] == ["forward-unknown-port"]


def test_upnp_mapped_says_nothing_to_forward_and_double_nat_where_to() -> None:
    facts = report([PUBLIC], "public", ["93.184.216.34:4001"])
    facts.upnp_status = UpnpOut(code="mapped", external_ip="93.184.216.1", port=4001)
    mapped = advise(facts)
    assert "mapped TCP port 4001 by UPnP (at 93.184.216.1:4001)" in mapped[0]
    assert mapped[1] == "Reachable by peers: nothing to change."
    facts = report([PUBLIC], "private", ["93.184.216.34:4001"])
    facts.upnp_status = UpnpOut(code="double-nat", external_ip="100.64.3.2")
    codes = [i.code for i in with_advice(facts).advice_items]
    assert codes == ["forward-port", "upnp-double-nat"]
    off = report([PUBLIC], "public", ["93.184.216.34:4001"])
    assert [i.code for i in with_advice(off).advice_items] == ["all-well"]
    # mapped, yet the dial-backs fail (the ISP drops inbound): no "nothing to forward"
    facts = report([PUBLIC], "private", ["93.184.216.34:4001"])
    facts.upnp_status = UpnpOut(code="mapped", external_ip="93.184.216.1", port=4001)
    assert [i.code for i in with_advice(facts).advice_items] == ["forward-port"]


def test_each_upnp_code_has_its_text_with_the_address_it_names() -> None:
    assert set(UPNP) == {
        "off",
        "no-listener",
        "pending",
        "no-gateway",
        "double-nat",
        "refused",
        "mapped",
    }
    mapped = UpnpOut(code="mapped", external_ip="93.184.216.1", port=4001)
    assert mapped.english() == "TCP port 4001 mapped at 93.184.216.1"
    assert UpnpOut(code="double-nat").english().endswith("(?): a second NAT is in front")
    assert UpnpOut(code="off").english().startswith("not tried")
