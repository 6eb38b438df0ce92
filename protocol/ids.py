"""Ids and their one text form (specs/0002-identities-and-entries.md §2).

Every id in Fab Commons (identity, entry, network, blob) is 32 bytes: a SHA-256
digest. Its text form, used by the CLI, the API, logs and specs alike, is
multibase base32 (RFC 4648 lower-case alphabet, no padding) with the multibase
prefix "b": 53 characters. Parsing is strict: one spelling per id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from protocol.errors import DecodeError

ID_BYTES = 32
ID_TEXT_LEN = 53
_PREFIX = "b"


def id_to_text(raw: bytes) -> str:
    """The text form of a 32-byte id."""
    if len(raw) != ID_BYTES:
        raise DecodeError("decode.bad-id", f"got {len(raw)} bytes, want {ID_BYTES}")
    return _PREFIX + base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def id_from_field(text: str, field: str) -> bytes:
    """`id_from_text` of a request's `field`: its decode.bad-id names the field."""
    try:
        return id_from_text(text)
    except DecodeError as e:
        raise DecodeError(e.code, f"{field}: {e.message}", field=field) from e


def id_from_text(text: str) -> bytes:
    """Parse the text form; reject anything but the one canonical spelling."""
    if len(text) != ID_TEXT_LEN or not text.startswith(_PREFIX):
        raise DecodeError("decode.bad-id", f"not an id: {text[:80]!r}")
    body = text[1:]
    if body != body.lower():
        raise DecodeError("decode.bad-id", "ids are lower case")
    try:
        raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8), casefold=False)
    except (binascii.Error, ValueError) as e:
        raise DecodeError("decode.bad-id", f"not base32: {text[:80]!r}") from e
    if len(raw) != ID_BYTES or id_to_text(raw) != text:
        raise DecodeError("decode.bad-id", f"not a canonical id: {text[:80]!r}")
    return raw


def digest(tag: bytes, data: bytes) -> bytes:
    """SHA-256 over a domain tag and data."""
    return hashlib.sha256(tag + data).digest()
