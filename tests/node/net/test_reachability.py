"""Dial-back (specs/0014 §6) between real libp2p hosts on 127.0.0.1, in this process."""

from __future__ import annotations

import hashlib
import socket

import trio

from ledger.reachability import VERDICT_TTL_MS
from node.net.host import HostConfig, open_host
from node.net.reachability import DIALBACK_PROTOCOL_ID, Reachability
from node.ops.doctor import listen_port


def seed(i: int) -> bytes:
    return hashlib.sha256(b"reachability host %d" % i).digest()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once closed


async def test_a_dial_back_opens_a_new_connection_and_fails_where_none_listens() -> None:
    async with (
        open_host(HostConfig(key_seed=seed(1))) as a,
        open_host(HostConfig(key_seed=seed(2))) as b,
    ):
        await b.connect(a.listen_addrs[0])
        port = listen_port(b.listen_addrs)
        assert port is not None
        assert a.remote_ip(b.peer_id) == "127.0.0.1"
        assert await a.dial_back(b.peer_id, "127.0.0.1", port, 10.0)
        # already connected, yet a port with no listener is "not reached": libp2p's
        # AutoNAT would have reused the open connection and said yes (0014 §1.2)
        assert not await a.dial_back(b.peer_id, "127.0.0.1", closed_port(), 10.0)
        assert [c.relayed for c in b.connections() if c.peer == a.peer_id] == [False]


async def test_asking_peers_fills_the_tally_and_a_repeat_is_refused() -> None:
    async with (
        open_host(HostConfig(key_seed=seed(3))) as a,
        open_host(HostConfig(key_seed=seed(4))) as b,
        open_host(HostConfig(key_seed=seed(5))) as c,
    ):
        servers = {a: Reachability(a), c: Reachability(c)}
        for host, served in servers.items():
            host.set_stream_handler(DIALBACK_PROTOCOL_ID, served.serve)
            await b.connect(host.listen_addrs[0])
        client = Reachability(b)
        assert client.tally.status(0) == "unknown"
        asked = client.due({a.peer_id, c.peer_id})
        assert sorted(asked) == sorted([a.peer_id, c.peer_id])
        assert client.due({a.peer_id, c.peer_id}) == []  # asked already
        for peer in asked:
            await client.ask(peer)
        now = int(trio.current_time() * 1000)  # the driver's clock, as the node reads it
        verdicts = client.tally.verdicts(now)
        assert {(v.server, v.reached) for v in verdicts} == {(a.peer_id, True), (c.peer_id, True)}
        assert client.tally.status(now) == "public"
        assert client.tally.status(now + VERDICT_TTL_MS) == "unknown"  # they age out
        again = Reachability(b)  # a fresh client asks a again at once: a refuses it
        await again.ask(a.peer_id)
        assert again.tally.verdicts(now) == []
