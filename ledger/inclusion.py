"""Self-contained inclusion proofs of one entry (specs/0003 §6).

A bundle lets anyone check, with no node and no other context, that an entry is
in its author's log as the author committed to it in a signed checkpoint, and
which witnesses cosigned that checkpoint. It carries:
  entry         the entry's bytes
  checkpoint    the author's signed checkpoint (C2SP note, with cosignature lines)
  proof         the RFC 6962 inclusion path of leaf seq-1 in that tree
  key_events    the author's key history (which key was in force)
  witnesses     per witness name, that witness's key history
JSON, bytes as lower-case hex: {"version": 1, "entry_hex", "checkpoint",
"proof_hex": [...], "key_events_hex": [...], "witnesses": {name: [hex, ...]}}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger import merkle
from ledger.checkpoint import (
    SignedCheckpoint,
    cosignatures_in,
    decode_signed_checkpoint,
    verify_checkpoint_signature,
    witness_name,
)
from ledger.keyhistory import KeyHistory, verify_key_history
from protocol import kinds
from protocol.entry import Entry, decode_entry
from protocol.errors import DecodeError, VerificationError
from protocol.ids import id_to_text

BUNDLE_VERSION = 1
MAX_BUNDLE_WITNESSES = 32


@dataclass(frozen=True, slots=True)
class InclusionResult:
    entry: Entry
    tree_size: int
    root: bytes
    cosigned_by: tuple[str, ...]  # witnesses whose cosignature verified
    cosignature_times: tuple[int, ...]


def make_bundle(
    entry_raw: bytes,
    signed: SignedCheckpoint,
    proof: Sequence[bytes],
    key_events: Sequence[bytes],
    witnesses: Mapping[str, Sequence[bytes]],
) -> dict[str, Any]:
    return {
        "version": BUNDLE_VERSION,
        "entry_hex": entry_raw.hex(),
        "checkpoint": signed.text.decode(),
        "proof_hex": [h.hex() for h in proof],
        "key_events_hex": [e.hex() for e in key_events],
        "witnesses": {name: [e.hex() for e in events] for name, events in witnesses.items()},
    }


def check_bundle(bundle: Any) -> InclusionResult:
    """Verify a bundle completely; raise DecodeError, VerificationError or ProofError."""
    fields = _fields(bundle)
    entry = decode_entry(fields["entry"])
    history = verify_key_history(fields["key_events"], entry.network, entry.author)
    if not history.signer_allowed(entry):
        raise VerificationError("verify.key-not-in-force", "entry signer was not in force")
    signed = decode_signed_checkpoint(fields["checkpoint"])
    cp = signed.checkpoint
    if (cp.network, cp.author) != (entry.network, entry.author):
        raise VerificationError("verify.wrong-checkpoint", "checkpoint of another log")
    verify_checkpoint_signature(signed, history.period_after(cp.size).signing_key)
    merkle.verify_inclusion(
        entry.seq - 1, cp.size, merkle.leaf_hash(entry.raw), fields["proof"], cp.root
    )
    cosigs = {}
    for name, events in fields["witnesses"].items():
        for key in _witness_keys(name, events):
            found = cosignatures_in(signed, {name: key}).get(name)
            if found is not None:
                cosigs[name] = found
                break
    names = tuple(sorted(cosigs))
    return InclusionResult(
        entry, cp.size, cp.root, names, tuple(cosigs[n].timestamp_s for n in names)
    )


def _witness_keys(name: str, events: list[bytes]) -> list[bytes]:
    """Every signing key the witness had, newest first, except keys it revoked.

    A cosignature made before a routine rotation stays valid; one "made" with a
    key the witness later revoked as stolen does not count.
    """
    first = decode_entry(events[0]) if events else None
    if first is None or witness_name(first.author) != name:
        raise VerificationError("verify.bad-key-history", f"key history is not {name}'s")
    history: KeyHistory = verify_key_history(events, first.network, first.author)
    periods = history.periods
    revoked = {
        periods[i].signing_key
        for i in range(len(periods) - 1)
        if history.events[i + 1].kind == kinds.REVOCATION
    }
    return [p.signing_key for p in reversed(periods) if p.signing_key not in revoked]


def _fields(bundle: Any) -> dict[str, Any]:
    try:
        if bundle["version"] != BUNDLE_VERSION:
            raise DecodeError("decode.bad-bundle", f"bundle version {bundle['version']!r}")
        witnesses = bundle.get("witnesses", {})
        if len(witnesses) > MAX_BUNDLE_WITNESSES:
            raise DecodeError("decode.bad-bundle", "too many witnesses")
        return {
            "entry": bytes.fromhex(bundle["entry_hex"]),
            "checkpoint": bundle["checkpoint"].encode(),
            "proof": [bytes.fromhex(h) for h in bundle["proof_hex"]],
            "key_events": [bytes.fromhex(h) for h in bundle["key_events_hex"]],
            "witnesses": {str(n): [bytes.fromhex(h) for h in ev] for n, ev in witnesses.items()},
        }
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise DecodeError("decode.bad-bundle", f"not an inclusion proof bundle: {e}") from e


def result_to_json(result: InclusionResult) -> dict[str, Any]:
    return {
        "ok": True,
        "entry_id": id_to_text(result.entry.id),
        "author": id_to_text(result.entry.author),
        "network": id_to_text(result.entry.network),
        "seq": result.entry.seq,
        "tree_size": result.tree_size,
        "root": result.root.hex(),
        "cosigned_by": list(result.cosigned_by),
        "cosignature_times": list(result.cosignature_times),
    }
