"""Range-based set reconciliation (protocol/reconcile.py, specs/0005-sync.md §8): for
any two sets the conversation ends within the spec's bound and finds exactly the
symmetric difference; every message an encoder makes decodes to what it wrote; bad
messages end in typed errors; the fingerprint is the plain definition's."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import LocalMisuseError, RemoteFaultError
from protocol.reconcile import (
    ID_LIST_BELOW,
    MIN_MESSAGE_BYTES,
    ItemIndex,
    Reconciler,
    fingerprint,
    round_trip_bound,
)
from protocol.reconcile_wire import (
    INFINITY,
    MAX_MESSAGE_BYTES,
    MODE_FINGERPRINT,
    MODE_ID_LIST,
    MODE_SKIP,
    Bound,
    MessageWriter,
    WireRange,
    decode_message,
    encode_varint,
)

Item = tuple[int, bytes]


def converse(
    a: list[Item], b: list[Item], limit: int = MAX_MESSAGE_BYTES
) -> tuple[set[bytes], set[bytes], int, int]:
    """Run a reconciliation; (have, need, round trips, bytes both ways)."""
    initiator = Reconciler(a, max_message_bytes=limit)
    responder = Reconciler(b, max_message_bytes=limit)
    message: bytes | None = initiator.initiate()
    have: set[bytes] = set()
    need: set[bytes] = set()
    rounds, moved = 0, 0
    while message is not None:
        assert len(message) <= limit
        reply = responder.reconcile(message).reply
        assert reply is not None and len(reply) <= limit
        rounds, moved = rounds + 1, moved + len(message) + len(reply)
        step = initiator.reconcile(reply)
        have |= set(step.have_ids)
        need |= set(step.need_ids)
        message = step.reply
    return have, need, rounds, moved


def ids(n: int, tag: str) -> list[Item]:
    return [(0, hashlib.sha256(f"{tag}/{i}".encode()).digest()) for i in range(n)]


item_ids = st.binary(min_size=32, max_size=32)
items = st.tuples(st.integers(0, 5), item_ids)


@st.composite
def set_pairs(draw: st.DrawFn) -> tuple[list[Item], list[Item]]:
    common = draw(st.sets(items, max_size=300))
    only_a = draw(st.sets(items, max_size=80)) - common
    only_b = draw(st.sets(items, max_size=80)) - common - only_a
    return sorted(common | only_a), sorted(common | only_b)


@settings(max_examples=150)
@given(set_pairs(), st.sampled_from([MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES]))
def test_any_two_sets_reconcile_to_their_symmetric_difference(
    pair: tuple[list[Item], list[Item]], limit: int
) -> None:
    a, b = pair
    have, need, rounds, _ = converse(a, b, limit)
    assert have == {i for _, i in a} - {i for _, i in b}
    assert need == {i for _, i in b} - {i for _, i in a}
    assert rounds <= round_trip_bound(max(len(a), len(b)), len(have | need), limit)


@pytest.mark.parametrize(
    ("common", "only_a", "only_b"),
    [
        (0, 0, 0),
        (0, 40, 0),
        (0, 0, 40),
        (5_000, 0, 0),
        (5_000, 1, 0),
        (5_000, 0, 1),
        (20_000, 7, 9),
    ],
)
def test_larger_sets_within_the_bound(common: int, only_a: int, only_b: int) -> None:
    shared = ids(common, "common")
    a, b = shared + ids(only_a, "a"), shared + ids(only_b, "b")
    for limit in (MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES):
        have, need, rounds, _ = converse(a, b, limit)
        assert have == {i for _, i in ids(only_a, "a")}
        assert need == {i for _, i in ids(only_b, "b")}
        assert rounds <= round_trip_bound(max(len(a), len(b)), only_a + only_b, limit)


def test_sets_in_sync_cost_one_round_trip_of_constant_size() -> None:
    costs = set()
    for n in (1, ID_LIST_BELOW - 1, ID_LIST_BELOW, 1_000, 50_000):
        same = ids(n, "same")
        have, need, rounds, moved = converse(same, same)
        assert (have, need, rounds) == (set(), set(), 1)
        costs.add(moved)
    assert costs == {21}  # a 20-byte fingerprint of everything, a 1-byte reply


def test_one_difference_among_100000_takes_three_round_trips() -> None:
    shared = ids(100_000, "big")
    have, need, rounds, moved = converse(shared + ids(1, "one"), shared)
    assert (have, need, rounds) == ({ids(1, "one")[0][1]}, set(), 3)
    assert moved < 3_000
    assert round_trip_bound(100_001, 1, MAX_MESSAGE_BYTES) == 8


def test_fingerprint_is_sum_mod_2_256_then_count_varint_sha256_truncated() -> None:
    values = [b"\xff" * 32, (2).to_bytes(32, "little")]
    total = (2**256 - 1 + 2) % 2**256  # wraps: 1
    expected = hashlib.sha256(total.to_bytes(32, "little") + b"\x02").digest()[:16]
    assert fingerprint(values) == expected
    assert fingerprint([]) == hashlib.sha256(bytes(32) + b"\x00").digest()[:16]


# -- the wire --------------------------------------------------------------------------
bounds = st.builds(Bound, st.integers(0, 2**64 - 2), st.binary(max_size=32)).filter(
    lambda b: b.key > (0, bytes(32))  # above the lowest bound, where every message starts
)


@st.composite
def messages(draw: st.DrawFn) -> list[WireRange]:
    uppers = sorted({b.key: b for b in draw(st.lists(bounds, max_size=8))}.items())
    chosen = [b for _, b in uppers]
    if draw(st.booleans()):
        chosen.append(INFINITY)
    out: list[WireRange] = []
    for upper in chosen:
        allowed = [MODE_FINGERPRINT, MODE_ID_LIST]
        if out and out[-1].mode != MODE_SKIP:
            allowed.append(MODE_SKIP)
        mode = draw(st.sampled_from(allowed))
        if mode == MODE_FINGERPRINT:
            out.append(WireRange(upper, mode, draw(st.binary(min_size=16, max_size=16))))
        elif mode == MODE_ID_LIST:
            out.append(WireRange(upper, mode, ids=tuple(draw(st.lists(item_ids, max_size=3)))))
        else:
            out.append(WireRange(upper, mode))
    if out and out[-1].mode == MODE_SKIP:
        out.pop()
    return out


def write(ranges: list[WireRange]) -> bytes:
    out = MessageWriter()
    for r in ranges:
        if r.mode == MODE_SKIP:
            out.skip(r.upper)
        elif r.mode == MODE_FINGERPRINT:
            out.fingerprint(r.upper, r.fingerprint)
        else:
            out.id_list(r.upper, list(r.ids))
    return bytes(out.data)


@settings(max_examples=300)
@given(messages())
def test_the_decoder_reads_what_the_writer_wrote(ranges: list[WireRange]) -> None:
    assert list(decode_message(write(ranges))) == ranges


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_a_typed_error(data: bytes) -> None:
    try:
        decode_message(b"\x61" + data)
    except RemoteFaultError as e:
        assert e.code in ("remote.bad-reconcile", "remote.oversized")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "remote.bad-reconcile"),
        (b"\x60", "remote.bad-reconcile"),  # another protocol version
        (b"\x61\x00\x00\x03", "remote.bad-reconcile"),  # mode 3
        (b"\x61\x00\x00\x01" + b"\x00" * 15, "remote.bad-reconcile"),  # fingerprint cut short
        (b"\x61\x00\x00\x02\x02" + b"\x00" * 32, "remote.bad-reconcile"),  # 2 ids, 1 present
        (b"\x61\x80\x01\x00\x02\x00", "remote.bad-reconcile"),  # a varint not minimal
        (b"\x61\x00\x00\x02\x00\x00\x00\x02\x00", "remote.bad-reconcile"),  # after infinity
        (b"\x61\x02\x01\x05\x02\x00\x01\x01\x03\x02\x00", "remote.bad-reconcile"),  # descending
        (b"\x61\x02\x00\x00\x03\x00\x00\x00\x02\x00", "remote.bad-reconcile"),  # two skips
        (b"\x61\x02\x00\x00", "remote.bad-reconcile"),  # ends with a skip
        (b"\x61\x00\x01\x00\x02\x00", "remote.bad-reconcile"),  # infinity with a prefix
        (b"\x61" + b"\xff" * 10 + b"\x7f", "remote.bad-reconcile"),  # varint over 64 bits
        (b"\x61" + bytes(MAX_MESSAGE_BYTES), "remote.oversized"),  # checked before parsing
    ],
)
def test_malformed_messages_are_refused_with_their_code(data: bytes, code: str) -> None:
    with pytest.raises(RemoteFaultError) as caught:
        decode_message(data)
    assert caught.value.code == code


def test_varints_are_most_significant_digit_first() -> None:
    assert encode_varint(0) == b"\x00"
    assert encode_varint(127) == b"\x7f"
    assert encode_varint(300) == b"\x82\x2c"
    assert len(encode_varint(2**64 - 1)) == 10


def test_misuse_is_refused() -> None:
    with pytest.raises(LocalMisuseError):
        Reconciler([(0, bytes(32)), (0, bytes(32))])
    with pytest.raises(LocalMisuseError):
        Reconciler([(2**64 - 1, bytes(32))])
    with pytest.raises(LocalMisuseError):
        Reconciler([], max_message_bytes=100)
    done = Reconciler([])
    assert done.reconcile(Reconciler([]).reconcile(done.initiate()).reply or b"").reply is None
    with pytest.raises(LocalMisuseError):
        done.reconcile(b"\x61")
    assert round_trip_bound(0, 0, MIN_MESSAGE_BYTES) == 3  # one level, and the two ends


@settings(max_examples=40, deadline=None)
@given(st.sets(st.binary(min_size=32, max_size=32), max_size=120), st.binary(min_size=1))
def test_an_item_index_reconciles_like_the_items_it_holds(ids: set[bytes], seed: bytes) -> None:
    """One ItemIndex shared by two reconcilers (as a node's sessions share it) answers
    byte for byte as reconcilers built from the items."""
    items = [(0, i) for i in ids]
    index = ItemIndex.build(items)
    other = [(0, hashlib.sha256(seed + i).digest()) for i in sorted(ids)[: len(ids) // 2]]
    peer_items = other + items[: len(items) // 3]
    message = Reconciler(items).initiate()
    assert Reconciler(index).initiate() == message
    reply = Reconciler(peer_items).reconcile(message).reply
    assert reply is not None
    by_items, by_index = Reconciler(items), Reconciler(index)
    by_items.initiate()
    by_index.initiate()
    assert by_index.reconcile(reply) == by_items.reconcile(reply)
    assert list(index.sums) == [
        sum(int.from_bytes(k[1], "little") for k in sorted(items)[:n]) for n in range(len(ids) + 1)
    ]


def test_an_index_refuses_items_out_of_order_or_twice() -> None:
    a, b = (0, bytes(32)), (0, b"\x01" + bytes(31))
    assert list(ItemIndex.from_sorted([a, b]).keys) == [a, b]
    for keys in ([b, a], [a, a], [(0, b"short")]):
        with pytest.raises(LocalMisuseError):
            ItemIndex.from_sorted(keys)
