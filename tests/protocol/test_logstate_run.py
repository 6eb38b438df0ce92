"""protocol.logstate.verify_run against the fold of verify_next it stands for: the
same head after a valid run, the same first error (code and message) after any
fault, with or without a caller's refusal (specs/0002 §6)."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import kinds
from protocol.entry import Entry, sign_entry
from protocol.errors import CommonsError, RuleViolationError
from protocol.logstate import LogHead, verify_next, verify_run
from tests.factory import NETWORK, Author, seeded_key


def a_log() -> list[Entry]:
    """Notes around a key rotation: both paths (runs and key events) are taken."""
    author = Author("verify-run")
    for i in range(6):
        author.note(f"before {i}")
    author.rotate(seeded_key("verify-run/2"))
    for i in range(6):
        author.note(f"after {i}")
    return author.entries


LOG = a_log()


def faulty(entry: Entry, fault: str) -> Entry:
    """`entry` re-signed with one fault of specs/0002 §6 (or as it is). A fault that
    would not even decode (a prev at seq 1, none later) is not made."""
    key = seeded_key("verify-run/signing" if entry.seq <= 7 else "verify-run/2")
    network, author, seq, prev = entry.network, entry.author, entry.seq, entry.prev
    timestamp_ms, kind = entry.timestamp_ms, entry.kind
    if fault == "seq" and seq > 1:
        seq += 1
    elif fault == "prev" and seq > 1:
        prev = b"\x07" * 32
    elif fault == "time":
        timestamp_ms = 0
    elif fault == "signer":
        key = seeded_key("someone else")
    elif fault == "network":
        network = b"\x09" * 32
    elif fault == "author":
        author = b"\x05" * 32
    elif fault == "inception":
        kind = kinds.INCEPTION
    return sign_entry(
        key,
        network=network,
        author=author,
        seq=seq,
        prev=prev,
        timestamp_ms=timestamp_ms,
        kind=kind,
        body=entry.body,
    )


def outcome(run: Callable[[], LogHead]) -> tuple[str, str] | LogHead:
    try:
        return run()
    except CommonsError as e:
        return (e.code, str(e))


def fold(
    head: LogHead, entries: list[Entry], before: Callable[[Entry], Exception | None]
) -> LogHead:
    for entry in entries:
        refused = before(entry)
        if refused is not None:
            raise refused
        head = verify_next(head, entry)
    return head


FAULTS = ["none", "seq", "prev", "time", "signer", "network", "author", "inception"]


@settings(max_examples=300, deadline=None)
@given(
    start=st.integers(0, len(LOG) - 1),
    stop=st.integers(1, len(LOG)),
    at=st.integers(0, len(LOG) - 1),
    fault=st.sampled_from(FAULTS),
    refuse_at=st.none() | st.integers(1, len(LOG)),
)
def test_a_run_ends_or_fails_as_the_fold_of_verify_next(
    start: int, stop: int, at: int, fault: str, refuse_at: int | None
) -> None:
    head = LogHead(NETWORK, LOG[0].author)
    for entry in LOG[:start]:
        head = verify_next(head, entry)
    entries = list(LOG[start:stop])
    if entries and fault != "none":
        i = at % len(entries)
        entries[i] = faulty(entries[i], fault)

    def before(entry: Entry) -> Exception | None:
        if entry.seq == refuse_at:
            return RuleViolationError("rule.quota-exceeded", f"refused at {entry.seq}")
        return None

    want = outcome(lambda: fold(head, entries, before))
    assert outcome(lambda: verify_run(head, entries, before)) == want
    if refuse_at is None:
        assert outcome(lambda: verify_run(head, entries)) == want
