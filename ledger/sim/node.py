"""Simulated nodes running the real gossip validation, ingest and sync (specs/0013 §2-§3).

Each `SimNode` holds a real `Ledger` over a `MemoryLogStore`; `Federation` moves the
real encoded bytes between them with `Links` and a `Scheduler`, following the node's
policy (node/network.py): announcements are validated by `gossip.check_announcement`
before being forwarded to the mesh, then applied as `Network._apply` does (a gap or a newer
checkpoint makes the sender a sync target, fork proofs are stored and re-announced);
each node syncs with every peer at most every SYNC_INTERVAL_MS, at once on
connect/restart and on gaps, at most MAX_PARALLEL_SYNCS at a time, each session two
real `SyncPeer`s exchanging their outboxes over the link. Only the transport and the
clock are simulated. Pure: no I/O, no real clock.
"""

from __future__ import annotations

import functools
import hashlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger import gossip
from ledger.log import Ledger
from ledger.sim.world import Links, Scheduler
from ledger.store import MemoryLogStore
from ledger.syncpeer import SyncPeer
from protocol import kinds
from protocol.announce import (
    MAX_ANNOUNCE_ENTRIES,
    Announcement,
    Verdict,
    encode_announcement,
)
from protocol.entry import Entry
from protocol.errors import CommonsError
from protocol.identity import identity_id
from protocol.keys import SigningKey

SYNC_INTERVAL_MS = 30_000  # node.network.SYNC_INTERVAL_S
MAX_PARALLEL_SYNCS = 4  # node.network.MAX_PARALLEL_SYNCS
IO_TIMEOUT_MS = 30_000  # node.network.IO_TIMEOUT_S: a stalled session fails after it
ANNOUNCE_ENTRIES_AT_MOST = 4 * MAX_ANNOUNCE_ENTRIES
BASE_TIME_MS = 1_767_225_600_000  # virtual time 0 is 2026-01-01T00:00:00Z


@dataclass
class Identity:
    signing: SigningKey
    recovery: SigningKey
    id: bytes

    @classmethod
    def from_seed(cls, seed: bytes) -> Identity:
        signing = SigningKey(hashlib.sha256(b"sim/signing/" + seed).digest())
        recovery = SigningKey(hashlib.sha256(b"sim/recovery/" + seed).digest())
        return cls(signing, recovery, identity_id(signing.public, recovery.public))


@dataclass
class NodeStats:
    accepted: int = 0
    rejected: int = 0
    ignored: int = 0
    gossip_entries_stored: int = 0
    syncs_completed: int = 0
    syncs_failed: int = 0
    sync_entries_stored: int = 0
    gossip_bytes: int = 0
    sync_bytes: int = 0


@dataclass
class SimNode:
    index: int
    store: MemoryLogStore
    skew_ms: int
    peers: list[int] = field(default_factory=list)
    identity: Identity | None = None
    byzantine: bool = False
    ledger: Ledger = field(init=False)
    #: An equivocator's second branch, shown to the peers in `alt_peers`.
    alt_ledger: Ledger | None = None
    alt_peers: frozenset[int] = frozenset()
    epoch: int = 0  # bumped by each crash: timers and sessions of an older epoch are void
    seen: set[bytes] = field(default_factory=set)  # gossipsub's seen cache (memory only)
    last_sync_ms: dict[int, int] = field(default_factory=dict)
    syncing: set[int] = field(default_factory=set)
    waiting: deque[int] = field(default_factory=deque)
    acknowledged: list[bytes] = field(default_factory=list)  # ids of our committed appends
    stats: NodeStats = field(default_factory=NodeStats)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.store)

    def ledger_for(self, peer: int) -> Ledger:
        if self.alt_ledger is not None and peer in self.alt_peers:
            return self.alt_ledger
        return self.ledger


@dataclass
class Session:
    """One sync stream from `a` (who opened it) to `b`, both ends real SyncPeers."""

    a: int
    b: int
    epochs: tuple[int, int]
    peers: tuple[SyncPeer, SyncPeer]
    done: bool = False


class Federation:
    def __init__(self, nodes: list[SimNode], links: Links, sched: Scheduler, network: bytes):
        self.nodes = nodes
        self.links = links
        self.sched = sched
        self.network = network
        self.written_ms: dict[bytes, int] = {}  # entry id -> when its author committed it
        self.delays_ms: list[int] = []  # for each (node, entry) stored: storing - commit time

    def clock_ms(self, node: SimNode) -> int:
        return BASE_TIME_MS + self.sched.now_ms + node.skew_ms

    # -- writing (node.operations.append_own) ------------------------------------------
    def append(self, node: SimNode, items: Sequence[tuple[str, dict[str, Any]]]) -> list[bytes]:
        """Commit entries to the node's own log with a fresh checkpoint; announce them."""
        raws = self.commit(node, items)
        note = node.ledger.latest_checkpoint(self.network, self._author(node))
        self.announce(node, raws, note.text if note else None)
        return raws

    def commit(self, node: SimNode, items: Sequence[tuple[str, dict[str, Any]]]) -> list[bytes]:
        ident = node.identity
        assert ident is not None
        todo = list(items)
        if node.ledger.head(self.network, ident.id) is None:
            inception = {"signing_key": ident.signing.public, "recovery_key": ident.recovery.public}
            todo.insert(0, (kinds.INCEPTION, inception))
        made = node.ledger.append(ident.signing, self.network, ident.id, todo, self.clock_ms(node))
        node.ledger.sign_checkpoint(ident.signing, self.network, ident.id)
        node.acknowledged += [e.id for e in made]
        for e in made:
            self.written_ms[e.id] = self.sched.now_ms
        return [e.raw for e in made]

    def _author(self, node: SimNode) -> bytes:
        assert node.identity is not None
        return node.identity.id

    # -- gossip --------------------------------------------------------------------------
    def announce(
        self,
        node: SimNode,
        entries: Sequence[bytes],
        checkpoint: bytes | None,
        forks: Sequence[bytes] = (),
        to: Sequence[int] | None = None,
    ) -> None:
        """node.network.Network.announce: small batches, a burst by its checkpoint alone."""
        if len(entries) > ANNOUNCE_ENTRIES_AT_MOST:
            entries = []
        chunks = [
            list(entries[i : i + MAX_ANNOUNCE_ENTRIES])
            for i in range(0, len(entries), MAX_ANNOUNCE_ENTRIES)
        ] or [[]]
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            data = encode_announcement(
                self.network,
                chunk,
                [checkpoint] if last and checkpoint else [],
                forks if last else [],
            )
            node.seen.add(hashlib.sha256(data).digest())
            self.flood(node, data, None, to)

    def flood(
        self, node: SimNode, data: bytes, source: int | None, to: Sequence[int] | None = None
    ) -> None:
        for peer in node.peers if to is None else to:
            if peer == source:
                continue
            node.stats.gossip_bytes += len(data)
            delay = self.links.send(node.index, peer, len(data), lossy=True)
            if delay is not None:
                self.sched.after(delay, functools.partial(self.receive, peer, node.index, data))

    def receive(self, index: int, source: int, data: bytes) -> None:
        node = self.nodes[index]
        if index in self.links.down or node.byzantine:
            return
        msg_id = hashlib.sha256(data).digest()
        if msg_id in node.seen:
            return
        node.seen.add(msg_id)
        result = gossip.check_announcement(data, self.network, node.ledger)
        if result.verdict is Verdict.REJECT:
            node.stats.rejected += 1
            return
        if result.verdict is Verdict.IGNORE or result.announcement is None:
            node.stats.ignored += 1
            return
        node.stats.accepted += 1
        self.flood(node, data, source)
        self.apply(node, source, result.announcement)

    def apply(self, node: SimNode, source: int, announcement: Announcement) -> None:
        """node.network.Network._apply, for one announcement."""
        ledger = node.ledger
        report = ledger.ingest_entries(announcement.entries)
        node.stats.gossip_entries_stored += len(report.accepted)
        self._stored(report.accepted)
        forks = [p.raw for p in report.forks]
        learned = gossip.learn(ledger, self.network, announcement)
        forks += learned.new_forks
        behind = learned.ahead or any(
            (e.network, e.author) in report.gaps for e in announcement.entries
        )
        if behind:
            self.want_sync(node, source)
        if forks:
            self.announce(node, [], None, forks[:4])

    def _stored(self, entries: Sequence[Entry]) -> None:
        now = self.sched.now_ms
        self.delays_ms += [now - self.written_ms[e.id] for e in entries if e.id in self.written_ms]

    # -- sync --------------------------------------------------------------------------
    def start_node(self, node: SimNode) -> None:
        """On start or restart: sync with every peer at once, then every interval."""
        for peer in node.peers:
            self.want_sync(node, peer)
        self._tick(node, node.epoch)

    def _tick(self, node: SimNode, epoch: int) -> None:
        if epoch != node.epoch or node.index in self.links.down:
            return
        due = self.sched.now_ms - SYNC_INTERVAL_MS
        for peer in node.peers:
            if node.last_sync_ms.get(peer, -SYNC_INTERVAL_MS) <= due:
                self.want_sync(node, peer)
        last = [node.last_sync_ms.get(p, self.sched.now_ms) for p in node.peers]
        wake = max(min(last, default=self.sched.now_ms) + SYNC_INTERVAL_MS, self.sched.now_ms)
        self.sched.at(wake + 1000, functools.partial(self._tick, node, epoch))

    def want_sync(self, node: SimNode, peer: int) -> None:
        if node.byzantine or node.index in self.links.down or peer in node.syncing:
            return
        if peer in node.waiting:
            return
        if len(node.syncing) >= MAX_PARALLEL_SYNCS:
            node.waiting.append(peer)
            return
        self._open(node, peer)

    def _open(self, node: SimNode, peer: int) -> None:
        node.syncing.add(peer)
        node.last_sync_ms[peer] = self.sched.now_ms
        other = self.nodes[peer]
        if not self.links.connected(node.index, peer):
            self.sched.after(
                IO_TIMEOUT_MS, functools.partial(self._release, node, peer, node.epoch)
            )
            node.stats.syncs_failed += 1
            return
        a = SyncPeer(node.ledger_for(peer), self.network, now_ms=self.clock_ms(node))
        b = SyncPeer(other.ledger_for(node.index), self.network, now_ms=self.clock_ms(other))
        session = Session(node.index, peer, (node.epoch, other.epoch), (a, b))
        a.start()
        b.start()
        self._fly(session, 0, a.take_outbox())
        self._fly(session, 1, b.take_outbox())
        self.sched.after(4 * IO_TIMEOUT_MS, functools.partial(self._fail, session))

    def _fly(self, session: Session, side: int, data: bytes) -> None:
        if not data or session.done:
            return
        src, dst = (session.a, session.b) if side == 0 else (session.b, session.a)
        self.nodes[src].stats.sync_bytes += len(data)
        delay = self.links.send(src, dst, len(data), lossy=False)
        if delay is None:
            self.sched.after(IO_TIMEOUT_MS, functools.partial(self._fail, session))
            return
        self.sched.after(delay, functools.partial(self._arrive, session, 1 - side, data))

    def _arrive(self, session: Session, side: int, data: bytes) -> None:
        if session.done:
            return
        index = session.a if side == 0 else session.b
        node = self.nodes[index]
        if index in self.links.down or node.epoch != session.epochs[side]:
            self._fail(session)
            return
        peer = session.peers[side]
        try:
            out = peer.feed(data, self.clock_ms(node))
        except CommonsError:
            self._fail(session)
            return
        self._stored(peer.committed)
        peer.committed.clear()
        self._fly(session, side, out)
        if all(p.conn.is_finished for p in session.peers):
            self._finish(session, ok=True)

    def _fail(self, session: Session) -> None:
        if not session.done:
            self._finish(session, ok=False)

    def _finish(self, session: Session, *, ok: bool) -> None:
        session.done = True
        node = self.nodes[session.a]
        for peer, index in zip(session.peers, (session.a, session.b), strict=True):
            stats = self.nodes[index].stats
            stats.sync_entries_stored += peer.entries_ingested
        if ok:
            node.stats.syncs_completed += 1
        else:
            node.stats.syncs_failed += 1
        self._release(node, session.b, session.epochs[0])

    def _release(self, node: SimNode, peer: int, epoch: int) -> None:
        if epoch != node.epoch:
            return
        node.syncing.discard(peer)
        while node.waiting and len(node.syncing) < MAX_PARALLEL_SYNCS:
            nxt = node.waiting.popleft()
            if nxt not in node.syncing:
                self._open(node, nxt)

    # -- faults ------------------------------------------------------------------------
    def crash(self, node: SimNode) -> None:
        """Down: in-flight messages and sessions are lost; the store is kept (durable)."""
        self.links.down.add(node.index)
        node.epoch += 1
        node.seen.clear()
        node.syncing.clear()
        node.waiting.clear()
        node.last_sync_ms.clear()

    def restart(self, node: SimNode) -> None:
        """Up again: the ledger is rebuilt from the store, as a restarted process does."""
        self.links.down.discard(node.index)
        node.ledger = Ledger(node.store)
        self.start_node(node)
