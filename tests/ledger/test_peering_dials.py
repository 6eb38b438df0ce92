"""The peering policy's dials (ledger/peering.py, specs/0014 §5): plain tests of each
rule and a stateful test of its invariants under any sequence of inputs."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ledger.peering import (
    DIAL_BACKOFF_BASE_MS,
    DIAL_BACKOFF_CAP_MS,
    MAX_PARALLEL_DIALS,
    PeeringPolicy,
    backoff_ms,
)
from protocol.errors import LocalMisuseError

ME = "me"


def dialable(
    peers: list[str],
    *,
    max_parallel_dials: int = MAX_PARALLEL_DIALS,
    target_connections: int = 8,
    max_dialable: int = 512,
) -> PeeringPolicy[str]:
    policy = PeeringPolicy(
        ME,
        max_parallel_dials=max_parallel_dials,
        target_connections=target_connections,
        max_dialable=max_dialable,
    )
    for peer in peers:
        assert policy.peer_dialable(peer, 0)
    return policy


def test_known_peers_are_dialed_a_few_at_a_time_in_request_order() -> None:
    policy = dialable(["a", "b", "c"])
    assert policy.dials_to_start(0) == ["a", "b"][:MAX_PARALLEL_DIALS]
    assert policy.dials_to_start(0) == []  # both slots busy
    assert policy.next_timer_ms() is None
    policy.dial_finished("a", True, 10)
    policy.peer_connected("a", 10)
    assert policy.dials_to_start(10) == ["c"]


def test_a_failed_dial_backs_off_and_doubles_up_to_the_cap() -> None:
    policy = dialable(["a"], max_parallel_dials=1)
    now = 0
    for failures in range(1, 12):
        assert policy.dials_to_start(now) == ["a"]
        policy.dial_finished("a", False, now)
        wait = backoff_ms(failures, DIAL_BACKOFF_BASE_MS, DIAL_BACKOFF_CAP_MS)
        assert policy.next_timer_ms() == now + wait
        assert policy.dials_to_start(now + wait - 1) == []
        now += wait
    assert wait == DIAL_BACKOFF_CAP_MS


def test_never_failed_peers_go_first_and_a_connection_starts_over() -> None:
    policy = dialable(["a", "b"], max_parallel_dials=1)
    assert policy.dials_to_start(0) == ["a"]
    policy.dial_finished("a", False, 0)
    assert policy.dials_to_start(DIAL_BACKOFF_BASE_MS) == ["b"]
    policy.dial_finished("b", False, DIAL_BACKOFF_BASE_MS)
    policy.peer_connected("a", 3 * DIAL_BACKOFF_BASE_MS)  # it dialed us
    policy.peer_disconnected("a", 3 * DIAL_BACKOFF_BASE_MS)
    assert policy.dials_to_start(3 * DIAL_BACKOFF_BASE_MS) == ["a"]  # no failures: first


def test_no_dial_once_enough_peers_are_connected() -> None:
    policy = dialable(["x", "y"], target_connections=2)
    policy.peer_connected("a", 0)
    policy.peer_connected("b", 0)
    assert policy.dials_to_start(0) == []
    policy.peer_disconnected("b", 1)
    assert policy.dials_to_start(1) == ["x"]  # one missing: one dial


def test_connected_ourselves_and_full_are_never_dialed() -> None:
    policy = dialable(["a", "b"], max_dialable=2)
    assert not policy.peer_dialable("c", 0) and not policy.peer_dialable(ME, 0)
    policy.peer_connected("a", 0)
    assert policy.dials_to_start(0) == ["b"]


def test_an_undialable_peer_is_forgotten_even_mid_dial() -> None:
    policy = dialable(["a", "b"])
    assert policy.dials_to_start(0) == ["a", "b"]
    policy.peer_undialable("a", 1)
    policy.peer_undialable("b", 1)
    policy.dial_finished("a", False, 2)
    policy.dial_finished("b", True, 2)
    assert policy.statistics().dialable == 0 and policy.next_timer_ms() is None
    with pytest.raises(LocalMisuseError) as info:
        policy.dial_finished("a", True, 3)
    assert info.value.code == "misuse.no-dial"


PEERS = ["a", "b", "c", "d", "e"]


class DialInvariants(RuleBasedStateMachine):
    """Any sequence of inputs: dials stay bounded and never target a connected peer."""

    def __init__(self) -> None:
        super().__init__()
        self.policy: PeeringPolicy[str] = PeeringPolicy(
            ME, target_connections=3, max_parallel_dials=2, max_dialable=4
        )
        self.now = 0
        self.dialing: set[str] = set()
        self.connected: set[str] = set()

    @rule(peer=st.sampled_from(PEERS))
    def dialable(self, peer: str) -> None:
        self.policy.peer_dialable(peer, self.now)

    @rule(peer=st.sampled_from(PEERS))
    def undialable(self, peer: str) -> None:
        self.policy.peer_undialable(peer, self.now)

    @rule(peer=st.sampled_from(PEERS))
    def connect(self, peer: str) -> None:
        self.policy.peer_connected(peer, self.now)
        self.connected.add(peer)

    @rule(peer=st.sampled_from(PEERS))
    def disconnect(self, peer: str) -> None:
        self.policy.peer_disconnected(peer, self.now)
        self.connected.discard(peer)

    @rule(data=st.data(), ok=st.booleans())
    def finish(self, data: st.DataObject, ok: bool) -> None:
        if self.dialing:
            peer = data.draw(st.sampled_from(sorted(self.dialing)))
            self.policy.dial_finished(peer, ok, self.now)
            self.dialing.discard(peer)

    @rule(step=st.integers(0, 700_000))
    def wait(self, step: int) -> None:
        self.now += step
        self.policy.handle_timer(self.now)

    @rule()
    def start(self) -> None:
        chosen = self.policy.dials_to_start(self.now)
        assert not set(chosen) & (self.connected | self.dialing | {ME})
        self.dialing |= set(chosen)
        assert len(self.dialing) <= 2
        if chosen:
            assert len(self.connected) + len(self.dialing) <= 3

    @invariant()
    def timer_never_in_the_past(self) -> None:
        timer = self.policy.next_timer_ms()
        assert timer is None or timer >= self.now
        assert self.policy.statistics().dialable <= 4


TestDialInvariants = DialInvariants.TestCase
TestDialInvariants.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
