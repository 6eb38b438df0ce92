"""The sync machine (protocol/sync.py, specs/0005-sync.md): real logs between two real
Ledgers through two machines back to back, the transition table state by message,
hostile and chunked input, limits, timers and the wire examples of the spec."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.checkpoint import MAX_CHECKPOINT_BYTES
from ledger.keyhistory import MAX_KEY_EVENTS
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from protocol import canonical, framing
from protocol.errors import LocalMisuseError, RemoteFaultError
from protocol.reconcile import Reconciler
from protocol.sync import (
    ROLE_PULL,
    TRANSITIONS,
    Closed,
    Done,
    Event,
    Forks,
    Get,
    Head,
    Heads,
    Hello,
    Message,
    NeedData,
    Range,
    RangeRequest,
    Reconcile,
    ReconcileReply,
    RemoteError,
    SideState,
    SyncConnection,
    SyncError,
    SyncFilter,
    SyncPlan,
    build_range_frames,
    plan_requests,
)
from protocol.sync_limits import (
    DECODER_MAX_ARRAY_LEN,
    IDLE_TIMEOUT_MS,
    MAX_HELLO_FRAME_BYTES,
    MAX_INFLIGHT_REQUESTS,
    MAX_KEY_EVENTS_PER_FRAME,
    MAX_NOTE_BYTES,
    MAX_RECONCILE_MESSAGES_PER_SESSION,
    MAX_SYNC_FRAME_BYTES,
    RECONCILE_VERSION,
)
from protocol.sync_messages import message_to_wire, parse_message
from tests.factory import NETWORK
from tests.paths import ROOT
from tests.sync_harness import (
    Peer,
    assert_same_logs,
    authors,
    chunker_from,
    ledger_with,
    run_session,
    source_and_sink,
)

A, B, C = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32
OTHER_NETWORK = b"\x99" * 32
BUFFER_BOUND = framing.HEADER_BYTES + MAX_SYNC_FRAME_BYTES


# -- real logs through two machines ---------------------------------------------------
def test_two_ledgers_converge_through_two_machines() -> None:
    source, sink = source_and_sink()
    src, dst = Peer("source", source), Peer("sink", sink)
    run_session(src, dst)
    assert_same_logs(source, sink, ["big", "rot", "small", "extra"])
    big = [e for e in dst.events if isinstance(e, Range) and e.author == authors()["big"].id]
    assert len(big) == 2 and big[0].more and not big[1].more  # 2,400 entries, ~1.5 MB
    assert dst.frames_ingested == 4 and dst.frames_skipped == 0
    assert src.frames_ingested == 1  # the source pulled the sink-only log
    assert src.conn.is_finished and dst.conn.is_finished
    stats = dst.conn.statistics()
    assert stats.our_outstanding == stats.their_outstanding == stats.buffered_bytes == 0


def test_small_frames_and_ranges_pipeline_and_carry_later_key_events() -> None:
    source, sink = source_and_sink()
    src = Peer("source", source, target_bytes=4096)
    dst = Peer("sink", sink, max_range=300)
    run_session(src, dst)
    assert_same_logs(source, sink, ["big", "rot", "small", "extra"])
    ranges = [e for e in dst.events if isinstance(e, Range)]
    assert len({r.id for r in ranges}) >= 10 and len(ranges) > 300
    rotating = authors()["rot"].id
    assert any(r.key_events for r in ranges if r.author == rotating)
    assert all(len(r.key_events) <= MAX_KEY_EVENTS_PER_FRAME for r in ranges)


def test_partial_sync_by_author_filter() -> None:
    source, sink = source_and_sink()
    wanted = authors()["small"].id
    dst = Peer("sink", sink, filter=SyncFilter(authors=(wanted,)))
    run_session(Peer("source", source), dst)
    heads = [h for e in dst.events if isinstance(e, Heads) for h in e.heads]
    assert [h.author for h in heads] == [wanted]
    assert_same_logs(source, sink, ["small"])
    big = sink.head(NETWORK, authors()["big"].id)
    assert big is not None and big.size == 100  # not fetched


def test_partial_sync_by_kind_takes_whole_logs() -> None:
    source = ledger_with({"designer": None, "small": None})
    sink = Ledger(MemoryLogStore())
    run_session(
        Peer("source", source), Peer("sink", sink, filter=SyncFilter(kinds=("design.publish",)))
    )
    assert_same_logs(source, sink, ["designer"])
    assert sink.head(NETWORK, authors()["small"].id) is None


@settings(max_examples=15)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=8))
def test_a_session_gives_the_same_events_however_the_stream_is_cut(sizes: list[int]) -> None:
    def session(chunker: Any) -> tuple[list[Event], list[Event]]:
        source = ledger_with({"rot": None, "small": None})
        sink = ledger_with({"rot": 10, "extra": None})
        a, b = Peer("a", source, target_bytes=2048), Peer("b", sink, max_range=20)
        run_session(a, b, chunker) if chunker else run_session(a, b)
        return a.events, b.events

    assert session(chunker_from(sizes)) == session(None)


# -- the machine alone ------------------------------------------------------------------
def frame(value: Any) -> bytes:
    return framing.encode_frame(value, max_frame_bytes=MAX_SYNC_FRAME_BYTES)


def events_of(conn: SyncConnection, data: bytes, now_ms: int = 0) -> list[Event]:
    conn.receive_data(data, now_ms=now_ms)
    out: list[Event] = []
    while not isinstance(event := conn.next_event(), NeedData):
        out.append(event)
        if isinstance(event, RemoteError):
            break
    return out


def wire(message: Message) -> bytes:
    """The frame a well-behaved peer would send (our encoder, no machine checks)."""
    return frame(message_to_wire(message))


def greeted(*, our_heads: bool = True) -> SyncConnection:
    """A machine that sent hello (and last heads), and received hello and last heads."""
    conn = SyncConnection(NETWORK, now_ms=0)
    conn.send(Hello(NETWORK), now_ms=0)
    events_of(conn, wire(Hello(NETWORK)) + wire(Heads((), more=False)))
    if our_heads:
        conn.send(Heads((), more=False), now_ms=0)
    return conn


def fault(conn: SyncConnection, data: bytes) -> str:
    with pytest.raises(RemoteFaultError) as info:
        events_of(conn, data)
    return info.value.code


def test_wrong_network_and_unsupported_version_are_refused() -> None:
    conn = SyncConnection(NETWORK, now_ms=0)
    assert fault(conn, wire(Hello(OTHER_NETWORK))) == "remote.wrong-network"
    hello_v2 = {"t": "hello", "v": 2, "network": NETWORK, "caps": ["negentropy"]}
    assert fault(SyncConnection(NETWORK, now_ms=0), frame(hello_v2)) == "remote.unsupported-version"
    with pytest.raises(LocalMisuseError) as info:
        SyncConnection(NETWORK, now_ms=0).send(Hello(OTHER_NETWORK), now_ms=0)
    assert info.value.code == "misuse.wrong-network"


def test_an_unsolicited_range_is_refused() -> None:
    conn = greeted()
    conn.send(Get(0, A, 1, 10), now_ms=0)
    unknown = Range(7, A, 1, (b"e",), b"cp")
    assert fault(conn, wire(unknown)) == "remote.unsolicited-range"


def test_ranges_must_answer_in_request_order_and_contiguously() -> None:
    conn = greeted()
    conn.send(Get(0, A, 1, 10), now_ms=0)
    conn.send(Get(1, B, 1, 10), now_ms=0)
    assert fault(conn, wire(Range(1, B, 1, (b"e",), b"cp"))) == "remote.out-of-order"
    conn = greeted()
    conn.send(Get(0, A, 1, 3), now_ms=0)
    events_of(conn, wire(Range(0, A, 1, (b"e1",), b"cp", more=True)))
    assert fault(conn, wire(Range(0, A, 3, (b"e3",), b"cp"))) == "remote.bad-message"


def test_too_many_requests_is_refused_both_ways() -> None:
    conn = greeted()
    gets = b"".join(wire(Get(i, A, 1, 2)) for i in range(MAX_INFLIGHT_REQUESTS))
    assert len(events_of(conn, gets)) == MAX_INFLIGHT_REQUESTS
    assert fault(conn, wire(Get(9, A, 1, 2))) == "remote.too-many-requests"
    ours = greeted()
    for _ in range(MAX_INFLIGHT_REQUESTS):
        ours.send(Get(ours.next_request_id, A, 1, 2), now_ms=0)
    assert not ours.can_request
    with pytest.raises(LocalMisuseError) as info:
        ours.send(Get(ours.next_request_id, A, 1, 2), now_ms=0)
    assert info.value.code == "misuse.too-many-requests"


def test_local_misuse_raises_and_changes_nothing() -> None:
    conn = SyncConnection(NETWORK, now_ms=0)
    early: list[Message] = [Heads(()), Get(0, A, 1, 2), Range(0, A, 1, (b"e",), b"cp")]
    for message in early:
        with pytest.raises(LocalMisuseError) as info:
            conn.send(message, now_ms=0)
        assert info.value.code == "misuse.unexpected-message"
    assert conn.statistics().frames_sent == 0 and conn.our_state is SideState.HELLO
    conn = greeted()
    with pytest.raises(LocalMisuseError) as info:
        conn.send(Range(3, A, 1, (b"e",), b"cp"), now_ms=0)
    assert info.value.code == "misuse.unsolicited-range"
    with pytest.raises(LocalMisuseError) as info:
        conn.send(Get(0, A, 5, 5), now_ms=0)
    assert (info.value.code, info.value.details["field"]) == ("misuse.bad-message", "to_seq")
    assert conn.statistics().frames_sent == 2 and conn.our_state is SideState.EXCHANGE


def test_heads_obey_the_peers_filter_and_ascend() -> None:
    conn = SyncConnection(NETWORK, now_ms=0)
    conn.send(Hello(NETWORK, SyncFilter(authors=(A, C))), now_ms=0)
    events_of(conn, wire(Hello(NETWORK)) + wire(Heads((Head(A, 1, b"n"),), more=True)))
    assert fault(conn, wire(Heads((Head(B, 1, b"n"),)))) == "remote.bad-message"
    conn = greeted(our_heads=False)
    with pytest.raises(LocalMisuseError):  # the peer's heads may not go backwards
        conn.send(Heads((Head(B, 1, b"n"), Head(A, 1, b"n"))), now_ms=0)


def test_limits_are_checked_when_reading() -> None:
    conn = greeted()
    assert fault(conn, wire(Get(0, A, 1, 10_002))) == "remote.oversized"
    conn = greeted()
    conn.send(Get(0, A, 1, 10_000), now_ms=0)
    too_many = Range(0, A, 1, (b"e",) * (DECODER_MAX_ARRAY_LEN + 1), b"cp")
    assert fault(conn, wire(too_many)) == "remote.oversized"
    huge_note = Range(0, A, 1, (b"e",), b"n" * (MAX_NOTE_BYTES + 1))
    conn = greeted()
    conn.send(Get(0, A, 1, 10), now_ms=0)
    assert fault(conn, wire(huge_note)) == "remote.oversized"
    header = (MAX_SYNC_FRAME_BYTES + 1).to_bytes(4, "big")
    assert fault(SyncConnection(NETWORK, now_ms=0), header) == "remote.bad-frame"


def test_eof_is_clean_only_where_the_peer_owes_nothing() -> None:
    conn = greeted()
    conn.send(Done(), now_ms=0)
    assert events_of(conn, wire(Done())) == [Done()]
    assert conn.is_finished
    conn.receive_data(b"", now_ms=0)
    assert conn.next_event() == Closed()
    conn = greeted()
    conn.send(Get(0, A, 1, 3), now_ms=0)
    conn.receive_data(b"", now_ms=0)
    with pytest.raises(RemoteFaultError) as info:
        conn.next_event()
    assert info.value.code == "remote.closed-early"
    with pytest.raises(LocalMisuseError):
        conn.next_event()


def test_idle_timeout_with_a_fake_clock() -> None:
    conn = SyncConnection(NETWORK, now_ms=1_000)
    conn.send(Hello(NETWORK), now_ms=1_000)
    assert conn.next_timeout_ms() == 1_000 + IDLE_TIMEOUT_MS
    events_of(conn, wire(Hello(NETWORK)), now_ms=5_000)
    assert conn.next_timeout_ms() == 5_000 + IDLE_TIMEOUT_MS
    conn.handle_timeout(5_000 + IDLE_TIMEOUT_MS - 1)
    with pytest.raises(RemoteFaultError) as info:
        conn.handle_timeout(5_000 + IDLE_TIMEOUT_MS)
    assert info.value.code == "remote.timeout"
    # Waiting on nobody (the peer is done, we asked nothing): no timer.
    idle = greeted()
    events_of(idle, wire(Done()))
    assert idle.next_timeout_ms() is None
    idle.send(Get(0, A, 1, 2), now_ms=7)
    assert idle.next_timeout_ms() == 7 + IDLE_TIMEOUT_MS


def test_a_pull_only_peer_fetches_and_serves_nothing() -> None:
    source, sink = source_and_sink()
    src, dst = Peer("source", source), Peer("sink", sink, role=ROLE_PULL)
    run_session(src, dst)
    assert_same_logs(source, sink, ["big", "rot", "small"])
    assert not any(isinstance(e, Get) for e in dst.events)
    conn = SyncConnection(NETWORK, now_ms=0)
    conn.send(Hello(NETWORK), now_ms=0)
    assert fault(conn, wire(Hello(NETWORK, role=ROLE_PULL)) + wire(Heads((Head(A, 1, b"n"),)))) == (
        "remote.bad-message"
    )


def test_an_error_frame_carries_our_code() -> None:
    conn = greeted()
    error = SyncError.from_exception(RemoteFaultError("remote.timeout", "no progress " * 200))
    data = conn.send(error, now_ms=0)
    assert conn.our_state is SideState.ERROR and len(data) < 1100
    peer = greeted()
    assert events_of(peer, data) == [RemoteError("remote.timeout", error.message)]
    assert events_of(peer, wire(Done())) == []  # after its error, nothing it says matters


def test_kinds_and_error_codes_are_whole_names_and_a_hello_is_small() -> None:
    """A kind "note\\n" or an error code "remote.timeout\\n" is not a name (0001 §8:
    grammars match the whole text); a frame over 256 KiB before the peer's hello is
    refused by its length alone (specs/0012 §5, finding 2)."""
    hello = message_to_wire(Hello(NETWORK))
    hello["filter"]["kinds"] = ["note\n"]
    conn = SyncConnection(NETWORK, now_ms=0)
    assert fault(conn, frame(hello)) == "remote.bad-message"
    error = {"code": "remote.timeout\n", "message": "", "t": "error"}
    assert fault(greeted(), frame(error)) == "remote.bad-message"
    big = (MAX_HELLO_FRAME_BYTES + 1).to_bytes(4, "big") + b"\x00" * 16
    assert fault(SyncConnection(NETWORK, now_ms=0), big) == "remote.bad-frame"
    after_hello = SyncConnection(NETWORK, now_ms=0)
    events_of(after_hello, wire(Hello(NETWORK)))  # then a big frame's length is fine
    assert events_of(after_hello, big) == []


# -- every state x every message ---------------------------------------------------------
THEIR_MESSAGES: dict[str, Message] = {
    "hello": Hello(NETWORK),
    "heads+": Heads((Head(A, 1, b"n"),), more=True),
    "heads": Heads((), more=False),
    "get": Get(0, A, 1, 2),
    "range": Range(0, A, 1, (b"e",), b"cp"),
    "forks": Forks((b"p",)),
    "done": Done(),
    "error": SyncError("remote.timeout", "x"),
}
STATES = list(SideState)


def with_them_in(state: SideState) -> SyncConnection:
    """Them in `state`; we sent hello, heads and (unless finished) get 0 for A."""
    conn = SyncConnection(NETWORK, now_ms=0)
    conn.send(Hello(NETWORK), now_ms=0)
    if state is not SideState.HELLO:
        events_of(conn, wire(Hello(NETWORK)))
    if state in (SideState.HELLO, SideState.HEADS):
        return conn
    events_of(conn, wire(Heads(())))
    conn.send(Heads(()), now_ms=0)
    if state is SideState.FINISHED:
        conn.send(Done(), now_ms=0)
        events_of(conn, wire(Done()))
        return conn
    conn.send(Get(0, A, 1, 2), now_ms=0)
    if state is SideState.DONE:
        events_of(conn, wire(Done()))
    if state is SideState.ERROR:
        events_of(conn, wire(SyncError("remote.timeout", "x")))
    return conn


def with_us_in(state: SideState) -> SyncConnection:
    """Us in `state`; they sent hello, heads and (unless finished) get 0 for A."""
    conn = SyncConnection(NETWORK, now_ms=0)
    events_of(conn, wire(Hello(NETWORK)))
    if state is SideState.HELLO:
        return conn
    conn.send(Hello(NETWORK), now_ms=0)
    if state is SideState.HEADS:
        return conn
    conn.send(Heads(()), now_ms=0)
    events_of(conn, wire(Heads(())))
    if state is SideState.FINISHED:
        events_of(conn, wire(Done()))
        conn.send(Done(), now_ms=0)
        return conn
    events_of(conn, wire(Get(0, A, 1, 2)))
    if state is SideState.DONE:
        conn.send(Done(), now_ms=0)
    if state is SideState.ERROR:
        conn.send(SyncError("remote.timeout", "x"), now_ms=0)
    return conn


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.value)
@pytest.mark.parametrize("key", sorted(THEIR_MESSAGES))
def test_every_state_and_message_from_them(state: SideState, key: str) -> None:
    conn = with_them_in(state)
    assert conn.their_state is state
    target = TRANSITIONS[state].get(key)
    if state is SideState.ERROR:
        assert events_of(conn, wire(THEIR_MESSAGES[key])) == []
    elif target is None:
        assert fault(conn, wire(THEIR_MESSAGES[key])) == "remote.unexpected-message"
        assert conn.their_state is SideState.ERROR
    else:
        assert len(events_of(conn, wire(THEIR_MESSAGES[key]))) == 1
        assert conn.their_state is target


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.value)
@pytest.mark.parametrize("key", sorted(THEIR_MESSAGES))
def test_every_state_and_message_from_us(state: SideState, key: str) -> None:
    conn = with_us_in(state)
    assert conn.our_state is state
    target = TRANSITIONS[state].get(key)
    if target is None:
        before = conn.statistics()
        with pytest.raises(LocalMisuseError) as info:
            conn.send(THEIR_MESSAGES[key], now_ms=0)
        assert info.value.code == "misuse.unexpected-message"
        assert conn.statistics() == before
    else:
        conn.send(THEIR_MESSAGES[key], now_ms=0)
        assert conn.our_state is target


# -- hostile and chunked input -------------------------------------------------------------
POOL: list[bytes] = [
    wire(Hello(NETWORK)),
    wire(Hello(OTHER_NETWORK)),
    wire(Hello(NETWORK, SyncFilter(authors=(A,)), ROLE_PULL)),
    frame({"t": "hello", "v": 2, "network": NETWORK}),
    wire(Heads((Head(A, 1, b"n"),), more=True)),
    wire(Heads((Head(B, 2, b"n"), Head(C, 3, b"n")), more=False)),
    wire(Heads(())),
    *[wire(Get(i, A, 1, 5)) for i in range(6)],
    *[
        wire(Range(i, A, s, (b"e",) * n, b"cp", more=m))
        for i in (0, 1)
        for s in (1, 2)
        for n in (0, 1, 3)
        for m in (False, True)
        if n or not m
    ],
    wire(Forks((b"p",))),
    wire(Done()),
    wire(SyncError("remote.timeout", "x")),
    frame({"t": "nope"}),
    frame({"t": "get"}),
    frame([1, 2]),
    frame({"t": "range", "id": 0}),
    b"\x00\x00\x00\x00",
]


def feed(conn: SyncConnection, data: bytes, sizes: list[int]) -> tuple[list[Event], str | None]:
    """Feed `data` in chunks of `sizes` (cycled); the events, and the fault's code."""
    events: list[Event] = []
    for chunk in chunker_from(sizes)(data):
        conn.receive_data(chunk, now_ms=0)
        try:
            while not isinstance(event := conn.next_event(), NeedData):
                events.append(event)
        except RemoteFaultError as e:
            return events, e.code
        finally:
            assert conn.statistics().buffered_bytes <= BUFFER_BOUND
            assert len(conn.their_requests) <= MAX_INFLIGHT_REQUESTS
    return events, None


def fresh(prefix: int) -> SyncConnection:
    conn = SyncConnection(NETWORK, now_ms=0) if prefix == 0 else greeted()
    if prefix == 2:
        conn.send(Get(0, A, 1, 10), now_ms=0)
    return conn


@given(st.binary(max_size=3000), st.lists(st.integers(1, 600), min_size=1, max_size=5))
def test_random_bytes_give_events_or_a_remote_fault(data: bytes, sizes: list[int]) -> None:
    feed(fresh(0), data, sizes)
    feed(fresh(1), data, sizes)


canonical_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.text(max_size=8)
    | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.sampled_from(["hello", "heads", "get", "range", "forks", "done", "error", "x"]),
    st.dictionaries(
        st.sampled_from(
            [
                "v",
                "id",
                "heads",
                "more",
                "author",
                "entries",
                "filter",
                "network",
                "role",
                "from_seq",
                "to_seq",
                "proofs",
                "code",
                "start_seq",
                "checkpoint",
                "proof",
                "key_events",
            ]
        ),
        canonical_values,
        max_size=9,
    ),
    st.integers(0, 2),
)
def test_random_message_shapes_give_events_or_a_remote_fault(
    kind: str, fields: dict[str, Any], prefix: int
) -> None:
    feed(fresh(prefix), frame({**fields, "t": kind}), [1 << 20])


@given(
    st.lists(st.sampled_from(POOL), max_size=25),
    st.integers(0, 2),
    st.lists(st.integers(1, 300), min_size=1, max_size=5),
)
def test_misordered_messages_give_events_or_a_typed_fault(
    frames: list[bytes], prefix: int, sizes: list[int]
) -> None:
    data = b"".join(frames)
    events, code = feed(fresh(prefix), data, sizes)
    assert code is None or code.startswith("remote.")
    assert (events, code) == feed(fresh(prefix), data, [len(data) + 1])


CONVERSATION_MESSAGES: list[Message] = [
    Hello(NETWORK),
    Heads((Head(A, 4, b"note a"),), more=True),
    Heads((Head(B, 9, b"note b"),), more=False),
    Forks((b"proof",)),
    Get(0, A, 1, 3),
    Get(1, C, 1, 10_002),
    Done(),
]
CONVERSATION = b"".join(wire(m) for m in CONVERSATION_MESSAGES)


@given(st.lists(st.integers(1, len(CONVERSATION) - 1), max_size=12))
def test_cutting_the_stream_anywhere_gives_the_same_events(cuts: list[int]) -> None:
    points = [0, *sorted(set(cuts)), len(CONVERSATION)]
    sizes = [b - a for a, b in itertools.pairwise(points)]

    def hello_sent() -> SyncConnection:
        conn = SyncConnection(NETWORK, now_ms=0)
        conn.send(Hello(NETWORK), now_ms=0)
        return conn

    want = feed(hello_sent(), CONVERSATION, [len(CONVERSATION)])
    assert want[1] == "remote.oversized" and len(want[0]) == 5  # Get(1) asks too much
    assert feed(hello_sent(), CONVERSATION, sizes) == want


# -- the driver's helpers ---------------------------------------------------------------------
def test_plan_requests_fetches_what_is_missing_in_chunks() -> None:
    remote = [Head(B, 5, b"n"), Head(A, 25, b"n"), Head(C, 2, b"n")]
    plan = plan_requests({A: 3, C: 5}, remote, max_range=10)
    assert plan == [
        RangeRequest(A, 4, 14),
        RangeRequest(A, 14, 24),
        RangeRequest(A, 24, 26),
        RangeRequest(B, 1, 6),
    ]
    with pytest.raises(LocalMisuseError):
        plan_requests({}, remote, max_range=0)


def test_a_plan_is_made_one_request_at_a_time_and_drops_a_log_that_falls_short() -> None:
    plan = SyncPlan(max_range=10)
    assert plan.add(A, 0, 2**63) and plan.add(B, 3, 25) and plan.add(C, 7, 7)
    assert plan.lacking == 2**63 + 22
    first = plan.next_request()
    assert first == RangeRequest(A, 1, 11)
    assert plan.next_request() == RangeRequest(A, 11, 21)  # pipelined
    plan.answered(first, 0)  # nothing proven: the rest of A is dropped
    assert [plan.next_request(), plan.next_request(), plan.next_request()] == [
        RangeRequest(B, 4, 14),
        RangeRequest(B, 14, 24),
        RangeRequest(B, 24, 26),
    ]
    assert plan.next_request() is None and not plan


def test_a_plan_holds_at_most_max_logs_and_never_passes_the_largest_uint() -> None:
    plan = SyncPlan(max_range=10_000, max_logs=2)
    assert plan.add(A, 2**64 - 3, 2**64 - 1) and plan.add(B, 0, 1)
    assert not plan.add(C, 0, 1) and plan.logs_refused == 1
    assert plan.next_request() == RangeRequest(A, 2**64 - 2, 2**64 - 1)  # to_seq is a uint
    assert plan.next_request() == RangeRequest(B, 1, 2)
    assert plan.next_request() is None


def no_bytes(end: int) -> list[bytes]:
    return []


def test_each_range_frame_is_verifiable_alone_in_order() -> None:
    source = ledger_with({"rot": None})
    author = authors()["rot"]
    n = len(author.entries)
    note = source.store.checkpoints(NETWORK, author.id)[-1].note
    tree = source.tree(NETWORK, author.id)
    events = source.key_history(NETWORK, author.id).events
    raws = [e.raw for e in author.entries]
    frames = build_range_frames(
        0,
        author.id,
        1,
        raws,
        note,
        lambda end: tree.consistency_proof(end, n),
        lambda end: [e.raw for e in events if end < e.seq <= n],
        target_bytes=2000,
    )
    assert len(frames) > 5 and [f.more for f in frames] == [True] * (len(frames) - 1) + [False]
    assert [f.start_seq for f in frames] == [1, *(f.end_seq for f in frames[:-1])]
    assert all(sum(len(e) for e in f.entries) <= 2000 for f in frames)
    sink = Ledger(MemoryLogStore())
    for f in frames:
        sink.ingest_range(NETWORK, author.id, f.entries, f.checkpoint, f.proof, f.key_events)
    assert sink.tree(NETWORK, author.id).root() == tree.root()
    pieces = build_range_frames(0, author.id, 1, raws[:5], note, no_bytes, no_bytes, last=False)
    assert pieces and all(f.more for f in pieces)
    empty = build_range_frames(3, author.id, 7, [], b"", no_bytes, no_bytes)
    assert empty == [Range(3, author.id, 7, (), b"", more=False)]


def test_limits_agree_with_the_ledger() -> None:
    assert MAX_NOTE_BYTES == MAX_CHECKPOINT_BYTES
    assert MAX_KEY_EVENTS_PER_FRAME == MAX_KEY_EVENTS


# -- the spec's wire examples ------------------------------------------------------------------
SPEC_N, SPEC_A, SPEC_HASH = bytes(range(0x20, 0x40)), b"\xaa" * 32, b"\x11" * 32
SPEC_EXAMPLES: dict[str, Message] = {
    "hello": Hello(SPEC_N),
    "hello-filtered": Hello(SPEC_N, SyncFilter((SPEC_A,), ("design.publish",)), ROLE_PULL),
    "heads": Heads((Head(SPEC_A, 3, b"cp"),), more=False),
    "get": Get(0, SPEC_A, 1, 4),
    "range": Range(0, SPEC_A, 1, (b"\x01", b"\x02"), b"cp", (SPEC_HASH,), (), more=True),
    "forks": Forks((b"fp",)),
    "done": Done(),
    "error": SyncError("remote.timeout", "idle"),
}


def test_the_specs_wire_examples_are_exact() -> None:
    text = (ROOT / "specs" / "0005-sync.md").read_text()
    lines = re.findall(r"^([a-z-]+) +([0-9a-f]{8}) ([0-9a-f]+)$", text, re.MULTILINE)
    assert {name for name, _, _ in lines} == set(SPEC_EXAMPLES)
    for name, length, body in lines:
        data = wire(SPEC_EXAMPLES[name])
        assert (data[:4].hex(), data[4:].hex()) == (length, body), name
        assert parse_message(canonical.decode(bytes.fromhex(body))) == SPEC_EXAMPLES[name]


def test_undrained_input_is_refused_beyond_one_frame() -> None:
    conn = greeted()
    big = MAX_SYNC_FRAME_BYTES.to_bytes(4, "big") + bytes(MAX_SYNC_FRAME_BYTES)
    conn.receive_data(big, now_ms=0)  # one whole maximal frame, not yet drained
    conn.receive_data(b"\x00", now_ms=0)
    with pytest.raises(LocalMisuseError) as info:
        conn.receive_data(b"\x00", now_ms=0)
    assert info.value.code == "misuse.undrained"
    assert conn.buffered_bytes == BUFFER_BOUND + 1


def test_after_the_peers_error_its_eof_is_clean() -> None:
    conn = greeted()
    conn.send(Get(0, A, 1, 2), now_ms=0)
    assert events_of(conn, wire(SyncError("proof.root-mismatch", "bad"))) == [
        RemoteError("proof.root-mismatch", "bad")
    ]
    conn.receive_data(b"", now_ms=0)
    assert conn.next_event() == Closed()
    assert conn.next_timeout_ms() is None


# -- reconciling sessions (specs/0005 §8) ----------------------------------------------
OFFER = Hello(NETWORK, reconcile=RECONCILE_VERSION)
NOTHING = Reconciler([]).initiate()  # an empty IdList: a valid reconcile message
REPLY = Reconciler([]).reconcile(NOTHING).reply or b""


def reconciling() -> SyncConnection:
    conn = SyncConnection(NETWORK, now_ms=0)
    conn.send(OFFER, now_ms=0)
    events_of(conn, wire(OFFER))
    assert conn.reconciling
    return conn


def test_a_peer_may_send_only_so_many_reconcile_messages() -> None:
    conn = reconciling()
    for _ in range(MAX_RECONCILE_MESSAGES_PER_SESSION):
        assert events_of(conn, wire(Reconcile(NOTHING))) == [Reconcile(NOTHING)]
        conn.send(ReconcileReply(REPLY), now_ms=0)
    assert fault(conn, wire(Reconcile(NOTHING))) == "remote.too-many-requests"


def test_we_reconcile_only_when_both_offer_and_one_message_at_a_time() -> None:
    plain = greeted(our_heads=False)
    with pytest.raises(LocalMisuseError) as info:
        plain.send(Reconcile(NOTHING), now_ms=0)
    assert info.value.code == "misuse.unexpected-message"
    conn = reconciling()
    with pytest.raises(LocalMisuseError):
        conn.send(Heads(()), now_ms=0)  # heads only after our reconciliation
    conn.send(Reconcile(NOTHING), now_ms=0)
    assert conn.next_timeout_ms() == IDLE_TIMEOUT_MS  # we wait on its reply
    with pytest.raises(LocalMisuseError):
        conn.send(Reconcile(NOTHING), now_ms=0)
    with pytest.raises(LocalMisuseError):
        conn.send(ReconcileReply(REPLY), now_ms=0)  # it asked nothing
    assert events_of(conn, wire(ReconcileReply(REPLY))) == [ReconcileReply(REPLY)]
    conn.send(Heads(()), now_ms=0)
    assert conn.our_state is SideState.EXCHANGE
