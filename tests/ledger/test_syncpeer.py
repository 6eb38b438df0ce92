"""A SyncPeer that keeps no events (the node's) syncs exactly like one that does; two
that reconcile send only what the other lacks (specs/0005 §8), and one that does not
offer it, or filters, gets the full exchange."""

from __future__ import annotations

from protocol.sync import SyncFilter
from tests.factory import NETWORK
from tests.ledger.test_gossip import fork_proof
from tests.sync_harness import (
    Peer,
    assert_same_logs,
    authors,
    ledger_with,
    run_session,
    source_and_sink,
)


def test_a_session_without_kept_events_converges_the_same() -> None:
    source, sink = source_and_sink()
    src, dst = Peer("source", source, keep_events=False), Peer("sink", sink, keep_events=False)
    run_session(src, dst)
    assert_same_logs(source, sink, ["big", "rot", "small", "extra"])
    assert src.events == dst.events == []
    assert dst.frames_ingested == 4 and dst.frames_skipped == 0
    assert src.frames_ingested == 1
    assert src.conn.is_finished and dst.conn.is_finished


def test_reconciling_peers_send_only_the_heads_the_other_lacks() -> None:
    source, sink = source_and_sink()
    src, dst = Peer("source", source), Peer("sink", sink)
    run_session(src, dst)
    assert src.conn.reconciling and dst.conn.reconciling
    assert_same_logs(source, sink, ["big", "rot", "small", "extra"])
    # source: big and rot longer, small new; sink: extra (its big and rot prefixes
    # have no checkpoint, so it serves neither)
    assert (src.heads_sent, dst.heads_sent) == (3, 1)
    again_src, again_dst = Peer("source", source), Peer("sink", sink)
    run_session(again_src, again_dst)
    assert (again_src.heads_sent, again_dst.heads_sent) == (0, 0)
    assert again_dst.entries_ingested == again_src.entries_ingested == 0


def test_a_peer_without_reconciliation_gets_the_full_exchange() -> None:
    for old_side in ("source", "sink"):
        source, sink = source_and_sink()
        src = Peer("source", source, reconcile=old_side != "source")
        dst = Peer("sink", sink, reconcile=old_side != "sink")
        run_session(src, dst)
        assert not src.conn.reconciling and not dst.conn.reconciling
        assert_same_logs(source, sink, ["big", "rot", "small", "extra"])
        assert (src.heads_sent, dst.heads_sent) == (3, 1)  # every log each serves
        again = Peer("source", source, reconcile=False), Peer("sink", sink)
        run_session(*again)
        assert (again[0].heads_sent, again[1].heads_sent) == (4, 4)  # in sync, all again


def test_a_filtered_peer_gets_the_full_exchange() -> None:
    source, sink = source_and_sink()
    wanted = SyncFilter((authors()["small"].id,), None)
    src, dst = Peer("source", source), Peer("sink", sink, filter=wanted)
    run_session(src, dst)
    assert not dst.conn.reconciling
    assert src.heads_sent == 1 and sink.head(NETWORK, authors()["small"].id) is not None


def test_fork_proofs_are_sent_only_to_a_peer_that_lacks_them() -> None:
    source, sink = source_and_sink()
    proof = fork_proof("syncpeer-forker")
    source.add_fork_proof(proof)
    first = Peer("source", source), Peer("sink", sink)
    run_session(*first)
    assert first[0].forks_sent == 1 and [p.raw for p in sink.store.fork_proofs()] == [proof]
    second = Peer("source", source), Peer("sink", sink)
    run_session(*second)
    assert second[0].forks_sent == second[1].forks_sent == 0
    old = Peer("source", source, reconcile=False), Peer("sink", sink)
    run_session(*old)
    assert old[0].forks_sent == old[1].forks_sent == 1  # the full exchange sends all


def test_a_watched_log_both_sides_agree_on_shows_its_size() -> None:
    """A restored home waits to see how much of its own log a peer holds (the node's
    `watch`); reconciling peers send no head of a log they agree on, so agreement
    itself shows it."""
    source, sink = source_and_sink()
    run_session(Peer("source", source), Peer("sink", sink))  # now in sync
    small = authors()["small"].id
    held = sink.head(NETWORK, small)
    assert held is not None
    for reconcile in (True, False):
        watcher = Peer("sink", sink, watch=small, reconcile=reconcile)
        run_session(Peer("source", source), watcher)
        assert watcher.conn.reconciling is reconcile
        assert watcher.watched_size == held.size
        # a log the peer does not hold: no agreement, no head, no size
        unknown = Peer("sink", sink, watch=authors()["extra"].id, reconcile=reconcile)
        run_session(Peer("stranger", ledger_with({"small": None})), unknown)
        assert unknown.watched_size is None
