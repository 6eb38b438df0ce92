"""A SyncPeer that keeps no events (the node's) syncs exactly like one that does."""

from __future__ import annotations

from tests.sync_harness import Peer, assert_same_logs, run_session, source_and_sink


def test_a_session_without_kept_events_converges_the_same() -> None:
    source, sink = source_and_sink()
    src, dst = Peer("source", source, keep_events=False), Peer("sink", sink, keep_events=False)
    run_session(src, dst)
    assert_same_logs(source, sink, ["big", "rot", "small", "extra"])
    assert src.events == dst.events == []
    assert dst.frames_ingested == 4 and dst.frames_skipped == 0
    assert src.frames_ingested == 1
    assert src.conn.is_finished and dst.conn.is_finished
