"""sync/reconcile: set reconciliation of heads (0005 §8), Negentropy v1 bytes.

Three kinds of case, named by their first word:
  fingerprint-*   ids in, the 16-byte fingerprint out (§8.3);
  item-*          a log head (author, size, root, its note's signature lines) in,
                  its item id out (§8.2);
  session-*       two item sets (ids, timestamp 0), every message of the conversation
                  in order (initiator first, then the responder's reply, ...), and what
                  the initiator learned (have: only it holds; need: only the other);
  malformed-*     one message and the error code the decoder gives (§8.3).
Sets are made from seeds so the files stay small: ids are SHA-256("set/<seed>/<i>").

The fingerprints and item ids are computed here from the spec's formulas with plain
hashlib (`spec_fingerprint`, `spec_item_id`), not by the code the vectors check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from protocol.reconcile import Reconciler
from protocol.reconcile_wire import MAX_MESSAGE_BYTES
from specs.vectorgen.common import ALICE, Case, error, ok

SUITE = ("sync", "reconcile")


ITEM_TAG = b"fabcommons/v1/sync-item\x00"  # 0002 §3's table, 0005 §8.2


def spec_fingerprint(values: list[bytes]) -> bytes:
    """0005 §8.3: SHA-256(sum of the ids as little-endian integers mod 2^256, 32 bytes
    little-endian || varint(count)), first 16 bytes; the varint is base 128, most
    significant group first, the high bit set on every byte but the last."""
    total = sum(int.from_bytes(v, "little") for v in values) % (1 << 256)
    count, groups = len(values), []
    while True:
        groups.append(count & 0x7F)
        count >>= 7
        if not count:
            break
    varint = bytes(g | (0x80 if i else 0) for i, g in reversed(list(enumerate(groups))))
    return hashlib.sha256(total.to_bytes(32, "little") + varint).digest()[:16]


def spec_item_id(
    author: bytes, size: int | None = None, root: bytes = b"", lines: list[str] | None = None
) -> bytes:
    """0005 §8.2: a log's item SHA-256(tag || author || size u64 BE || root || SHA-256 of
    the distinct signature lines sorted bytewise and concatenated); a frozen author's
    SHA-256(tag || author)."""
    if size is None:
        return hashlib.sha256(ITEM_TAG + author).digest()
    signed = hashlib.sha256(b"".join(sorted({line.encode() for line in lines or []}))).digest()
    return hashlib.sha256(ITEM_TAG + author + size.to_bytes(8, "big") + root + signed).digest()


def ids(seed: str, count: int) -> list[bytes]:
    return [hashlib.sha256(f"set/{seed}/{i}".encode()).digest() for i in range(count)]


def fingerprint_cases() -> Iterator[Case]:
    wrap = [b"\xff" * 32, (2).to_bytes(32, "little")]
    for name, description, values in [
        ("fingerprint-empty", "No ids: SHA-256 of 32 zero bytes and count 0.", []),
        ("fingerprint-one", "One id.", ids("fp", 1)),
        ("fingerprint-sum-wraps", "The sum wraps mod 2^256 (to 1); count 2.", wrap),
        ("fingerprint-200", "200 ids: the count is a two-byte varint (0x81 0x48).", ids("fp", 200)),
    ]:
        yield Case(
            *SUITE,
            name,
            description,
            {"ids_hex": [v.hex() for v in values]},
            ok(fingerprint_hex=spec_fingerprint(values).hex()),
        )


def item_cases() -> Iterator[Case]:
    root = hashlib.sha256(b"a root").digest()
    author_line = "\u2014 fabcommons/v1/log/alice " + "QUJD" * 23 + "\n"
    witness_line = "\u2014 fabcommons-witness/bob " + "REVG" * 25 + "\n"
    for name, description, lines in [
        ("item-log-head", "Alice's log served at 7 entries with this root; her line only.",
         [author_line]),
        ("item-log-head-cosigned", "The same head whose note also carries a witness's line: "
         "another item, so the cosignature is worth sending.", [author_line, witness_line]),
        ("item-log-head-lines-unordered", "The lines in another order, one twice: the same "
         "item as item-log-head-cosigned (distinct lines, sorted).",
         [witness_line, author_line, witness_line]),
    ]:  # fmt: skip
        yield Case(
            *SUITE,
            name,
            description,
            {"author_hex": ALICE.id.hex(), "size": 7, "root_hex": root.hex(), "lines": lines},
            ok(id_hex=spec_item_id(ALICE.id, 7, root, lines).hex()),
        )
    yield Case(
        *SUITE,
        "item-frozen-author",
        "Alice frozen by a fork proof held here.",
        {"frozen_author_hex": ALICE.id.hex()},
        ok(id_hex=spec_item_id(ALICE.id).hex()),
    )


def session(
    name: str, description: str, a: list[bytes], b: list[bytes], limit: int = MAX_MESSAGE_BYTES
) -> Case:
    initiator = Reconciler([(0, i) for i in a], max_message_bytes=limit)
    responder = Reconciler([(0, i) for i in b], max_message_bytes=limit)
    messages: list[str] = []
    have: set[bytes] = set()
    need: set[bytes] = set()
    message: bytes | None = initiator.initiate()
    while message is not None:
        reply = responder.reconcile(message).reply
        assert reply is not None
        messages += [message.hex(), reply.hex()]
        step = initiator.reconcile(reply)
        have |= set(step.have_ids)
        need |= set(step.need_ids)
        message = step.reply
    assert have == set(a) - set(b) and need == set(b) - set(a)
    return Case(
        *SUITE,
        name,
        description,
        {
            "initiator_ids_hex": [i.hex() for i in a],
            "responder_ids_hex": [i.hex() for i in b],
            "max_message_bytes": limit,
        },
        ok(
            messages_hex=messages,
            have_hex=sorted(i.hex() for i in have),
            need_hex=sorted(i.hex() for i in need),
        ),
    )


def session_cases() -> Iterator[Case]:
    common = ids("common", 300)
    yield session("session-empty", "Two empty sets: an empty IdList, an empty reply.", [], [])
    yield session(
        "session-in-sync", "300 shared items: one fingerprint, an empty reply.", common, common
    )
    yield session(
        "session-one-difference",
        "300 shared items and one only the responder holds.",
        common,
        common + ids("extra", 1),
    )
    yield session(
        "session-both-sides-differ",
        "300 shared items, 3 only the initiator holds, 2 only the responder.",
        common + ids("a", 3),
        common + ids("b", 2),
    )
    yield session(
        "session-small-sets",
        "Fewer than 32 items: the responder answers the first fingerprint with an IdList.",
        ids("small", 5),
        ids("small", 3) + ids("other", 2),
    )
    yield session(
        "session-frame-limited",
        "200 items against 300 others with 4,096-byte messages: replies are cut and the"
        " rest is closed by one fingerprint.",
        ids("left", 200),
        ids("right", 300),
        limit=4096,
    )


def malformed_cases() -> Iterator[Case]:
    for name, description, data, code in [
        ("malformed-empty", "No bytes at all.", b"", "remote.bad-reconcile"),
        ("malformed-version", "Protocol version 0x60.", b"\x60", "remote.bad-reconcile"),
        ("malformed-mode", "Mode 3.", b"\x61\x00\x00\x03", "remote.bad-reconcile"),
        (
            "malformed-short-fingerprint",
            "A fingerprint of 15 bytes.",
            b"\x61\x00\x00\x01" + bytes(15),
            "remote.bad-reconcile",
        ),
        (
            "malformed-id-count",
            "An IdList of 2 ids holding one.",
            b"\x61\x00\x00\x02\x02" + bytes(32),
            "remote.bad-reconcile",
        ),
        (
            "malformed-varint",
            "A varint with a leading zero digit.",
            b"\x61\x80\x01\x00\x02\x00",
            "remote.bad-reconcile",
        ),
        (
            "malformed-after-infinity",
            "A range after the infinity bound.",
            b"\x61\x00\x00\x02\x00\x00\x00\x02\x00",
            "remote.bad-reconcile",
        ),
        (
            "malformed-descending",
            "An upper bound below the previous one.",
            b"\x61\x02\x01\x05\x02\x00\x01\x01\x03\x02\x00",
            "remote.bad-reconcile",
        ),
        (
            "malformed-trailing-skip",
            "A message ending in a Skip (it is implicit).",
            b"\x61\x02\x00\x00",
            "remote.bad-reconcile",
        ),
    ]:
        yield Case(*SUITE, name, description, {"message_hex": data.hex()}, error(code))
    yield Case(
        *SUITE,
        "malformed-oversized",
        "A message over the limit is refused before a byte is parsed (here a limit of 32"
        " bytes stands for 64 KiB, and the 33 bytes are no valid message anyway).",
        {"message_hex": (b"\x61" + b"\xff" * 32).hex(), "max_bytes": 32},
        error("remote.oversized"),
    )


def cases() -> Iterator[Case]:
    yield from fingerprint_cases()
    yield from item_cases()
    yield from session_cases()
    yield from malformed_cases()
