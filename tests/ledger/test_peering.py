"""The peering policy (ledger/peering.py, specs/0005 §6.1): plain tests of each rule, a
stateful test against a naive reference model, and the announcement plan."""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger import peering
from ledger.peering import (
    ANNOUNCE_ENTRIES_AT_MOST,
    BACKOFF_BASE_MS,
    BACKOFF_CAP_MS,
    MAX_PARALLEL_SYNCS,
    SYNC_INTERVAL_MS,
    SYNC_JITTER_MS,
    PeeringPolicy,
    backoff_ms,
    plan_announcements,
)
from protocol.announce import (
    MAX_ANNOUNCE_ENTRIES,
    MAX_ANNOUNCE_FORKS,
    decode_announcement,
    encode_announcement,
)
from protocol.errors import LocalMisuseError
from tests.factory import NETWORK, Author

ME = "me"


def connected(peers: list[str], now_ms: int = 0) -> PeeringPolicy[str]:
    policy = PeeringPolicy(ME)
    for peer in peers:
        policy.peer_connected(peer, now_ms)
    return policy


# -- when, with whom ----------------------------------------------------------------------


def test_a_connected_peer_is_synced_at_once_then_every_interval() -> None:
    policy = connected(["a"], now_ms=1_000)
    assert policy.next_timer_ms() == 1_000
    assert policy.sessions_to_start(1_000) == ["a"]
    assert policy.sessions_to_start(1_000) == []  # never two sessions with one peer
    assert policy.next_timer_ms() is None  # nothing to wake for while it runs
    policy.session_finished("a", True, 3_000)
    assert policy.next_timer_ms() == 1_000 + SYNC_INTERVAL_MS  # from the session's start
    assert policy.sessions_to_start(1_000 + SYNC_INTERVAL_MS - 1) == []
    policy.handle_timer(1_000 + SYNC_INTERVAL_MS)
    assert policy.sessions_to_start(1_000 + SYNC_INTERVAL_MS) == ["a"]


def test_never_with_ourselves() -> None:
    policy = connected([ME, "a"])
    policy.gap_seen(ME, 0)
    assert policy.sessions_to_start(0) == ["a"]
    assert policy.peer_statistics(ME) is None


def test_at_most_max_parallel_sessions_in_request_order() -> None:
    peers = [f"p{i}" for i in range(MAX_PARALLEL_SYNCS + 2)]
    policy = connected(peers)
    assert policy.sessions_to_start(0) == peers[:MAX_PARALLEL_SYNCS]
    assert policy.statistics().waiting == 2
    assert policy.next_timer_ms() is None  # every slot busy: only a finish frees one
    policy.session_finished(peers[1], True, 500)
    assert policy.sessions_to_start(500) == [peers[MAX_PARALLEL_SYNCS]]
    policy.session_finished(peers[0], False, 600)
    assert policy.sessions_to_start(600) == [peers[MAX_PARALLEL_SYNCS + 1]]


def test_a_gap_syncs_at_once_or_right_after_the_running_session() -> None:
    policy = connected(["a", "b"])
    assert policy.sessions_to_start(0) == ["a", "b"]
    policy.session_finished("a", True, 100)
    policy.gap_seen("a", 200)  # idle: at once, not at the interval
    policy.gap_seen("b", 200)  # running: again as soon as it succeeds
    assert policy.sessions_to_start(200) == ["a"]
    policy.session_finished("b", True, 900)
    assert policy.sessions_to_start(900) == ["b"]
    policy.gap_seen("stranger", 900)  # not connected: ignored, not remembered
    assert policy.peer_statistics("stranger") is None


def test_urgent_peers_go_before_periodic_ones() -> None:
    policy = PeeringPolicy(ME, max_parallel_syncs=1)
    for peer, at in (("a", 0), ("b", 1_000)):
        policy.peer_connected(peer, at)
        assert policy.sessions_to_start(at) == [peer]
        policy.session_finished(peer, True, at)
    later = SYNC_INTERVAL_MS + 2_000  # both are due for the periodic round, a for longer
    policy.gap_seen("b", later)
    assert policy.sessions_to_start(later) == ["b"]
    assert policy.sessions_to_start(later) == []


def test_backoff_doubles_up_to_its_cap_and_success_resets_it() -> None:
    assert [backoff_ms(k) for k in (1, 2, 3)] == [BACKOFF_BASE_MS, 2 * BACKOFF_BASE_MS, 20_000]
    assert backoff_ms(100) == BACKOFF_CAP_MS
    policy = connected(["a"])
    now = 0
    for failures in range(1, 12):
        assert policy.sessions_to_start(now) == ["a"]
        policy.session_finished("a", False, now + 10)  # a fast failure
        stats = policy.peer_statistics("a")
        assert stats is not None and stats.failures == failures
        assert policy.next_timer_ms() == max(now + 10, now + backoff_ms(failures))
        policy.gap_seen("a", now + 20)  # gossip does not cut a backoff short
        assert policy.next_timer_ms() == max(now + 10, now + backoff_ms(failures))
        now = max(now + 10, now + backoff_ms(failures))
    assert backoff_ms(11) == BACKOFF_CAP_MS
    assert policy.sessions_to_start(now) == ["a"]
    policy.session_finished("a", True, now + 10)
    assert policy.peer_statistics("a") == peering.PeerStatistics(
        connected=True,
        running=False,
        urgent=False,  # the gap seen during the backoff was served by this session
        due_ms=now + SYNC_INTERVAL_MS,
        failures=0,
        last_ok_ms=now + 10,
    )


def test_the_periodic_interval_is_drawn_from_the_drivers_random_source() -> None:
    asked: list[int] = []

    def most(n: int) -> int:
        asked.append(n)
        return n - 1

    policy = PeeringPolicy(ME, random_below=most)
    policy.peer_connected("a", 0)
    assert policy.sessions_to_start(0) == ["a"]
    policy.session_finished("a", True, 100)
    assert asked == [SYNC_JITTER_MS + 1]
    assert policy.next_timer_ms() == SYNC_INTERVAL_MS - SYNC_JITTER_MS  # never later
    assert policy.sessions_to_start(SYNC_INTERVAL_MS - SYNC_JITTER_MS) == ["a"]
    policy.gap_seen("a", 20_001)  # due again at once after it: nothing to draw
    policy.session_finished("a", True, 20_002)
    assert asked == [SYNC_JITTER_MS + 1] and policy.next_timer_ms() == 20_002


def test_a_draw_out_of_range_is_refused_and_changes_nothing() -> None:
    policy = PeeringPolicy(ME, random_below=lambda n: n)
    policy.peer_connected("a", 0)
    assert policy.sessions_to_start(0) == ["a"]
    with pytest.raises(LocalMisuseError) as error:
        policy.session_finished("a", True, 10)
    assert error.value.code == "misuse.bad-argument"
    assert policy.is_running("a") and policy.statistics().sessions_succeeded == 0
    with pytest.raises(LocalMisuseError) as error:
        PeeringPolicy(ME, random_below=lambda n: 0, sync_jitter_ms=SYNC_INTERVAL_MS)
    assert error.value.code == "misuse.bad-argument"


def test_a_session_that_timed_out_is_retried_when_it_fails() -> None:
    """Waits count from the session's start: a 30 s stall already waited longer than the
    first backoffs."""
    policy = connected(["a"])
    assert policy.sessions_to_start(0) == ["a"]
    policy.session_finished("a", False, 30_000)
    assert policy.next_timer_ms() == 30_000


def test_a_disconnected_peer_is_forgotten_once_its_session_ends() -> None:
    policy = connected(["a", "b"])
    assert policy.sessions_to_start(0) == ["a", "b"]
    policy.peer_disconnected("b", 10)
    assert policy.statistics().running == ("a", "b")  # its slot is held until it ends
    policy.gap_seen("b", 20)
    policy.session_finished("b", False, 30)
    assert policy.peer_statistics("b") is None
    policy.session_finished("a", False, 40)
    policy.peer_disconnected("a", 50)
    assert policy.peer_statistics("a") is None  # backoff forgotten with it
    policy.peer_connected("a", 60)
    assert policy.sessions_to_start(60) == ["a"]  # a new connection: at once


def test_a_peer_back_while_its_old_session_runs_is_synced_again_after_it() -> None:
    policy = connected(["a"])
    assert policy.sessions_to_start(0) == ["a"]
    policy.peer_disconnected("a", 10)
    policy.peer_connected("a", 20)
    assert policy.sessions_to_start(20) == []
    policy.session_finished("a", True, 30)
    assert policy.sessions_to_start(30) == ["a"]


def test_misuse_is_refused_and_changes_nothing() -> None:
    policy = connected(["a"], now_ms=100)
    with pytest.raises(LocalMisuseError) as error:
        policy.handle_timer(99)
    assert error.value.code == "misuse.time-went-back"
    with pytest.raises(LocalMisuseError) as error:
        policy.session_finished("a", True, 100)
    assert error.value.code == "misuse.no-session"
    assert policy.sessions_to_start(100) == ["a"]
    with pytest.raises(LocalMisuseError) as error:
        PeeringPolicy(ME, max_parallel_syncs=0)
    assert error.value.code == "misuse.bad-argument"


def test_statistics_is_a_snapshot() -> None:
    policy = connected(["a", "b", "c", "d", "e", "f"])
    assert policy.sessions_to_start(0) == ["a", "b", "c", "d"]
    policy.session_finished("a", True, 5)
    policy.session_finished("b", False, 5)
    stats = policy.statistics()
    assert stats.connected == 6
    assert stats.running == ("c", "d")
    assert stats.waiting == 2  # e and f, due, until the driver asks again
    assert stats.backing_off == 1
    assert (stats.sessions_started, stats.sessions_succeeded, stats.sessions_failed) == (4, 1, 1)
    assert stats.next_timer_ms == 5


# -- a stateful test against a naive model ------------------------------------------------

PEERS = [0, 1, 2, 3, 4, 5]  # 0 is ourselves
SLOTS = 2
INTERVAL, JITTER = 30_000, 10_000
BASE, CAP = 5_000, 40_000


@dataclass
class ModelPeer:
    connected: bool = True
    running: bool = False
    connected_ms: int = 0
    started_ms: int | None = None  # of the last session since it (re)connected
    finished_ms: int = 0
    ok: bool = True
    failures: int = 0
    urgent_ms: int | None = None  # the first connect or gap since the last start
    interval_ms: int = INTERVAL  # drawn when its last session succeeded


@dataclass
class Model:
    """What the policy must do, written the slow, obvious way."""

    now_ms: int = 0
    peers: dict[int, ModelPeer] = field(default_factory=dict)

    def due_ms(self, p: ModelPeer) -> int:
        if p.started_ms is None:
            return p.connected_ms
        if not p.ok:  # a gap never cuts a backoff short
            backoff = min(CAP, BASE * 2 ** max(p.failures - 1, 0))
            return max(p.finished_ms, p.started_ms + int(backoff))
        wanted = p.started_ms + p.interval_ms
        if p.urgent_ms is not None:
            wanted = min(wanted, p.urgent_ms)
        return max(p.finished_ms, wanted)

    def idle(self) -> dict[int, ModelPeer]:
        return {i: p for i, p in self.peers.items() if p.connected and not p.running}

    def running(self) -> list[int]:
        return [i for i, p in self.peers.items() if p.running]


class PolicyAgainstModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.policy = PeeringPolicy(
            0, random_below=self.draw, sync_interval_ms=INTERVAL, sync_jitter_ms=JITTER,
            max_parallel_syncs=SLOTS, backoff_base_ms=BASE, backoff_cap_ms=CAP,
        )  # fmt: skip
        self.model = Model()
        self.told_ms = 0  # the latest time the policy was given
        self.stream = random.Random(0)
        self.draws: list[int] = []

    def draw(self, n: int) -> int:
        assert n == JITTER + 1
        self.draws.append(self.stream.randrange(n))
        return self.draws[-1]

    def now(self) -> int:
        self.told_ms = self.model.now_ms
        return self.told_ms

    @rule(dt=st.integers(0, 45_000))
    def time_passes(self, dt: int) -> None:
        self.model.now_ms += dt

    @precondition(lambda self: self.policy.next_timer_ms() is not None)
    @rule()
    def timer_fires(self) -> None:
        """At the time asked for, or later (a late driver)."""
        wake = self.policy.next_timer_ms()
        assert wake is not None and wake >= self.told_ms  # never before the policy's now
        self.model.now_ms = max(wake, self.model.now_ms)
        self.policy.handle_timer(self.now())

    @rule(peer=st.sampled_from(PEERS))
    def connect(self, peer: int) -> None:
        self.policy.peer_connected(peer, self.now())
        p = self.model.peers.get(peer)
        if peer == 0 or (p is not None and p.connected):
            return
        if p is None:
            now = self.model.now_ms
            self.model.peers[peer] = ModelPeer(connected_ms=now, urgent_ms=now)
            return
        p.connected, p.failures = True, 0
        p.urgent_ms = self.model.now_ms if p.urgent_ms is None else p.urgent_ms

    @rule(peer=st.sampled_from(PEERS))
    def disconnect(self, peer: int) -> None:
        self.policy.peer_disconnected(peer, self.now())
        p = self.model.peers.get(peer)
        if p is not None and p.running:
            p.connected = False
        elif p is not None:
            del self.model.peers[peer]

    @rule(peer=st.sampled_from(PEERS))
    def gap(self, peer: int) -> None:
        self.policy.gap_seen(peer, self.now())
        p = self.model.peers.get(peer)
        if p is not None and p.connected and p.urgent_ms is None:
            p.urgent_ms = self.model.now_ms

    @rule(data=st.data(), ok=st.booleans())
    def finish(self, data: st.DataObject, ok: bool) -> None:
        running = self.model.running()
        if not running:
            with pytest.raises(LocalMisuseError) as error:
                self.policy.session_finished(data.draw(st.sampled_from(PEERS)), ok, self.now())
            assert error.value.code == "misuse.no-session"
            return
        peer = data.draw(st.sampled_from(running))
        drawn = len(self.draws)
        self.policy.session_finished(peer, ok, self.now())
        p = self.model.peers[peer]
        periodic = ok and p.connected and p.urgent_ms is None
        assert len(self.draws) == drawn + periodic  # one draw per periodic wait, no other
        if periodic:
            p.interval_ms = INTERVAL - self.draws[-1]
        p.running, p.ok, p.finished_ms = False, ok, self.model.now_ms
        p.failures = 0 if ok else p.failures + 1
        if not p.connected:
            del self.model.peers[peer]

    @rule()
    def start(self) -> None:
        now, model = self.now(), self.model
        due = {i: p for i, p in model.idle().items() if model.due_ms(p) <= now}
        started = self.policy.sessions_to_start(now)
        assert len(set(started)) == len(started) and 0 not in started
        assert set(started) <= set(due), (started, due)
        assert len(started) == min(len(due), SLOTS - len(model.running()))  # work-conserving
        rank = {i: (p.urgent_ms is None, model.due_ms(p)) for i, p in due.items()}
        left = [rank[i] for i in due if i not in started]
        assert all(rank[i] <= other for i in started for other in left)  # urgent, then oldest
        for peer in started:
            p = model.peers[peer]
            p.running, p.started_ms, p.urgent_ms = True, now, None
        self.check_timer()

    def check_timer(self) -> None:
        """Just after sessions_to_start: the earliest due, strictly later (no spinning)."""
        model = self.model
        wake = self.policy.next_timer_ms()
        if len(model.running()) >= SLOTS or not model.idle():
            assert wake is None
            return
        assert wake == min(model.due_ms(p) for p in model.idle().values())
        assert wake > model.now_ms

    @invariant()
    def agrees_with_the_model(self) -> None:
        stats = self.policy.statistics()
        assert len(stats.running) <= SLOTS
        assert sorted(stats.running) == sorted(self.model.running())
        assert stats.connected == sum(p.connected for p in self.model.peers.values())
        for peer in PEERS:
            mine, want = self.policy.peer_statistics(peer), self.model.peers.get(peer)
            assert (mine is None) == (want is None), peer  # forgotten when it should be
            if mine is None or want is None:
                continue
            assert (mine.connected, mine.running) == (want.connected, want.running)
            if want.connected and not want.running:  # synced within its interval/backoff
                assert mine.due_ms == self.model.due_ms(want), peer


TestPolicyAgainstModel = PolicyAgainstModel.TestCase
TestPolicyAgainstModel.settings = settings(max_examples=200, stateful_step_count=60)


# -- announcements -----------------------------------------------------------------------


def entries(n: int) -> list[bytes]:
    author = Author("peering-announcer")
    for i in range(n):
        author.note(f"note {i}")
    return [e.raw for e in author.entries][:n]  # the inception counts as one


def test_announcements_batch_entries_with_the_checkpoint_last() -> None:
    raws, note = entries(MAX_ANNOUNCE_ENTRIES + 5), b"checkpoint note"
    plan = plan_announcements(raws, [note])
    assert [len(items.entries) for items in plan] == [MAX_ANNOUNCE_ENTRIES, 5]
    assert [items.checkpoints for items in plan] == [(), (note,)]
    assert [e for items in plan for e in items.entries] == raws
    for items in plan:  # each one a valid announcement
        decode_announcement(encode_announcement(NETWORK, *items))


def test_a_burst_is_announced_by_its_checkpoint_alone_or_by_its_last_batch() -> None:
    raws = entries(ANNOUNCE_ENTRIES_AT_MOST + 1)
    alone = plan_announcements(raws, [b"note"])
    assert [(i.entries, i.checkpoints) for i in alone] == [((), (b"note",))]
    tail = plan_announcements(raws)
    assert [i.entries for i in tail] == [tuple(raws[-MAX_ANNOUNCE_ENTRIES:])]
    assert len(plan_announcements(entries(ANNOUNCE_ENTRIES_AT_MOST), [b"n"])) == 4


def test_fork_proofs_go_several_announcements_at_most_the_limit_each() -> None:
    forks = [bytes([i]) * 100 for i in range(2 * MAX_ANNOUNCE_FORKS + 1)]
    plan = plan_announcements([], [], forks)
    assert [len(i.forks) for i in plan] == [MAX_ANNOUNCE_FORKS, MAX_ANNOUNCE_FORKS, 1]
    assert [f for i in plan for f in i.forks] == forks
    assert plan_announcements([], [], []) == []


def test_the_policy_constants_are_defined_only_in_ledger_peering() -> None:
    """The drift of issue 13: no other module of ledger/ keeps its own copy."""
    names = {"SYNC_INTERVAL_MS", "SYNC_JITTER_MS", "MAX_PARALLEL_SYNCS", "IO_TIMEOUT_MS",
             "ANNOUNCE_ENTRIES_AT_MOST", "BACKOFF_BASE_MS", "BACKOFF_CAP_MS"}  # fmt: skip
    root = Path(peering.__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        if path.name == "peering.py" and path.parent == root:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                defined = {t.id for t in targets if isinstance(t, ast.Name)}
                assert not defined & names, f"{path}: {defined & names}"
