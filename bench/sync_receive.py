"""The node's own receive path: a catch-up sync session, far side replayed.

What a node does when it catches up a log from a peer: `node.sync_session.drive`
over a SyncPeer on the node's ledger context (a real home, its SQLite store on the
storage thread, catalogue and all), each range frame ingested whole on the storage
thread. The far side's bytes are recorded once from a real SyncPeer serving the log
and replayed, so the figures hold only the receiving node's work (frame parsing,
decode, verify, log rules, Merkle, SQLite, views): no serving and no transport.
Signatures are checked the node's way, on every core (node.ops.verifier), and for
reference on the storage thread alone.
Figures only; bench.ledger prints them beside its ingest runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import trio

from ledger.log import Ledger
from ledger.store import MemoryLogStore
from ledger.syncpeer import SyncPeer
from node.net import sync as sync_session
from node.ops.context import LedgerContext, make_context
from node.runtime.deferred_checks import check_deferred_once
from node.runtime.service import LedgerRunner
from node.runtime.storage_thread import open_storage
from node.store.home import NodeHome
from node.store.logs import SqliteLogStore
from protocol.entry import check_signatures
from protocol.keys import SigningKey

T = TypeVar("T")


class Replay:
    """The far side of a recorded session: its bytes in the order it sent them."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(reversed(chunks))

    async def read_some(self, max_bytes: int, timeout_s: float) -> bytes:
        if not self.chunks:
            return b""
        chunk = self.chunks.pop()
        if len(chunk) > max_bytes:
            self.chunks.append(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        return chunk

    async def write(self, data: bytes, timeout_s: float) -> None:
        return None  # what we ask is what was asked when recording (a fresh ledger)


def record(author_db: Path, signing: SigningKey, network: bytes, author: bytes) -> list[bytes]:
    """The bytes a SyncPeer serving the log in `author_db` sends to an empty peer."""
    with SqliteLogStore(author_db) as store:
        far_ledger = Ledger(store)
        far_ledger.sign_checkpoint(signing, network, author)
        far = SyncPeer(far_ledger, network, keep_events=False)
        near = SyncPeer(Ledger(MemoryLogStore()), network, keep_events=False)
        far.start()
        near.start()
        sent: list[bytes] = []
        to_far, to_near = near.take_outbox(), far.take_outbox()
        while to_far or to_near:
            if to_near:
                sent.append(to_near)
                to_far += near.feed(to_near, 0)
            to_near = far.feed(to_far, 0) if to_far else b""
            to_far = b""
    return sent


def receive_rates(
    folder: Path,
    chunks: list[bytes],
    network_name: str,
    *,
    one_thread: bool = False,
    attested: bool = True,
) -> tuple[float, float, int]:
    """Entries/s of wall and of CPU time (all threads) for one replayed catch-up into
    a fresh node home, and the entries stored. The node checks signatures on every
    core (node.ops.verifier); `one_thread` checks them on the storage thread alone.
    `attested` (the node's way, specs/0003 §4.2): each range frame is authenticated by
    its checkpoint and its entries' own signatures are left to the deferred checks
    (not run here: see `catch_up_and_checks`); False checks every entry on receipt."""
    rate, cpu_rate, n, _ = _run(folder, chunks, network_name, one_thread, attested, False)
    return rate, cpu_rate, n


def catch_up_and_checks(
    folder: Path, chunks: list[bytes], network_name: str
) -> tuple[float, float, int]:
    """An attested catch-up, then the node's deferred checks run until none is left
    (node.runtime.deferred_checks, one thread of the verifier pool): entries/s of the
    catch-up alone, entries/s of catch-up and checks together, the entries stored."""
    rate, _, n, checks_s = _run(folder, chunks, network_name, False, True, True)
    return rate, n / (n / rate + checks_s), n


def _run(
    folder: Path,
    chunks: list[bytes],
    network_name: str,
    one_thread: bool,
    attested: bool,
    settle: bool,
) -> tuple[float, float, int, float]:
    name = "home" + ("-1" if one_thread else "") + ("" if attested else "-checked")
    home = NodeHome(folder / (name + ("-settled" if settle else "")))
    home.create_identity()
    home.set_development_network(network_name)
    return trio.run(_receive, home, chunks, one_thread, attested, settle)


async def _receive(
    home: NodeHome, chunks: list[bytes], one_thread: bool, attested: bool, settle: bool
) -> tuple[float, float, int, float]:
    async with open_storage(home.database) as storage:
        ctx = await storage.run(lambda store: make_context(home, store))
        ctx.ledger.attested_ranges = attested
        if one_thread:
            ctx.ledger.check_signatures = check_signatures

        async def on_ledger(fn: Callable[[LedgerContext], T]) -> T:
            return await storage.run(lambda _store: fn(ctx))

        peer = SyncPeer(ctx.ledger, ctx.network, keep_events=False)
        peer.start()
        start, cpu = time.perf_counter(), time.process_time()
        await sync_session.drive(peer, Replay(chunks), on_ledger)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        checks_s = 0.0
        if settle:
            runner = LedgerRunner(storage, ctx)
            start = time.perf_counter()
            while await check_deferred_once(runner):
                pass
            checks_s = time.perf_counter() - start
            assert await on_ledger(lambda c: c.store.count_unchecked()) == 0
        await storage.run(lambda _store: ctx.catalogue.close())
    if peer.rejected:
        raise peer.rejected[0]
    n = peer.entries_ingested
    return n / wall, n / cpu, n, checks_s
