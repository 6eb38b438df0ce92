"""The peering policy: when to sync with whom, and how to cut what we announce.

(specs/0005-sync.md §6.1 "Peering policy"; the sans-IO timers of aiortc/aioquic.)

One machine, `PeeringPolicy`, for both drivers: the running node (node/net/network.py) and
the simulator (ledger.sim.node). It moves no bytes and reads no clock: every input
carries the driver's `now_ms` (a monotonic clock), and the driver asks it what to do.

    inputs   peer_connected, peer_disconnected, gap_seen (gossip from the peer shows a
             log we lack or more of one), session_finished(peer, ok), handle_timer;
             peer_dialable / peer_undialable (an address of the peer is known / no
             longer), dial_finished(peer, ok)
    outputs  sessions_to_start(now_ms) -> peers to open a session with, now
             dials_to_start(now_ms) -> peers to dial, now (specs/0014 §5)
             next_timer_ms() -> when to call handle_timer next (None: only on input)

After any input the driver calls `sessions_to_start(now_ms)` and `dials_to_start(now_ms)`,
opens those sessions and dials, and re-arms its one timer at `next_timer_ms()`
(aioquic's `get_timer` / `handle_timer`).

Guarantees (tests/ledger/test_peering.py checks them against a naive model):
  - at most `max_parallel_syncs` sessions run at a time; never two with one peer;
    never one with ourselves; a session starts only with a connected peer;
  - a connected peer is due at once when it connects and when gossip shows a gap;
    an interval drawn in [sync_interval_ms - sync_jitter_ms, sync_interval_ms] after
    the start of a session that succeeded, and `backoff_ms(failures)` after the start
    of a failed one, never before that session finished (a gap does not cut a backoff
    short); a gap seen while a session runs makes the peer due again as soon as that
    session succeeds;
  - work-conserving: after `sessions_to_start(now)` either every slot is busy or no
    connected peer is due; urgent peers first, then by due time, then request order;
  - `next_timer_ms()` is None or later than the last `now_ms` once `sessions_to_start`
    ran, so a driver never spins; `now_ms` may not go back (`misuse.time-went-back`);
  - state is O(connected peers + running sessions): a disconnected peer is forgotten
    (backoff included) as soon as its running session, if any, has finished;
  - deterministic: peers are opaque hashable ids, never hashed for order; the only
    randomness is the driver's `random_below` (the node's random source, the
    simulator's seeded stream), one draw per periodic wait.

Dials (specs/0014 §5): while fewer than `target_connections` peers are connected, known
dialable peers that are not connected are dialed, at most `max_parallel_dials` at once
(never more than the connections missing), never-failed first, then by due time, then
request order; a failed dial waits `backoff_ms(failures)` on the dial base and cap; a
peer that connects, either way, starts over. At most `max_dialable` peers are held.

Left to the drivers: the addresses themselves, streams, the I/O timeout (`IO_TIMEOUT_MS`,
after which a stalled session fails), sessions a peer opens to us (served, not counted
here: the peer's own policy bounds them), and the bytes of announcements
(`plan_announcements` groups the raw items; protocol.announce encodes them).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from protocol.announce import MAX_ANNOUNCE_ENTRIES, AnnouncementItems, cut_announcements
from protocol.errors import LocalMisuseError

PeerT = TypeVar("PeerT", bound=Hashable)

# Why these values: specs/0005 §6.1. Every wait counts from the start of the last session.
SYNC_INTERVAL_MS = 30_000  # anti-entropy: a session with each peer at least this often
SYNC_JITTER_MS = 10_000  # ... drawn in [20 s, 30 s]: fixed periods fall into lockstep
MAX_PARALLEL_SYNCS = 4  # sessions we open, at once
BACKOFF_BASE_MS = 5_000  # the wait after a first failed session, doubled per failure
BACKOFF_CAP_MS = 600_000  # ... up to this: a peer that always fails costs 1 session/10 min
IO_TIMEOUT_MS = 30_000  # a read or write with no progress for this long fails the session
ANNOUNCE_ENTRIES_AT_MOST = 4 * MAX_ANNOUNCE_ENTRIES  # a larger burst: by its checkpoint
# Dials, specs/0014 §5.
TARGET_CONNECTIONS = 8  # dial known peers while fewer are connected (the host's low watermark)
MAX_PARALLEL_DIALS = 2  # a node starting from a long, stale store opens few sockets at once
DIAL_BACKOFF_BASE_MS = 2_000  # a restarting peer is found again fast ...
DIAL_BACKOFF_CAP_MS = 600_000  # ... a dead address costs 6 dials an hour
MAX_DIALABLE = 512  # the peer store's size (node/store/peers.py)


def backoff_ms(failures: int, base_ms: int = BACKOFF_BASE_MS, cap_ms: int = BACKOFF_CAP_MS) -> int:
    """The wait after `failures` (>= 1) consecutive failed sessions: base · 2^(failures-1),
    at most `cap_ms`."""
    return min(cap_ms, base_ms << min(max(failures - 1, 0), 32))


@dataclass
class _Peer:
    """What the policy keeps per peer (connected, or with a session still running)."""

    due_ms: int  # the earliest time its next session may start
    order: int  # when `due_ms` was last set: ties are broken by request order
    urgent: bool = True  # connected or showed a gap since its last session started
    connected: bool = True
    running: bool = False
    failures: int = 0  # consecutive failed sessions; 0 after a success
    started_ms: int = 0  # when its last session started
    last_ok_ms: int | None = None


@dataclass
class _Dial:
    """What the policy keeps per dialable peer."""

    due_ms: int
    order: int
    failures: int = 0
    dialing: bool = False
    forget: bool = False  # undialable while its dial ran: forget it when the dial ends


@dataclass(frozen=True)
class PeerStatistics:
    connected: bool
    running: bool
    urgent: bool
    due_ms: int
    failures: int
    last_ok_ms: int | None


@dataclass(frozen=True)
class PeeringStatistics(Generic[PeerT]):
    """A snapshot (trio-style `statistics()`); times are the driver's clock."""

    connected: int
    running: tuple[PeerT, ...]  # in the order they were started
    waiting: int  # connected peers due at the last `now_ms`, not running (no free slot)
    backing_off: int  # connected peers whose last session failed
    sessions_started: int
    sessions_succeeded: int
    sessions_failed: int
    next_timer_ms: int | None
    dialable: int = 0  # peers with a known address
    dialing: tuple[PeerT, ...] = ()


class PeeringPolicy(Generic[PeerT]):
    """Which peers to open a sync session with, and when (specs/0005 §6.1)."""

    def __init__(
        self,
        me: PeerT,
        *,
        random_below: Callable[[int], int] | None = None,
        sync_interval_ms: int = SYNC_INTERVAL_MS,
        sync_jitter_ms: int = SYNC_JITTER_MS,
        max_parallel_syncs: int = MAX_PARALLEL_SYNCS,
        backoff_base_ms: int = BACKOFF_BASE_MS,
        backoff_cap_ms: int = BACKOFF_CAP_MS,
        target_connections: int = TARGET_CONNECTIONS,
        max_parallel_dials: int = MAX_PARALLEL_DIALS,
        dial_backoff_base_ms: int = DIAL_BACKOFF_BASE_MS,
        dial_backoff_cap_ms: int = DIAL_BACKOFF_CAP_MS,
        max_dialable: int = MAX_DIALABLE,
    ) -> None:
        """`random_below(n)` gives a uniform integer in [0, n): the driver's random
        source (the node: `random.Random().randrange`; the simulator: its seeded
        `Rng.below`). Without one the interval is exactly `sync_interval_ms` (tests)."""
        dial_limits = (target_connections, max_parallel_dials, dial_backoff_base_ms,
                       dial_backoff_cap_ms, max_dialable)  # fmt: skip
        if min(sync_interval_ms, max_parallel_syncs, backoff_base_ms, backoff_cap_ms,
               *dial_limits) < 1:  # fmt: skip
            raise LocalMisuseError("misuse.bad-argument", "every limit must be positive")
        if not 0 <= sync_jitter_ms < sync_interval_ms:
            raise LocalMisuseError("misuse.bad-argument", "jitter must be in [0, interval)")
        self.me = me
        self.random_below = random_below
        self.sync_interval_ms = sync_interval_ms
        self.sync_jitter_ms = sync_jitter_ms if random_below is not None else 0
        self.max_parallel_syncs = max_parallel_syncs
        self.backoff_base_ms = backoff_base_ms
        self.backoff_cap_ms = backoff_cap_ms
        self._peers: dict[PeerT, _Peer] = {}
        self._running: dict[PeerT, None] = {}  # insertion-ordered set
        self._now_ms: int | None = None
        self._order = 0
        self._started = self._succeeded = self._failed = 0
        (self.target_connections, self.max_parallel_dials, self.dial_backoff_base_ms,
         self.dial_backoff_cap_ms, self.max_dialable) = dial_limits  # fmt: skip
        self._dialable: dict[PeerT, _Dial] = {}

    # -- inputs --------------------------------------------------------------------------
    def peer_connected(self, peer: PeerT, now_ms: int) -> None:
        """A connection to `peer` is up: sync with it at once. Again while connected: no-op."""
        self._advance(now_ms)
        dial = self._dialable.get(peer)
        if dial is not None and not dial.dialing:
            dial.failures, dial.due_ms = 0, now_ms  # starts over if it disconnects
        state = self._peers.get(peer)
        if peer == self.me or (state is not None and state.connected):
            return
        if state is None:
            self._peers[peer] = _Peer(now_ms, self._next_order())
            return
        state.connected, state.failures = True, 0  # back while its old session still runs
        self._make_urgent(state, now_ms)

    def peer_disconnected(self, peer: PeerT, now_ms: int) -> None:
        """`peer` is gone: forget it (at once, or when its running session finishes)."""
        self._advance(now_ms)
        state = self._peers.get(peer)
        if state is None:
            return
        if state.running:
            state.connected = False
        else:
            del self._peers[peer]

    def gap_seen(self, peer: PeerT, now_ms: int) -> None:
        """Gossip from `peer` shows we are behind (an entry beyond our head, a checkpoint
        ahead of it, a log we lack): sync with it at once, or when its backoff ends, or
        right after its running session. Ignored for a peer not connected."""
        self._advance(now_ms)
        state = self._peers.get(peer)
        if state is not None and state.connected:
            self._make_urgent(state, now_ms)

    def session_finished(self, peer: PeerT, ok: bool, now_ms: int) -> None:
        """The session we opened with `peer` ended: `ok` if it completed, else it failed
        (refused, reset, timed out, a protocol error)."""
        self._advance(now_ms)
        state = self._peers.get(peer)
        if state is None or not state.running:
            raise LocalMisuseError("misuse.no-session", "no session with this peer is running")
        periodic = ok and state.connected and not state.urgent
        interval = self._draw_interval_ms() if periodic else 0  # may raise: before changes
        state.running = False
        del self._running[peer]
        if ok:
            self._succeeded += 1
            state.failures, state.last_ok_ms = 0, now_ms
            wait = interval
        else:
            self._failed += 1
            state.failures += 1
            wait = backoff_ms(state.failures, self.backoff_base_ms, self.backoff_cap_ms)
        if not state.connected:
            del self._peers[peer]  # it left while the session ran: forget it now
            return
        state.due_ms, state.order = max(now_ms, state.started_ms + wait), self._next_order()

    def peer_dialable(self, peer: PeerT, now_ms: int) -> bool:
        """An address of `peer` is known (a record, a bootstrap address): dial it while
        connections are missing. False (and nothing held) when `max_dialable` peers are."""
        self._advance(now_ms)
        if peer == self.me:
            return False
        if peer in self._dialable:
            self._dialable[peer].forget = False
            return True
        if len(self._dialable) >= self.max_dialable:
            return False
        self._dialable[peer] = _Dial(now_ms, self._next_order())
        return True

    def peer_undialable(self, peer: PeerT, now_ms: int) -> None:
        """No address of `peer` is known any more: never dial it again (unless told)."""
        self._advance(now_ms)
        dial = self._dialable.get(peer)
        if dial is not None and dial.dialing:
            dial.forget = True
        else:
            self._dialable.pop(peer, None)

    def dial_finished(self, peer: PeerT, ok: bool, now_ms: int) -> None:
        """The dial of `peer` that `dials_to_start` asked for ended."""
        self._advance(now_ms)
        dial = self._dialable.get(peer)
        if dial is None or not dial.dialing:
            raise LocalMisuseError("misuse.no-dial", "no dial of this peer is running")
        dial.dialing = False
        if dial.forget:
            del self._dialable[peer]
            return
        dial.failures = 0 if ok else dial.failures + 1
        wait = backoff_ms(dial.failures, self.dial_backoff_base_ms, self.dial_backoff_cap_ms)
        dial.due_ms, dial.order = now_ms + (wait if dial.failures else 0), self._next_order()

    def handle_timer(self, now_ms: int) -> None:
        """The timer armed at `next_timer_ms()` fired; then call `sessions_to_start`."""
        self._advance(now_ms)

    # -- outputs -------------------------------------------------------------------------
    def sessions_to_start(self, now_ms: int) -> list[PeerT]:
        """The peers to open a session with now; each counts as running from here until
        `session_finished`. Urgent peers first, then the longest due, then request order."""
        self._advance(now_ms)
        free = self.max_parallel_syncs - len(self._running)
        if free <= 0:
            return []
        due = [(p, s) for p, s in self._peers.items() if self._is_due(s, now_ms)]
        due.sort(key=lambda item: (not item[1].urgent, item[1].due_ms, item[1].order))
        chosen = [p for p, _ in due[:free]]
        for peer in chosen:
            state = self._peers[peer]
            state.running, state.urgent, state.started_ms = True, False, now_ms
            self._running[peer] = None
        self._started += len(chosen)
        return chosen

    def dials_to_start(self, now_ms: int) -> list[PeerT]:
        """The peers to dial now; each counts as dialing until `dial_finished`."""
        self._advance(now_ms)
        free = self._free_dial_slots()
        if free <= 0:
            return []
        due = [(p, d) for p, d in self._waiting_dials() if d.due_ms <= now_ms]
        due.sort(key=lambda item: (item[1].failures > 0, item[1].due_ms, item[1].order))
        chosen = [p for p, _ in due[:free]]
        for peer in chosen:
            self._dialable[peer].dialing = True
        return chosen

    def next_timer_ms(self) -> int | None:
        """When the machine next needs `handle_timer` (never before the last `now_ms`),
        or None: nothing will be due before another input (or every slot is busy)."""
        timers = [t for t in (self._sync_timer_ms(), self._dial_timer_ms()) if t is not None]
        return min(timers) if timers else None

    def _sync_timer_ms(self) -> int | None:
        if len(self._running) >= self.max_parallel_syncs:
            return None
        idle = [s.due_ms for s in self._peers.values() if s.connected and not s.running]
        if not idle:
            return None
        return max(min(idle), self._now_ms or 0)

    def _dial_timer_ms(self) -> int | None:
        if self._free_dial_slots() <= 0:
            return None
        waiting = [d.due_ms for _, d in self._waiting_dials()]
        return max(min(waiting), self._now_ms or 0) if waiting else None

    def _free_dial_slots(self) -> int:
        dialing = sum(1 for d in self._dialable.values() if d.dialing)
        connected = sum(1 for s in self._peers.values() if s.connected)
        return min(self.max_parallel_dials - dialing, self.target_connections - connected - dialing)

    def _waiting_dials(self) -> list[tuple[PeerT, _Dial]]:
        """Dialable peers neither connected nor being dialed."""
        return [
            (p, d)
            for p, d in self._dialable.items()
            if not d.dialing and not (p in self._peers and self._peers[p].connected)
        ]

    def is_running(self, peer: PeerT) -> bool:
        state = self._peers.get(peer)
        return state is not None and state.running

    def peer_statistics(self, peer: PeerT) -> PeerStatistics | None:
        """What the policy holds about `peer`, or None once it is forgotten."""
        s = self._peers.get(peer)
        if s is None:
            return None
        return PeerStatistics(s.connected, s.running, s.urgent, s.due_ms, s.failures, s.last_ok_ms)

    def statistics(self) -> PeeringStatistics[PeerT]:
        now = self._now_ms or 0
        peers = [s for s in self._peers.values() if s.connected]
        return PeeringStatistics(
            connected=len(peers),
            running=tuple(self._running),
            waiting=sum(1 for s in peers if self._is_due(s, now)),
            backing_off=sum(1 for s in peers if s.failures and not s.running),
            sessions_started=self._started,
            sessions_succeeded=self._succeeded,
            sessions_failed=self._failed,
            next_timer_ms=self.next_timer_ms(),
            dialable=len(self._dialable),
            dialing=tuple(p for p, d in self._dialable.items() if d.dialing),
        )

    # -- internals -----------------------------------------------------------------------
    def _advance(self, now_ms: int) -> None:
        if self._now_ms is not None and now_ms < self._now_ms:
            raise LocalMisuseError(
                "misuse.time-went-back",
                f"now_ms went back: got {now_ms}, want >= {self._now_ms}",
            )
        self._now_ms = now_ms

    def _draw_interval_ms(self) -> int:
        """The wait after a good session: the interval less a uniform draw in [0, jitter]."""
        if self.random_below is None or not self.sync_jitter_ms:
            return self.sync_interval_ms
        drawn = self.random_below(self.sync_jitter_ms + 1)
        if not 0 <= drawn <= self.sync_jitter_ms:
            raise LocalMisuseError(
                "misuse.bad-argument",
                f"random_below({self.sync_jitter_ms + 1}) gave {drawn}, want [0, n)",
            )
        return self.sync_interval_ms - drawn

    def _next_order(self) -> int:
        self._order += 1
        return self._order

    def _make_urgent(self, state: _Peer, now_ms: int) -> None:
        """Due at once, or when its backoff ends; a running session is not interrupted."""
        if state.urgent:
            return
        state.urgent = True
        if state.running or state.failures:
            return  # due when the session succeeds / when the backoff ends, urgent first
        state.due_ms, state.order = min(state.due_ms, now_ms), self._next_order()

    @staticmethod
    def _is_due(state: _Peer, now_ms: int) -> bool:
        return state.connected and not state.running and state.due_ms <= now_ms


# -- announcements (specs/0005 §10) ---------------------------------------------------------


def plan_announcements(
    entries: Sequence[bytes], checkpoints: Sequence[bytes] = (), forks: Sequence[bytes] = ()
) -> list[AnnouncementItems]:
    """What to gossip after we append (or learn fork proofs): the items of each
    announcement, in order; `encode_announcement(network, *items)` makes each one.

    A burst of more than ANNOUNCE_ENTRIES_AT_MOST entries is announced by its
    checkpoints alone (gossip costs CPU per message on every node; a peer that sees a
    checkpoint beyond its head syncs the range), or, with no checkpoint, by its last
    MAX_ANNOUNCE_ENTRIES entries, which show every peer behind the gap. The rest is
    protocol.announce.cut_announcements: entries in batches of at most
    MAX_ANNOUNCE_ENTRIES, the checkpoint with the last batch, fork proofs at most
    MAX_ANNOUNCE_FORKS to an announcement, every announcement within the byte limits.
    Nothing to say: []."""
    if len(entries) > ANNOUNCE_ENTRIES_AT_MOST:
        entries = [] if checkpoints else entries[-MAX_ANNOUNCE_ENTRIES:]
    return cut_announcements(entries, checkpoints, forks)
