"""The node's sync session driver (node.sync_session): a catch-up stored whole, a
bad frame refused whole with the outcome of a plain SyncPeer session, a stream
failure raised as itself with every committed frame kept.

The node side is real: a node home, its SQLite store on the storage thread, its
ledger context with catalogue. The far side is a real SyncPeer over a memory ledger,
reached through an in-process byte pipe that can be told to tamper or to fail.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest
import trio

from ledger.log import Ledger
from ledger.store import MemoryLogStore
from ledger.syncpeer import SyncPeer
from node.net import sync as sync_session
from node.ops.context import LedgerContext, make_context
from node.runtime.storage_thread import StorageThread, open_storage
from node.store.home import NodeHome
from protocol.errors import CommonsError, RemoteFaultError
from protocol.sync import Head, SyncFilter
from tests.factory import NETWORK
from tests.sync_harness import authors, ledger_with

T = TypeVar("T")
FRAME_BYTES = 64 * 1024  # the far side's frames: the big log takes ~25


class Pipe:
    """Bytes to and from a SyncPeer in this process. `tamper` rewrites what the far
    side sends; after `fail_after` bytes were read, reading raises a remote timeout."""

    def __init__(self, far: SyncPeer, *, fail_after: int | None = None) -> None:
        self.far, self.pending, self.reads, self.fail_after = far, bytearray(), 0, fail_after
        self.tamper: Callable[[bytes], bytes] = lambda data: data
        self.written = trio.Event()
        far.start()
        self.pending += far.take_outbox()

    async def read_some(self, max_bytes: int, timeout_s: float) -> bytes:
        """What the far side sent; waits for it as a stream does (the driver reads
        ahead); b"" once the far side has nothing more to say."""
        if self.fail_after is not None and self.reads >= self.fail_after:
            raise RemoteFaultError("remote.timeout", "the far side went quiet")
        while not self.pending and not self.far.conn.is_finished:
            self.written = trio.Event()
            await self.written.wait()
        data = bytes(self.pending[:max_bytes])
        del self.pending[:max_bytes]
        self.reads += len(data)
        return data

    async def write(self, data: bytes, timeout_s: float) -> None:
        self.pending += self.tamper(self.far.feed(data, 0))
        self.written.set()


class Node:
    def __init__(self, storage: StorageThread, ctx: LedgerContext) -> None:
        self.storage, self.ctx = storage, ctx

    async def on_ledger(self, fn: Callable[[LedgerContext], T]) -> T:
        return await self.storage.run(lambda _store: fn(self.ctx))


@asynccontextmanager
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    home = NodeHome(tmp_path / "home")
    home.create_identity()
    home.set_development_network("tests")
    async with open_storage(home.database) as storage:
        ctx = await storage.run(lambda store: make_context(home, store))
        try:
            yield Node(storage, ctx)
        finally:
            await storage.run(lambda _store: ctx.catalogue.close())


def source() -> Ledger:
    return ledger_with({"big": None, "rot": None, "small": None, "designer": None})


def sizes(ledger: Ledger) -> dict[bytes, int]:
    return {h.author: h.size for h in ledger.heads()}


async def test_a_catch_up_stores_every_log_whole(tmp_path: Path) -> None:
    far = source()
    async with node(tmp_path) as here:
        peer = SyncPeer(here.ctx.ledger, NETWORK, keep_events=False)
        peer.start()
        seen: list[int] = []
        await sync_session.drive(
            peer,
            Pipe(SyncPeer(far, NETWORK, target_bytes=FRAME_BYTES)),
            here.on_ledger,
            lambda p: seen.append(p.entries_ingested),
        )
        assert peer.conn.is_finished and peer.rejected == []
        assert await here.on_ledger(lambda ctx: sizes(ctx.ledger)) == sizes(far)
        for name in ("big", "rot", "small"):
            author = authors()[name].id
            assert await here.on_ledger(root_of(author)) == far.tree(NETWORK, author).root()
        total = sum(len(authors()[n].entries) for n in ("big", "rot", "small", "designer"))
        assert seen == sorted(seen) and seen[-1] == peer.entries_ingested == total
        # Committed frames reach the views: the designer's entry is indexed (or its skip).
        seen_by_catalogue = await here.on_ledger(
            lambda ctx: ctx.catalogue.count() + len(ctx.catalogue.skipped())
        )
        assert seen_by_catalogue == 1


async def test_the_kinds_filter_is_answered_from_the_index(tmp_path: Path) -> None:
    """specs/0012 §5 finding 4: a hello's kinds filter is answered by one query of
    the catalogue's log_kinds table, with the same heads as reading every log."""
    far = source()
    async with node(tmp_path) as here:
        peer = SyncPeer(here.ctx.ledger, NETWORK, keep_events=False)
        peer.start()
        await sync_session.drive(
            peer, Pipe(SyncPeer(far, NETWORK, target_bytes=FRAME_BYTES)), here.on_ledger
        )

        def both(kinds: tuple[str, ...]) -> tuple[list[Head], list[Head]]:
            wanted = SyncFilter(kinds=kinds)
            indexed = SyncPeer(
                here.ctx.ledger, NETWORK, kinds_index=here.ctx.catalogue.authors_with_kinds
            )
            read = SyncPeer(here.ctx.ledger, NETWORK)
            return indexed.servable_heads(wanted), read.servable_heads(wanted)

        for kinds in (("design.publish",), ("note",), ("key.rotate", "no.such-kind"), ()):
            indexed, read = await here.on_ledger(functools.partial(_both, both, kinds))
            assert indexed == read
        designers = await here.on_ledger(lambda _ctx: both(("design.publish",))[0])
        assert [h.author for h in designers] == [authors()["designer"].id]


def _both(
    both: Callable[[tuple[str, ...]], tuple[list[Head], list[Head]]],
    kinds: tuple[str, ...],
    _ctx: LedgerContext,
) -> tuple[list[Head], list[Head]]:
    return both(kinds)


def root_of(author: bytes) -> Callable[[LedgerContext], bytes]:
    return lambda ctx: ctx.ledger.tree(NETWORK, author).root()


def flip_in_entries(data: bytes) -> bytes:
    """Flip one byte inside the first big entry of what the far side sends."""
    marker = b"entry 1000 "
    at = data.find(marker)
    if at < 0:
        return data
    flipped = bytearray(data)
    flipped[at] ^= 0x20
    return bytes(flipped)


async def test_a_bad_frame_is_skipped_whole_as_when_ingested_in_turn(tmp_path: Path) -> None:
    far = source()
    direct = ledger_with({})
    reference = SyncPeer(direct, NETWORK, keep_events=False)
    reference_pipe = Pipe(SyncPeer(far, NETWORK, target_bytes=FRAME_BYTES))
    reference_pipe.tamper = flip_in_entries
    reference.start()
    async with node(tmp_path) as here:
        peer = SyncPeer(here.ctx.ledger, NETWORK, keep_events=False)
        peer.start()
        pipe = Pipe(SyncPeer(far, NETWORK, target_bytes=FRAME_BYTES))
        pipe.tamper = flip_in_entries
        await sync_session.drive(peer, pipe, here.on_ledger)
        stored = await here.on_ledger(lambda ctx: sizes(ctx.ledger))
    await run_in_turn(reference, reference_pipe)
    assert [e.code for e in peer.rejected] == [e.code for e in reference.rejected] != []
    assert stored == sizes(direct)
    big = authors()["big"].id
    assert 0 < stored[big] < 1001  # the frames before the bad one, nothing of it


async def run_in_turn(peer: SyncPeer, pipe: Pipe) -> None:
    """The unpipelined reference: every byte fed to `peer`, frames ingested as read."""
    await pipe.write(peer.take_outbox(), 1.0)
    while not peer.conn.is_finished:
        data = await pipe.read_some(sync_session.READ_BYTES, 1.0)
        out = peer.feed(data, 0)
        if out:
            await pipe.write(out, 1.0)
        if not data:
            break


async def test_a_stream_failure_stops_the_session_and_keeps_whole_frames(tmp_path: Path) -> None:
    far = source()
    async with node(tmp_path) as here:
        peer = SyncPeer(here.ctx.ledger, NETWORK, keep_events=False)
        peer.start()
        with pytest.raises(CommonsError) as caught:
            await sync_session.drive(
                peer,
                Pipe(SyncPeer(far, NETWORK, target_bytes=FRAME_BYTES), fail_after=600_000),
                here.on_ledger,
            )
        assert caught.value.code == "remote.timeout"
        big = authors()["big"]
        size = (await here.on_ledger(lambda ctx: sizes(ctx.ledger))).get(big.id, 0)
        assert 0 < size < len(big.entries)
        stored = await here.on_ledger(
            lambda ctx: ctx.store.read_entries(NETWORK, big.id, 1, size + 1)
        )
        assert stored == [e.raw for e in big.entries[:size]]
        # and a later session finishes the job
        again = SyncPeer(here.ctx.ledger, NETWORK, keep_events=False)
        again.start()
        await sync_session.drive(
            again, Pipe(SyncPeer(far, NETWORK, target_bytes=FRAME_BYTES)), here.on_ledger
        )
        assert await here.on_ledger(lambda ctx: sizes(ctx.ledger)) == sizes(far)


class Trickle:
    """A peer that says hello and heads, then sends `tail` a piece at a time, one
    piece every `every_s` seconds (of trio's clock), and never finishes."""

    def __init__(self, tail: bytes, piece: int, every_s: float) -> None:
        far = SyncPeer(Ledger(MemoryLogStore()), NETWORK)
        far.start()
        self.opening = far.take_outbox()
        self.far, self.tail, self.piece, self.every_s = far, tail, piece, every_s
        self.opened = False

    async def read_some(self, max_bytes: int, timeout_s: float) -> bytes:
        if not self.opened:
            self.opened = True
            return self.opening
        await trio.sleep(self.every_s)
        data, self.tail = self.tail[: self.piece], self.tail[self.piece :]
        return data or b"\x00"

    async def write(self, data: bytes, timeout_s: float) -> None:
        self.opening += self.far.feed(data, 0) if not self.opened else b""


async def trickled(tmp_path: Path, stream: Trickle) -> CommonsError:
    home = NodeHome(tmp_path / "home")
    home.create_identity()
    home.set_development_network("tests")
    ctx = make_context(home, MemoryLogStore())  # inline, so the mock clock sees no thread

    async def on_ledger(fn: Callable[[LedgerContext], T]) -> T:
        return fn(ctx)

    peer = SyncPeer(ctx.ledger, NETWORK, keep_events=False)
    peer.start()
    budget = sync_session.BufferBudget()
    with pytest.raises(CommonsError) as caught:
        await sync_session.drive(peer, stream, on_ledger, budget=budget)
    ctx.catalogue.close()
    assert budget.total_bytes == 0  # a session gives back its share when it ends
    return caught.value


async def test_a_peer_trickling_bytes_is_cut_off(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """specs/0012 §5 finding 2: one byte every 20 s keeps a stream alive past any idle
    timeout, but not past the minimum rate (16 KiB a minute, after the first minute)."""
    began = trio.current_time()
    error = await trickled(tmp_path, Trickle(b"", piece=1, every_s=20.0))
    assert error.code == "remote.too-slow"
    assert trio.current_time() - began <= 2 * sync_session.SessionLimits().window_s + 20


async def test_a_frame_begun_must_end_in_time(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """A 1 MiB frame sent fast enough for the rate rule but too slowly to end within
    the frame deadline (120 s) ends the session."""
    frame = (1 << 20).to_bytes(4, "big") + bytes(1 << 20)
    began = trio.current_time()
    error = await trickled(tmp_path, Trickle(frame, piece=4096, every_s=10.0))
    assert error.code == "remote.too-slow"
    assert trio.current_time() - began <= sync_session.SessionLimits().frame_deadline_s + 20


def test_the_buffer_budget_refuses_what_passes_its_limit() -> None:
    budget = sync_session.BufferBudget(limit_bytes=100)
    budget.update(1, 60)
    with pytest.raises(RemoteFaultError) as caught:
        budget.update(2, 41)
    assert caught.value.code == "remote.over-budget"
    budget.update(2, 40)
    budget.update(1, 0)
    assert budget.total_bytes == 40
