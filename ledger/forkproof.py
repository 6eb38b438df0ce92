"""Fork proofs: evidence that an author signed two histories (specs/0004-fork-proofs.md).

A fork proof holds two signed statements by one author that cannot both belong
to one log, plus the author's key history (ledger.keyhistory), so anyone can
verify it with no other context:

  kind "entries":      two entries with the same network, author and seq but
                       different ids, each signed by the key in force at that seq;
  kind "checkpoints":  two signed checkpoints of the same log and size with
                       different roots, each signed by the key in force at that size;
  kind "invalid-entry": a signed checkpoint (a) and an entry with an inclusion proof
                       in its tree (b) whose signature does not hold: the author
                       signed a root over an entry that is not valid (specs/0003 §4.2).

Encoding: canonical map {"a": bin, "author": bin(32), "b": bin, "key_events":
[bin, ...], "kind": str, "network": bin(32), "v": 1}, with a < b bytewise so
everyone who finds the same fork builds the same bytes. Proof id = SHA-256 of
the encoding. `verify_fork_proof` makes the checks of specs/0004 §3 in their order:
the encoding, the key history, each side completely (a, then b), then the pair.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.attest import read_invalid_entry_side
from ledger.checkpoint import Checkpoint
from ledger.keyhistory import MAX_KEY_EVENTS, KeyHistory, verify_key_history
from protocol import canonical, limits
from protocol.entry import Entry, decode_entry
from protocol.errors import CommonsError, DecodeError, LocalMisuseError, VerificationError

FORK_PROOF_VERSION = 1
MAX_FORK_PROOF_BYTES = (MAX_KEY_EVENTS + 2) * limits.MAX_ENTRY_BYTES
KIND_ENTRIES = "entries"
KIND_CHECKPOINTS = "checkpoints"
KIND_INVALID_ENTRY = "invalid-entry"
KINDS = (KIND_ENTRIES, KIND_CHECKPOINTS, KIND_INVALID_ENTRY)

#: Verifies one side of a "checkpoints" fork proof: returns (size, root) or raises.
CheckpointVerifier = Callable[[bytes, KeyHistory], tuple[int, bytes]]


@dataclass(frozen=True, slots=True)
class ForkProof:
    """A verified fork proof."""

    kind: str
    network: bytes
    author: bytes
    a: bytes
    b: bytes
    key_events: tuple[bytes, ...]
    position: int  # the seq (entries, invalid-entry) or tree size (checkpoints) of the fork
    raw: bytes
    id: bytes


def encode_fork_proof(
    kind: str, network: bytes, author: bytes, a: bytes, b: bytes, key_events: Sequence[bytes]
) -> bytes:
    if kind == KIND_INVALID_ENTRY:  # the sides have roles (§2.1): a the note, b the entry
        if not a < b:  # a note's ASCII sorts below b's array header (0x92): never here
            raise LocalMisuseError("misuse.bad-argument", "an invalid-entry side a ≥ side b")
        first, second = a, b
    else:
        first, second = sorted((a, b))
    return canonical.encode(
        {
            "a": first,
            "author": author,
            "b": second,
            "key_events": list(key_events),
            "kind": kind,
            "network": network,
            "v": FORK_PROOF_VERSION,
        }
    )


def verify_fork_proof(
    raw: bytes, *, checkpoint_verifier: CheckpointVerifier | None = None
) -> ForkProof:
    """Decode and verify a fork proof; raise DecodeError or VerificationError."""
    fields = _decode_fields(raw)
    history = verify_key_history(fields["key_events"], fields["network"], fields["author"])
    if fields["kind"] == KIND_ENTRIES:
        position = _verify_entries(fields, history)
    elif checkpoint_verifier is None:
        raise VerificationError("verify.bad-fork-proof", "no checkpoint verifier given")
    elif fields["kind"] == KIND_CHECKPOINTS:
        position = _verify_checkpoints(fields, history, checkpoint_verifier)
    else:
        position = _verify_invalid_entry(fields, history, checkpoint_verifier)
    return ForkProof(
        fields["kind"],
        fields["network"],
        fields["author"],
        fields["a"],
        fields["b"],
        tuple(fields["key_events"]),
        position,
        raw,
        hashlib.sha256(raw).digest(),
    )


def _decode_fields(raw: bytes) -> dict[str, Any]:
    value = canonical.decode(raw, max_bytes=MAX_FORK_PROOF_BYTES)
    want = {"a", "author", "b", "key_events", "kind", "network", "v"}
    if not isinstance(value, dict) or set(value) != want or not _is_version(value["v"]):
        raise DecodeError("decode.bad-fork-proof", "not a version 1 fork proof")
    ok = (
        isinstance(value["a"], bytes)
        and isinstance(value["b"], bytes)
        and value["a"] < value["b"]
        and value["kind"] in KINDS
        and all(isinstance(value[k], bytes) and len(value[k]) == 32 for k in ("network", "author"))
        and isinstance(value["key_events"], list)
        and all(isinstance(e, bytes) for e in value["key_events"])
    )
    if not ok:
        raise DecodeError("decode.bad-fork-proof", "fork proof fields are malformed")
    return value


def _is_version(value: Any) -> bool:
    return type(value) is int and value == FORK_PROOF_VERSION  # not True, which == 1


def _verify_entries(fields: dict[str, Any], history: KeyHistory) -> int:
    a, b = (_entry_side(fields[side], history) for side in ("a", "b"))
    if a.seq != b.seq or a.id == b.id:
        raise VerificationError("verify.bad-fork-proof", "entries are not at the same seq")
    return a.seq


def _entry_side(raw: bytes, history: KeyHistory) -> Entry:
    """One side of an entries fork proof, checked completely (specs/0004 §3, rows 6-8)."""
    entry = decode_entry(raw)
    if (entry.network, entry.author) != (history.network, history.author):
        raise VerificationError("verify.bad-fork-proof", "entries of another log")
    if not history.signer_allowed(entry):
        raise VerificationError(
            "verify.key-not-in-force", f"seq {entry.seq} is not signed by the key in force"
        )
    return entry


def _verify_checkpoints(
    fields: dict[str, Any], history: KeyHistory, verifier: CheckpointVerifier
) -> int:
    size_a, root_a = verifier(fields["a"], history)
    size_b, root_b = verifier(fields["b"], history)
    if size_a != size_b or root_a == root_b:
        raise VerificationError("verify.bad-fork-proof", "checkpoints do not conflict")
    return size_a


def _verify_invalid_entry(
    fields: dict[str, Any], history: KeyHistory, verifier: CheckpointVerifier
) -> int:
    """Side a: the author's checkpoint; side b: an entry under its root whose signature
    fails (specs/0004 §3, kind "invalid-entry")."""
    size, root = verifier(fields["a"], history)
    cp = Checkpoint.of_log(history.network, history.author, size, root)
    return read_invalid_entry_side(fields["b"], history.network, history.author, cp).seq


def claimed_author(raw: bytes) -> bytes:
    """The author an encoded fork proof names, read WITHOUT verifying the proof (for
    deciding whether it is news before paying for verification); b"" when unreadable."""
    try:
        value = canonical.decode(
            raw, max_bytes=MAX_FORK_PROOF_BYTES, max_bin_bytes=MAX_FORK_PROOF_BYTES
        )
    except CommonsError:
        return b""
    author = value.get("author") if isinstance(value, dict) else None
    return author if isinstance(author, bytes) else b""
