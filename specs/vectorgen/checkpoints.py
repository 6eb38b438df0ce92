"""ledger/checkpoints and ledger/cosignatures: signed checkpoint notes, witness cosignatures."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from ledger.checkpoint import MAX_CHECKPOINT_BYTES
from protocol.ids import id_to_text
from protocol.keys import SigningKey
from specs.vectorgen import tlog
from specs.vectorgen.common import ALICE, ALICE_NEXT, BOB, NETWORK, Case, error, ok
from specs.vectorgen.logs import Log
from specs.vectorgen.tlog import T0_S, WENDY, WITNESS_NAME

LOG = Log().inception().note().note().note().note().note().note()
LEAVES = [tlog.leaf_hash(raw) for raw in LOG.raws]
SIZE = len(LEAVES)
ROOT = tlog.mth(LEAVES)
ORIGIN = tlog.origin(NETWORK, ALICE.id)
TEXT = tlog.body(ORIGIN, SIZE, ROOT)
AUTHOR_LINE = tlog.ed25519_line(ALICE.signing, ORIGIN, TEXT)
NOTE = tlog.note(TEXT, AUTHOR_LINE)
#: Inception, note, rotation to ALICE_NEXT at seq 3, note: ALICE_NEXT signs sizes 3 and up.
ROTATED = Log().inception().note().rotate(ALICE_NEXT).note()
OTHER_NAME = "example.com/bob"


def _bad(field: str | None = None) -> dict[str, Any]:
    return error("decode.bad-checkpoint", **({} if field is None else {"field": field}))


def checkpoint_cases() -> Iterator[Case]:
    for name, description, note, expect, key_events in _checkpoints():
        data: dict[str, Any] = (
            {"note": None, "note_hex": note.hex()} if isinstance(note, bytes) else {"note": note}
        )
        if key_events is None:
            data["public_key_hex"] = ALICE.signing.public.hex()
        else:
            data["key_events_hex"] = [e.hex() for e in key_events]
        yield Case("ledger", "checkpoints", name, description, data, expect)


#: name, description, note (bytes when not UTF-8), expect, and the key events to take the
#: author's key from (None: Alice's first signing key is given as public_key_hex).
CheckpointCase = tuple[str, str, str | bytes, dict[str, Any], Sequence[bytes] | None]


def _signed(origin: str, size: int | str, root: bytes, key: SigningKey = ALICE.signing) -> str:
    """A note over an arbitrary (possibly invalid) body, signed by `key` under `origin`."""
    text = tlog.body(origin, size, root)
    return tlog.note(text, tlog.ed25519_line(key, origin, text))


def _checkpoints() -> Iterator[CheckpointCase]:
    any_root = hashlib.sha256(b"any tree").digest()
    yield "happy", "Alice's checkpoint of her 7-entry log.", NOTE, _ok(SIZE, ROOT), None
    yield (
        "empty-tree",
        "The checkpoint of size 0 carries SHA-256('').",
        _signed(ORIGIN, 0, tlog.EMPTY_ROOT),
        _ok(0, tlog.EMPTY_ROOT),
        None,
    )
    yield (
        "max-size",
        "Size 2**64-1 is the largest tree size.",
        _signed(ORIGIN, 2**64 - 1, any_root),
        _ok(2**64 - 1, any_root),
        None,
    )
    yield (
        "unknown-extra-signature",
        "A line by an unknown key, before the author's, is ignored.",
        tlog.note(TEXT, tlog.ed25519_line(BOB.signing, OTHER_NAME, TEXT), AUTHOR_LINE),
        _ok(SIZE, ROOT),
        None,
    )
    for name, description, key_name in [
        (
            "del-in-unknown-key-name",
            "An unknown key's name holds DEL (U+007F), not an ASCII control below U+0020.",
            OTHER_NAME + "\x7f",
        ),
        (
            "c1-in-unknown-key-name",
            "An unknown key's name holds the C1 control U+009B, which signed-note allows.",
            OTHER_NAME + "\x9b",
        ),
    ]:
        yield name, description, _with_unknown_line(key_name), _ok(SIZE, ROOT), None
    rotated = [tlog.leaf_hash(raw) for raw in ROTATED.raws]
    for size, name, description in [
        (3, "signed-at-rotation", "Size 3 (the rotation) is signed by the next key."),
        (4, "signed-after-rotation", "Size 4, after a rotation, is signed by the next key."),
    ]:
        note = _signed(ORIGIN, size, tlog.mth(rotated[:size]), ALICE_NEXT)
        yield name, description, note, _ok(size, tlog.mth(rotated[:size])), ROTATED.events
    yield (
        "signed-by-rotated-away-key",
        "Size 4 is signed by the key rotated away at seq 3.",
        _signed(ORIGIN, 4, tlog.mth(rotated), ALICE.signing),
        error("verify.no-author-signature"),
        ROTATED.events,
    )
    for name, description, mutated, expect in _mutations():
        yield name, description, mutated, expect, None


def _with_unknown_line(key_name: str) -> str:
    """NOTE with a line by an unknown key (Bob's) named `key_name` before the author's."""
    return tlog.note(TEXT, tlog.ed25519_line(BOB.signing, key_name, TEXT), AUTHOR_LINE)


def _key_name_mutations() -> Iterator[tuple[str, str, str | bytes, dict[str, Any]]]:
    """Key names signed-note refuses (specs/0003 §2.1, rows 3 and 7)."""
    for name, description, key_name, field in [
        ("plus-in-key-name", "An unknown key's name holds a plus sign.", "example.com/b+b", None),
        (
            "nbsp-in-key-name",
            "An unknown key's name holds U+00A0, a Unicode space.",
            "example.com/b\xa0b",
            None,
        ),
        (
            "nel-in-key-name",
            "An unknown key's name holds U+0085: a C1 control, allowed, but a Unicode space.",
            "example.com/b\x85b",
            None,
        ),
        (
            "ideographic-space-in-key-name",
            "An unknown key's name holds U+3000, a Unicode space.",
            "example.com/b\u3000b",
            None,
        ),
        ("empty-key-name", "A signature line has an empty key name.", "", None),
        (
            "c0-in-key-name",
            "An unknown key's name holds U+001F: an ASCII control, refused for the whole "
            "note (row 3) before any line is read.",
            "example.com/b\x1fb",
            "encoding",
        ),
    ]:
        yield name, description, _with_unknown_line(key_name), _bad(field or "signature")


def _mutations() -> Iterator[tuple[str, str, str | bytes, dict[str, Any]]]:
    yield from _key_name_mutations()
    bad_sig, no_author = error("verify.bad-signature"), error("verify.no-author-signature")
    flipped = tlog.flip(ROOT, 5)
    yield (
        "root-bit-flip",
        "One bit of the root is flipped after signing.",
        tlog.note(tlog.body(ORIGIN, SIZE, flipped), AUTHOR_LINE),
        bad_sig,
    )
    yield (
        "size-changed",
        "The size is changed from 7 to 8 after signing.",
        tlog.note(tlog.body(ORIGIN, SIZE + 1, ROOT), AUTHOR_LINE),
        bad_sig,
    )
    yield (
        "size-leading-zero",
        "The size is written 07, signed so.",
        _signed(ORIGIN, f"0{SIZE}", ROOT),
        _bad("size"),
    )
    yield (
        "size-too-large",
        "The size is 2**64, signed so.",
        _signed(ORIGIN, 2**64, ROOT),
        _bad("size"),
    )
    yield "missing-final-newline", "The last line has no newline.", NOTE[:-1], _bad("note")
    yield "crlf", "Every newline is CR LF.", NOTE.replace("\n", "\r\n"), _bad("encoding")
    yield (
        "extra-blank-line",
        "Two blank lines separate the text from the signature.",
        TEXT + "\n" + "\n" + AUTHOR_LINE,
        _bad("extension"),
    )
    yield (
        "extension-line",
        "An extension line follows the root, signed so.",
        tlog.note(TEXT + "ext\n", tlog.ed25519_line(ALICE.signing, ORIGIN, TEXT + "ext\n")),
        _bad("extension"),
    )
    yield (
        "root-31-bytes",
        "The root has 31 bytes, signed so.",
        _signed(ORIGIN, SIZE, ROOT[:31]),
        _bad("root"),
    )
    wrong_name = "fabcommons/alice"
    yield (
        "wrong-key-name",
        "The author signs under the key name fabcommons/alice.",
        tlog.note(TEXT, tlog.ed25519_line(ALICE.signing, wrong_name, TEXT)),
        no_author,
    )
    kid = tlog.key_id(ORIGIN, tlog.SIG_ED25519, ALICE.signing.public)
    signature = ALICE.signing.sign(b"", TEXT.encode())
    yield (
        "wrong-key-id",
        "The key id of the author's line has one bit flipped.",
        tlog.note(TEXT, tlog.line(ORIGIN, tlog.flip(kid), signature)),
        no_author,
    )
    size6 = tlog.body(ORIGIN, 6, tlog.mth(LEAVES[:6]))
    yield (
        "signature-of-another-checkpoint",
        "The author's line signs the checkpoint of size 6.",
        tlog.note(TEXT, tlog.ed25519_line(ALICE.signing, ORIGIN, size6)),
        bad_sig,
    )
    yield (
        "author-signature-63-bytes",
        "The author's line (right name and key id) holds 63 signature bytes.",
        tlog.note(TEXT, tlog.line(ORIGIN, kid, signature[:63])),
        bad_sig,
    )
    yield (
        "no-author-signature",
        "The only line is a witness cosignature.",
        tlog.note(TEXT, tlog.cosignature_line(WENDY.signing, TEXT, T0_S)),
        no_author,
    )
    yield (
        "non-utf8",
        "The em dash is the Windows-1252 byte 0x97.",
        NOTE.encode().replace(tlog.EM_DASH.encode(), b"\x97"),
        _bad("encoding"),
    )
    yield "too-large", "A note of 64 KiB + 1 bytes.", _too_large(), error("decode.too-large")
    yield (
        "origin-not-fabcommons",
        "The origin starts with fablabs/, signed so.",
        _signed(ORIGIN.replace("fabcommons/", "fablabs/"), SIZE, ROOT),
        _bad("origin"),
    )
    upper = f"fabcommons/{id_to_text(NETWORK)}/b{id_to_text(ALICE.id)[1:].upper()}"
    yield (
        "origin-bad-id",
        "The author id in the origin is upper case, signed so.",
        _signed(upper, SIZE, ROOT),
        _bad("origin"),
    )
    yield (
        "empty-tree-wrong-root",
        "Size 0 with a root other than SHA-256(''), signed so.",
        _signed(ORIGIN, 0, ROOT),
        _bad("root"),
    )


def _ok(size: int, root: bytes) -> dict[str, Any]:
    return ok(origin=ORIGIN, size=size, root_hex=root.hex())


def _too_large() -> str:
    """NOTE and an unknown key's line with a long signature: MAX_CHECKPOINT_BYTES + 1 bytes."""
    rest = MAX_CHECKPOINT_BYTES + 1 - len(NOTE.encode()) - len(f"{tlog.EM_DASH}  \n".encode())
    encoded_len = (rest - 20) // 4 * 4
    name = "example.com/" + "p" * (rest - encoded_len - len("example.com/"))
    blob = bytes(range(256)) * (encoded_len // 4 * 3 // 256 + 1)
    text = NOTE + tlog.line(name, blob[:4], blob[4 : encoded_len // 4 * 3])
    assert len(text.encode()) == MAX_CHECKPOINT_BYTES + 1
    return text


# --- ledger/cosignatures ---------------------------------------------------------------


def cosignature_cases() -> Iterator[Case]:
    def case(name: str, description: str, line: str, expect: dict[str, Any]) -> Case:
        data = {
            "note": NOTE,
            "cosignature": line,
            "witness_name": WITNESS_NAME,
            "witness_public_key_hex": WENDY.signing.public.hex(),
        }
        return Case("ledger", "cosignatures", name, description, data, expect)

    for name, description, ts in [
        ("happy", "Wendy cosigns Alice's checkpoint at T0.", T0_S),
        ("timestamp-zero", "A cosignature at time 0.", 0),
        ("timestamp-max", "A cosignature at time 2**63-1, the largest allowed.", 2**63 - 1),
    ]:
        yield case(
            name, description, tlog.cosignature_line(WENDY.signing, TEXT, ts), ok(timestamp_s=ts)
        )
    bad_sig = error("verify.bad-signature")
    yield case(
        "timestamp-too-large",
        "A cosignature at time 2**63, signed so.",
        tlog.cosignature_line(WENDY.signing, TEXT, 2**63),
        bad_sig,
    )
    kid = tlog.key_id(WITNESS_NAME, tlog.SIG_COSIGNATURE_V1, WENDY.signing.public)
    message = f"cosignature/v1\ntime {T0_S}\n{TEXT}".encode()
    signature = WENDY.signing.sign(b"", message)

    def line(kid: bytes, ts: int, sig: bytes) -> str:
        return tlog.line(WITNESS_NAME, kid, ts.to_bytes(8, "big") + sig)

    yield case(
        "timestamp-changed",
        "The timestamp is moved one second after signing.",
        line(kid, T0_S + 1, signature),
        bad_sig,
    )
    yield case(
        "signature-bit-flip",
        "One bit of the signature is flipped.",
        line(kid, T0_S, tlog.flip(signature, 10)),
        bad_sig,
    )
    ignored = ok(timestamp_s=None)
    yield case(
        "wrong-witness-key",
        "Bob's key cosigns under Wendy's name: the key id is not Wendy's, the line is ignored.",
        tlog.cosignature_line(BOB.signing, TEXT, T0_S),
        ignored,
    )
    yield case(
        "other-witness-name",
        "Wendy's key cosigns under another witness's name: not Wendy's line, ignored.",
        tlog.cosignature_line(
            WENDY.signing, TEXT, T0_S, name="fabcommons-witness/" + id_to_text(BOB.id)
        ),
        ignored,
    )
    yield case(
        "short-cosignature",
        "Wendy's line lacks the last byte of its signature (71 bytes after the key id).",
        line(kid, T0_S, signature[:-1]),
        bad_sig,
    )
    yield case(
        "other-checkpoint",
        "Wendy's cosignature of Alice's checkpoint of size 6.",
        tlog.cosignature_line(WENDY.signing, tlog.body(ORIGIN, 6, tlog.mth(LEAVES[:6])), T0_S),
        bad_sig,
    )
    ed25519_kid = tlog.key_id(WITNESS_NAME, tlog.SIG_ED25519, WENDY.signing.public)
    yield case(
        "key-id-mismatch",
        "The key id is computed with type 0x01, not 0x04: not a cosignature key id, ignored.",
        line(ed25519_kid, T0_S, signature),
        ignored,
    )
