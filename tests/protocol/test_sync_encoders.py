"""Sync messages against the peer's machine (specs/0005 §3-§5, 0012 §1; h11's rule).

SyncConnection.send is the sync encoder (message_to_wire, checked as the peer checks
it, in a frame): every message it sends arrives at the other side's machine as the
same message, and one over a cap (0005 §5) raises LocalMisuseError with the code the
peer would raise as `remote.*`, changing nothing (the next valid message still goes
through). The frames build_heads_frames cuts are each sendable.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import limits
from protocol.identity import development_network
from protocol.sync import (
    ROLE_PEER,
    ROLE_PULL,
    Done,
    Forks,
    Get,
    Head,
    Heads,
    Hello,
    Message,
    NeedData,
    Range,
    RemoteError,
    SyncConnection,
    SyncError,
    SyncFilter,
    build_heads_frames,
)
from protocol.sync_limits import MAX_FORK_PROOFS_PER_FRAME, MAX_NOTE_BYTES
from tests.protocol.strategies import WIDE, refused

NET = development_network("sync-encoders")
AUTHOR = b"\x01" * 32


# -- sync messages: SyncConnection.send (message_to_wire in a frame) ---------------------

IDS = st.binary(min_size=32, max_size=32)
KIND_NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,8}(\.[a-z][a-z0-9-]{0,8})?", fullmatch=True)
SMALL = st.binary(min_size=1, max_size=24)
FILTERS = st.builds(
    SyncFilter,
    st.none() | st.lists(IDS, unique=True, max_size=4).map(lambda xs: tuple(sorted(xs))),
    st.none() | st.lists(KIND_NAMES, unique=True, max_size=4).map(lambda xs: tuple(sorted(xs))),
)
HEADS = st.lists(st.builds(Head, IDS, st.integers(1, limits.MAX_INT), SMALL), max_size=5).map(
    lambda hs: tuple(sorted({h.author: h for h in hs}.values(), key=lambda h: h.author))
)
SYNC_ERRORS = st.builds(
    SyncError,
    st.from_regex(r"[a-z][a-z0-9-]{0,8}\.[a-z0-9.-]{1,8}", fullmatch=True),
    st.text(max_size=8) | st.builds(lambda ch, n: ch * n, WIDE, st.integers(0, 256)),
)


def _relay(message: Message, sender: SyncConnection, receiver: SyncConnection) -> Any:
    receiver.receive_data(sender.send(message, now_ms=0), now_ms=0)
    event = receiver.next_event()
    assert isinstance(receiver.next_event(), NeedData)
    return event


def _session(until: str) -> tuple[SyncConnection, SyncConnection]:
    """Two sides of one session: fresh ("hello"), after both hellos ("heads"), after
    both heads ("exchange"), or with b's get of 10,000 entries outstanding ("range")."""
    a, b = SyncConnection(NET, now_ms=0), SyncConnection(NET, now_ms=0)
    steps = {"hello": 0, "heads": 1, "exchange": 2, "range": 3}[until]
    opening: list[Message] = [Hello(NET), Heads(())]
    for message in opening[:steps]:
        _relay(message, a, b)
        _relay(message, b, a)
    if steps == 3:
        _relay(Get(0, AUTHOR, 1, 10_001), b, a)
    return a, b


@st.composite
def get_and_range(draw: st.DrawFn) -> tuple[Get, Range]:
    count = draw(st.integers(1, 10_000))
    start = draw(st.integers(1, limits.MAX_INT - count))
    get = Get(draw(st.integers(0, limits.MAX_INT)), draw(IDS), start, start + count)
    entries = tuple(draw(st.lists(SMALL, max_size=min(count, 4))))
    more = bool(entries) and len(entries) < count and draw(st.booleans())
    note = draw(st.binary(min_size=1 if entries else 0, max_size=24))
    proof = tuple(draw(st.lists(IDS, max_size=3)))
    events = tuple(draw(st.lists(SMALL, max_size=3)))
    return get, Range(get.id, get.author, start, entries, note, proof, events, more)


@given(
    st.builds(Hello, st.just(NET), FILTERS, st.sampled_from([ROLE_PEER, ROLE_PULL])),
    HEADS,
    st.booleans(),
    get_and_range(),
    st.lists(SMALL, min_size=1, max_size=MAX_FORK_PROOFS_PER_FRAME).map(tuple),
    SYNC_ERRORS,
)
@settings(max_examples=80)
def test_every_sync_message_arrives_as_sent(
    hello: Hello,
    heads: tuple[Head, ...],
    more: bool,
    request: tuple[Get, Range],
    proofs: tuple[bytes, ...],
    error: SyncError,
) -> None:
    assert _relay(hello, *_session("hello")) == hello
    message = Heads(heads, more=more and bool(heads))
    assert _relay(message, *_session("heads")) == message
    a, b = _session("exchange")
    get, answer = request
    assert _relay(get, a, b) == get
    assert _relay(answer, b, a) == answer
    assert _relay(Forks(proofs), a, b) == Forks(proofs)
    assert _relay(error, a, b) == RemoteError(error.code, error.message)
    assert _relay(Done(), b, a) == Done()


MANY_IDS = tuple(i.to_bytes(32, "big") for i in range(1, 4098))
OVER_CAP: list[tuple[str, Message, str]] = [
    ("hello", Hello(NET, SyncFilter(authors=MANY_IDS)), "misuse.oversized"),
    (
        "hello",
        Hello(NET, SyncFilter(kinds=tuple(f"k{i:03d}" for i in range(65)))),
        "misuse.oversized",
    ),
    ("heads", Heads(tuple(Head(i, 1, b"n") for i in MANY_IDS[:2049])), "misuse.oversized"),
    ("heads", Heads((Head(AUTHOR, 1, bytes(MAX_NOTE_BYTES + 1)),)), "misuse.oversized"),
    ("exchange", Get(0, AUTHOR, 1, 10_002), "misuse.oversized"),
    ("range", Range(0, AUTHOR, 1, (b"e",) * 4097, b"n"), "misuse.oversized"),
    ("range", Range(0, AUTHOR, 1, (bytes(limits.MAX_ENTRY_BYTES + 1),), b"n"), "misuse.oversized"),
    ("range", Range(0, AUTHOR, 1, (b"e",), bytes(MAX_NOTE_BYTES + 1)), "misuse.oversized"),
    ("range", Range(0, AUTHOR, 1, (b"e",), b"n", (bytes(32),) * 129), "misuse.oversized"),
    ("range", Range(0, AUTHOR, 1, (b"e",), b"n", (), (b"k",) * 65), "misuse.oversized"),
    ("exchange", Forks((b"p",) * (MAX_FORK_PROOFS_PER_FRAME + 1)), "misuse.oversized"),
    ("exchange", Forks((bytes(3 << 20),) * 2), "misuse.frame-too-large"),
    ("exchange", SyncError("remote.x", "é" * 513), "misuse.bad-message"),
    ("exchange", SyncError("remote." + "x" * 60, "m"), "misuse.bad-message"),
]
AFTER: dict[str, Message] = {
    "hello": Hello(NET),
    "heads": Heads(()),
    "exchange": Done(),
    "range": Range(0, AUTHOR, 1, (b"e",), b"n", more=True),
}


@pytest.mark.parametrize(("state", "message", "code"), OVER_CAP)
def test_a_sync_message_over_a_cap_is_refused_and_changes_nothing(
    state: str, message: Message, code: str
) -> None:
    a, b = _session(state)
    refused(code, a.send, message, now_ms=0)
    assert _relay(AFTER[state], a, b) == AFTER[state]


@given(st.sampled_from([0, 1, 2048, 2049, 4097]), st.sampled_from([1, 1000, MAX_NOTE_BYTES]))
@settings(max_examples=10)
def test_heads_frames_are_each_sendable_and_carry_every_head(count: int, note: int) -> None:
    heads = [Head(i, 1, bytes(note)) for i in MANY_IDS[:count]]
    a, b = _session("heads")
    got = [_relay(frame, a, b) for frame in build_heads_frames(reversed(heads))]
    assert [h for frame in got for h in frame.heads] == heads
    assert [frame.more for frame in got] == [True] * (len(got) - 1) + [False]
