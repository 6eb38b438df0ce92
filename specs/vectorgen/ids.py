"""ids/text: the text form of ids, and near misses."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from protocol.ids import id_to_text
from specs.vectorgen.common import Case, error, ok

_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def id_cases() -> Iterator[Case]:
    def case(name: str, description: str, text: str, expect: dict[str, Any]) -> Case:
        return Case("ids", "text", name, description, {"text": text}, expect)

    digest = hashlib.sha256(b"fabcommons").digest()
    for name, description, raw in [
        ("all-zero", "The id of 32 zero bytes.", bytes(32)),
        ("all-ones", "The id of 32 0xff bytes.", b"\xff" * 32),
        ("sha256-digest", "The id of SHA-256('fabcommons').", digest),
    ]:
        yield case(name, description, id_to_text(raw), ok(id_hex=raw.hex()))
    text = id_to_text(digest)
    last = _BASE32.index(text[-1])
    assert last & 0b1111 == 0, "the last character carries 1 bit and 4 zero bits"
    for name, description, bad in [
        ("upper-case", "The base32 part is upper case.", "b" + text[1:].upper()),
        ("wrong-prefix", "The multibase prefix is z (base58btc), not b.", "z" + text[1:]),
        ("too-short", "The last character is removed.", text[:-1]),
        ("too-long", "One character is appended.", text + "a"),
        ("padding", "RFC 4648 padding (====) is appended.", text + "===="),
        (
            "non-alphabet",
            "One character is 1, outside the base32 alphabet.",
            text[:10] + "1" + text[11:],
        ),
        (
            "non-canonical-trailing-bits",
            "The last character sets an unused low bit.",
            text[:-1] + _BASE32[last | 1],
        ),
        ("empty", "The empty string is not an id.", ""),
        ("trailing-newline", "A newline in place of the last character.", text[:-1] + "\n"),
    ]:
        yield case(name, description, bad, error("decode.bad-id"))
