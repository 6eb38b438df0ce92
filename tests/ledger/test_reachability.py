"""ledger.reachability: the dial-back tally (specs/0014 §6)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.reachability import (
    ASK_INTERVAL_MS,
    DIALBACK_CONFIRMATIONS,
    MAX_SERVERS,
    RETRY_AFTER_MS,
    VERDICT_TTL_MS,
    ReachabilityTally,
)


def test_two_servers_decide_and_a_verdict_expires() -> None:
    tally: ReachabilityTally[str] = ReachabilityTally()
    assert tally.status(0) == "unknown"
    tally.verdict("a", True, 0)
    assert tally.status(0) == "unknown"  # one server is not enough
    tally.verdict("a", True, 1)  # the same server again: still one
    assert tally.status(1) == "unknown"
    tally.verdict("b", True, 2)
    assert tally.status(2) == "public"
    assert tally.status(VERDICT_TTL_MS + 1) == "unknown"  # a's verdict aged out


def test_failures_make_it_private_unless_enough_reached_us() -> None:
    tally: ReachabilityTally[str] = ReachabilityTally()
    tally.verdict("a", False, 0)
    tally.verdict("b", False, 0)
    assert tally.status(0) == "private"
    tally.verdict("a", True, 1)  # a changed its mind: its latest verdict counts
    tally.verdict("c", True, 1)
    assert tally.status(1) == "public"


def test_a_server_is_asked_again_after_the_interval() -> None:
    tally: ReachabilityTally[str] = ReachabilityTally()
    assert tally.should_ask("a", 0)
    tally.asked("a", 0)
    assert not tally.should_ask("a", ASK_INTERVAL_MS - 1)
    assert tally.should_ask("a", ASK_INTERVAL_MS)
    tally.asked("a", ASK_INTERVAL_MS)
    tally.no_answer("a", ASK_INTERVAL_MS + 5)  # refused or reset: retried soon
    assert not tally.should_ask("a", ASK_INTERVAL_MS + 4 + RETRY_AFTER_MS)
    assert tally.should_ask("a", ASK_INTERVAL_MS + 5 + RETRY_AFTER_MS)


@given(st.lists(st.tuples(st.integers(0, 200), st.booleans()), max_size=300))
def test_the_status_is_the_count_of_latest_verdicts(steps: list[tuple[int, bool]]) -> None:
    tally: ReachabilityTally[int] = ReachabilityTally()
    latest: dict[int, bool] = {}
    for server, reached in steps:
        tally.verdict(server, reached, 0)
        latest.pop(server, None)
        latest[server] = reached
        while len(latest) > MAX_SERVERS:
            del latest[next(iter(latest))]
    yes = sum(latest.values())
    want = "unknown"
    if len(latest) - yes >= DIALBACK_CONFIRMATIONS:
        want = "private"
    if yes >= DIALBACK_CONFIRMATIONS:
        want = "public"
    assert tally.status(0) == want
