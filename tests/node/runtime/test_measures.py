"""Histograms and sync lag kept for /metrics (node/runtime/measures.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node.runtime.measures import (
    ENTRY_BUCKETS,
    MAX_TRACKED_PEERS,
    GossipTrace,
    Histogram,
    SyncLag,
)


@given(st.lists(st.integers(min_value=0, max_value=10**7)))
def test_cumulative_buckets_count_the_values_at_or_below_each_bound(values: list[int]) -> None:
    histogram = Histogram.of(values)
    want = [(str(b), sum(v <= b for v in values)) for b in ENTRY_BUCKETS]
    assert histogram.cumulative() == [*want, ("+Inf", len(values))]
    assert histogram.count == len(values) and histogram.sum == sum(values)


def test_lag_is_what_the_last_session_of_a_connected_peer_left() -> None:
    lag = SyncLag()
    lag.session_planned("p1", lacking=500, fetched=100)  # cut short
    lag.session_planned("p2", lacking=50, fetched=50)
    assert lag.behind_entries(["p1", "p2"]) == 400
    assert lag.behind_entries(["p2"]) == 0  # p1 is gone: not counted
    lag.session_planned("p1", lacking=400, fetched=400)  # caught up
    assert lag.behind_entries(["p1", "p2"]) == 0
    assert lag.behind_entries([]) == 0
    assert lag.lacking.count == 3 and lag.lacking.sum == 950


def test_lag_remembers_a_bounded_number_of_peers() -> None:
    lag = SyncLag()
    for i in range(MAX_TRACKED_PEERS + 10):
        lag.session_planned(f"p{i}", lacking=1, fetched=0)
    assert len(lag.unfetched) == MAX_TRACKED_PEERS
    assert "p0" not in lag.unfetched and f"p{MAX_TRACKED_PEERS + 9}" in lag.unfetched


def test_the_gossip_trace_keeps_first_times_and_forgets_the_oldest() -> None:
    trace = GossipTrace(capacity=3)
    trace.received([b"a", b"b"], 700)
    trace.received([b"a"], 900)  # a second copy: the first arrival counts
    trace.stored([b"a"])
    trace.published([b"c", b"d"], 500)  # four entries now: b"a" goes
    rows = {row["entry_id"]: row for row in trace.snapshot()}
    assert list(rows) == [b"b", b"c", b"d"]
    assert rows[b"b"]["bytes"] == 700 and "stored_ns" not in rows[b"b"]
    assert set(rows[b"c"]) == {"entry_id", "published_ns", "bytes"}
    trace.stored([b"b"])
    after = {row["entry_id"]: row for row in trace.snapshot()}
    assert after[b"b"]["stored_ns"] >= after[b"b"]["received_ns"]
