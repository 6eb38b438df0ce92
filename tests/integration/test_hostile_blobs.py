"""Hostile blob peers against real node processes (specs/0012 §5, findings 8 and 12).

The hostile peer is a raw libp2p host in the test (tests/hostile.py) that speaks
/fabcommons/blob/1 by hand: its frames are well formed, what they carry is garbage
(for a blob an honest node holds), or what it asks is more than its share. Honest
holders are `fabnode run` processes. Waits poll the node's status with a deadline.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from node.net.blob_exchange import TOO_MANY_STREAMS, ServeLimits
from node.net.streams import Stream
from node.store.blobs import BlobStore
from protocol.blob import (
    DEFAULT_MAX_BLOB_BYTES,
    MAX_CHUNK_BYTES,
    MAX_FRAME_BYTES,
    PROTOCOL_ID,
    BlobFetch,
    BlobServe,
    ChunkReceived,
    FetchEvent,
    Finished,
)
from protocol.errors import CommonsError, RemoteFaultError
from protocol.ids import id_from_text
from tests.cli_helpers import fabnode
from tests.hostile import TIMEOUT_S, hostile_host
from tests.node_process import api, running_node

pytestmark = pytest.mark.integration

MiB = MAX_CHUNK_BYTES
Handler = Callable[[Stream], Awaitable[None]]


def garbage_server(size: int, *, up_to: int | None = None) -> Handler:
    """Serves any blob as `size` bytes of garbage, in well-formed chunks: those that
    begin before `up_to` (all if None); at a want at or past it, the server goes away
    (closes the stream)."""

    async def handler(stream: Stream) -> None:
        serve = BlobServe()
        while data := await stream.read_some(MAX_FRAME_BYTES, TIMEOUT_S):
            serve.receive_data(data)
            while (want := serve.next_request()) is not None:
                if up_to is not None and want.offset >= up_to:
                    return
                garbage = b"\xee" * min(want.length, size - want.offset)
                await stream.write(
                    serve.respond_chunk(want.blob, want.offset, size, garbage), TIMEOUT_S
                )

    return handler


async def next_event(stream: Stream, fetch: BlobFetch) -> FetchEvent:
    """The next event of our side of a blob conversation, reading as needed."""
    while (event := fetch.next_event()) is None:
        data = await stream.read_some(MAX_FRAME_BYTES, TIMEOUT_S)
        assert data, "the node closed the stream"
        fetch.receive_data(data)
    return event


async def status_of(home: Path) -> dict[str, Any]:
    status: dict[str, Any] = await trio.to_thread.run_sync(api, home, "GET", "/api/v1/status")
    return status


async def wait_status(home: Path, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    with trio.fail_after(60):
        while not check(status := await status_of(home)):
            await trio.sleep(0.1)
    return status


async def fetch_via_api(home: Path, blob: str) -> dict[str, Any]:
    out: dict[str, Any] = await trio.to_thread.run_sync(
        api, home, "POST", f"/api/v1/blobs/{blob}/fetch"
    )
    return out


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)


def make_home(tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    assert fabnode("init", home=home)[0] == 0
    return home


def add_blob(tmp_path: Path, home: Path, data: bytes) -> str:
    """`fabnode blob add` on a home whose node is not running; the blob's id text."""
    part = tmp_path / "part.stl"
    part.write_bytes(data)
    status, added = fabnode("blob", "add", part, home=home)
    assert status == 0
    return str(added["blob"])


async def test_a_hostile_prefix_is_never_resumed_from_an_honest_peer(tmp_path: Path) -> None:
    """Finding 8: a hostile server sends two chunks of garbage for a blob and goes
    away. The fetcher keeps them as that server's partial, and asks it first next
    time (to resume it); when it goes away again, the honest holder is asked, and the
    garbage is dropped, not resumed with honest bytes: the fetch succeeds."""
    fetcher, holder = make_home(tmp_path, "fetcher"), make_home(tmp_path, "holder")
    data = random.Random(8).randbytes(3 * MiB + 5)
    blob = add_blob(tmp_path, holder, data)
    blob_id = id_from_text(blob)
    store = BlobStore(fetcher / "blobs")
    with running_node(fetcher) as (proc, ready):
        async with hostile_host() as host:
            host.set_stream_handler(PROTOCOL_ID, garbage_server(len(data), up_to=2 * MiB))
            await host.connect(ready["listen"][0])
            await wait_status(fetcher, lambda s: host.peer_id in s["peers"])
            with pytest.raises(CommonsError) as err:
                await fetch_via_api(fetcher, blob)
            assert err.value.code == "remote.blob-unavailable"
            assert store.partial_source(blob_id) == host.peer_id
            assert store.partial_path(blob_id).stat().st_size == 2 * MiB
            with running_node(holder, "--bootstrap", ready["listen"][0]) as (_, honest):
                await wait_status(fetcher, lambda s: honest["peer_id"] in s["peers"])
                got = await fetch_via_api(fetcher, blob)
        assert got["status"] == "stored" and got["peer"] == honest["peer_id"]
        assert got["tried"] == [{"peer": host.peer_id, "code": "remote.closed"}]
        assert got["dropped_bytes"] == 2 * MiB
        assert store.path_of(blob_id).read_bytes() == data
        status = await status_of(fetcher)
        assert status["sync"]["refused"][host.peer_id] == {"remote.closed": 2}  # 0.25 each
        assert host.peer_id not in status["banned_peers"]
        stop(proc)


async def test_bytes_that_fail_the_hash_cost_their_sender_until_it_is_banned(
    tmp_path: Path,
) -> None:
    """Finding 8: every byte of a partial comes from one peer, so when the whole
    blob fails its hash that peer is charged a whole penalty; a server that keeps
    sending garbage is banned (at 10, less what has decayed) and disconnected."""
    fetcher = make_home(tmp_path, "fetcher")
    blob = "b" + "a" * 52  # SHA-256 of nothing anyone holds
    with running_node(fetcher) as (proc, ready):
        async with hostile_host() as host:
            host.set_stream_handler(PROTOCOL_ID, garbage_server(64 * 1024))
            await host.connect(ready["listen"][0])
            await wait_status(fetcher, lambda s: host.peer_id in s["peers"])
            for _ in range(20):
                with pytest.raises(CommonsError) as err:
                    await fetch_via_api(fetcher, blob)
                assert err.value.code == "remote.blob-unavailable"
                status = await status_of(fetcher)
                if host.peer_id in status["banned_peers"]:
                    break
        assert host.peer_id in status["banned_peers"]
        refused = status["sync"]["refused"][host.peer_id]
        assert set(refused) == {"verify.blob-hash-mismatch"} and refused[
            "verify.blob-hash-mismatch"
        ] in range(10, 21)
        assert list((fetcher / "blobs" / "partial").iterdir()) == []  # garbage deleted
        stop(proc)


async def test_a_greedy_fetcher_gets_its_streams_and_no_more(tmp_path: Path) -> None:
    """Finding 12: a peer may hold two blob streams with a node; more are answered
    `error remote.too-many-streams` and closed, each charged lightly (eight of them
    do not ban it). When one of its streams ends, it may open another."""
    holder = make_home(tmp_path, "holder")
    data = random.Random(12).randbytes(3 * MiB + 7)
    blob_id = id_from_text(add_blob(tmp_path, holder, data))
    per_peer = ServeLimits().streams_per_peer
    with running_node(holder) as (proc, ready):
        async with hostile_host() as host:
            node = await host.connect(ready["listen"][0])
            held = []
            for _ in range(per_peer):  # each stream admitted and served a chunk
                stream = await host.open_stream(node, PROTOCOL_ID)
                fetch = BlobFetch(blob_id, DEFAULT_MAX_BLOB_BYTES)
                await stream.write(fetch.send_next() or b"", TIMEOUT_S)
                assert isinstance(await next_event(stream, fetch), ChunkReceived)
                held.append(stream)
            for _ in range(8):
                extra = await host.open_stream(node, PROTOCOL_ID)
                with pytest.raises(RemoteFaultError) as err:
                    await next_event(extra, BlobFetch(blob_id, DEFAULT_MAX_BLOB_BYTES))
                assert err.value.details.get("peer_code") == TOO_MANY_STREAMS
                await extra.close()
            status = await status_of(holder)
            assert status["sync"]["refused"][host.peer_id] == {TOO_MANY_STREAMS: 8}
            assert host.peer_id not in status["banned_peers"]
            await held[0].close()  # one ends: another may start, and is served whole
            with trio.fail_after(60):  # (refused while the node has not seen the end yet)
                while True:
                    stream = await host.open_stream(node, PROTOCOL_ID)
                    fetch = BlobFetch(blob_id, DEFAULT_MAX_BLOB_BYTES)
                    with contextlib.suppress(CommonsError):  # a refused stream may be closed
                        await stream.write(fetch.send_next() or b"", TIMEOUT_S)
                    try:
                        event = await next_event(stream, fetch)
                    except RemoteFaultError as e:
                        assert e.details.get("peer_code") == TOO_MANY_STREAMS
                        continue
                    break
            received = bytearray()
            while not isinstance(event, Finished):
                if isinstance(event, ChunkReceived):
                    received += event.data
                while (want := fetch.send_next()) is not None:
                    await stream.write(want, TIMEOUT_S)
                event = await next_event(stream, fetch)
            assert hashlib.sha256(received).digest() == blob_id
        stop(proc)
