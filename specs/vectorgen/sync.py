"""sync/conversation: what a peer sends on /fabcommons/sync/1, and how we answer (0005).

Each case is the peer's side of one session, frame by frame: the receiver is a fresh
SyncConnection that has sent its own hello and gets these bytes, one frame at a time.
Where a case needs our side to have said more (our heads, our gets), `sends` lists our
frames and the peer frame each follows.
Expected: the event type of every frame, or the error code and the 1-based position
(`at`) of the frame that breaks the protocol, as in every suite. Frames are built with
our encoder and then, for the mutations, changed by hand, so each case says exactly
which bytes are wrong.

sync/heads: the driver's judgement of each head of one heads frame (0005 §6.2), by a
node holding the first three entries of Alice's log; each verdict is written from how
the head's checkpoint was built.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from protocol import canonical
from protocol.ids import id_to_text
from protocol.keys import SigningKey
from protocol.reconcile import Reconciler
from protocol.sync_limits import (
    DECODER_MAX_ARRAY_LEN,
    MAX_FORK_PROOFS_PER_FRAME,
    MAX_HEADS_PER_FRAME,
    MAX_RANGE_REQUEST,
    RECONCILE_VERSION,
)
from protocol.sync_messages import (
    Done,
    Get,
    Head,
    Heads,
    Hello,
    Message,
    Reconcile,
    ReconcileReply,
    SyncFilter,
    message_to_wire,
)
from specs.vectorgen import tlog
from specs.vectorgen.common import ALICE, BOB, NETWORK, OTHER_NETWORK, Case, error, ok
from specs.vectorgen.logs import Log

SUITE = ("sync", "conversation")


def frame(value: Any) -> bytes:
    body = canonical.encode(value)
    return len(body).to_bytes(4, "big") + body


def msg(message: Message) -> bytes:
    return frame(message_to_wire(message))


def case(
    name: str,
    description: str,
    frames: list[bytes],
    expect: dict[str, Any],
    sends: Sequence[tuple[int, bytes]] = (),
    our_hello: bytes | None = None,
) -> Case:
    data: dict[str, Any] = {"network_hex": NETWORK.hex(), "frames_hex": [f.hex() for f in frames]}
    if our_hello is not None:
        data["our_hello_hex"] = our_hello.hex()
    if sends:
        data["sends"] = [{"after": after, "frame_hex": f.hex()} for after, f in sends]
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


#: Our side after the peer's hello: no heads of our own, then two gets of A's log.
OUR_GETS = [(1, HEADS), (2, msg(Get(0, A, 1, 2))), (2, msg(Get(1, A, 2, 3)))]


def answer_cases() -> Iterator[Case]:
    yield case(
        "answers-in-order",
        "We asked twice; the peer answers the first request, then the second.",
        [HELLO, HEADS, frame(_range_wire(0, 1)), frame(_range_wire(1, 2))],
        events("Hello", "Heads", "Range", "Range"),
        OUR_GETS,
    )
    yield case(
        "answer-out-of-order",
        "We asked twice; the peer answers the second request first.",
        [HELLO, HEADS, frame(_range_wire(1, 2))],
        fails("remote.out-of-order", 3),
        OUR_GETS,
    )


def oversized_cases() -> Iterator[Case]:
    yield case(
        "get-over-max-range",
        f"A get for {MAX_RANGE_REQUEST + 1} entries, one over the cap.",
        [HELLO, HEADS, msg(Get(0, A, 1, MAX_RANGE_REQUEST + 2))],
        fails("remote.oversized", 3),
    )
    many = [[i.to_bytes(32, "big"), 1, b"x"] for i in range(1, MAX_HEADS_PER_FRAME + 2)]
    yield case(
        "heads-over-frame-cap",
        f"A heads frame of {MAX_HEADS_PER_FRAME + 1} heads, one over the cap.",
        [HELLO, frame({"heads": many, "more": False, "t": "heads"})],
        fails("remote.oversized", 2),
    )
    proofs = [b"p"] * (MAX_FORK_PROOFS_PER_FRAME + 1)
    yield case(
        "forks-over-frame-cap",
        f"A forks frame of {MAX_FORK_PROOFS_PER_FRAME + 1} proofs, one over the cap.",
        [HELLO, HEADS, frame({"proofs": proofs, "t": "forks"})],
        fails("remote.oversized", 3),
    )
    longest = [0] * (DECODER_MAX_ARRAY_LEN + 1)
    yield case(
        "array-over-decoder-cap",
        f"A heads frame whose list has {DECODER_MAX_ARRAY_LEN + 1} items, longer than any"
        " message allows: refused by the decoder before its items are read.",
        [HELLO, frame({"heads": longest, "more": False, "t": "heads"})],
        fails("remote.oversized", 2),
    )


def _range_wire(request: int = 7, start: int = 1) -> dict[str, Any]:
    return {
        "author": A,
        "checkpoint": b"x",
        "entries": [],
        "id": request,
        "key_events": [],
        "more": False,
        "proof": [],
        "start_seq": start,
        "t": "range",
    }


OFFER = msg(Hello(NETWORK, reconcile=RECONCILE_VERSION))


def reconcile_cases() -> Iterator[Case]:
    """Sessions where our hello (`our_hello_hex`) offers reconciliation (0005 §8)."""
    ours, theirs = Reconciler([(0, bytes([1]) * 32)]), Reconciler([(0, bytes([2]) * 32)])
    mine, peers = ours.initiate(), theirs.initiate()
    answer_mine = Reconciler([(0, bytes([2]) * 32)]).reconcile(mine).reply or b""
    answer_peers = Reconciler([(0, bytes([1]) * 32)]).reconcile(peers).reply or b""
    yield case(
        "reconcile-session",
        "Both offer reconciliation: each side initiates its own and answers the other's,"
        " then sends heads (here none) and done.",
        [OFFER, msg(Reconcile(peers)), msg(ReconcileReply(answer_mine)), HEADS, msg(Done())],
        events("Hello", "Reconcile", "ReconcileReply", "Heads", "Done"),
        sends=[(1, msg(Reconcile(mine))), (2, msg(ReconcileReply(answer_peers)))],
        our_hello=OFFER,
    )
    yield case(
        "reconcile-not-offered",
        "The peer's hello does not offer reconciliation: its reconcile is out of turn.",
        [HELLO, msg(Reconcile(peers))],
        fails("remote.unexpected-message", 2),
        our_hello=OFFER,
    )
    yield case(
        "reconcile-version-1",
        "A hello offering version 1 (items without signature lines, never released) is"
        " an old node's: the session runs the full exchange, its reconcile is out of turn.",
        [msg(Hello(NETWORK, reconcile=1)), msg(Reconcile(peers))],
        fails("remote.unexpected-message", 2),
        our_hello=OFFER,
    )
    yield case(
        "reconcile-with-filter",
        "A filtered hello never reconciles (0005 §8.1), whatever it offers.",
        [
            msg(Hello(NETWORK, SyncFilter((A,), None), reconcile=RECONCILE_VERSION)),
            msg(Reconcile(peers)),
        ],
        fails("remote.unexpected-message", 2),
        our_hello=OFFER,
    )
    yield case(
        "reconcile-reply-unasked",
        "A reconcile-reply when we sent no reconcile.",
        [OFFER, msg(ReconcileReply(answer_mine))],
        fails("remote.unexpected-message", 2),
        our_hello=OFFER,
    )
    yield case(
        "reconcile-twice",
        "A second reconcile before our reply to the first.",
        [OFFER, msg(Reconcile(peers)), msg(Reconcile(peers))],
        fails("remote.unexpected-message", 3),
        our_hello=OFFER,
    )
    yield case(
        "heads-before-reconciling",
        "In a reconciling session, heads before the sender's own reconciliation.",
        [OFFER, HEADS],
        fails("remote.unexpected-message", 2),
        our_hello=OFFER,
    )
    yield case(
        "reconcile-bad-message",
        "A reconcile whose Negentropy message has protocol version 0x60.",
        [OFFER, frame({"msg": b"\x60", "t": "reconcile"})],
        fails("remote.bad-reconcile", 2),
        our_hello=OFFER,
    )
    yield case(
        "reconcile-oversized",
        "A reconcile message of 64 KiB + 1: refused by its size before it is parsed.",
        [OFFER, frame({"msg": b"\x61" + bytes(64 * 1024), "t": "reconcile"})],
        fails("remote.oversized", 2),
        our_hello=OFFER,
    )


def cases() -> Iterator[Case]:
    yield from happy_cases()
    yield from reconcile_cases()
    yield from mutation_cases()
    yield from answer_cases()
    yield from oversized_cases()
    yield from heads_cases()


# --- sync/heads: the driver's judgement of each head (0005 §6 step 3) ----------------

HEADS_SUITE = ("sync", "heads")
#: Alice's log as the node holds it (3 entries) and as the peer holds it (7).
ALICE_LOG = Log().inception().note().note().note().note().note().note()
HELD = 3
BOB_LOG = Log(BOB).inception().note().note().note().note()


def _note(log: Log, size: int, *, key: SigningKey | None = None, network: bytes = NETWORK) -> bytes:
    """The author's checkpoint of the first `size` entries of `log`, signed by `key`."""
    root = tlog.mth([tlog.leaf_hash(raw) for raw in log.raws[:size]])
    signer = log.author.signing if key is None else key
    return tlog.checkpoint(signer, network, log.author.id, size, root).encode()


def _planned(author: bytes, from_seq: int, size: int) -> dict[str, Any]:
    return {"author": id_to_text(author), "verdict": "planned", "from_seq": from_seq, "size": size}


def _held(author: bytes) -> dict[str, Any]:
    return {"author": id_to_text(author), "verdict": "held"}


def _refused(author: bytes, code: str) -> dict[str, Any]:
    return {"author": id_to_text(author), "verdict": "refused", "code": code}


def heads_case(
    name: str, description: str, heads: list[Head], verdicts: list[dict[str, Any]]
) -> Case:
    data = {
        "network_hex": NETWORK.hex(),
        "held_hex": [raw.hex() for raw in ALICE_LOG.raws[:HELD]],
        "heads_frame_hex": msg(Heads(tuple(sorted(heads, key=lambda h: h.author)))).hex(),
    }
    order = {id_to_text(h.author): i for i, h in enumerate(sorted(heads, key=lambda h: h.author))}
    verdicts = sorted(verdicts, key=lambda v: order[v["author"]])
    return Case(*HEADS_SUITE, name, description, data, ok(heads=verdicts))


def heads_cases() -> Iterator[Case]:
    al, bo = ALICE.id, BOB.id
    yield heads_case(
        "longer-log",
        "Alice's log of 7 with her checkpoint of 7; we hold 3.",
        [Head(al, 7, _note(ALICE_LOG, 7))],
        [_planned(al, HELD + 1, 7)],
    )
    yield heads_case(
        "log-we-lack",
        "Bob's log of 5 with his checkpoint of 5; we hold none of it.",
        [Head(bo, 5, _note(BOB_LOG, 5))],
        [_planned(bo, 1, 5)],
    )
    yield heads_case(
        "log-we-lack-key-unknown",
        "Bob's log of 5 with a checkpoint naming Bob but signed by Alice's key: we hold no"
        " key of Bob's to check it by, so it is passed over (the ranges' checkpoints are"
        " verified as they come).",
        [Head(bo, 5, _note(BOB_LOG, 5, key=ALICE.signing))],
        [_planned(bo, 1, 5)],
    )
    yield heads_case(
        "held-as-far",
        "Alice's log of 3 with her checkpoint of 3: nothing to fetch.",
        [Head(al, HELD, _note(ALICE_LOG, HELD))],
        [_held(al)],
    )
    yield heads_case(
        "held-further",
        "Alice's log of 2 with her checkpoint of 2: we hold more.",
        [Head(al, 2, _note(ALICE_LOG, 2))],
        [_held(al)],
    )
    yield heads_case(
        "size-differs",
        "A head of size 7 carrying Alice's valid checkpoint of size 6.",
        [Head(al, 7, _note(ALICE_LOG, 6))],
        [_refused(al, "remote.bad-head")],
    )
    yield heads_case(
        "another-authors-checkpoint",
        "A head of Bob's log of 5 carrying Alice's valid checkpoint of size 5.",
        [Head(bo, 5, _note(ALICE_LOG, 5))],
        [_refused(bo, "remote.bad-head")],
    )
    yield heads_case(
        "bad-signature",
        "Alice's log of 7, her checkpoint of 7 signed by another key under her key's name"
        " and key id: the line by the key we hold does not verify.",
        [Head(al, 7, _forged_note(ALICE_LOG, 7))],
        [_refused(al, "verify.bad-signature")],
    )
    yield heads_case(
        "another-network",
        "Bob's log of 5 with his checkpoint of 5 of another network.",
        [Head(bo, 5, _note(BOB_LOG, 5, network=OTHER_NETWORK))],
        [_refused(bo, "verify.wrong-network")],
    )
    yield heads_case(
        "not-a-checkpoint",
        "Alice's log of 7 with a checkpoint that is not a signed note.",
        [Head(al, 7, b"seven entries, trust me\n")],
        [_refused(al, "decode.bad-checkpoint")],
    )
    yield heads_case(
        "one-refused-one-planned",
        "Two heads: Alice's of size 7 with her checkpoint of 6, Bob's of 5 with his checkpoint"
        " of 5. Each head is judged alone: one refused, the other planned.",
        [Head(al, 7, _note(ALICE_LOG, 6)), Head(bo, 5, _note(BOB_LOG, 5))],
        [_refused(al, "remote.bad-head"), _planned(bo, 1, 5)],
    )


def _forged_note(log: Log, size: int) -> bytes:
    """The checkpoint text of `log` at `size`, with a line under the author's key name
    and key id whose signature is by another key."""
    root = tlog.mth([tlog.leaf_hash(raw) for raw in log.raws[:size]])
    origin = tlog.origin(NETWORK, log.author.id)
    text = tlog.body(origin, size, root)
    kid = tlog.key_id(origin, tlog.SIG_ED25519, log.author.signing.public)
    signature = BOB.signing.sign(b"", text.encode())
    return tlog.note(text, tlog.line(origin, kid, signature)).encode()
