"""Two sync sessions of one node at once (ledger.syncclaims; specs/0005 §6 step 3):
a log one session fetches is left to it by the other, so no entry crosses twice."""

from __future__ import annotations

import pytest

from ledger import syncclaims
from ledger.log import Ledger
from ledger.syncclaims import SyncClaims
from tests.factory import NETWORK
from tests.sync_harness import Peer, assert_same_logs, authors, ledger_with, transfer, whole


def two_sessions_at_once(sink: Ledger, claims: SyncClaims | None) -> tuple[Peer, Peer]:
    """The sink's two sessions with one source (each side opened one), run in
    lockstep round by round, as a node's two sessions with a peer run together."""
    source = ledger_with({"big": None, "rot": None, "small": None})
    pairs = [(Peer(f"source-{i}", source), Peer(f"sink-{i}", sink, claims=claims)) for i in (1, 2)]
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
    return pairs[0][1], pairs[1][1]


def test_a_log_one_session_fetches_is_left_to_it_by_the_other() -> None:
    sink = ledger_with({"big": 100, "rot": 10})
    claims = SyncClaims()
    first, second = two_sessions_at_once(sink, claims)
    assert_same_logs(
        sink, ledger_with({"big": None, "rot": None, "small": None}), ["big", "rot", "small"]
    )
    assert first.frames_skipped == second.frames_skipped == 0
    fetched = first.entries_ingested + second.entries_ingested
    assert fetched == sum(len(authors()[n].entries) for n in ("big", "rot", "small")) - 110
    assert claims.left_to_others == 3  # each of the three logs, by the second session
    assert claims.live() == 0  # every claim ended with its session


def test_without_claims_both_sessions_fetch_every_log() -> None:
    """The control: the same two sessions with no claims fetch each frame twice."""
    sink = ledger_with({"big": 100, "rot": 10})
    first, second = two_sessions_at_once(sink, None)
    assert first.frames_skipped + second.frames_skipped > 0


class Session:
    claims_ended = False


def test_a_claim_is_ended_when_its_answer_falls_short_or_its_session_ends() -> None:
    claims = SyncClaims()
    owner, other = Session(), Session()
    big = authors()["big"].id
    assert claims.claim(owner, NETWORK, big, 2500)
    assert not claims.claim(other, NETWORK, big, 2500)  # as far: left to the owner
    assert claims.claim(other, NETWORK, big, 2600)  # further: the other fetches it too
    claims.release(owner, NETWORK, big)  # no longer the owner's: nothing happens
    assert not claims.claim(owner, NETWORK, big, 2500)
    claims.release(other, NETWORK, big)  # its answer fell short
    assert claims.claim(owner, NETWORK, big, 2500) and claims.live() == 1
    owner.claims_ended = True  # its session ended
    assert claims.live() == 0
    assert claims.claim(other, NETWORK, big, 2500)


def test_claims_of_ended_sessions_are_swept_when_the_table_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(syncclaims, "PRUNE_AT", 4)
    claims = SyncClaims()
    ended, running = Session(), Session()
    for i in range(3):
        claims.claim(ended, NETWORK, bytes([i]) * 32, 10)
    ended.claims_ended = True
    claims.claim(running, NETWORK, b"r" * 32, 10)
    claims.claim(running, NETWORK, b"s" * 32, 10)  # the table is full: swept first
    assert len(claims._claims) == 2 and claims.live() == 2
