"""The witness rule as a pure state machine (specs/0003 §3).

Follows the checks of c2sp.org/tlog-witness ``add-checkpoint`` and the semantics of
c2sp.org/tlog-cosignature ("as of the specified time, the consistent tree head with the
largest size the witness has observed for the log identified by the origin line has the
specified root hash"), without HTTP:

  * `WitnessState` maps each origin to the last head this witness cosigned. It is a value:
    `witness_checkpoint` returns a new state and never changes the one it was given. The
    driver must persist the new state before it hands out the cosignature, and must run
    check-and-update atomically per origin (tlog-witness's rollback race).
  * The author's signature must hold under the key the caller expects (the key in force
    after the first `size` entries of that log).
  * Against the last cosigned head (size1, root1) of the origin, the consistency proof is
    the RFC 6962 proof from size1 to the new size (tlog-witness's "old size" is always the
    stored one; read it with `WitnessState.head`). With no head yet, or a head of size 0,
    the proof must be empty (anything extends the empty tree).
  * Timestamps never go backwards per origin: a `now_s` below the last timestamp given for
    that origin is clamped to it. tlog-cosignature states no such rule in words, but its
    semantics need it: a later-dated cosignature of a smaller tree would be false.

Errors, each carrying `origin`, `previous_size`, `previous_root` and `previous_note` (the
signed checkpoint that was cosigned) in `details` when a previous head exists:
  "verify.checkpoint-rollback"    the size is below the cosigned size;
  "verify.inconsistent-checkpoint" same size, other root: two author-signed checkpoints
                                  that cannot both be in one log, i.e. a fork proof;
  "proof.*" (ProofError)          the consistency proof does not verify. The proof is not
                                  signed by the author, so a bad one is no evidence of a
                                  fork: the witness refuses, it does not accuse;
  plus the errors of `verify_checkpoint_signature`.
Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.checkpoint import (
    Checkpoint,
    Cosignature,
    SignedCheckpoint,
    cosign,
    verify_checkpoint_signature,
)
from ledger.merkle import verify_consistency
from protocol.errors import ProofError, VerificationError
from protocol.keys import SigningKey


@dataclass(frozen=True, slots=True)
class CosignedHead:
    """The last checkpoint a witness cosigned for one origin, and when."""

    size: int
    root: bytes
    timestamp_s: int
    note: bytes  # the signed checkpoint as submitted: half of any future fork proof


@dataclass(frozen=True, slots=True)
class WitnessState:
    """Origin -> last cosigned head. Treat as immutable; `with_head` returns a copy."""

    heads: Mapping[str, CosignedHead] = field(default_factory=dict)

    def head(self, origin: str) -> CosignedHead | None:
        """The last head cosigned for `origin`, if any."""
        return self.heads.get(origin)

    def with_head(self, origin: str, head: CosignedHead) -> WitnessState:
        """A new state where `origin` maps to `head`."""
        return WitnessState({**self.heads, origin: head})


def witness_checkpoint(
    state: WitnessState,
    signed: SignedCheckpoint,
    author_public_key: bytes,
    consistency_proof: Sequence[bytes],
    *,
    witness_key: SigningKey,
    witness_name: str,
    now_s: int,
) -> tuple[WitnessState, Cosignature]:
    """Cosign `signed` if it extends what this witness cosigned for its origin; else raise."""
    verify_checkpoint_signature(signed, author_public_key)
    checkpoint = signed.checkpoint
    previous = state.head(checkpoint.origin)
    timestamp_s = now_s
    if previous is None:
        _require_empty(consistency_proof, {"origin": checkpoint.origin})
    else:
        verify_extends(previous, checkpoint, consistency_proof)
        timestamp_s = max(now_s, previous.timestamp_s)
    cosignature = cosign(witness_key, witness_name, checkpoint, timestamp_s)
    head = CosignedHead(checkpoint.size, checkpoint.root, timestamp_s, signed.text)
    return state.with_head(checkpoint.origin, head), cosignature


def verify_extends(
    previous: CosignedHead, checkpoint: Checkpoint, consistency_proof: Sequence[bytes]
) -> None:
    """Raise unless `checkpoint` is `previous` or, by the proof, a later version of its tree."""
    details: dict[str, Any] = {
        "origin": checkpoint.origin,
        "previous_size": previous.size,
        "previous_root": previous.root,
        "previous_note": previous.note,
    }
    if checkpoint.size < previous.size:
        raise VerificationError(
            "verify.checkpoint-rollback",
            f"size {checkpoint.size} is below the cosigned size {previous.size}",
            **details,
        )
    if checkpoint.size == previous.size:
        if checkpoint.root != previous.root:
            raise VerificationError(
                "verify.inconsistent-checkpoint",
                f"size {checkpoint.size}: got root {checkpoint.root.hex()}, "
                f"cosigned {previous.root.hex()}",
                **details,
            )
        _require_empty(consistency_proof, details)
    elif previous.size == 0:
        _require_empty(consistency_proof, details)
    else:
        try:
            verify_consistency(
                previous.size, checkpoint.size, previous.root, checkpoint.root, consistency_proof
            )
        except ProofError as e:
            raise ProofError(e.code, e.message, **details) from e


def _require_empty(proof: Sequence[bytes], details: dict[str, Any]) -> None:
    if proof:
        raise ProofError("proof.wrong-length", f"proof has {len(proof)} hashes, want 0", **details)
