"""sync/conversation: what a peer sends on /fabcommons/sync/1, and how we answer (0005).

Each case is the peer's side of one session, frame by frame: the receiver is a fresh
SyncConnection that has sent its own hello and gets these bytes, one frame at a time.
Expected: the event type of every frame, or the error code and the 1-based position
(`at`) of the frame that breaks the protocol, as in every suite. Frames are built with
our encoder and then, for the mutations, changed by hand, so each case says exactly
which bytes are wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol import canonical
from protocol.sync_messages import (
    Done,
    Get,
    Head,
    Heads,
    Hello,
    Message,
    SyncFilter,
    message_to_wire,
)
from specs.vectorgen.common import ALICE, BOB, NETWORK, OTHER_NETWORK, Case, error, ok

SUITE = ("sync", "conversation")


def frame(value: Any) -> bytes:
    body = canonical.encode(value)
    return len(body).to_bytes(4, "big") + body


def msg(message: Message) -> bytes:
    return frame(message_to_wire(message))


def case(name: str, description: str, frames: list[bytes], expect: dict[str, Any]) -> Case:
    data = {"network_hex": NETWORK.hex(), "frames_hex": [f.hex() for f in frames]}
    return Case(*SUITE, name, description, data, expect)


def events(*names: str) -> dict[str, Any]:
    return ok(events=list(names))


def fails(code: str, at: int) -> dict[str, Any]:
    return error(code, at=at)


HELLO = msg(Hello(NETWORK))
HEADS = msg(Heads((), more=False))
A, B = sorted([ALICE.id, BOB.id])


def with_key(message: Message, key: str, value: Any) -> bytes:
    wire = message_to_wire(message)
    wire[key] = value
    return frame(wire)


def happy_cases() -> Iterator[Case]:
    yield case(
        "hello-heads-done",
        "The shortest whole session.",
        [HELLO, HEADS, msg(Done())],
        events("Hello", "Heads", "Done"),
    )
    filtered = msg(Hello(NETWORK, SyncFilter((A,), ("design",))))
    yield case(
        "partial-hello",
        "A hello asking for one author's logs with designs.",
        [filtered],
        events("Hello"),
    )
    yield case(
        "get-after-heads",
        "The peer asks for seq 1 to 5 of a log.",
        [HELLO, HEADS, msg(Get(0, A, 1, 6))],
        events("Hello", "Heads", "Get"),
    )
    yield case(
        "hello-extra-key",
        "Unknown keys in a hello are ignored (room to grow).",
        [with_key(Hello(NETWORK), "zz-future", 1)],
        events("Hello"),
    )


def mutation_cases() -> Iterator[Case]:
    yield case(
        "wrong-network",
        "A hello for another network.",
        [msg(Hello(OTHER_NETWORK))],
        fails("remote.wrong-network", 1),
    )
    yield case(
        "unsupported-version",
        "A hello of version 2.",
        [with_key(Hello(NETWORK), "v", 2)],
        fails("remote.unsupported-version", 1),
    )
    yield case(
        "get-before-hello",
        "A request before the peer said hello.",
        [msg(Get(0, A, 1, 2))],
        fails("remote.unexpected-message", 1),
    )
    yield case(
        "bad-frame-length",
        "A frame header of zero length.",
        [HELLO, b"\x00\x00\x00\x00"],
        fails("remote.bad-frame", 2),
    )
    yield case(
        "oversized-frame",
        "A frame header over the 5 MiB cap.",
        [HELLO, (6 * 1024 * 1024).to_bytes(4, "big")],
        fails("remote.bad-frame", 2),
    )
    wide = canonical.encode(message_to_wire(Hello(NETWORK))).replace(b"\xa1v\x01", b"\xa1v\xcc\x01")
    yield case(
        "non-canonical-frame",
        "A hello whose version is a wide integer.",
        [len(wide).to_bytes(4, "big") + wide],
        fails("remote.bad-frame", 1),
    )
    unsorted = message_to_wire(Heads((Head(B, 1, b"x"), Head(A, 1, b"y"))))
    yield case(
        "unsorted-heads",
        "Heads not in ascending author order.",
        [HELLO, frame(unsorted)],
        fails("remote.bad-message", 2),
    )
    yield case(
        "get-extra-key",
        "A get with a key it does not have.",
        [HELLO, HEADS, with_key(Get(0, A, 1, 2), "zz", 1)],
        fails("remote.bad-message", 3),
    )
    gets = [msg(Get(i, A, 1, 2)) for i in range(5)]
    yield case(
        "too-many-requests",
        "A fifth request while four are unanswered.",
        [HELLO, HEADS, *gets],
        fails("remote.too-many-requests", 7),
    )
    yield case(
        "empty-range-request",
        "A get for no entries at all.",
        [HELLO, HEADS, with_key(Get(0, A, 1, 2), "to_seq", 1)],
        fails("remote.bad-message", 3),
    )
    yield case(
        "unsolicited-range",
        "A range answering a request we never made.",
        [HELLO, HEADS, frame(_range_wire())],
        fails("remote.unsolicited-range", 3),
    )


def _range_wire() -> dict[str, Any]:
    return {
        "author": A,
        "checkpoint": b"x",
        "entries": [],
        "id": 7,
        "key_events": [],
        "more": False,
        "proof": [],
        "start_seq": 1,
        "t": "range",
    }


def cases() -> Iterator[Case]:
    yield from happy_cases()
    yield from mutation_cases()
