"""Forgetting a log and the quota on logs kept without reason (specs/0003 §5.1,
ledger.quota; specs/0012 §5 finding 6)."""

from __future__ import annotations

import pytest

from ledger.log import Ledger
from ledger.quota import LogQuota
from ledger.store import MemoryLogStore
from protocol.errors import RuleViolationError
from tests.factory import NETWORK, Author


def sizes_of(ledger: Ledger) -> dict[tuple[bytes, bytes], int]:
    return {(h.network, h.author): h.size for h in ledger.heads()}


def size_of(ledger: Ledger, author: Author) -> int:
    head = ledger.head(NETWORK, author.id)
    return 0 if head is None else head.size


def test_a_forgotten_log_is_dropped_refused_and_can_be_let_back() -> None:
    ledger = Ledger(MemoryLogStore())
    spammer, friend = Author("spammer"), Author("friend")
    for i in range(5):
        spammer.note(f"spam {i}")
    friend.note("hello")
    ledger.ingest_entries(spammer.entries + friend.entries)
    ledger.forget(NETWORK, spammer.id)
    assert ledger.head(NETWORK, spammer.id) is None
    assert ledger.store.read_entries(NETWORK, spammer.id, 1, 10) == []
    assert ledger.head(NETWORK, friend.id) is not None  # nothing else is touched
    assert ledger.forgotten() == [(NETWORK, spammer.id)]
    report = ledger.ingest_entries(spammer.entries)
    assert report.accepted == [] and report.rejected[0][1].code == "rule.forgotten"
    reopened = Ledger(ledger.store)  # the store remembers
    assert reopened.is_forgotten(NETWORK, spammer.id)
    reopened.unforget(NETWORK, spammer.id)
    assert len(reopened.ingest_entries(spammer.entries).accepted) == 6


def test_logs_kept_without_reason_stop_growing_at_the_quota() -> None:
    ledger = Ledger(MemoryLogStore())
    me, stranger, other = Author("me"), Author("stranger"), Author("other")
    ledger.admission = LogQuota(
        lambda: sizes_of(ledger), lambda a: a == me.id, max_log_entries=4, max_other_entries=6
    )
    for author in (me, stranger):
        for i in range(6):
            author.note(f"{i}")
    report = ledger.ingest_entries(me.entries + stranger.entries)
    assert size_of(ledger, me) == 7  # ours: no quota
    assert size_of(ledger, stranger) == 4
    assert [e.code for _, e in report.rejected] == ["rule.quota-exceeded"]
    for i in range(4):
        other.note(f"{i}")
    report = ledger.ingest_entries(other.entries)
    assert size_of(ledger, other) == 2  # 6 in all
    error = report.rejected[0][1]
    assert isinstance(error, RuleViolationError) and error.code == "rule.quota-exceeded"


@pytest.mark.parametrize("max_log", [1, 3])
def test_the_quota_never_refuses_what_it_keeps(max_log: int) -> None:
    ledger = Ledger(MemoryLogStore())
    ledger.admission = LogQuota(lambda: sizes_of(ledger), lambda a: True, max_log_entries=max_log)
    author = Author("kept")
    for i in range(5):
        author.note(f"{i}")
    assert len(ledger.ingest_entries(author.entries).accepted) == 6
