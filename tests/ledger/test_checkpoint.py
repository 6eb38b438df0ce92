"""Signed checkpoints and cosignatures (ledger.checkpoint; C2SP signed-note, tlog-checkpoint,
tlog-cosignature).

Known answers come from outside this project: the PeterNeumann key and note of Go's
reference implementation (golang.org/x/mod/sumdb/note, note_test.go), which signed-note
was written from, and the examples printed in the C2SP specs themselves.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.checkpoint import (
    MAX_CHECKPOINT_BYTES,
    MAX_NOTE_SIGNATURES,
    Checkpoint,
    Cosignature,
    Note,
    NoteSignature,
    SignedCheckpoint,
    add_cosignatures,
    add_signatures,
    checkpoint_origin,
    cosign,
    cosignature_message,
    cosignatures_in,
    decode_note,
    decode_signed_checkpoint,
    encode_note,
    is_valid_key_name,
    key_id,
    sign_checkpoint,
    sign_note,
    verify_checkpoint_signature,
    verify_cosignature,
    witness_name,
)
from ledger.merkle import EMPTY_ROOT, leaf_hash
from protocol.errors import CommonsError, DecodeError, LocalMisuseError, VerificationError
from protocol.identity import identity_id
from protocol.ids import id_to_text
from protocol.keys import SigningKey, verify_signature
from tests.factory import NETWORK, seeded_key

DASH = "\u2014"  # EM DASH, the first character of every signature line
AUTHOR_KEY = seeded_key("alice/signing")
AUTHOR = identity_id(AUTHOR_KEY.public, seeded_key("alice/recovery").public)
WITNESS_KEY = seeded_key("wendy/signing")
WITNESS = witness_name(identity_id(WITNESS_KEY.public, seeded_key("wendy/recovery").public))
ROOT = leaf_hash(b"some tree")
SIZE = 1234


def signed(size: int = SIZE, root: bytes = ROOT, key: SigningKey = AUTHOR_KEY) -> SignedCheckpoint:
    return sign_checkpoint(key, NETWORK, AUTHOR, size, root)


def decode_and_verify(data: bytes) -> SignedCheckpoint:
    result = decode_signed_checkpoint(data)
    verify_checkpoint_signature(result, AUTHOR_KEY.public)
    return result


# --- round trips and the exact text ------------------------------------------------------


def test_signed_checkpoint_round_trips_and_verifies() -> None:
    original = signed()
    decoded = decode_and_verify(original.text)
    assert decoded == original
    assert encode_note(Note(decoded.checkpoint.body(), decoded.signatures)) == original.text
    assert decoded.checkpoint.network == NETWORK and decoded.checkpoint.author == AUTHOR


def test_the_note_text_is_exactly_the_c2sp_body() -> None:
    origin = f"fabcommons/{id_to_text(NETWORK)}/{id_to_text(AUTHOR)}"
    cp = signed().checkpoint
    assert cp.origin == origin == checkpoint_origin(NETWORK, AUTHOR)
    assert cp.body() == f"{origin}\n{SIZE}\n{base64.b64encode(ROOT).decode()}\n".encode()


def test_the_note_follows_the_signed_note_grammar() -> None:
    """signed-note §Format and tlog-checkpoint §Note text, as one regular expression."""
    b64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
    grammar = re.compile(
        rf"(?P<origin>[^\n]+)\n(?P<size>0|[1-9][0-9]*)\n(?P<root>{b64})\n"
        rf"\n(?:{DASH} (?P<name>[^ +\n]+) {b64}\n)+"
    )
    text = signed().text.decode("utf-8")
    match = grammar.fullmatch(text)
    assert match is not None
    assert match["name"] == match["origin"]
    assert base64.b64decode(match["root"]) == ROOT


def test_the_author_key_id_is_computed_as_the_spec_says() -> None:
    # signed-note §Ed25519 signatures, literally:
    # key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]
    origin = checkpoint_origin(NETWORK, AUTHOR)
    by_hand = hashlib.sha256(origin.encode() + b"\x0a" + b"\x01" + AUTHOR_KEY.public).digest()[:4]
    (line,) = signed().signatures
    assert line.name == origin
    assert line.key_id == by_hand == key_id(origin, 0x01, AUTHOR_KEY.public)
    blob = base64.b64decode(line.line().split(" ")[2])
    assert blob[:4] == by_hand and len(blob) == 4 + 64
    # The signature is plain Ed25519 over the note text: no tag, no prefix.
    verify_signature(AUTHOR_KEY.public, b"", signed().checkpoint.body(), line.signature)


def test_the_empty_log_has_a_checkpoint() -> None:
    decode_and_verify(signed(0, EMPTY_ROOT).text)
    with pytest.raises(LocalMisuseError):
        signed(0, ROOT)


@settings(max_examples=60)
@given(size=st.integers(0, 2**64 - 1), root=st.binary(min_size=32, max_size=32))
def test_any_checkpoint_round_trips(size: int, root: bytes) -> None:
    original = signed(size, EMPTY_ROOT if size == 0 else root)
    assert decode_and_verify(original.text) == original


# --- known answers from outside --------------------------------------------------------

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
GO_PETER_SIG = (
    f"{DASH} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2"
    "pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_ENOCH_SIG = (
    f"{DASH} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01"
    "oOTGwnWLox33WWd1RvMc+QQ=\n"
)


def go_vkey(vkey: str) -> tuple[str, bytes, bytes]:
    name, kid, material = vkey.split("+", 2)  # base64 may contain "+"
    raw = base64.b64decode(material)
    assert raw[0] == 0x01  # algEd25519
    return name, bytes.fromhex(kid), raw[1:]


def test_signing_reproduces_the_go_reference_note_byte_for_byte() -> None:
    _, _, name, kid, material = GO_SKEY.split("+", 4)
    seed = base64.b64decode(material)
    assert seed[0] == 0x01
    key = SigningKey(seed[1:])
    vname, vkid, public = go_vkey(GO_VKEY)
    assert (name, key.public) == (vname, public)
    assert key_id(name, 0x01, key.public) == bytes.fromhex(kid) == vkid
    note = Note(GO_TEXT, (sign_note(key, name, GO_TEXT),))
    assert encode_note(note) == GO_TEXT + b"\n" + GO_PETER_SIG.encode()


def test_the_go_reference_notes_parse_and_their_signatures_hold() -> None:
    note = decode_note(GO_TEXT + b"\n" + (GO_PETER_SIG + GO_ENOCH_SIG).encode())
    assert note.text == GO_TEXT
    for sig, vkey in zip(note.signatures, (GO_VKEY, GO_ENOCH_VKEY), strict=True):
        name, kid, public = go_vkey(vkey)
        assert (sig.name, sig.key_id) == (name, kid) == (name, key_id(name, 0x01, public))
        verify_signature(public, b"", GO_TEXT, sig.signature)


@pytest.mark.parametrize(
    "message",
    [
        GO_TEXT,
        GO_TEXT + b"\n",
        GO_TEXT + b"\n" + GO_PETER_SIG.encode()[:-1],
        b"\x01" + GO_TEXT + b"\n" + GO_PETER_SIG.encode(),
        b"\xff" + GO_TEXT + b"\n" + GO_PETER_SIG.encode(),
        GO_TEXT + b"\n" + GO_PETER_SIG.replace("PeterNeumann", "Bad Name").encode()[:-1],
        GO_TEXT + b"\n" + GO_PETER_SIG.encode() + b"Unexpected line.\n",
        GO_TEXT + b"\n" + GO_PETER_SIG.encode() * (MAX_NOTE_SIGNATURES + 1),
    ],
    ids=[
        "no-signatures",
        "blank-line-only",
        "no-final-newline",
        "control-char",
        "not-utf8",
        "bad-name",
        "unexpected-line",
        "too-many-signatures",
    ],
)
def test_the_go_reference_malformed_notes_are_rejected(message: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        decode_note(message)
    assert err.value.code == "decode.bad-checkpoint"


SPEC_BODY = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_AUTHOR_LINE = (
    f"{DASH} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URY"
    "N7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
SPEC_WITNESS_LINE = (
    f"{DASH} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9d"
    "lrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)


def test_the_c2sp_cosignature_example_parses_and_matches_its_signed_message() -> None:
    data = SPEC_BODY + b"\n" + (SPEC_AUTHOR_LINE + SPEC_WITNESS_LINE).encode()
    note = decode_note(data)
    assert note.text == SPEC_BODY and encode_note(note) == data
    author, witness = note.signatures
    assert (author.name, len(author.signature)) == ("example.com/behind-the-sofa", 64)
    assert (witness.name, len(witness.signature)) == ("witness.example.com/w1", 8 + 64)
    # The timestamp in the example line is the one in the spec's example signed message.
    timestamp = int.from_bytes(witness.signature[:8], "big")
    assert timestamp == 1679315147
    spec_message = (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert cosignature_message(note.text, timestamp) == spec_message
    # It is a valid C2SP checkpoint, but not one of ours.
    with pytest.raises(DecodeError) as err:
        decode_signed_checkpoint(data)
    assert err.value.details["field"] == "origin"


def test_the_signed_note_example_parses_at_the_last_blank_line() -> None:
    text = (
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\n"
        "ed \u00e8 subito sera.\n"
    ).encode()
    line = (
        f"{DASH} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9o"
        "JKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
    )
    note = decode_note(text + b"\n" + line.encode())
    assert note.text == text
    assert [s.name for s in note.signatures] == ["quasimodo.example/salvatore"]


# --- mutations, each with its error ------------------------------------------------------

GOOD = signed()
GOOD_TEXT = GOOD.text.decode()
BODY = GOOD.checkpoint.body().decode()
AUTHOR_SIG = GOOD.signatures[0]
AUTHOR_LINE = AUTHOR_SIG.line()
ORIGIN = GOOD.checkpoint.origin
ROOT_B64 = base64.b64encode(ROOT).decode()


def non_canonical_base64(text: str) -> str:
    """Set a padding bit of the last character: decodes to the same bytes, other spelling."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = text.rstrip("=")
    spelled = last[:-1] + alphabet[alphabet.index(last[-1]) | 1] + text[len(last) :]
    assert spelled != text and base64.b64decode(spelled) == base64.b64decode(text)
    return spelled


def other_root_text() -> str:
    flipped = bytes([ROOT[0] ^ 1]) + ROOT[1:]
    return GOOD_TEXT.replace(ROOT_B64, base64.b64encode(flipped).decode())


def with_line(line: NoteSignature | Cosignature) -> bytes:
    return GOOD.text + line.line().encode()


def body_with(line: NoteSignature) -> str:
    return BODY + "\n" + line.line()


def line_of_other_checkpoint() -> str:
    return BODY + "\n" + signed(SIZE + 1).signatures[0].line()


MUTATIONS: dict[str, tuple[Callable[[], str | bytes], str, str | None]] = {
    # name: (mutated note, error code, DecodeError field)
    "bit-flip-in-root": (other_root_text, "verify.bad-signature", None),
    "size-leading-zero": (
        lambda: GOOD_TEXT.replace(f"\n{SIZE}\n", f"\n0{SIZE}\n"),
        "decode.bad-checkpoint",
        "size",
    ),
    "size-plus-sign": (lambda: GOOD_TEXT.replace(f"\n{SIZE}\n", f"\n+{SIZE}\n"), "", "size"),
    "size-above-u64": (lambda: GOOD_TEXT.replace(f"\n{SIZE}\n", f"\n{2**64}\n"), "", "size"),
    "missing-trailing-newline": (lambda: GOOD_TEXT[:-1], "decode.bad-checkpoint", "note"),
    "crlf": (lambda: GOOD_TEXT.replace("\n", "\r\n"), "decode.bad-checkpoint", "encoding"),
    "tab": (lambda: GOOD_TEXT.replace(" ", "\t", 1), "decode.bad-checkpoint", "encoding"),
    "extra-blank-line-before-signatures": (
        lambda: BODY + "\n\n" + AUTHOR_LINE,
        "decode.bad-checkpoint",
        "extension",
    ),
    "extra-blank-line-at-end": (lambda: GOOD_TEXT + "\n", "decode.bad-checkpoint", "note"),
    "no-blank-line": (lambda: BODY + AUTHOR_LINE, "decode.bad-checkpoint", "note"),
    "extension-line": (
        lambda: BODY + "ext\n\n" + AUTHOR_LINE,
        "decode.bad-checkpoint",
        "extension",
    ),
    "missing-root-line": (
        lambda: GOOD_TEXT.replace(ROOT_B64 + "\n", ""),
        "decode.bad-checkpoint",
        "note",
    ),
    "root-31-bytes": (
        lambda: GOOD_TEXT.replace(ROOT_B64, base64.b64encode(ROOT[:31]).decode()),
        "decode.bad-checkpoint",
        "root",
    ),
    "root-non-canonical-base64": (
        lambda: GOOD_TEXT.replace(ROOT_B64, non_canonical_base64(ROOT_B64)),
        "decode.bad-checkpoint",
        "root",
    ),
    "root-base64url": (
        lambda: GOOD_TEXT.replace(ROOT_B64, base64.urlsafe_b64encode(b"\xfb" * 32).decode()),
        "decode.bad-checkpoint",
        "root",
    ),
    "empty-tree-wrong-root": (
        lambda: GOOD_TEXT.replace(f"\n{SIZE}\n", "\n0\n"),
        "decode.bad-checkpoint",
        "root",
    ),
    "origin-upper-case-id": (
        lambda: GOOD_TEXT.replace(ORIGIN, ORIGIN[:-5] + ORIGIN[-5:].upper()),
        "decode.bad-checkpoint",
        "origin",
    ),
    "origin-other-prefix": (
        lambda: GOOD_TEXT.replace("fabcommons/", "fabcommon/"),
        "decode.bad-checkpoint",
        "origin",
    ),
    "origin-trailing-slash": (
        lambda: GOOD_TEXT.replace(ORIGIN + "\n", ORIGIN + "/\n", 1),
        "decode.bad-checkpoint",
        "origin",
    ),
    "hyphen-instead-of-em-dash": (
        lambda: GOOD_TEXT.replace(DASH, "-"),
        "decode.bad-checkpoint",
        "signature",
    ),
    "key-name-with-plus": (
        lambda: BODY + "\n" + AUTHOR_LINE.replace(ORIGIN, ORIGIN + "+x"),
        "decode.bad-checkpoint",
        "signature",
    ),
    "signature-only-key-id": (
        lambda: BODY + "\n" + f"{DASH} {ORIGIN} {base64.b64encode(b'abcd').decode()}\n",
        "decode.bad-checkpoint",
        "signature",
    ),
    "wrong-key-name": (
        lambda: GOOD_TEXT.replace(f"{DASH} {ORIGIN} ", f"{DASH} example.com/log "),
        "verify.no-author-signature",
        None,
    ),
    "wrong-key-id": (
        lambda: body_with(NoteSignature(ORIGIN, b"\x00" * 4, AUTHOR_SIG.signature)),
        "verify.no-author-signature",
        None,
    ),
    "cosignature-key-id-for-the-author": (
        lambda: body_with(
            NoteSignature(ORIGIN, key_id(ORIGIN, 0x04, AUTHOR_KEY.public), AUTHOR_SIG.signature)
        ),
        "verify.no-author-signature",
        None,
    ),
    "signature-of-another-checkpoint": (
        line_of_other_checkpoint,
        "verify.bad-signature",
        None,
    ),
    "second-author-line-invalid": (
        lambda: GOOD_TEXT + line_of_other_checkpoint().split("\n\n")[1],
        "verify.bad-signature",
        None,
    ),
    "author-line-short-signature": (
        lambda: body_with(NoteSignature(ORIGIN, AUTHOR_SIG.key_id, AUTHOR_SIG.signature[:63])),
        "verify.bad-signature",
        None,
    ),
    "not-utf8": (
        lambda: GOOD.text.replace(b"fabcommons/", b"fabcommons\xff/", 1),
        "decode.bad-checkpoint",
        "encoding",
    ),
    "utf8-surrogate": (
        lambda: GOOD.text.replace(b"fabcommons/", b"fabcommons\xed\xa0\x80/", 1),
        "decode.bad-checkpoint",
        "encoding",
    ),
    "oversized": (
        lambda: GOOD.text + b"x" * (MAX_CHECKPOINT_BYTES - len(GOOD.text) + 1),
        "decode.too-large",
        None,
    ),
    "oversized-garbage-checked-first": (
        lambda: b"\xff" * (MAX_CHECKPOINT_BYTES + 1),
        "decode.too-large",
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_is_rejected_with_its_code(name: str) -> None:
    make, code, field = MUTATIONS[name]
    mutated = make()
    data = mutated.encode() if isinstance(mutated, str) else mutated
    assert data != GOOD.text
    with pytest.raises(CommonsError) as err:
        decode_and_verify(data)
    if field is not None:
        assert isinstance(err.value, DecodeError)
        assert (err.value.code, err.value.details["field"]) == ("decode.bad-checkpoint", field)
    else:
        assert err.value.code == code
        family = DecodeError if code.startswith("decode") else VerificationError
        assert isinstance(err.value, family)


def test_the_size_limit_is_the_callers_to_lower() -> None:
    with pytest.raises(DecodeError) as err:
        decode_signed_checkpoint(GOOD.text, max_bytes=len(GOOD.text) - 1)
    assert err.value.code == "decode.too-large"
    assert decode_signed_checkpoint(GOOD.text, max_bytes=len(GOOD.text)) == GOOD


def test_another_key_does_not_verify_the_author_signature() -> None:
    with pytest.raises(VerificationError) as err:
        verify_checkpoint_signature(GOOD, WITNESS_KEY.public)
    assert err.value.code == "verify.no-author-signature"


def test_unknown_signature_lines_are_kept_and_ignored() -> None:
    stranger = sign_note(seeded_key("mallory"), "example.com/other", GOOD.checkpoint.body())
    garbage = NoteSignature("example.com/junk", b"\x01\x02\x03\x04", b"not a signature")
    data = with_line(stranger) + garbage.line().encode()
    decoded = decode_and_verify(data)
    assert decoded.signatures == (GOOD.signatures[0], stranger, garbage)
    assert decoded.text == data
    assert add_signatures(GOOD, [stranger, garbage, stranger]).text == data


def test_signed_note_allows_at_least_16_signatures() -> None:
    lines = [sign_note(seeded_key(f"k{i}"), f"example.com/{i}", GOOD.text) for i in range(16)]
    decoded = decode_and_verify(add_signatures(GOOD, lines).text)
    assert len(decoded.signatures) == 17


def test_misuse_is_refused_when_building() -> None:
    other = leaf_hash(b"other")
    bad: list[Callable[[], object]] = [
        lambda: Checkpoint("example.com/log", NETWORK, AUTHOR, 1, ROOT),
        lambda: Checkpoint.of_log(NETWORK, AUTHOR[:31], 1, ROOT),
        lambda: Checkpoint.of_log(NETWORK, AUTHOR, -1, ROOT),
        lambda: Checkpoint.of_log(NETWORK, AUTHOR, 2**64, ROOT),
        lambda: Checkpoint.of_log(NETWORK, AUTHOR, 1, other[:31]),
        lambda: sign_note(AUTHOR_KEY, "two words", b"text\n"),
        lambda: cosign(WITNESS_KEY, "example.com/witness", GOOD.checkpoint, 1),
        lambda: cosign(WITNESS_KEY, WITNESS + "x", GOOD.checkpoint, 1),
        lambda: cosign(WITNESS_KEY, WITNESS, GOOD.checkpoint, -1),
        lambda: cosign(WITNESS_KEY, WITNESS, GOOD.checkpoint, 2**63),
    ]
    for make in bad:
        with pytest.raises(LocalMisuseError):
            make()


# --- cosignatures ---------------------------------------------------------------------

NOW_S = 1_700_000_000


def test_a_cosignature_line_is_laid_out_as_the_spec_says() -> None:
    cosig = cosign(WITNESS_KEY, WITNESS, GOOD.checkpoint, NOW_S)
    dash, name, blob_text = cosig.line().removesuffix("\n").split(" ")
    assert (dash, name) == (DASH, WITNESS)
    blob = base64.b64decode(blob_text)
    # key ID = SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 witness public key)[:4]
    kid = hashlib.sha256(WITNESS.encode() + b"\n" + b"\x04" + WITNESS_KEY.public).digest()[:4]
    assert blob[:4] == kid == cosig.key_id
    assert blob[4:12] == NOW_S.to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1700000000\n" + GOOD.checkpoint.body()
    verify_signature(WITNESS_KEY.public, b"", message, blob[12:])
    assert len(blob) == 4 + 8 + 64


def test_cosignatures_round_trip_through_the_note() -> None:
    cosig = cosign(WITNESS_KEY, WITNESS, GOOD.checkpoint, NOW_S)
    verify_cosignature(cosig, WITNESS_KEY.public, GOOD.checkpoint)
    note = add_cosignatures(GOOD, [cosig])
    decoded = decode_and_verify(note.text)
    assert cosignatures_in(decoded, {WITNESS: WITNESS_KEY.public}) == {WITNESS: cosig}
    assert cosignatures_in(decoded, {}) == {}
    # the author's line is not a cosignature, even under the author's own key
    assert cosignatures_in(decoded, {ORIGIN: AUTHOR_KEY.public}) == {}


def test_the_newest_cosignature_of_a_witness_is_kept() -> None:
    cosigs = [cosign(WITNESS_KEY, WITNESS, GOOD.checkpoint, t) for t in (NOW_S, NOW_S + 9, 7)]
    note = decode_and_verify(add_cosignatures(GOOD, cosigs).text)
    assert cosignatures_in(note, {WITNESS: WITNESS_KEY.public})[WITNESS].timestamp_s == NOW_S + 9


def test_a_cosignature_fails_with_another_key_or_on_another_checkpoint() -> None:
    cosig = cosign(WITNESS_KEY, WITNESS, GOOD.checkpoint, NOW_S)
    other_key = seeded_key("walter")
    cases = [
        (other_key.public, GOOD.checkpoint),
        (WITNESS_KEY.public, signed(SIZE + 1).checkpoint),
        (WITNESS_KEY.public, signed(SIZE, leaf_hash(b"x")).checkpoint),
    ]
    for public, checkpoint in cases:
        with pytest.raises(VerificationError) as err:
            verify_cosignature(cosig, public, checkpoint)
        assert err.value.code == "verify.bad-signature"
    # Another timestamp is another message.
    moved = Cosignature(cosig.witness_name, cosig.key_id, NOW_S + 1, cosig.signature)
    with pytest.raises(VerificationError):
        verify_cosignature(moved, WITNESS_KEY.public, GOOD.checkpoint)


def test_a_bad_cosignature_by_a_known_witness_rejects_the_note() -> None:
    cosig = cosign(WITNESS_KEY, WITNESS, GOOD.checkpoint, NOW_S)
    moved = Cosignature(cosig.witness_name, cosig.key_id, NOW_S + 1, cosig.signature)
    short = NoteSignature(WITNESS, cosig.key_id, cosig.note_signature().signature[:-1])
    for line in (moved.note_signature(), short):
        note = decode_and_verify(with_line(line))
        with pytest.raises(VerificationError) as err:
            cosignatures_in(note, {WITNESS: WITNESS_KEY.public})
        assert err.value.code == "verify.bad-signature"
        # Unknown to a client that does not trust this witness: ignored.
        assert cosignatures_in(note, {WITNESS: seeded_key("walter").public}) == {}


# --- properties -------------------------------------------------------------------------

NOTE_ALPHABET = st.sampled_from(
    ["\n", " ", DASH, "+", "/", "=", "0", "1", "A", "a", "fabcommons/", ORIGIN, ROOT_B64, "\r"]
)


@settings(max_examples=300)
@given(st.binary(max_size=600) | st.lists(NOTE_ALPHABET, max_size=40).map("".join))
def test_arbitrary_input_raises_only_commons_errors(data: bytes | str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    try:
        decode_and_verify(raw)
    except CommonsError as e:
        assert isinstance(e, DecodeError | VerificationError)


def mutation_target() -> tuple[bytes, range]:
    """A note with the author's line, a cosignature and an unknown line; where may change."""
    cosig = cosign(WITNESS_KEY, WITNESS, GOOD.checkpoint, NOW_S)
    stranger = sign_note(seeded_key("mallory"), "example.com/other", GOOD.checkpoint.body())
    data = add_signatures(GOOD, [cosig.note_signature(), stranger]).text
    ignorable = range(len(GOOD.text), len(data))  # bytes of the lines after the author's
    return data, ignorable


TARGET, IGNORABLE = mutation_target()


@settings(max_examples=500)
@given(index=st.integers(0, len(TARGET) - 1), value=st.integers(0, 255))
def test_a_single_byte_mutation_is_rejected_unless_it_hits_an_ignorable_line(
    index: int, value: int
) -> None:
    mutated = bytearray(TARGET)
    if mutated[index] == value:
        value ^= 0x80
    mutated[index] = value
    try:
        result = decode_and_verify(bytes(mutated))
    except CommonsError as e:
        assert isinstance(e, DecodeError | VerificationError)
        return
    assert index in IGNORABLE
    assert result.checkpoint == GOOD.checkpoint
    assert result.signatures[0] == GOOD.signatures[0]


def test_every_bit_flip_in_the_text_or_the_author_line_is_rejected() -> None:
    for index in range(len(GOOD.text)):
        for bit in range(8):
            mutated = bytearray(GOOD.text)
            mutated[index] ^= 1 << bit
            with pytest.raises(CommonsError):
                decode_and_verify(bytes(mutated))


def test_a_note_too_large_to_decode_is_never_built() -> None:
    lines = [NoteSignature(f"example.com/{i}", b"abcd", b"x") for i in range(MAX_NOTE_SIGNATURES)]
    with pytest.raises(LocalMisuseError):
        add_signatures(GOOD, lines)
    big = NoteSignature("example.com/big", b"abcd", b"x" * MAX_CHECKPOINT_BYTES)
    with pytest.raises(LocalMisuseError):
        add_signatures(GOOD, [big])
    with pytest.raises(LocalMisuseError):
        sign_note(AUTHOR_KEY, "example.com/log", b"no final newline")


# --- control characters and key names, exactly as specs/0003 §2.1 states them ----------

#: The 25 characters with the Unicode White_Space property, as listed in specs/0003 §2.1.
SPEC_SPACES = frozenset(
    (*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B))
).union({0x2028, 0x2029, 0x202F, 0x205F, 0x3000})
#: Row 3: the ASCII controls below U+0020 other than newline.
SPEC_CONTROLS = frozenset(range(0x20)) - {0x0A}


def spec_allows_in_key_name(code_point: int) -> bool:
    return code_point not in SPEC_SPACES | SPEC_CONTROLS and code_point != ord("+")


def test_key_names_follow_the_spec_for_every_code_point() -> None:
    assert len(SPEC_SPACES) == 25
    for code_point in range(0x110000):
        if 0xD800 <= code_point <= 0xDFFF:  # no UTF-8 text holds a surrogate
            continue
        name = f"example.com/{chr(code_point)}"
        assert is_valid_key_name(name) is spec_allows_in_key_name(code_point), hex(code_point)
    assert not is_valid_key_name("")


@pytest.mark.parametrize("char", ["\x7f", "\x80", "\x9b", "\x9f", "\u200b", "\ufeff"])
def test_del_c1_and_non_space_format_characters_may_name_a_key(char: str) -> None:
    stranger = sign_note(seeded_key("mallory"), f"example.com/{char}", GOOD.checkpoint.body())
    decoded = decode_and_verify(with_line(stranger))
    assert decoded.signatures[1].name == f"example.com/{char}"


@pytest.mark.parametrize("code_point", sorted(SPEC_CONTROLS))
def test_an_ascii_control_anywhere_refuses_the_note(code_point: int) -> None:
    char = chr(code_point).encode()
    line = f"{DASH} example.com/{chr(code_point)} {base64.b64encode(bytes(68)).decode()}\n"
    in_origin = GOOD.text.replace(b"\n", char + b"\n", 1)
    for data in (GOOD.text + line.encode(), in_origin):
        with pytest.raises(DecodeError) as err:
            decode_note(data)
        assert (err.value.code, err.value.details["field"]) == ("decode.bad-checkpoint", "encoding")


@pytest.mark.parametrize("code_point", sorted(SPEC_SPACES - SPEC_CONTROLS | {ord("+")}))
def test_a_space_or_plus_in_a_key_name_refuses_the_note(code_point: int) -> None:
    line = f"{DASH} example.com/{chr(code_point)}b {base64.b64encode(bytes(68)).decode()}\n"
    with pytest.raises(DecodeError) as err:
        decode_note(GOOD.text + line.encode())
    assert (err.value.code, err.value.details["field"]) == ("decode.bad-checkpoint", "signature")
