"""Simulated nodes running the real gossip validation, ingest, sync and peering policy.

(specs/0013 §2-§3.) Each `SimNode` holds a real `Ledger` over a `MemoryLogStore` and a
real `ledger.peering.PeeringPolicy`; `Federation` moves the real encoded bytes between
them with `Links` and a `Scheduler`. Announcements are cut by `plan_announcements` and
validated by `gossip.check_announcement` before being forwarded to the mesh, then
applied as `Network._apply` does (a gap or a newer checkpoint is `gap_seen` for the
sender, fork proofs are stored and re-announced). Federation is the policy's second
driver (the node is the first): it feeds it connects (start, restart), disconnects (a
peer's crash), gaps and session outcomes, opens the sessions `sessions_to_start` names
(each two real `SyncPeer`s exchanging their outboxes over the link), and arms one
scheduler event per node at `next_timer_ms`. The policy is not copied here. Only the
transport and the clock are simulated. Pure: no I/O, no real clock.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger import gossip
from ledger.log import Ledger
from ledger.peering import IO_TIMEOUT_MS, PeeringPolicy, plan_announcements
from ledger.sim.rng import Rng
from ledger.sim.world import Links, Scheduler
from ledger.store import MemoryLogStore
from ledger.syncpeer import SyncPeer
from protocol import kinds
from protocol.announce import Announcement, Verdict, encode_announcement
from protocol.entry import Entry
from protocol.errors import CommonsError
from protocol.identity import identity_id
from protocol.keys import SigningKey

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
    policy: PeeringPolicy[int] = field(init=False)  # memory only: Federation.start_node
    timer_ms: int | None = None  # when the policy's timer is armed (one event counts)
    acknowledged: list[bytes] = field(default_factory=list)  # ids of our committed appends
    stats: NodeStats = field(default_factory=NodeStats)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.store)
        self.policy = PeeringPolicy(self.index)

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
    peers: tuple[SyncPeer, ...]  # both ends; () once done (their state is freed)
    done: bool = False


class Federation:
    def __init__(
        self,
        nodes: list[SimNode],
        links: Links,
        sched: Scheduler,
        network: bytes,
        rng: Rng,
        *,
        reconcile: bool = True,
    ) -> None:
        self.nodes = nodes
        self.reconcile = reconcile  # sessions offer set reconciliation (specs/0005 §8)
        self.links = links
        self.sched = sched
        self.network = network
        self.rng = rng  # the peering policies' random source (their interval's jitter)
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
        """node.net.network.Network.announce: the items cut by plan_announcements."""
        checkpoints = [checkpoint] if checkpoint else []
        for item in plan_announcements(entries, checkpoints, forks):
            data = encode_announcement(self.network, item.entries, item.checkpoints, item.forks)
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
            if result.unverified:  # beyond what we can check: not relayed, synced instead
                node.policy.gap_seen(source, self.sched.now_ms)
                self._pump(node)
            return
        node.stats.accepted += 1
        self.flood(node, data, source)
        self.apply(node, source, result.announcement)

    def apply(self, node: SimNode, source: int, announcement: Announcement) -> None:
        """node.net.network.Network._apply, for one announcement."""
        ledger = node.ledger
        report = ledger.ingest_entries(announcement.entries)
        node.stats.gossip_entries_stored += len(report.accepted)
        self._stored(report.accepted)
        learned = gossip.learn(ledger, self.network, announcement)
        forks = ledger.take_new_fork_proofs()
        behind = learned.ahead or any(
            (e.network, e.author) in report.gaps for e in announcement.entries
        )
        if behind:
            node.policy.gap_seen(source, self.sched.now_ms)
            self._pump(node)
        if forks:
            self.announce(node, [], None, forks)

    def _stored(self, entries: Sequence[Entry]) -> None:
        now = self.sched.now_ms
        self.delays_ms += [now - self.written_ms[e.id] for e in entries if e.id in self.written_ms]

    # -- sync: driving ledger.peering.PeeringPolicy ----------------------------------------
    def start_node(self, node: SimNode) -> None:
        """On start or restart: a new policy (a process keeps none), connected to every
        peer, so it syncs with each at once."""
        node.policy = PeeringPolicy(node.index, random_below=self.rng.below)
        node.timer_ms = None
        for peer in node.peers:
            node.policy.peer_connected(peer, self.sched.now_ms)
        self._pump(node)

    def _pump(self, node: SimNode) -> None:
        """After any input: open the sessions the policy names, re-arm its timer."""
        if node.byzantine or node.index in self.links.down:
            return
        for peer in node.policy.sessions_to_start(self.sched.now_ms):
            self._open(node, peer)
        wake = node.policy.next_timer_ms()
        if wake is not None and wake != node.timer_ms:
            node.timer_ms = wake
            self.sched.at(wake, functools.partial(self._timer, node, node.epoch, wake))

    def _timer(self, node: SimNode, epoch: int, wake: int) -> None:
        if epoch != node.epoch or wake != node.timer_ms:
            return  # re-armed since, or the process it was armed by crashed
        node.timer_ms = None
        if node.index in self.links.down:
            return
        node.policy.handle_timer(self.sched.now_ms)
        self._pump(node)

    def _open(self, node: SimNode, peer: int) -> None:
        other = self.nodes[peer]
        if not self.links.connected(node.index, peer):  # the stream times out
            ended = functools.partial(self._ended, node, peer, node.epoch, ok=False)
            self.sched.after(IO_TIMEOUT_MS, ended)
            return
        a, b = (
            SyncPeer(
                one.ledger_for(two.index),
                self.network,
                now_ms=self.clock_ms(one),
                reconcile=self.reconcile,
            )
            for one, two in ((node, other), (other, node))
        )
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
        ends = (session.a, session.b)
        for peer, index, other in zip(session.peers, ends, reversed(ends), strict=True):
            node = self.nodes[index]
            node.stats.sync_entries_stored += peer.entries_ingested
            forks = node.ledger_for(other).take_new_fork_proofs() if ok else []
            if forks:  # found in the session: announced at once, as the node does
                self.announce(node, [], None, forks)
        session.peers = ()  # its timeout event keeps the session, not what the ends held
        self._ended(self.nodes[session.a], session.b, session.epochs[0], ok=ok)

    def _ended(self, node: SimNode, peer: int, epoch: int, *, ok: bool) -> None:
        """The session `node` opened with `peer` is over: count it, tell the policy."""
        if ok:
            node.stats.syncs_completed += 1
        else:
            node.stats.syncs_failed += 1
        if epoch == node.epoch:  # else the process that opened it has crashed since
            node.policy.session_finished(peer, ok, self.sched.now_ms)
            self._pump(node)

    # -- faults ------------------------------------------------------------------------
    def crash(self, node: SimNode) -> None:
        """Down: in-flight messages, sessions and the policy's state are lost; the store
        is kept (durable). Its peers see the connection drop."""
        self.links.down.add(node.index)
        node.epoch += 1
        node.seen.clear()
        node.timer_ms = None
        for peer in self._live_peers(node):
            peer.policy.peer_disconnected(node.index, self.sched.now_ms)
            self._pump(peer)

    def restart(self, node: SimNode) -> None:
        """Up again: the ledger is rebuilt from the store, as a restarted process does,
        and it connects to its peers (each end then syncs with the other at once)."""
        self.links.down.discard(node.index)
        node.ledger = Ledger(node.store)
        self.start_node(node)
        for peer in self._live_peers(node):
            peer.policy.peer_connected(node.index, self.sched.now_ms)
            self._pump(peer)

    def _live_peers(self, node: SimNode) -> list[SimNode]:
        return [self.nodes[p] for p in node.peers if p not in self.links.down]
