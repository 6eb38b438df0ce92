"""A hostile sync peer for tests: a raw libp2p host that speaks /fabcommons/sync/1 by
hand against a real `fabnode run` process (specs/0012 §5).

It drives its own `SyncConnection` so every frame it sends is well formed: what is
hostile is only what the frames claim. Memory is read from /proc, so a test states
its bound on the node's resident set, not on time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from node.net.host import HostConfig, P2PHost, open_host
from node.net.streams import Stream
from protocol.sync import Event, Hello, Message, NeedData, SyncConnection
from protocol.sync_limits import SYNC_PROTOCOL_ID

E = TypeVar("E", bound=Event)
READ_BYTES = 256 * 1024
TIMEOUT_S = 60.0


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """The resident set of process `pid` (VmRSS in /proc/PID/status), or its peak
    (`field="VmHWM"`)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


@dataclass
class HostileSession:
    """One sync stream to the node, with our side's machine."""

    stream: Stream
    conn: SyncConnection
    peer_id: str  # ours, as the node sees it

    async def send(self, *messages: Message) -> None:
        data = b"".join(self.conn.send(m, now_ms=0) for m in messages)
        await self.stream.write(data, TIMEOUT_S)

    async def next_event(self) -> Event:
        """The node's next message (reading as needed); fails the test on a timeout."""
        while True:
            event = self.conn.next_event()
            if not isinstance(event, NeedData):
                return event
            data = await self.stream.read_some(READ_BYTES, TIMEOUT_S)
            self.conn.receive_data(data, now_ms=0)

    async def wait_for(self, kind: type[E]) -> E:
        """The node's next message of type `kind`, skipping others."""
        while not isinstance(event := await self.next_event(), kind):
            pass
        return event


@asynccontextmanager
async def hostile_host(
    name: str = "hostile", *, seed: bytes | None = None
) -> AsyncIterator[P2PHost]:
    """A raw libp2p host: of the identity `seed` makes, or a fresh one."""
    seed = seed or hashlib.sha256(b"hostile/" + name.encode() + os.urandom(8)).digest()
    async with open_host(HostConfig(key_seed=seed)) as host:
        yield host


async def open_session(host: P2PHost, peer: str, network: bytes) -> HostileSession:
    """One more sync stream from `host` to `peer`, our hello not sent yet."""
    stream = await host.open_stream(peer, SYNC_PROTOCOL_ID)
    return HostileSession(stream, SyncConnection(network, now_ms=0), host.peer_id)


@asynccontextmanager
async def hostile_session(
    listen: str, network: bytes, *, name: str = "hostile"
) -> AsyncIterator[HostileSession]:
    """A raw host named `name` connected to the node at `listen`, one sync stream open
    and our hello sent."""
    seed = hashlib.sha256(b"hostile/" + name.encode() + os.urandom(8)).digest()
    async with open_host(HostConfig(key_seed=seed)) as host:
        peer = await host.connect(listen)
        stream = await host.open_stream(peer, SYNC_PROTOCOL_ID)
        session = HostileSession(stream, SyncConnection(network, now_ms=0), host.peer_id)
        await session.send(Hello(network))
        yield session
        await stream.reset()
