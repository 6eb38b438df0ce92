"""governance/admit: is one entry admitted by a federation's rules (specs/0008 §7.1)?

The state is what §7.1 reads: the rules in force, the members and the identities vouched
for (§3.2). Each case signs one entry and says, from how it was built, which row of the
§7.1 table refuses it first, with that row's fields, or that none does. The rules are
the governance suite's with small size limits (2048-byte entries, 512-byte texts), so
the boundary cases stay short. Nothing is read back from ledger.admission.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from protocol import kinds
from protocol.governance import APPLY
from specs.vectorgen.common import (
    NETWORK,
    Case,
    Identity,
    error,
    identity,
    ok,
    payload_fields,
    sign_fields,
)
from specs.vectorgen.governance import RULES

MAX_ENTRY_BYTES = 2_048
MAX_STR_BYTES = 512
ADMIT_RULES: dict[str, Any] = RULES | {
    "max_entry_bytes": MAX_ENTRY_BYTES,
    "max_str_bytes": MAX_STR_BYTES,
}
#: §7.1 row 6: the entries an outsider's log may hold.
OUTSIDER_MAX_ENTRIES = 8

MEMBER = identity("lab-a")
MEMBERS = sorted(identity(f"lab-{c}").id for c in "abcde")
VOUCHED = identity("designer")
OUTSIDER = identity("lab-x")


def _entry(author: Identity, seq: int, kind: str, body: Any) -> bytes:
    """`author`'s entry at `seq`. §7.1 reads neither the network nor the entry's place
    in its log (0002 §6 does), so the network is the vectors' and prev a fixed id."""
    prev = None if seq == 1 else hashlib.sha256(b"prev %d" % seq).digest()
    fields = payload_fields(
        signer=author.signing.public,
        seq=seq,
        prev=prev,
        kind=kind,
        body=body,
        author=author.id,
        network=NETWORK,
    )
    return sign_fields(author.signing, fields)


def _note(author: Identity, body: Any, seq: int = 2) -> bytes:
    return _entry(author, seq, kinds.NOTE, body)


def _apply(body: Any, seq: int = 2) -> bytes:
    return _entry(OUTSIDER, seq, APPLY, body)


def _sized(author: Identity, size: int) -> bytes:
    """A note of exactly `size` bytes whose texts are all at most MAX_STR_BYTES."""
    for n in range(size // 400):
        for last in range(MAX_STR_BYTES + 1):
            raw = _note(author, {"text": "padded", "parts": ["x" * 400] * n + ["y" * last]})
            if len(raw) == size:
                return raw
    raise AssertionError(f"no note of {size} bytes")


def _too_large(raw: bytes) -> dict[str, Any]:
    assert len(raw) > MAX_ENTRY_BYTES
    return error("rule.entry-too-large", size=len(raw), limit=MAX_ENTRY_BYTES)


def _too_long(text_bytes: int) -> dict[str, Any]:
    assert text_bytes > MAX_STR_BYTES
    return error("rule.string-too-long", size=text_bytes, limit=MAX_STR_BYTES)


APPLICATION = {"name": "Lab X", "text": "We run two printers and a laser cutter."}
INVALID_APPLICATION = {"name": 7, "text": "A name that is not a text."}


def admit_cases() -> Iterator[Case]:
    def case(name: str, description: str, raw: bytes, expect: dict[str, Any]) -> Case:
        data = {
            "rules": ADMIT_RULES,
            "members_hex": [m.hex() for m in MEMBERS],
            "vouched_hex": [VOUCHED.id.hex()],
            "entry_hex": raw.hex(),
        }
        return Case("governance", "admit", name, description, data, expect)

    hello = {"text": "hello, fab labs"}
    past = OUTSIDER_MAX_ENTRIES + 1
    # -- admitted ----------------------------------------------------------------------
    yield case("member-note", "A member's note.", _note(MEMBER, hello), ok())
    yield case(
        "vouched-note",
        "A note of an identity vouched for, not a member: admitted as a member's.",
        _note(VOUCHED, hello),
        ok(),
    )
    yield case(
        "outsider-inception",
        "An outsider's inception: a key event is an open kind.",
        _entry(OUTSIDER, 1, kinds.INCEPTION, OUTSIDER.inception_body()),
        ok(),
    )
    yield case(
        "outsider-apply",
        "An outsider's member.apply with a valid body.",
        _apply(APPLICATION),
        ok(),
    )
    yield case(
        "outsider-apply-at-quota",
        f"An outsider's member.apply at seq {OUTSIDER_MAX_ENTRIES}: the last its log may hold.",
        _apply(APPLICATION, OUTSIDER_MAX_ENTRIES),
        ok(),
    )
    yield case(
        "member-past-outsider-quota",
        f"A member's note at seq {past}: the quota is an outsider's only.",
        _note(MEMBER, hello, past),
        ok(),
    )
    yield case(
        "member-invalid-body",
        "A member's member.apply with an invalid body: only an outsider's body is judged.",
        _entry(MEMBER, 2, APPLY, INVALID_APPLICATION),
        ok(),
    )
    at_limit = _sized(MEMBER, MAX_ENTRY_BYTES)
    yield case(
        "entry-at-limit",
        f"A member's note of exactly max_entry_bytes ({MAX_ENTRY_BYTES}).",
        at_limit,
        ok(),
    )
    yield case(
        "text-at-limit",
        f"A member's note whose text is exactly max_str_bytes ({MAX_STR_BYTES}).",
        _note(MEMBER, {"text": "x" * MAX_STR_BYTES}),
        ok(),
    )
    yield case(
        "bytes-are-not-text",
        "A byte string longer than max_str_bytes in a member's body: only texts count.",
        _note(MEMBER, {"text": "a photo", "data": b"\x00" * (MAX_STR_BYTES + 100)}),
        ok(),
    )
    # -- row 1: the entry's size ----------------------------------------------------------
    over = _sized(MEMBER, MAX_ENTRY_BYTES + 1)
    yield case(
        "entry-one-byte-over",
        "A member's note one byte over max_entry_bytes, every text within max_str_bytes.",
        over,
        _too_large(over),
    )
    big_note = _sized(OUTSIDER, MAX_ENTRY_BYTES + 1)
    yield case(
        "outsider-entry-too-large",
        "An outsider's note over max_entry_bytes: row 1 refuses it before row 4 would.",
        big_note,
        _too_large(big_note),
    )
    both = _note(MEMBER, {"text": "x" * 2_000})
    yield case(
        "entry-and-text-too-long",
        "A member's note over max_entry_bytes with a text over max_str_bytes: row 1 first.",
        both,
        _too_large(both),
    )
    # -- row 2: the longest text ----------------------------------------------------------
    yield case(
        "text-one-byte-over",
        "A member's note whose text is one byte over max_str_bytes.",
        _note(MEMBER, {"text": "x" * (MAX_STR_BYTES + 1)}),
        _too_long(MAX_STR_BYTES + 1),
    )
    wide = MAX_STR_BYTES // 2 + 1
    yield case(
        "text-counted-in-utf8-bytes",
        f"A text of {wide} characters of 2 bytes each in UTF-8 ({2 * wide} bytes): too long.",
        _note(MEMBER, {"text": "é" * wide}),
        _too_long(2 * wide),
    )
    yield case(
        "nested-text-too-long",
        "A text over max_str_bytes in a map in an array in a member's body.",
        _note(MEMBER, {"text": "hello", "parts": [{"caption": "x" * (MAX_STR_BYTES + 7)}]}),
        _too_long(MAX_STR_BYTES + 7),
    )
    yield case(
        "outsider-apply-text-too-long",
        "An outsider's member.apply, valid for its kind, with a text over max_str_bytes.",
        _apply({"name": "Lab X", "text": "x" * (MAX_STR_BYTES + 1)}),
        _too_long(MAX_STR_BYTES + 1),
    )
    # -- rows 4-6: an outsider's entry ------------------------------------------------------
    yield case(
        "outsider-note",
        "An outsider's note: not an open kind.",
        _note(OUTSIDER, hello),
        error("rule.not-admitted", kind=kinds.NOTE),
    )
    yield case(
        "outsider-note-past-quota",
        f"An outsider's note at seq {past}: row 4 refuses it before row 6 would.",
        _note(OUTSIDER, hello, past),
        error("rule.not-admitted", kind=kinds.NOTE),
    )
    yield case(
        "outsider-invalid-apply",
        "An outsider's member.apply whose name is an integer.",
        _apply(INVALID_APPLICATION),
        error("rule.invalid-body", kind=APPLY),
    )
    yield case(
        "outsider-invalid-apply-past-quota",
        f"An outsider's invalid member.apply at seq {past}: row 5 refuses it before row 6.",
        _apply(INVALID_APPLICATION, past),
        error("rule.invalid-body", kind=APPLY),
    )
    yield case(
        "outsider-past-quota",
        f"An outsider's valid member.apply at seq {past}.",
        _apply(APPLICATION, past),
        error("rule.outsider-quota", seq=past, limit=OUTSIDER_MAX_ENTRIES),
    )


def cases() -> Iterator[Case]:
    yield from admit_cases()
