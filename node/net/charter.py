"""The charter exchange, `/fabcommons/charter/1` (specs/0008-governance.md §1.3).

A stream protocol that hands a federation's charter to a joining node. The client
sends the 32-byte network id it wants; a node of that network answers with the
canonical charter bytes and closes (anything else: it closes with nothing).
`fetch_charter` judges what it got with protocol.governance.charter_from_answer,
which checks its hash against the network id, so no peer can hand out another
federation's charter.
"""

from __future__ import annotations

from collections.abc import Sequence

import trio

from node.net.host import HostConfig, P2PHost, Stream, open_host
from protocol.errors import CommonsError, RemoteFaultError
from protocol.governance import (
    MAX_CHARTER_BYTES,
    Charter,
    charter_bytes,
    charter_from_answer,
    charter_network_id,
)
from protocol.ids import ID_BYTES

CHARTER_PROTOCOL_ID = "/fabcommons/charter/1"
CHARTER_IO_TIMEOUT_S = 30.0


async def serve_charter(charter: Charter, stream: Stream) -> None:
    """Answer one charter request (the stream is closed by the caller)."""
    wanted = b""
    while len(wanted) < ID_BYTES:
        data = await stream.read_some(ID_BYTES - len(wanted), CHARTER_IO_TIMEOUT_S)
        if not data:
            return
        wanted += data
    if wanted == charter_network_id(charter):
        await stream.write(charter_bytes(charter), CHARTER_IO_TIMEOUT_S)


async def fetch_charter(host: P2PHost, maddr: str, network: bytes) -> Charter:
    """The charter of `network` from the peer at `maddr`, checked against the id."""
    peer = await host.connect(maddr)
    stream = await host.open_stream(peer, CHARTER_PROTOCOL_ID)
    try:
        await stream.write(network, CHARTER_IO_TIMEOUT_S)
        data = b""
        while len(data) <= MAX_CHARTER_BYTES:
            chunk = await stream.read_some(MAX_CHARTER_BYTES + 1 - len(data), CHARTER_IO_TIMEOUT_S)
            if not chunk:
                break
            data += chunk
    finally:
        await stream.close()
    return charter_from_answer(network, data)


async def fetch_charter_from(
    seed: bytes, bootstrap: Sequence[str], network: bytes, timeout_s: float
) -> Charter:
    """The charter of `network` from the first of the `bootstrap` peers that gives it,
    dialing from a short-lived host with our node key (`fabnode join`)."""
    config = HostConfig(key_seed=seed, listen=["/ip4/127.0.0.1/tcp/0"], bootstrap=[])
    errors: list[str] = []
    async with open_host(config) as host:
        for maddr in bootstrap:
            try:
                with trio.fail_after(timeout_s):
                    return await fetch_charter(host, maddr, network)
            except CommonsError as e:  # try the next peer
                errors.append(f"{maddr}: {e.code}: {e.message}")
            except trio.TooSlowError:
                errors.append(f"{maddr}: no charter within {timeout_s} s")
    raise RemoteFaultError(
        "remote.charter-unavailable", "no peer gave the charter: " + "; ".join(errors)
    )
