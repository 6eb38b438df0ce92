"""Signed checkpoints and witness cosignatures of Fab Commons logs (specs/0003, draft).

Builds on C2SP signed-note (c2sp.org/signed-note), tlog-checkpoint
(c2sp.org/tlog-checkpoint) and tlog-cosignature (c2sp.org/tlog-cosignature), Ed25519
cosignature/v1 only. Standard tooling (Go's sumdb/note, transparency-dev) reads what
this module writes.

Fab Commons choices:
  * One log per (network, author) pair. Its origin line is
    ``fabcommons/<network-id-text>/<author-id-text>`` (protocol.ids text form).
  * The note text is exactly the C2SP checkpoint body ``origin\\nsize\\nbase64(root)\\n``:
    decimal size without leading zeros, a 32-byte root in standard padded base64, no
    extension lines. A size-0 checkpoint must carry the RFC 6962 empty root.
  * The author signs with signature type 0x01 (Ed25519 over the note text) under the key
    name = the origin line; key id = SHA-256(name || 0x0A || 0x01 || public key)[:4]. The
    key is the author's signing key in force after the first `size` entries: the caller
    passes the key it expects, this module knows nothing of logs. The same key signs
    entries under protocol.tags, and every tagged message contains a NUL byte, which no
    note text can: no signature of one kind is valid as the other.
  * Witnesses are named ``fabcommons-witness/<identity-id-text>`` and cosign with type
    0x04: Ed25519 over ``"cosignature/v1\\ntime <T>\\n" || note text``; the line carries
    key id (4) || timestamp (u64 big-endian, at most 2**63 - 1) || signature (64).

Parsing is strict ("parse, don't validate") and in the order of specs/0003 §2.1: the size
limit first, then UTF-8, no ASCII control character but newline (DEL and C1 are not
ASCII controls), the exact signed-note grammar, canonical base64 everywhere, at most
MAX_NOTE_SIGNATURES lines. Signature lines of unknown keys are kept
(and re-encoded byte for byte) but ignored by verification, as signed-note requires; a
line whose key name *and* key id match the expected key must verify, or the whole note is
rejected. Decoding never checks a signature; only `verify_*` does.

Errors: DecodeError "decode.too-large", "decode.bad-checkpoint" (with `field`: encoding,
note, signature, origin, size, root, extension); VerificationError "verify.bad-signature",
"verify.no-author-signature". Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledger.merkle import EMPTY_ROOT, HASH_SIZE
from protocol.errors import DecodeError, LocalMisuseError, VerificationError
from protocol.ids import ID_BYTES, id_from_text, id_to_text
from protocol.keys import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, SigningKey, verify_signature
from protocol.limits import MAX_INT

ORIGIN_PREFIX = "fabcommons/"
WITNESS_NAME_PREFIX = "fabcommons-witness/"
#: signed-note signature type bytes (signed-note §Signature types).
SIG_TYPE_ED25519 = 0x01
SIG_TYPE_COSIGNATURE_V1 = 0x04
#: Largest signed checkpoint accepted: room for MAX_NOTE_SIGNATURES Ed25519 lines, or
#: for the 16 signatures signed-note requires even if they are ML-DSA-44 (~3.3 kB each).
MAX_CHECKPOINT_BYTES = 64 * 1024
#: Most signature lines in one note (signed-note: verifiers MUST accept at least 16).
MAX_NOTE_SIGNATURES = 100
MAX_TREE_SIZE = MAX_INT  # u64, as transparency-dev's checkpoints
MAX_TIMESTAMP_S = 2**63 - 1  # tlog-cosignature §Format
KEY_ID_BYTES = 4
COSIGNATURE_HEADER = b"cosignature/v1\n"
_TIMESTAMP_BYTES = 8
_COSIGNATURE_BLOB_BYTES = _TIMESTAMP_BYTES + SIGNATURE_BYTES  # timestamped_signature
EM_DASH = "\u2014"
_SIG_PREFIX = EM_DASH + " "
#: signed-note §Format: no "ASCII control characters (those below U+0020) other than
#: newline". DEL (U+007F) and the C1 controls (U+0080-U+009F) are not among them, as in
#: Go's sumdb/note (specs/0003 §2.1, row 3).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
#: signed-note's "Unicode spaces" a key name must not contain: the 25 characters with the
#: Unicode White_Space property (Go's unicode.IsSpace), listed here so the rule does not
#: move with this Python's Unicode database (specs/0003 §2.1).
KEY_NAME_SPACES = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """signed-note: SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    material = name.encode() + b"\n" + bytes([signature_type]) + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_BYTES]


def checkpoint_origin(network: bytes, author: bytes) -> str:
    """The origin line (and author key name) of the log of `author` on `network`."""
    return f"{ORIGIN_PREFIX}{_id_text(network)}/{_id_text(author)}"


def witness_name(identity: bytes) -> str:
    """The cosigner key name of the witness run by `identity`."""
    return WITNESS_NAME_PREFIX + _id_text(identity)


def _id_text(raw: bytes) -> str:
    if len(raw) != ID_BYTES:
        raise _misuse(f"an id has {ID_BYTES} bytes, got {len(raw)}")
    return id_to_text(raw)


def _misuse(message: str) -> LocalMisuseError:
    return LocalMisuseError("misuse.bad-argument", message)


def _bad(field: str, message: str) -> DecodeError:
    return DecodeError("decode.bad-checkpoint", f"{field}: {message}", field=field)


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode_canonical(text: str) -> bytes | None:
    """Standard padded base64 with one spelling per value (zero trailing bits), else None."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, and non-ASCII text
        return None
    return raw if _b64encode(raw) == text else None


def is_valid_key_name(name: str) -> bool:
    """signed-note: non-empty, no Unicode space, no plus sign (and no control character).

    specs/0003 §2.1: DEL and the C1 controls but U+0085 (a space) are allowed.
    """
    spaces = not KEY_NAME_SPACES.isdisjoint(name)
    return name != "" and "+" not in name and not spaces and _CONTROL.search(name) is None


# --- signed notes (c2sp.org/signed-note) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, 4-byte key id, and the n signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """``— <name> base64(key id || signature)`` and its final newline."""
        return f"{_SIG_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A signed note: its text (with final newline) and its signature lines, in order."""

    text: bytes
    signatures: tuple[NoteSignature, ...]


def encode_note(note: Note) -> bytes:
    """Text, the separating blank line, then every signature line."""
    return note.text + b"\n" + "".join(s.line() for s in note.signatures).encode()


def decode_note(data: bytes, *, max_bytes: int = MAX_CHECKPOINT_BYTES) -> Note:
    """Parse a signed note exactly as signed-note §Format reads; verify nothing."""
    if len(data) > max_bytes:
        raise DecodeError(
            "decode.too-large", f"got {len(data)} bytes, want at most {max_bytes}", limit=max_bytes
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _bad("encoding", "not UTF-8") from e
    if _CONTROL.search(text):
        raise _bad("encoding", "control character other than newline")
    # "the text is separated from the signatures by the last empty line in the note"
    split = text.rfind("\n\n")
    if split < 0:
        raise _bad("note", "no blank line before the signatures")
    body, sig_block = text[: split + 1], text[split + 2 :]
    if not sig_block.endswith("\n"):
        raise _bad("note", "no signature line, or the last one has no final newline")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_NOTE_SIGNATURES:
        raise _bad("note", f"{len(lines)} signature lines, want at most {MAX_NOTE_SIGNATURES}")
    return Note(body.encode(), tuple(_decode_signature_line(line) for line in lines))


def _decode_signature_line(line: str) -> NoteSignature:
    """``— <key name> base64(32-bit key ID || signature)``, at least one signature byte."""
    if not line.startswith(_SIG_PREFIX):
        raise _bad("signature", "a signature line starts with an em dash and a space")
    name, space, blob_text = line[len(_SIG_PREFIX) :].partition(" ")
    if not space or not is_valid_key_name(name):
        raise _bad("signature", f"bad key name {name[:80]!r}")
    blob = _b64decode_canonical(blob_text)
    if blob is None or len(blob) <= KEY_ID_BYTES:
        raise _bad("signature", "not canonical base64 of a key id and a signature")
    return NoteSignature(name, blob[:KEY_ID_BYTES], blob[KEY_ID_BYTES:])


def sign_note(key: SigningKey, name: str, text: bytes) -> NoteSignature:
    """A type 0x01 (Ed25519) signature line by `key` under key name `name` over `text`."""
    if not is_valid_key_name(name) or not text.endswith(b"\n"):
        raise _misuse(f"bad key name {name!r}, or a text without its final newline")
    return NoteSignature(name, key_id(name, SIG_TYPE_ED25519, key.public), key.sign(b"", text))


# --- checkpoints (c2sp.org/tlog-checkpoint) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The tree head (size, root) of the log of `author` on `network`. Not a verified one."""

    origin: str
    network: bytes
    author: bytes
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if self.origin != checkpoint_origin(self.network, self.author):
            raise _misuse(f"origin {self.origin!r} is not the origin of this log")
        if not 0 <= self.size <= MAX_TREE_SIZE or len(self.root) != HASH_SIZE:
            raise _misuse("want 0 <= size < 2**64 and a 32-byte root")
        if self.size == 0 and self.root != EMPTY_ROOT:
            raise _misuse("the empty tree has root SHA-256('')")

    @classmethod
    def of_log(cls, network: bytes, author: bytes, size: int, root: bytes) -> Checkpoint:
        """The checkpoint of the log of `author` on `network` at `size` with `root`."""
        return cls(checkpoint_origin(network, author), network, author, size, root)

    def body(self) -> bytes:
        """The note text: origin, size and base64 root, each ending in a newline."""
        return f"{self.origin}\n{self.size}\n{_b64encode(self.root)}\n".encode()


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint, its exact note bytes, and every signature line the note carries."""

    checkpoint: Checkpoint
    text: bytes
    signatures: tuple[NoteSignature, ...]


def sign_checkpoint(
    key: SigningKey, network: bytes, author: bytes, size: int, root: bytes
) -> SignedCheckpoint:
    """The author's signed checkpoint for (size, root), with one signature line."""
    checkpoint = Checkpoint.of_log(network, author, size, root)
    signature = sign_note(key, checkpoint.origin, checkpoint.body())
    return _assemble(checkpoint, (signature,))


def add_signatures(signed: SignedCheckpoint, lines: Iterable[NoteSignature]) -> SignedCheckpoint:
    """`signed` with the given signature lines appended (lines already present are skipped)."""
    signatures = list(signed.signatures)
    for line in lines:
        if line not in signatures:
            signatures.append(line)
    return with_signatures(signed, signatures)


def with_signatures(signed: SignedCheckpoint, lines: Iterable[NoteSignature]) -> SignedCheckpoint:
    """`signed`'s checkpoint with exactly these signature lines, in this order."""
    signatures = list(lines)
    result = _assemble(signed.checkpoint, tuple(signatures))
    if len(signatures) > MAX_NOTE_SIGNATURES or len(result.text) > MAX_CHECKPOINT_BYTES:
        raise _misuse("the note would be too large to decode")
    return result


def _assemble(checkpoint: Checkpoint, signatures: tuple[NoteSignature, ...]) -> SignedCheckpoint:
    text = encode_note(Note(checkpoint.body(), signatures))
    return SignedCheckpoint(checkpoint, text, signatures)


def decode_signed_checkpoint(
    data: bytes, *, max_bytes: int = MAX_CHECKPOINT_BYTES
) -> SignedCheckpoint:
    """Parse a Fab Commons signed checkpoint; raise DecodeError. Verifies no signature."""
    note = decode_note(data, max_bytes=max_bytes)
    checkpoint = _decode_body(note.text.decode())
    return SignedCheckpoint(checkpoint, bytes(data), note.signatures)


def _decode_body(text: str) -> Checkpoint:
    """tlog-checkpoint §Note text, restricted to exactly three lines."""
    lines = text.split("\n")  # text ends in "\n", so the last item is ""
    if len(lines) < 4:
        raise _bad("note", "a checkpoint has an origin, a size and a root line")
    if len(lines) > 4:
        raise _bad("extension", "Fab Commons checkpoints have no extension lines")
    origin, size_text, root_text, _ = lines
    network, author = _decode_origin(origin)
    if not _DECIMAL.fullmatch(size_text) or len(size_text) > 20:
        raise _bad("size", "want a decimal number without leading zeros")
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise _bad("size", "tree size above 2**64 - 1")
    root = _b64decode_canonical(root_text)
    if root is None or len(root) != HASH_SIZE:
        raise _bad("root", "want canonical base64 of 32 bytes")
    if size == 0 and root != EMPTY_ROOT:
        raise _bad("root", "the empty tree has root SHA-256('')")
    return Checkpoint(origin, network, author, size, root)


def _decode_origin(origin: str) -> tuple[bytes, bytes]:
    parts = origin.split("/")
    if len(parts) != 3 or parts[0] + "/" != ORIGIN_PREFIX:
        raise _bad("origin", f"want {ORIGIN_PREFIX}<network>/<author>, got {origin[:200]!r}")
    try:
        return id_from_text(parts[1]), id_from_text(parts[2])
    except DecodeError as e:
        raise _bad("origin", f"not canonical ids: {e.message}") from e


def verify_checkpoint_signature(signed: SignedCheckpoint, public_key: bytes) -> None:
    """Raise unless the author's line (key name = origin, Ed25519 key id) is present and valid.

    Every line matching both key name and key id must verify; other lines are ignored.
    """
    name = signed.checkpoint.origin
    want_id = key_id(name, SIG_TYPE_ED25519, public_key)
    matching = [s for s in signed.signatures if s.name == name and s.key_id == want_id]
    if not matching:
        raise VerificationError(
            "verify.no-author-signature", f"no signature line by {name}+{want_id.hex()}"
        )
    body = signed.checkpoint.body()
    for sig in matching:
        _verify_ed25519(public_key, body, sig.signature)


def _verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> None:
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise _misuse(f"public key of {len(public_key)} bytes")
    if len(signature) != SIGNATURE_BYTES:
        raise VerificationError("verify.bad-signature", f"signature of {len(signature)} bytes")
    verify_signature(public_key, b"", message, signature)


# --- cosignatures (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1) ----------------------


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A witness's timestamped cosignature of one checkpoint. Not a verified one."""

    witness_name: str
    key_id: bytes
    timestamp_s: int
    signature: bytes

    def note_signature(self) -> NoteSignature:
        """The signature line: key id || timestamp (u64 big-endian) || signature."""
        stamp = self.timestamp_s.to_bytes(_TIMESTAMP_BYTES, "big")
        return NoteSignature(self.witness_name, self.key_id, stamp + self.signature)

    def line(self) -> str:
        """``— <witness name> base64(key id || timestamp || signature)`` and its newline."""
        return self.note_signature().line()


def cosignature_message(text: bytes, timestamp_s: int) -> bytes:
    """tlog-cosignature §Signed message: header line, time line, then the note text."""
    return COSIGNATURE_HEADER + b"time %d\n" % timestamp_s + text


def cosign(
    witness_key: SigningKey, witness_name: str, checkpoint: Checkpoint, timestamp_s: int
) -> Cosignature:
    """The cosignature/v1 of `checkpoint` by `witness_key` at `timestamp_s` (POSIX seconds)."""
    identity = witness_name.removeprefix(WITNESS_NAME_PREFIX)
    try:
        id_from_text(identity if identity != witness_name else "")
    except DecodeError as e:
        raise _misuse(f"witness names are {WITNESS_NAME_PREFIX}<identity id>") from e
    if not 0 <= timestamp_s <= MAX_TIMESTAMP_S:
        raise _misuse(f"timestamp {timestamp_s} outside [0, 2**63 - 1]")
    message = cosignature_message(checkpoint.body(), timestamp_s)
    kid = key_id(witness_name, SIG_TYPE_COSIGNATURE_V1, witness_key.public)
    return Cosignature(witness_name, kid, timestamp_s, witness_key.sign(b"", message))


def verify_cosignature(
    cosignature: Cosignature, witness_public_key: bytes, checkpoint: Checkpoint
) -> None:
    """Raise VerificationError unless `cosignature` is by this key on this checkpoint."""
    want_id = key_id(cosignature.witness_name, SIG_TYPE_COSIGNATURE_V1, witness_public_key)
    if cosignature.key_id != want_id:
        raise VerificationError(
            "verify.bad-signature",
            f"key id {cosignature.key_id.hex()}, want {want_id.hex()} for this witness key",
        )
    if not 0 <= cosignature.timestamp_s <= MAX_TIMESTAMP_S:
        raise VerificationError("verify.bad-signature", "timestamp above 2**63 - 1")
    message = cosignature_message(checkpoint.body(), cosignature.timestamp_s)
    _verify_ed25519(witness_public_key, message, cosignature.signature)


def cosignatures_in(
    signed: SignedCheckpoint, witnesses: Mapping[str, bytes]
) -> dict[str, Cosignature]:
    """The verified cosignatures of the known `witnesses` (name -> public key) on `signed`.

    Lines matching a witness's name and cosignature key id must verify, else this raises;
    other lines are ignored. Where one witness cosigned several times, the newest is kept.
    Whether the author's signature holds is `verify_checkpoint_signature`'s business.
    """
    found: dict[str, Cosignature] = {}
    for sig in signed.signatures:
        public_key = witnesses.get(sig.name)
        if public_key is None:
            continue
        if sig.key_id != key_id(sig.name, SIG_TYPE_COSIGNATURE_V1, public_key):
            continue
        cosig = _cosignature_of(sig)
        verify_cosignature(cosig, public_key, signed.checkpoint)
        if sig.name not in found or found[sig.name].timestamp_s < cosig.timestamp_s:
            found[sig.name] = cosig
    return found


def _cosignature_of(sig: NoteSignature) -> Cosignature:
    """The cosignature a line carries (key id || timestamp || signature); not verified."""
    if len(sig.signature) != _COSIGNATURE_BLOB_BYTES:
        raise VerificationError("verify.bad-signature", f"malformed cosignature by {sig.name}")
    stamp = int.from_bytes(sig.signature[:_TIMESTAMP_BYTES], "big")
    return Cosignature(sig.name, sig.key_id, stamp, sig.signature[_TIMESTAMP_BYTES:])


def cosignature_time(
    line: NoteSignature, keys: Sequence[bytes], checkpoint: Checkpoint
) -> int | None:
    """The timestamp of the cosignature `line` carries if it is one by a key among `keys`
    (a witness's applicable keys) on `checkpoint`, else None: a line under another key
    id, malformed, or whose signature fails. Cached: a line comes again with every copy
    of its note (gossip, sync heads, range frames)."""
    return _cosignature_time(line, tuple(keys), checkpoint)


@functools.lru_cache(maxsize=4096)
def _cosignature_time(
    line: NoteSignature, keys: tuple[bytes, ...], checkpoint: Checkpoint
) -> int | None:
    for key in keys:
        if line.key_id == key_id(line.name, SIG_TYPE_COSIGNATURE_V1, key):
            try:
                cosig = _cosignature_of(line)
                verify_cosignature(cosig, key, checkpoint)
            except VerificationError:
                return None
            return cosig.timestamp_s
    return None


def add_cosignatures(signed: SignedCheckpoint, cosigs: Iterable[Cosignature]) -> SignedCheckpoint:
    """`signed` with the cosignature lines appended (as a witness's response is merged)."""
    return add_signatures(signed, (c.note_signature() for c in cosigs))
