"""Connections that never handshake cannot keep honest nodes out (specs/0012 §5,
finding 9): a real node, a host holding hundreds of raw TCP connections open from one
address (127.0.0.2, still loopback), and an honest libp2p host dialing from another."""

from __future__ import annotations

import contextlib
import hashlib
import socket
from pathlib import Path

import pytest
import trio

from node.net.host import MAX_INBOUND_PER_IP, HostConfig, open_host
from protocol.ids import id_from_text
from protocol.sync_limits import SYNC_PROTOCOL_ID
from tests.cli_helpers import fabnode
from tests.node_process import api, running_node

pytestmark = pytest.mark.integration

IDLE_CONNECTIONS = 320  # more than libp2p's 292 inbound slots


def port_of(listen: str) -> int:
    parts = listen.split("/")
    return int(parts[parts.index("tcp") + 1])


def hold_idle(port: int, count: int) -> list[socket.socket]:
    """`count` connections from 127.0.0.2 that never send a byte."""
    held = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.2", 0))
        with contextlib.suppress(OSError):
            sock.connect(("127.0.0.1", port))
        held.append(sock)
    return held


def still_open(sockets: list[socket.socket]) -> int:
    """How many of `sockets` the node has not closed (a closed one reads EOF)."""
    alive = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            alive += sock.recv(1) != b""
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


async def test_idle_connections_from_one_address_leave_room_for_honest_nodes(
    tmp_path: Path,
) -> None:
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    with running_node(home) as (_, ready):
        status = await trio.to_thread.run_sync(api, home, "GET", "/api/v1/status")
        network = id_from_text(status["network"]["id"])
        held = await trio.to_thread.run_sync(
            hold_idle, port_of(ready["listen"][0]), IDLE_CONNECTIONS
        )
        try:
            seed = hashlib.sha256(b"an honest lab").digest()
            async with open_host(HostConfig(key_seed=seed)) as honest:
                with trio.fail_after(30):
                    peer = await honest.connect(ready["listen"][0])
                    stream = await honest.open_stream(peer, SYNC_PROTOCOL_ID)
                    await stream.reset()
            assert network  # the node was reachable on its network's protocol
            with trio.fail_after(30):  # the node closes what passes the per-address cap
                while still_open(held) > MAX_INBOUND_PER_IP:
                    await trio.sleep(0.2)
        finally:
            for sock in held:
                sock.close()
