"""The node on the network: gossip, pull sync and blobs over the libp2p host.

(specs/0005-sync.md, 0009-blobs.md; docs/architecture.md §4.)

- Gossip is for freshness. Each announcement passes `gossip.check_announcement`
  (entries, checkpoints and fork proofs) inside the router (REJECT penalises the
  sender, nothing of it is forwarded or stored); accepted ones are gathered for a
  few ms into one storage job, so a burst costs one commit. Entries the validator
  verified are not verified again.
- Sync is what makes delivery reliable: the peering policy (ledger.peering, the
  simulator's too) starts a session with a peer when it connects, when gossip shows
  we are behind (a gap, a checkpoint beyond our head), and every 30 s, with backoff
  after failures. The ledger work of a session runs on the storage thread
  (ledger.syncpeer), the bytes move here, every read and write with a timeout.
- Blobs are served to any peer and fetched from any peer that has them.
- Discovery (specs/0014 §3-§5): records of where peers listen are swapped with each
  peer on connecting and every EXCHANGE_INTERVAL_S (node.net.discovery), kept in the
  peer store, and the same peering machine dials known peers while connections are
  missing, with backoff; so a restarted node finds its peers without its bootstrap.
- Member relays (specs/0014 §7, node.net.relay): each peer is shown our host binding;
  a public node relays for admitted peers; a node no server could reach reserves at
  up to two relays and advertises relayed addresses (exchanged with its relays every
  RELAY_EXCHANGE_INTERVAL_S); DCUtR (node.net.host) upgrades relayed connections.
Queues are bounded; when one is full the newest item is dropped and counted —
the next sync recovers whatever gossip dropped.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import logging
import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from ledger import gossip
from ledger.peering import PeeringPolicy, plan_announcements
from ledger.syncclaims import SyncClaims
from ledger.syncpeer import SyncPeer
from node.net import sync as sync_session
from node.net.blob_exchange import BlobExchange
from node.net.blob_route import PROOF_PROTOCOL_ID, ROUTE_PROTOCOL_ID, BlobRouter, Holders
from node.net.charter import CHARTER_PROTOCOL_ID, serve_charter
from node.net.discovery import (
    ADDRESS_PROTOCOL_ID,
    EXCHANGE_INTERVAL_S,
    MIN_REQUEST_INTERVAL_S,
    Discovery,
)
from node.net.host import P2PHost, Stream, Subscription
from node.net.pinning import Pinner
from node.net.reachability import DIALBACK_PROTOCOL_ID, Reachability
from node.net.relay import MEMBERSHIP_PROTOCOL_ID, MemberRelays
from node.net.upnp import PortMapper
from node.ops import context as operations
from node.ops.context import LedgerContext, release_memory
from node.ops.doctor import (
    ConnectionOut,
    DoctorReport,
    HolePunchOut,
    UpnpOut,
    VerdictOut,
    listen_port,
    on_loopback,
    with_advice,
)
from node.ops.pinning import blob_pinners
from node.ops.storage import keeps_blob
from node.runtime.measures import GossipTrace, SyncLag
from node.runtime.service import LedgerRunner, News, ProgressReport
from node.store.backup import clear_restore, restore_pending
from node.store.blobs import BlobStore
from protocol import blob
from protocol.address import AddressRecord, is_relayed
from protocol.announce import (
    Announcement,
    Verdict,
    decode_announcement,
    encode_announcement,
)
from protocol.errors import CommonsError, LocalMisuseError
from protocol.governance import Charter
from protocol.host_binding import sign_host_binding
from protocol.ids import id_to_text
from protocol.peer_ids import host_key_of
from protocol.sync import SyncFilter
from protocol.sync_limits import SYNC_PROTOCOL_ID

IO_TIMEOUT_S = sync_session.IO_TIMEOUT_S
RELEASE_EVERY_ENTRIES = sync_session.RELEASE_EVERY_ENTRIES

log = logging.getLogger(__name__)

CONNECTIONS_POLL_S = 1.0
SYNC_NOW_POLL_S = 0.1  # a "sync now" waits so for our own session with that peer
INGEST_BATCH_ENTRIES = 512
QUEUE_SIZE = 1024
ACCEPTED_CACHE = 4096
#: Sync sessions a peer may hold with us at once (one it opened, one we did), and in
#: all: more are reset unread and charged to the peer (specs/0012 §5, finding 2).
MAX_SESSIONS_PER_PEER = 2
MAX_SESSIONS = 32
#: Announcements a peer may have ignored without cost: a burst, then one a second.
IGNORE_BURST = 30
IGNORE_PER_S = 1.0
IGNORE_OVER_BUDGET_WEIGHT = 0.25
#: The hello filter of a node whose disk is full: it wants no author's log (0005 §3).
WANT_NOTHING = SyncFilter(authors=())
PENALISED_FAMILIES = frozenset({"remote", "decode", "verify", "proof"})
#: A private node swaps records with its relays this often (others: EXCHANGE_INTERVAL_S),
#: so the relayed records of labs behind NAT reach each other through the relay soon.
RELAY_EXCHANGE_INTERVAL_S = 60.0
#: A relay that learns a record with a relayed address through itself swaps records
#: with the other peers holding a reservation at it (so two labs behind NAT meet in
#: seconds, not at their next exchange), each at most this often; never sooner than
#: their servers take a request (MIN_REQUEST_INTERVAL_S after the last).
RELAY_PUSH_INTERVAL_S = 10.0
#: How long a dial tries a peer's direct addresses before its relayed ones join in
#: (go-libp2p's dial ranker waits 500 ms).
RELAY_DIAL_DELAY_S = 1.0
#: Refusals that may be our clock's fault as much as the sender's: not charged.
CLOCK_FAULTS = frozenset({"verify.address-from-future"})
LINK_FAULTS = frozenset(
    {"remote.timeout", "remote.stream-reset", "remote.closed-early", "remote.too-slow"}
)


def announce_topic(network: bytes) -> str:
    return f"fabcommons/{id_to_text(network)}/announce/1"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _monotonic_ms() -> int:
    """The peering policy's clock: monotonic, on trio's clock (a mock one in tests)."""
    return int(trio.current_time() * 1000)


@dataclass
class NetworkStats:
    announcements_accepted: int = 0
    announcements_rejected: int = 0
    announcements_ignored: int = 0
    announcements_not_admitted: int = 0
    announcements_unverified: int = 0
    gossip_entries_stored: int = 0
    gossip_dropped: int = 0
    syncs_completed: int = 0
    syncs_failed: int = 0
    sync_entries_stored: int = 0
    sync_frames_skipped: int = 0  # range frames received but not ingested (held, or bad)
    sync_logs_left_to_others: int = 0  # gets not sent: another session fetched the log
    sync_heads_cosigned: int = 0  # heads as far as ours that brought cosignatures we lacked
    # when a session first and last stored entries, time.monotonic_ns() (CLOCK_MONOTONIC:
    # a benchmark on this machine reads a catch-up's end without polling for it)
    sync_first_stored_ns: int | None = None
    sync_last_stored_ns: int | None = None
    fork_proofs_learned: int = 0
    last_sync_ms: dict[str, int] = field(default_factory=dict)
    last_error: dict[str, str] = field(default_factory=dict)
    # peer -> error code -> how many times: what each peer sent that we refused (a
    # frame in sync, an announcement in gossip), kept even when a session then fails
    refused: dict[str, dict[str, int]] = field(default_factory=dict)

    def refuse(self, peer: str, code: str) -> None:
        by_code = self.refused.setdefault(peer, {})
        by_code[code] = by_code.get(code, 0) + 1
        self.last_error[peer] = code


def penalty_for(code: str) -> float:
    """What a peer's fault of `code` is charged (`Network._charge`, specs/0012 §5)."""
    if code.split(".", 1)[0] not in PENALISED_FAMILIES or code in CLOCK_FAULTS:
        return 0.0
    return 0.25 if code in LINK_FAULTS else 1.0


class Network:
    """Gossip, sync and blobs of one running node."""

    def __init__(
        self,
        runner: LedgerRunner,
        host: P2PHost,
        blobs: BlobStore,
        news: trio.MemoryReceiveChannel[News],
        *,
        progress: ProgressReport,
        max_blob_bytes: Callable[[], int],
        wanted: SyncFilter | None = None,
        charter: Charter | None = None,
        discovery: Discovery | None = None,
        reconcile: bool = True,
        upnp: bool = False,
    ) -> None:
        self.runner = runner
        self.discovery = discovery
        self.reachability = Reachability(host)
        self.relays = MemberRelays(
            host, runner.ctx.network, self._host_binding, self._admits_identity, self._is_public
        )
        self._exchanged: dict[str, float] = {}  # peer -> when we last swapped records
        self._push_due: dict[str, float] = {}  # peer -> when a relay's early swap is due
        self._pushed: dict[str, float] = {}  # peer -> when we last planned one
        self.relay_pushes = 0  # early swaps planned as a relay (status: discovery)
        self.wanted = wanted or SyncFilter()
        #: Whether sessions offer set reconciliation of heads (specs/0005 §8.1); False
        #: forces the full head exchange, as a node from before it.
        self.reconcile = reconcile
        #: Set while the home's disk is full (node.daemon): sessions still serve what we
        #: hold, but ask for nothing (a hello filter of no authors), and gossip is not kept.
        self.read_only = False
        self.host = host
        self.blobs = blobs
        self.news = news
        self.progress = progress
        self.max_blob_bytes = max_blob_bytes
        self.charter = charter
        self.network = runner.ctx.network
        self.topic = announce_topic(self.network)
        self.stats = NetworkStats()
        self.lag = SyncLag()  # what sessions found we lacked (node/api/metrics.py)
        self.claims = SyncClaims()  # logs our sessions are fetching (ledger.syncclaims)
        self.trace = GossipTrace()  # when entries went out, came in, were stored
        self._accepted: OrderedDict[bytes, Announcement] = OrderedDict()
        self._inbox_send, self._inbox = trio.open_memory_channel[tuple[str, Announcement]](
            QUEUE_SIZE
        )
        self._wanted_send, self._wanted = trio.open_memory_channel[str](QUEUE_SIZE)
        self._syncing: set[str] = set()
        self.policy: PeeringPolicy[str] = PeeringPolicy(
            host.peer_id,
            random_below=random.Random().randrange,  # the interval's jitter
        )
        self._sessions: collections.Counter[str] = collections.Counter()
        self._ignores: dict[str, tuple[float, float]] = {}  # peer -> (tokens, when)
        self.session_limits = sync_session.SessionLimits()
        self.buffer_budget = sync_session.BufferBudget()
        #: The most of our own log a peer has shown (what a restored home waits for).
        self.restore_seen = 0
        #: UPnP maps the TCP listen port (0014 §6.1), if asked to and if the node listens
        #: where a router could forward to (not on loopback only).
        port = listen_port([a for a in host.listen_addrs if not on_loopback(a)])
        self.upnp = PortMapper(port, self._upnp_mapped) if upnp and port else None
        self.upnp_unusable = upnp and not port

    # -- running -------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.host.set_stream_handler(SYNC_PROTOCOL_ID, self._serve_sync)
        self.host.set_stream_handler(blob.PROTOCOL_ID, self._serve_blob)
        self.host.set_stream_handler(ROUTE_PROTOCOL_ID, self.router.serve)
        self.host.set_stream_handler(PROOF_PROTOCOL_ID, self.router.serve_proof)
        if self.charter is not None:
            serve = functools.partial(serve_charter, self.charter)
            self.host.set_stream_handler(CHARTER_PROTOCOL_ID, serve)
        self.host.set_stream_handler(DIALBACK_PROTOCOL_ID, self.reachability.serve)
        self.host.set_stream_handler(MEMBERSHIP_PROTOCOL_ID, self._serve_membership)
        if self.discovery is not None:
            self.host.set_stream_handler(ADDRESS_PROTOCOL_ID, self._serve_addresses)
            for stored in await self.discovery.load():
                self.policy.peer_dialable(stored.peer_id, _monotonic_ms())
        subscription = await self.host.subscribe(self.topic, self.validate)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._tell)
                nursery.start_soon(self._receive, subscription)
                nursery.start_soon(self._ingest_loop)
                nursery.start_soon(self._sync_scheduler)
                if self.upnp is not None:
                    nursery.start_soon(self.upnp.run)
                await nursery.start(self.pinner.run)  # availability by rule (0009 §13)
                task_status.started()
        finally:
            if self.discovery is not None:
                self.discovery.store.close()

    def status(self) -> dict[str, Any]:
        p2p = self.host.statistics()
        stats = vars(self.stats).copy()
        return {
            "peers": p2p.connected_peers,
            "topics": {t: {"peers": n, "mesh": m} for t, (n, m) in p2p.topics.items()},
            "peer_scores": p2p.peer_scores,
            "banned_peers": p2p.banned_peers,
            "sync": {"running": sorted(self._syncing), **stats},
            "discovery": self._discovery_status(),
            "restore": self._restore_status(),
            "blob_routing": {  # specs/0009 §12-§13
                **{k: self.router.stats[k] for k in ("fetched_through", "relayed_for_peers")},
                "pinning": self.pinner.stats.to_json(),
            },
        }

    def doctor(self) -> DoctorReport:
        """What the node knows of its reachability, and what to change (0014 §6)."""
        now = _monotonic_ms()
        confirmed, seen = self.host.observed_addrs()
        relay = self.host.relay_statistics()
        upnp = (
            UpnpOut(code="no-listener" if self.upnp_unusable else "off")
            if self.upnp is None
            else self.upnp.status
        )
        report = DoctorReport(
            peer_id=self.host.peer_id,
            listen_addrs=self.host.listen_addrs,
            observed_addrs=confirmed,
            observed_unconfirmed=[a for a in seen if a not in confirmed],
            reachability=self.reachability.tally.status(now),
            dialbacks=[
                VerdictOut(peer=v.server, reached=v.reached, age_s=(now - v.at_ms) // 1000)
                for v in self.reachability.tally.verdicts(now)
            ],
            relays=list(self.relays.relayed_addrs),
            relaying_for=relay.reservations,
            relay_refused=relay.refused,
            hole_punches=HolePunchOut(
                attempts=relay.dcutr_attempts, successes=relay.dcutr_successes
            ),
            connections=[
                ConnectionOut(
                    peer=c.peer, connection="relayed" if c.relayed else "direct", remote=c.remote
                )
                for c in self.host.connections()
            ],
            known_peers=0 if self.discovery is None else len(self.discovery.addresses),
            upnp=upnp.english(),
            upnp_status=upnp,
        )
        return with_advice(report)

    def _upnp_mapped(self, address: str | None) -> None:
        """Advertise the address UPnP mapped for us (or stop, once it is lost)."""
        log.info("UPnP address now %s", address)
        if self.discovery is not None:
            mapped = () if address is None else (address,)
            if mapped != self.discovery.mapped:
                self.discovery.mapped = mapped
                self._swap_with_all_soon()  # our new record goes to every peer

    def _discovery_status(self) -> dict[str, Any] | None:
        if self.discovery is None:
            return None
        stats = self.policy.statistics()
        return {
            "known_peers": len(self.discovery.addresses),
            "dialing": sorted(stats.dialing),
            "exchanges": self.discovery.exchanges,
            "records_learned": self.discovery.records_learned,
            "relay_pushes": self.relay_pushes,
        }

    def _restore_status(self) -> dict[str, Any] | None:
        """None, or on a home restored from a backup: what it waits for to sign again."""
        pending = restore_pending(self.runner.ctx.home)
        if pending is None:
            return None
        ledger, me = self.runner.ctx.ledger, self.runner.ctx.identity.id
        head = ledger.head(self.network, me)
        return {
            "pending": True,
            "backup_own_log_size": pending.get("backup_own_log_size"),
            "own_log_size": 0 if head is None else head.size,
            "largest_at_peers": self.restore_seen,
        }

    # -- gossip --------------------------------------------------------------------
    def validate(self, peer: str, data: bytes) -> Verdict:
        """Runs inside the router, on the trio thread: reads the ledger's in-memory
        heads (single dict lookups; the storage thread only replaces them whole)."""
        result = gossip.check_announcement(data, self.network, self.runner.ctx.ledger)
        admission = self.runner.ctx.ledger.admission  # a federation's (specs/0008 §7)
        if (
            result.verdict is Verdict.ACCEPT
            and result.announcement is not None
            and admission is not None
            and any(admission(e) is not None for e in result.announcement.entries)
        ):
            self.stats.announcements_not_admitted += 1
            self._spend_ignore(peer, "rule.not-admitted")
            return Verdict.IGNORE  # neither stored nor relayed; not the relay's fault
        if result.verdict is Verdict.ACCEPT and result.announcement is not None:
            self._accepted[hashlib.sha256(data).digest()] = result.announcement
            while len(self._accepted) > ACCEPTED_CACHE:
                self._accepted.popitem(last=False)
            self.stats.announcements_accepted += 1
        elif result.verdict is Verdict.REJECT:
            self.stats.announcements_rejected += 1
            if result.error is not None:
                self.stats.refuse(peer, result.error.code)
        elif result.unverified:  # beyond what we can check: not relayed, synced instead
            self.stats.announcements_unverified += 1
            self._spend_ignore(peer, "gossip.unverified")
            self.want_sync(peer)
        else:
            self.stats.announcements_ignored += 1
        return result.verdict

    def _spend_ignore(self, peer: str, why: str) -> None:
        """Ignored announcements cost CPU but no penalty, up to a budget per peer (a
        token bucket: IGNORE_BURST, refilled IGNORE_PER_S); past it, each one is
        charged (specs/0012 §5, findings 10 and 11)."""
        now = trio.current_time()
        tokens, since = self._ignores.get(peer, (float(IGNORE_BURST), now))
        tokens = min(float(IGNORE_BURST), tokens + (now - since) * IGNORE_PER_S) - 1.0
        self._ignores[peer] = (max(tokens, 0.0), now)
        if len(self._ignores) > ACCEPTED_CACHE:
            self._ignores.pop(next(iter(self._ignores)))
        if tokens < 0:
            self.stats.refuse(peer, "remote.over-budget")
            self.host.penalise(peer, f"remote.over-budget ({why})", IGNORE_OVER_BUDGET_WEIGHT)

    async def _receive(self, subscription: Subscription) -> None:
        async for message in subscription:
            if message.from_peer == self.host.peer_id:
                continue  # our own publish, already stored
            announcement = self._accepted.pop(message.msg_id, None)
            if announcement is None:
                try:
                    announcement = decode_announcement(message.data)
                except CommonsError:
                    continue
            self.trace.received([e.id for e in announcement.entries], len(message.data))
            try:
                self._inbox_send.send_nowait((message.from_peer, announcement))
            except trio.WouldBlock:
                self.stats.gossip_dropped += 1

    async def _ingest_loop(self) -> None:
        while True:
            # One store job for what is queued now, without waiting for more: alone, an
            # announcement is stored at once; in a flood, what arrives while a batch is
            # being stored makes the next one (self-clocking, like Nagle without delay).
            batch = [await self._inbox.receive()]
            entries = len(batch[0][1].entries)
            await trio.lowlevel.checkpoint()  # let tasks already woken queue theirs
            with contextlib.suppress(trio.WouldBlock):
                while entries < INGEST_BATCH_ENTRIES:
                    batch.append(self._inbox.receive_nowait())
                    entries += len(batch[-1][1].entries)
            if self.read_only:  # a full disk: sync fetches it once there is room again
                self.stats.gossip_dropped += len(batch)
                continue
            forks, behind = await self.runner.on_ledger(functools.partial(self._apply, batch))
            for peer in behind:
                self.want_sync(peer)
            if forks:
                await self.announce([], None, forks)

    def _apply(
        self, batch: list[tuple[str, Announcement]], ctx: LedgerContext
    ) -> tuple[list[bytes], set[str]]:
        """On the storage thread: store a batch; return (new fork proofs, peers ahead of us)."""
        ledger = self.runner.ctx.ledger
        wanted = self.wanted.admits_author  # partial nodes relay everything, keep their part
        report = ledger.ingest_entries([e for _, a in batch for e in a.entries if wanted(e.author)])
        if report.accepted:
            operations.index_committed(ctx, report.accepted)
        self.stats.gossip_entries_stored += len(report.accepted)
        self.trace.stored(e.id for e in report.accepted)
        behind: set[str] = set()
        learned_forks = 0
        for peer, announcement in batch:
            learned = gossip.learn(ledger, self.network, announcement)
            learned_forks += len(learned.new_forks)
            gap = any((e.network, e.author) in report.gaps for e in announcement.entries)
            if gap or learned.ahead:
                behind.add(peer)  # a log we lack, or more of one: sync fetches it
        self.stats.fork_proofs_learned += len(report.forks) + learned_forks
        return ledger.take_new_fork_proofs(), behind

    async def _tell(self) -> None:
        """Gossip what the node signed or cosigned (News from the service and the
        governance driver), in order."""
        async for news in self.news:
            if news.entries or news.checkpoint:
                await self.announce(news.entries, news.checkpoint)
            for items in plan_announcements((), news.cosignatures):
                await self._publish(encode_announcement(self.network, *items))

    async def _publish(self, data: bytes) -> None:
        try:
            await self.host.publish(self.topic, data)
        except CommonsError as e:
            log.warning("announcement not published: %s", e)

    async def announce(
        self, entries: Sequence[bytes], checkpoint: bytes | None, forks: Sequence[bytes] = ()
    ) -> None:
        """Publish our news in announcements within every limit, as the peering policy
        cuts them (ledger.peering.plan_announcements; specs/0005 §10; best effort: sync
        delivers what is lost)."""
        checkpoints = [checkpoint] if checkpoint else []
        for items in plan_announcements(entries, checkpoints, forks):
            data = encode_announcement(self.network, *items)
            self.trace.published((hashlib.sha256(raw).digest() for raw in items.entries), len(data))
            await self._publish(data)

    # -- sync ------------------------------------------------------------------------
    def want_sync(self, peer: str) -> None:
        with contextlib.suppress(trio.WouldBlock):  # if full, the periodic round gets to it
            self._wanted_send.send_nowait(peer)

    async def _sync_scheduler(self) -> None:
        """Drive the peering policy (ledger.peering, specs/0005 §6.1): tell it who is
        connected and who showed a gap, start the sessions it asks for, and wake at its
        timer. A connection opened or closed wakes it (P2PHost.on_connections_changed);
        they are also polled every CONNECTIONS_POLL_S."""
        stop_watching = self.host.on_connections_changed(lambda: self.want_sync(self.host.peer_id))
        try:
            await self._schedule()
        finally:
            stop_watching()

    async def _schedule(self) -> None:
        known: set[str] = set()
        async with trio.open_nursery() as nursery:
            while True:
                now = _monotonic_ms()
                connected = set(self.host.connected_peers()) - {self.host.peer_id}
                for peer in sorted(connected - known):
                    self.policy.peer_connected(peer, now)
                for peer in sorted(known - connected):
                    self.policy.peer_disconnected(peer, now)
                    self._exchanged.pop(peer, None)
                    self._push_due.pop(peer, None)
                    self._pushed.pop(peer, None)
                known = connected
                self.policy.handle_timer(now)
                for peer in self.policy.sessions_to_start(now):
                    self._start_sync(nursery, peer)
                if self.upnp is None or self.upnp.status.code != "pending":
                    # (not while UPnP is opening the port the dial-backs would check)
                    for peer in self.reachability.due(connected):
                        nursery.start_soon(self.reachability.ask, peer)
                if self.discovery is not None:
                    self._discover(nursery, self.discovery, connected)
                    self._relay_round(nursery, self.discovery, connected)
                timer = self.policy.next_timer_ms()
                wait_s = CONNECTIONS_POLL_S if timer is None else (timer - now) / 1000
                with trio.move_on_after(max(0.0, min(CONNECTIONS_POLL_S, wait_s))):
                    peer = await self._wanted.receive()
                    if peer in known:
                        self.policy.gap_seen(peer, _monotonic_ms())

    def _discover(self, nursery: trio.Nursery, discovery: Discovery, connected: set[str]) -> None:
        """Swap records with peers newly connected (or not for EXCHANGE_INTERVAL_S), and
        start the dials the peering machine asks for (specs/0014 §3, §5)."""
        clock = trio.current_time()
        for peer in sorted(connected):
            every = (
                RELAY_EXCHANGE_INTERVAL_S if peer in self.relays.reserved else EXCHANGE_INTERVAL_S
            )
            pushed = self._push_due.get(peer, math.inf) <= clock
            if pushed or clock - self._exchanged.get(peer, -every) >= every:
                self._exchanged[peer] = clock
                self._push_due.pop(peer, None)
                nursery.start_soon(self._exchange, discovery, peer)
        for peer in self.policy.dials_to_start(_monotonic_ms()):
            nursery.start_soon(self._dial, discovery, peer)

    # -- member relays (specs/0014 §7) -----------------------------------------------
    def _relay_round(
        self, nursery: trio.Nursery, discovery: Discovery, connected: set[str]
    ) -> None:
        """Present our binding to new peers; while we need relays (not public, and some
        server could not reach us: one member may be all a lab sees), keep reservations
        at member relays and advertise the relayed addresses they give us."""
        now, tally = _monotonic_ms(), self.reachability.tally
        private = tally.status(now) != "public" and any(not v.reached for v in tally.verdicts(now))
        for peer in self.relays.due(connected, private):
            nursery.start_soon(self.relays.present, peer)
        for relay in self.relays.to_reserve(private):
            nursery.start_soon(self._reserve, discovery, relay)
        self._advertise(discovery)

    async def _reserve(self, discovery: Discovery, relay: str) -> None:
        if await self.relays.reserve(relay):
            log.info("holding a reservation at relay %s", relay)
        self._advertise(discovery)

    def _advertise(self, discovery: Discovery) -> None:
        addrs = self.relays.addresses(discovery.addresses)
        if addrs != discovery.relayed:
            log.info("relayed addresses now %s", list(addrs))
            discovery.relayed = self.relays.relayed_addrs = addrs
            self._swap_with_all_soon()  # our new record goes to every peer

    async def _serve_membership(self, stream: Stream) -> None:
        refused = await self.relays.serve(stream)
        if refused is not None:  # a binding that does not verify: the sender's fault
            self.stats.refuse(stream.remote_peer, refused.code)
            self._charge(stream.remote_peer, refused.code)

    def _is_public(self) -> bool:
        return self.reachability.tally.status(_monotonic_ms()) == "public"

    def _admits_identity(self, identity: bytes, key: bytes) -> bool:
        """Whether `identity`, signing with `key`, may use our relay (0014 §7.3): it is
        admitted (a member or vouched for) and `key` is its key in force here. On a
        development network anyone may publish, so any identity is admitted; where we
        hold its log, `key` must still be the key in force."""
        ctx = self.runner.ctx
        head = ctx.ledger.head(ctx.network, identity)
        if head is None or head.keys is None:
            return ctx.governance is None
        if head.keys.signing_key != key:
            return False
        return ctx.governance is None or identity in ctx.governance.admitted

    async def _host_binding(self) -> bytes:
        host_key = host_key_of(self.host.peer_id)

        def sign(ctx: LedgerContext) -> bytes:
            key = operations.signing_key_in_force(ctx)
            return sign_host_binding(key, ctx.identity.id, ctx.network, host_key)

        return await self.runner.on_ledger(sign)

    async def _serve_addresses(self, stream: Stream) -> None:
        if self.discovery is not None:
            learned, refused = await self.discovery.serve(stream)
            for error in refused:
                self.stats.refuse(stream.remote_peer, error.code)
                self._charge(stream.remote_peer, error.code)
            self._spread_relayed(learned, stream.remote_peer)

    def _spread_relayed(self, learned: list[AddressRecord], source: str) -> None:
        """As a relay (specs/0014 §7.4): a record newly learned with a relayed address
        through us (a peer has just reserved) is swapped soon with every other peer
        holding a reservation here, so labs behind NAT learn each other's way in;
        with each at most every RELAY_PUSH_INTERVAL_S (a swap then waits its turn)."""
        through_us = f"/p2p/{self.host.peer_id}/p2p-circuit"
        if not any(addr.endswith(through_us) for r in learned for addr in r.addrs):
            return
        connected = set(self.host.connected_peers())
        planned = False
        for peer in self.host.relay_statistics().reservations:
            if peer == source or peer not in connected or peer in self._push_due:
                continue  # (a swap already waits: it will carry this record too)
            at = self._swap_soon(peer, self._pushed.get(peer, -math.inf) + RELAY_PUSH_INTERVAL_S)
            self._pushed[peer] = at
            self.relay_pushes += 1
            planned = True
        if planned:
            self.want_sync(self.host.peer_id)  # wake the scheduler

    def _swap_soon(self, peer: str, not_before: float) -> float:
        """Swap records with `peer` at `not_before` or as soon after as its server takes
        a request (MIN_REQUEST_INTERVAL_S after our last swap, or it would reset it);
        an earlier swap already planned stays. When it will be."""
        last = self._exchanged.get(peer, -math.inf)
        at = max(trio.current_time(), not_before, last + MIN_REQUEST_INTERVAL_S + 1.0)
        at = min(at, self._push_due.get(peer, math.inf))
        self._push_due[peer] = at
        return at

    def _swap_with_all_soon(self) -> None:
        """Our record changed: swap it with every connected peer as soon as each takes
        a request (not at once: a swap within MIN_REQUEST_INTERVAL_S would be reset)."""
        for peer in self.host.connected_peers():
            if peer != self.host.peer_id:
                self._swap_soon(peer, -math.inf)
        self.want_sync(self.host.peer_id)

    async def _exchange(self, discovery: Discovery, peer: str) -> None:
        try:
            await discovery.note_connected(peer)
            learned, refused = await discovery.exchange(peer)
        except CommonsError as e:
            log.info("no address exchange with %s: %s", peer, e)
            return
        for error in refused:  # a record that does not verify: the sender's fault (0012 §5)
            self.stats.refuse(peer, error.code)
            self._charge(peer, error.code)
        self._spread_relayed(learned, peer)
        for record in learned:
            if record.peer_id not in self.host.connected_peers():  # new addresses: try now
                self.policy.peer_undialable(record.peer_id, _monotonic_ms())
            self.policy.peer_dialable(record.peer_id, _monotonic_ms())
        if learned:
            self.want_sync(self.host.peer_id)  # wake the scheduler: there is someone to dial

    async def _dial(self, discovery: Discovery, peer: str) -> None:
        """Dial `peer` at its recorded addresses: the direct ones first; the relayed ones
        once those failed, or RELAY_DIAL_DELAY_S after they began if still unanswered (a
        direct address behind a NAT that drops may take the whole dial timeout to
        fail). The first connection made ends the other attempts (specs/0014 §7.4)."""
        addrs = discovery.addresses.get(peer, ())
        direct = [a for a in addrs if not is_relayed(a)]
        relayed = [a for a in addrs if is_relayed(a)]
        connected: list[str] = []
        direct_over = trio.Event()
        async with trio.open_nursery() as nursery:

            async def attempt(candidates: list[str]) -> None:
                for addr in candidates:
                    try:
                        await self.host.connect(f"{addr}/p2p/{peer}")
                    except CommonsError as e:
                        log.info("dial %s at %s failed: %s", peer, addr, e.code)
                        continue
                    connected.append(addr)
                    nursery.cancel_scope.cancel()
                    return

            async def direct_first() -> None:
                try:
                    await attempt(direct)
                finally:
                    direct_over.set()

            async def relayed_after() -> None:
                with trio.move_on_after(RELAY_DIAL_DELAY_S):
                    await direct_over.wait()
                await attempt(relayed)

            nursery.start_soon(direct_first)
            nursery.start_soon(relayed_after)
        self.policy.dial_finished(peer, bool(connected), _monotonic_ms())
        if not connected:
            await discovery.note_dial_failed(peer)
        self.want_sync(self.host.peer_id)

    def _start_sync(self, nursery: trio.Nursery, peer: str) -> None:
        self._syncing.add(peer)
        self.stats.last_sync_ms[peer] = now_ms()

        async def job() -> None:
            ok = False
            try:
                await self.sync_with(peer)
                ok = True
            except CommonsError as e:
                self.stats.syncs_failed += 1
                self.stats.last_error[peer] = e.code
            finally:
                self._syncing.discard(peer)
                self.policy.session_finished(peer, ok, _monotonic_ms())
                self.want_sync(self.host.peer_id)  # wake the scheduler: a slot is free

        nursery.start_soon(job)

    async def sync_with(self, peer: str) -> SyncPeer:
        """One sync session with `peer`, both ways; returns its record."""
        stream = await self.host.open_stream(peer, SYNC_PROTOCOL_ID)
        return await self._session(stream)

    async def sync_now(self, peer: str) -> dict[str, Any]:
        """A session with a connected `peer` at once, whatever the peering policy's
        timer (an operator's "sync now", `POST /api/v1/sync`); what it did."""
        if peer not in self.host.connected_peers():
            raise LocalMisuseError("misuse.not-connected", f"{peer} is not connected")
        while peer in self._syncing:  # ours already runs: after it (a peer allows two)
            await trio.sleep(SYNC_NOW_POLL_S)
        self._syncing.add(peer)
        self.stats.last_sync_ms[peer] = now_ms()
        try:
            record = await self.sync_with(peer)
        finally:
            self._syncing.discard(peer)
            self.want_sync(self.host.peer_id)  # wake the scheduler: a slot is free
        return {
            "peer": peer,
            "entries_ingested": record.entries_ingested,
            "refused": sorted({e.code for e in record.rejected}),
            "planned": record.planned,
            "logs_left_to_others": record.logs_left,
            "heads_cosigned": record.cosigned_heads,
        }

    async def _serve_sync(self, stream: Stream) -> None:
        remote = stream.remote_peer
        if (
            self._sessions[remote] >= MAX_SESSIONS_PER_PEER
            or self._sessions.total() >= MAX_SESSIONS
        ):
            await stream.reset()
            self.stats.refuse(remote, "remote.too-many-sessions")
            self._charge(remote, "remote.too-many-sessions")
            return
        try:
            await self._session(stream)
        except CommonsError as e:
            self.stats.syncs_failed += 1
            self.stats.last_error[remote] = e.code

    async def _session(self, stream: Stream) -> SyncPeer:
        remote = stream.remote_peer
        peer = SyncPeer(
            self.runner.ctx.ledger,
            self.network,
            WANT_NOTHING if self.read_only else self.wanted,
            now_ms=now_ms(),
            keep_events=False,
            kinds_index=self.runner.ctx.catalogue.authors_with_kinds,
            watch=self.runner.ctx.identity.id,
            reconcile=self.reconcile,
            claims=self.claims,
        )
        peer.start()
        progress = _SyncProgress(self.progress, remote, self.stats)
        self._sessions[remote] += 1
        try:
            await sync_session.drive(
                peer,
                stream,
                self.runner.on_ledger,
                progress.update,
                limits=self.session_limits,
                budget=self.buffer_budget,
            )
        except CommonsError as e:
            await stream.reset()
            if e.family == "remote":  # the peer's fault (a timeout, a bad frame, a limit)
                self.stats.refuse(remote, e.code)
                self._charge(remote, e.code)
            raise
        finally:
            peer.release_claims()
            self._sessions[remote] -= 1
            if self._sessions[remote] <= 0:
                del self._sessions[remote]
            progress.finish()
            self.stats.sync_entries_stored += peer.entries_ingested
            self.stats.sync_frames_skipped += peer.frames_skipped
            self.stats.sync_logs_left_to_others += peer.logs_left
            self.stats.sync_heads_cosigned += peer.cosigned_heads
            if peer.planned:
                self.lag.session_planned(remote, peer.plan.lacking, peer.entries_ingested)
            for refused in peer.rejected:
                self.stats.refuse(remote, refused.code)
                self._charge(remote, refused.code)
        await stream.close()
        self.stats.syncs_completed += 1
        if peer.watched_size is not None:
            await self._restore_seen(peer.watched_size)
        forks = await self.runner.on_ledger(lambda ctx: ctx.ledger.take_new_fork_proofs())
        if forks:  # found in this session: the rest of the network hears at once
            self.stats.fork_proofs_learned += len(forks)
            await self.announce([], None, forks)
        if peer.entries_ingested >= RELEASE_EVERY_ENTRIES:
            await self.runner.on_ledger(release_memory)
        return peer

    async def _restore_seen(self, peer_size: int) -> None:
        """A completed session showed how much of our own log a peer holds: on a home
        restored from a backup, once we hold as much, we may sign again (the signing
        mark raised to our size, the restore marker removed; node.store.backup)."""
        self.restore_seen = max(self.restore_seen, peer_size)

        def catch_up(ctx: LedgerContext) -> bool:
            head = ctx.ledger.head(ctx.network, ctx.identity.id)
            size = 0 if head is None else head.size
            if restore_pending(ctx.home) is None or size < peer_size:
                return False
            ctx.guard.record(ctx.network, size)
            clear_restore(ctx.home)
            return True

        if await self.runner.on_ledger(catch_up):
            log.warning("own log synced back from a peer after the restore: signing again")

    def _charge(self, peer: str, code: str) -> None:
        """Charge what a peer did (specs/0012 §5): a fault only a broken or hostile
        peer commits costs a whole penalty; what a bad link also causes (a timeout, a
        reset, a slow session) a quarter; a rule of ours it may not know yet (rule.*:
        our view of the federation may be ahead of its) nothing, nor a record "from the
        future" (our clock may be the one behind: a board with no clock battery boots
        in the past until NTP answers, and would charge every honest peer)."""
        penalty = penalty_for(code)
        if penalty:
            self.host.penalise(peer, code, penalty)

    # -- blobs -----------------------------------------------------------------------
    @functools.cached_property
    def _blobs(self) -> BlobExchange:
        """Blob fetching and serving (node/net/blob_exchange.py): holders asked in random
        order, faults charged to the host's count, each peer's serving budget."""
        return BlobExchange(self.host, self.blobs, on_refused=self.stats.refuse)

    async def _serve_blob(self, stream: Stream) -> None:
        await self._blobs.serve(stream)

    @functools.cached_property
    def router(self) -> BlobRouter:
        """Who holds a blob, and fetching through a peer (node/net/blob_route.py): a
        `get` is served for blobs this node keeps itself (node.ops.storage.keeps_blob)."""

        async def keeps(blob_id: bytes) -> bool:
            return await self.runner.on_ledger(functools.partial(keeps_blob, blob_id=blob_id))

        return BlobRouter(self._blobs, self.max_blob_bytes, keeps=keeps)

    async def fetch_blob(self, blob_id: bytes) -> dict[str, Any]:
        """Fetch a blob from a peer that holds it, or through a peer that can get it,
        verified before kept, under the blob size rule in force (specs/0009 §6-§8, §12)."""
        outcome = await self.router.fetch(blob_id)
        return outcome.to_json()

    @functools.cached_property
    def pinner(self) -> Pinner:
        """Fetches and keeps the design files this member pins by rule (0009 §13)."""
        return Pinner(self.runner, self.router)

    async def blob_holders(self, blob_id: bytes) -> Holders:
        """What each connected peer says of `blob_id` (held, not, no answer)."""
        return await self.router.holders(blob_id)

    async def blob_status(self, blob_id: bytes) -> dict[str, Any]:
        """Who holds `blob_id`: this node, each connected peer (asked now; when we hold
        it, each that says it does is challenged to prove it), and the members that
        should pin it by the federation's rule (`fabnode blob status`)."""
        store = self.blobs
        held = await trio.to_thread.run_sync(store.has, blob_id)
        size = await trio.to_thread.run_sync(store.size, blob_id) if held else None
        holders = await self.router.holders(blob_id)
        proved: dict[str, bool | None] = {}
        if held:  # each claimed holder hashes a random range we can check (0009 §12.4)

            async def prove(peer: str) -> None:
                proved[peer] = await self.router.prove(peer, blob_id)

            async with trio.open_nursery() as nursery:
                for peer in sorted(p for p, h in holders.peers.items() if h):
                    nursery.start_soon(prove, peer)
        chosen = await self.runner.on_ledger(functools.partial(blob_pinners, blob_id=blob_id))
        me = self.runner.ctx.identity.id
        return {
            "blob": id_to_text(blob_id),
            "held": held,
            "size": size,
            "pinned_here": blob_id in self.pinner.stats.pinned,
            "peers": holders.to_json(),
            "proved": dict(sorted(proved.items())),
            "pinners": None if chosen is None else [id_to_text(m) for m in chosen],
            "pinner_self": chosen is not None and me in chosen,
            "pinning": self.pinner.stats.to_json(),
        }


@dataclass
class _SyncProgress:
    """A session's progress for the dashboard: entries fetched of those the peer's
    heads showed we lacked, once the session has planned."""

    report: ProgressReport
    remote: str
    stats: NetworkStats
    total: int | None = None
    done: int = 0
    stored: int = 0

    def update(self, peer: SyncPeer) -> None:
        if peer.entries_ingested > self.stored:
            self.stored = peer.entries_ingested
            now = time.monotonic_ns()
            if self.stats.sync_first_stored_ns is None:
                self.stats.sync_first_stored_ns = now
            self.stats.sync_last_stored_ns = now
        if not peer.planned:
            return
        if self.total is None:
            self.total = peer.plan.lacking + peer.entries_ingested
        self.done = min(peer.entries_ingested, self.total)
        if self.total:
            self.report(f"sync with {self.remote[:16]}…", self.done, self.total)

    def finish(self) -> None:
        if self.total and self.done < self.total:
            self.report(f"sync with {self.remote[:16]}…", self.total, self.total)


def _reader(stream: Stream) -> Any:
    async def read(max_bytes: int) -> bytes:
        return await stream.read_some(max_bytes, IO_TIMEOUT_S)

    return read


def _writer(stream: Stream) -> Any:
    async def write(data: bytes) -> None:
        await stream.write(data, IO_TIMEOUT_S)

    return write
