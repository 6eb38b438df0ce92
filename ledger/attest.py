"""Checkpoint-attested ranges: a range of one log authentic with one signature check
(specs/0003 §4.2), and the proof an attested entry with a bad signature makes against
its author (specs/0004 §2.1, kind "invalid-entry").

The author's checkpoint signs a Merkle root (RFC 6962 §2.1) whose leaves are the
entries' exact bytes, signatures included. When the tree the receiver holds, with the
range's leaves appended, has exactly that root (or is consistent with it through an
RFC 6962 §2.1.2 proof), every entry of the range is what the author signed a root
over: one Ed25519 check (the checkpoint's) stands for the range. Only key events are
checked at once, because they decide which key must sign that checkpoint.

What this module guarantees: `check_key_events` is a `protocol.entry.SignatureCheck`
that checks exactly the key events of a batch (the others pass unchecked);
`verify_range_root` raises unless the held tree plus the leaves give the checkpoint's
root; `encode_invalid_entry_side` / `read_invalid_entry_side` are the second side of an
"invalid-entry" fork proof. Pure; the ledger decides what is committed and when an
entry's own signature is checked later (ledger.log).
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger import merkle
from ledger.checkpoint import Checkpoint
from protocol import canonical, kinds, limits
from protocol.entry import Entry, check_signatures, read_stored_entry
from protocol.errors import CommonsError, DecodeError, ProofError, VerificationError

#: The kinds whose signature is checked on receipt even in an attested range: they put
#: keys in force, so the checkpoint's own check depends on them (specs/0003 §4.2).
KEY_EVENT_KINDS = kinds.KEY_EVENT_KINDS

#: An inclusion proof in a tree of at most 2**64 leaves has at most 64 hashes.
MAX_INCLUSION_HASHES = 64


def is_key_event(entry: Entry) -> bool:
    return entry.kind in KEY_EVENT_KINDS


def check_key_events(entries: Sequence[Entry]) -> list[CommonsError | None]:
    """A SignatureCheck for an attested range: key events are checked, every other
    entry passes (None) and is left for the deferred check (specs/0003 §4.2)."""
    out: list[CommonsError | None] = [None] * len(entries)
    at = [i for i, entry in enumerate(entries) if entry.kind in KEY_EVENT_KINDS]
    for i, verdict in zip(at, check_signatures([entries[i] for i in at]), strict=True):
        out[i] = verdict
    return out


def verify_range_root(
    held: merkle.MerkleTree, leaves: Sequence[bytes], cp: Checkpoint, proof: Sequence[bytes]
) -> None:
    """Raise unless the `held` tree with `leaves` appended is the checkpoint's tree
    (size and root equal, `proof` empty) or a prefix of it (`proof` the RFC 6962
    consistency proof from it to `cp`). Leaves `held` as it was."""
    verify_reached_root(held.size + len(leaves), held.root_if_appended(leaves), cp, proof)


def verify_reached_root(size: int, root: bytes, cp: Checkpoint, proof: Sequence[bytes]) -> None:
    """`verify_range_root` for a tree already extended by the range: `size` leaves
    with `root` (the ledger appends the leaves once, and takes them back if refused)."""
    if cp.size == size:
        if proof:
            raise ProofError("proof.wrong-length", f"want no proof, got {len(proof)} hashes")
        if root != cp.root:
            raise VerificationError("verify.checkpoint-mismatch", "entries do not give the root")
    else:
        merkle.verify_consistency(size, cp.size, root, cp.root, proof)


def encode_invalid_entry_side(entry_raw: bytes, inclusion: Sequence[bytes]) -> bytes:
    """Side b of an "invalid-entry" fork proof: canonical [entry: bin, proof: [bin32]]."""
    return canonical.encode([entry_raw, list(inclusion)])


def read_invalid_entry_side(side: bytes, network: bytes, author: bytes, cp: Checkpoint) -> Entry:
    """Check side b of an "invalid-entry" proof against its verified checkpoint `cp`
    (specs/0004 §3, rows 10 to 14); return the entry, whose signature fails."""
    value = canonical.decode(side, max_bytes=limits.MAX_ENTRY_BYTES + 8 + 34 * 64)
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], bytes)
        and isinstance(value[1], list)
        and len(value[1]) <= MAX_INCLUSION_HASHES
        and all(isinstance(h, bytes) and len(h) == merkle.HASH_SIZE for h in value[1])
    )
    if not ok:
        raise DecodeError("decode.bad-fork-proof", "side b is not [entry, inclusion proof]")
    entry = read_stored_entry(value[0])  # the form only: its signature is the question
    if (entry.network, entry.author) != (network, author) or entry.seq > cp.size:
        raise VerificationError("verify.bad-fork-proof", "entry outside the checkpoint's log")
    merkle.verify_inclusion(entry.seq - 1, cp.size, merkle.leaf_hash(entry.raw), value[1], cp.root)
    if check_signatures([entry])[0] is None:
        raise VerificationError("verify.bad-fork-proof", "the entry's signature holds")
    return entry
