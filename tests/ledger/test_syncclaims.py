"""Two sync sessions of one node at once (ledger.syncclaims; specs/0005 §6 step 4):
a log one session fetches is left to it by the other, so no entry crosses twice;
a claim ends with its session, a short answer, or a stall."""

from __future__ import annotations

import pytest

from ledger import syncclaims
from ledger.log import Ledger
from ledger.syncclaims import CLAIM_STALE_MS, ClaimToken, SyncClaims
from tests.factory import NETWORK
from tests.sync_harness import Peer, assert_same_logs, authors, ledger_with, transfer, whole

SOURCE: dict[str, int | None] = {"big": None, "rot": None, "small": None}


def lockstep(pairs: list[tuple[Peer, Peer]]) -> None:
    """Run the sessions round by round, as a node's sessions run together."""
    for a, b in pairs:
        a.start()
        b.start()
    for _ in range(10_000):
        moved = False
        for a, b in pairs:
            moved = transfer(a, b, whole) or moved
            moved = transfer(b, a, whole) or moved
        if not moved:
            break
    for a, b in pairs:
        assert a.conn.is_finished and b.conn.is_finished
        b.release_claims()


def two_sessions_at_once(sink: Ledger, claims: SyncClaims | None) -> tuple[Peer, Peer]:
    source = ledger_with(SOURCE)
    pairs = [(Peer(f"source-{i}", source), Peer(f"sink-{i}", sink, claims=claims)) for i in (1, 2)]
    lockstep(pairs)
    return pairs[0][1], pairs[1][1]


def test_a_log_one_session_fetches_is_left_to_it_by_the_other() -> None:
    sink = ledger_with({"big": 100, "rot": 10})
    claims = SyncClaims()
    first, second = two_sessions_at_once(sink, claims)
    assert_same_logs(sink, ledger_with(SOURCE), ["big", "rot", "small"])
    assert first.frames_skipped == second.frames_skipped == 0
    fetched = first.entries_ingested + second.entries_ingested
    assert fetched == sum(len(authors()[n].entries) for n in SOURCE) - 110
    assert first.logs_left + second.logs_left >= 1
    assert claims.live() == 0  # every claim ended with its session


def test_without_claims_both_sessions_fetch_every_log() -> None:
    """The control: the same two sessions with no claims fetch frames twice."""
    sink = ledger_with({"big": 100, "rot": 10})
    first, second = two_sessions_at_once(sink, None)
    assert first.frames_skipped + second.frames_skipped > 0


def test_a_log_left_to_a_session_that_ended_is_taken_back_before_done() -> None:
    """The claiming session ended without fetching (its peer vanished): the session
    that left the log plans it again before it says done."""
    sink = ledger_with({"big": 100})
    claims = SyncClaims()
    gone = ClaimToken()
    big = authors()["big"].id
    assert claims.claim(gone, NETWORK, big, 0)
    source = ledger_with(SOURCE)
    peer = Peer("sink", sink, claims=claims)
    a = Peer("source", source)
    a.start()
    peer.start()
    for _ in range(20):  # until the heads came: big is left, the others asked for
        transfer(a, peer, whole)
        if peer.left:
            break
        transfer(peer, a, whole)
    assert peer.left == [(big, len(authors()["big"].entries))]
    gone.ended = True
    lockstep_rest(a, peer)
    assert_same_logs(sink, source, ["big", "rot", "small"])
    assert peer.logs_left == 1


def lockstep_rest(a: Peer, b: Peer) -> None:
    for _ in range(10_000):
        moved = transfer(a, b, whole)
        moved = transfer(b, a, whole) or moved
        if not moved:
            break
    assert a.conn.is_finished and b.conn.is_finished


def test_a_claim_ends_with_its_session_a_short_answer_or_a_stall() -> None:
    claims = SyncClaims()
    owner, other = ClaimToken(), ClaimToken()
    big = authors()["big"].id
    assert claims.claim(owner, NETWORK, big, 1_000)
    assert not claims.claim(other, NETWORK, big, 1_000)  # live: left to the owner
    claims.progress(owner, NETWORK, big, 1_000 + CLAIM_STALE_MS)
    assert not claims.claim(other, NETWORK, big, 1_000 + 2 * CLAIM_STALE_MS)  # fresh
    assert claims.claim(other, NETWORK, big, 2_000 + 2 * CLAIM_STALE_MS)  # stalled: taken
    claims.release(owner, NETWORK, big)  # no longer the owner's: nothing happens
    assert not claims.claim(owner, NETWORK, big, 2_000 + 2 * CLAIM_STALE_MS)
    claims.release(other, NETWORK, big)  # its answer fell short
    assert claims.claim(owner, NETWORK, big, 0) and claims.live() == 1
    owner.ended = True  # its session ended
    assert claims.live() == 0
    assert claims.claim(other, NETWORK, big, 0)


def test_claims_of_ended_sessions_are_swept_when_the_table_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(syncclaims, "PRUNE_AT", 4)
    claims = SyncClaims()
    ended, running = ClaimToken(), ClaimToken()
    for i in range(3):
        claims.claim(ended, NETWORK, bytes([i]) * 32, 0)
    ended.ended = True
    claims.claim(running, NETWORK, b"r" * 32, 0)
    claims.claim(running, NETWORK, b"s" * 32, 0)  # the table is full: swept first
    assert len(claims._claims) == 2 and claims.live() == 2
