"""The gossip validator: what is accepted, rejected or ignored (specs/0005 §6)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.log import Ledger
from ledger.store import MemoryLogStore
from protocol.announce import Verdict, check_announcement, encode_announcement
from protocol.identity import development_network
from tests.factory import NETWORK, Author


def held(author: Author, upto: int) -> Ledger:
    ledger = Ledger(MemoryLogStore())
    ledger.ingest([e.raw for e in author.entries[:upto]])
    return ledger


def verdict_of(data: bytes, ledger: Ledger) -> tuple[Verdict, str | None]:
    result = check_announcement(data, NETWORK, ledger)
    return result.verdict, None if result.error is None else result.error.code


def test_new_entries_are_accepted_and_old_news_ignored() -> None:
    author = Author("gossip")
    for i in range(3):
        author.note(f"n{i}")
    ledger = held(author, 2)
    fresh = encode_announcement(NETWORK, [e.raw for e in author.entries[2:]])
    assert verdict_of(fresh, ledger) == (Verdict.ACCEPT, None)
    stale = encode_announcement(NETWORK, [author.entries[1].raw])
    assert verdict_of(stale, ledger) == (Verdict.IGNORE, None)
    beyond = encode_announcement(NETWORK, [author.entries[3].raw])  # gap: sync will fetch
    assert verdict_of(beyond, ledger) == (Verdict.ACCEPT, None)


def test_unknown_kinds_are_log_valid_and_accepted() -> None:
    author = Author("future")
    author.append("design.v7", {"anything": True})
    ledger = held(author, 1)
    data = encode_announcement(NETWORK, [author.entries[1].raw])
    assert verdict_of(data, ledger) == (Verdict.ACCEPT, None)


def test_bad_announcements_are_rejected_with_their_codes() -> None:
    author = Author("rogue")
    author.note("x")
    ledger = held(author, 1)
    other_net = encode_announcement(development_network("elsewhere"), [author.entries[1].raw])
    assert verdict_of(other_net, ledger) == (Verdict.REJECT, "verify.wrong-network")
    broken = bytearray(author.entries[1].raw)
    broken[-1] ^= 1
    assert verdict_of(encode_announcement(NETWORK, [bytes(broken)]), ledger)[0] == Verdict.REJECT
    twin = Author("rogue")
    twin.clock_ms -= 5000  # an entry at the next seq that breaks the chain (time regresses)
    twin.note("y")
    assert verdict_of(encode_announcement(NETWORK, [twin.entries[1].raw]), ledger) == (
        Verdict.REJECT,
        "verify.timestamp-regress",
    )
    loose = encode_announcement(NETWORK, [author.entries[1].raw]).replace(
        b"\xa1v\x01", b"\xa1v\xcc\x01"
    )
    assert verdict_of(loose, ledger) == (Verdict.REJECT, "decode.non-canonical")
    assert verdict_of(b"\x00" * (300 * 1024), ledger) == (Verdict.REJECT, "decode.too-large")


def test_frozen_authors_are_rejected() -> None:
    honest = Author("frozen")
    honest.note("a")
    twin = Author("frozen")
    twin.clock_ms += 1
    twin.note("b")
    ledger = held(honest, 2)
    ledger.ingest([twin.entries[1].raw])
    assert ledger.is_frozen(NETWORK, honest.id)
    honest.note("c")
    data = encode_announcement(NETWORK, [honest.entries[2].raw])
    assert verdict_of(data, ledger) == (Verdict.REJECT, "rule.frozen-author")


@given(st.binary(max_size=600))
@settings(max_examples=1000)
def test_any_bytes_get_a_verdict_never_an_exception(data: bytes) -> None:
    result = check_announcement(data, NETWORK, Ledger(MemoryLogStore()))
    assert result.verdict in (Verdict.REJECT, Verdict.IGNORE, Verdict.ACCEPT)
