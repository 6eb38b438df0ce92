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

`parse_bundle` reads a proof file's bytes; `check_bundle` makes the checks of
specs/0003 §6.2 in their order and returns what verified: the entry, the tree, and
the witnesses whose cosignatures verified. Whether that is enough witnesses is the
caller's question (`verify_witnessed`, with the federation's k). Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger import merkle
from ledger.checkpoint import (
    Cosignature,
    SignedCheckpoint,
    cosignatures_in,
    decode_signed_checkpoint,
    verify_checkpoint_signature,
    witness_name,
)
from ledger.keyhistory import MAX_KEY_EVENTS, KeyHistory, verify_key_history
from protocol import kinds
from protocol.entry import Entry, decode_entry
from protocol.errors import CommonsError, DecodeError, VerificationError
from protocol.ids import id_to_text

BUNDLE_VERSION = 1
MAX_BUNDLE_WITNESSES = 32
#: A proof of a leaf in a tree of at most 2**64 - 1 leaves has at most 64 hashes.
MAX_PROOF_HASHES = 64
#: The largest proof file read (`parse_bundle`), checked before parsing.
MAX_BUNDLE_BYTES = 8 * 1024 * 1024
BUNDLE_FIELDS = ("checkpoint", "entry_hex", "key_events_hex", "proof_hex", "version", "witnesses")
_HEX = re.compile(r"(?:[0-9a-f]{2})*")  # used with fullmatch: lower case, whole bytes


@dataclass(frozen=True, slots=True)
class InclusionResult:
    entry: Entry
    tree_size: int
    root: bytes
    cosigned_by: tuple[str, ...]  # witnesses whose cosignature verified, sorted
    cosignature_times: tuple[int, ...]  # each one's newest verified timestamp

    @property
    def witnessed_by(self) -> int:
        """How many distinct witnesses cosigned the checkpoint."""
        return len(self.cosigned_by)


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


def parse_bundle(data: bytes) -> Any:
    """A proof file's JSON value (specs/0003 §6.1): at most MAX_BUNDLE_BYTES, UTF-8 JSON,
    no member name twice in one object. Its shape is `check_bundle`'s business."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise DecodeError(
            "decode.too-large",
            f"got {len(data)} bytes, want at most {MAX_BUNDLE_BYTES}",
            limit=MAX_BUNDLE_BYTES,
        )
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_unique_members)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise _bad("bundle", f"not a JSON text: {e}") from e


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a member name appears twice in one object")
    return out


def check_bundle(bundle: Any) -> InclusionResult:
    """Verify a bundle completely (specs/0003 §6.2, in order); raise DecodeError,
    VerificationError or ProofError."""
    fields = _fields(bundle)
    entry = decode_entry(fields["entry"])
    history = verify_key_history(fields["key_events"], entry.network, entry.author)
    if not history.signer_allowed(entry):
        raise VerificationError(
            "verify.key-not-in-force", f"seq {entry.seq} is not signed by the key in force"
        )
    signed = decode_signed_checkpoint(fields["checkpoint"])
    cp = signed.checkpoint
    if (cp.network, cp.author) != (entry.network, entry.author):
        raise VerificationError("verify.wrong-checkpoint", "checkpoint of another log")
    verify_checkpoint_signature(signed, history.period_after(cp.size).signing_key)
    merkle.verify_inclusion(
        entry.seq - 1, cp.size, merkle.leaf_hash(entry.raw), fields["proof"], cp.root
    )
    cosigs: dict[str, Cosignature] = {}
    for name in sorted(fields["witnesses"]):
        try:
            found = _cosignature_of(signed, name, fields["witnesses"][name], entry.network)
        except CommonsError as e:
            e.details.setdefault("witness", name)
            raise
        if found is not None:
            cosigs[name] = found
    names = tuple(sorted(cosigs))
    return InclusionResult(
        entry, cp.size, cp.root, names, tuple(cosigs[n].timestamp_s for n in names)
    )


def verify_witnessed(result: InclusionResult, required: int) -> None:
    """Raise unless at least `required` distinct witnesses cosigned (the federation's k,
    specs/0008 §2 `witness_count`): a proof no k witnesses vouch for is only the
    author's word, and an author can sign a second history (specs/0003 §6.3)."""
    if result.witnessed_by < required:
        raise VerificationError(
            "verify.too-few-witnesses",
            f"{result.witnessed_by} witness(es) cosigned, {required} required",
            witnessed_by=result.witnessed_by,
            required=required,
        )


def _cosignature_of(
    signed: SignedCheckpoint, name: str, events: list[bytes], network: bytes
) -> Cosignature | None:
    """The witness's newest verified cosignature on `signed`, None if it has none.

    Every line of this name whose key id is that of one of the witness's applicable
    keys must verify (else this raises, as signed-note requires of a known key's line);
    lines of other key ids are ignored.
    """
    newest: Cosignature | None = None
    for key in witness_keys(name, events, network):
        found = cosignatures_in(signed, {name: key}).get(name)
        if found is not None and (newest is None or found.timestamp_s > newest.timestamp_s):
            newest = found
    return newest


def witness_keys(name: str, events: Sequence[bytes], network: bytes) -> list[bytes]:
    """The keys whose cosignatures count for witness `name`: every signing key its key
    history (in `network`) put in force, newest first, except each key a revocation
    replaced (a revocation says the key was stolen; specs/0003 §6.2, row 16).

    A cosignature made before a routine rotation stays valid; one "made" with a key the
    witness later revoked does not count.
    """
    if not events:
        raise VerificationError("verify.bad-key-history", f"no key history for {name}")
    first = decode_entry(events[0])
    if witness_name(first.author) != name or first.network != network:
        raise VerificationError(
            "verify.bad-key-history", f"key history is not {name}'s in this network"
        )
    history: KeyHistory = verify_key_history(events, network, first.author)
    periods = history.periods
    revoked = {
        periods[i].signing_key
        for i in range(len(periods) - 1)
        if history.events[i + 1].kind == kinds.REVOCATION
    }
    keys: list[bytes] = []
    for period in reversed(periods):
        if period.signing_key not in revoked and period.signing_key not in keys:
            keys.append(period.signing_key)
    return keys


def _bad(field: str, message: str) -> DecodeError:
    return DecodeError("decode.bad-bundle", f"{field}: {message}", field=field)


def _hex(value: Any, field: str) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise _bad(field, "want lower-case hex of whole bytes")
    return bytes.fromhex(value)


def _hex_list(value: Any, field: str, most: int) -> list[bytes]:
    if not isinstance(value, list) or len(value) > most:
        raise _bad(field, f"want an array of at most {most} hex strings")
    return [_hex(item, field) for item in value]


def _fields(bundle: Any) -> dict[str, Any]:
    """The bundle's members (specs/0003 §6.2, rows 1-8), bytes decoded from hex."""
    if not isinstance(bundle, dict):
        raise _bad("bundle", "a bundle is a JSON object")
    version = bundle.get("version")
    if type(version) is not int or version != BUNDLE_VERSION:
        raise _bad("version", f"want version {BUNDLE_VERSION}, got {version!r}")
    if sorted(bundle) != list(BUNDLE_FIELDS):
        raise _bad("bundle", f"want exactly the members {', '.join(BUNDLE_FIELDS)}")
    entry = _hex(bundle["entry_hex"], "entry_hex")
    try:
        checkpoint = bundle["checkpoint"].encode("utf-8")
    except (AttributeError, UnicodeEncodeError) as e:  # not a string; a lone surrogate
        raise _bad("checkpoint", "want the signed note as a string of Unicode text") from e
    proof = _hex_list(bundle["proof_hex"], "proof_hex", MAX_PROOF_HASHES)
    key_events = _hex_list(bundle["key_events_hex"], "key_events_hex", MAX_KEY_EVENTS)
    witnesses = bundle["witnesses"]
    if not isinstance(witnesses, dict) or len(witnesses) > MAX_BUNDLE_WITNESSES:
        raise _bad("witnesses", f"want an object of at most {MAX_BUNDLE_WITNESSES} members")
    return {
        "entry": entry,
        "checkpoint": checkpoint,
        "proof": proof,
        "key_events": key_events,
        "witnesses": {
            name: _hex_list(events, "witnesses", MAX_KEY_EVENTS)
            for name, events in witnesses.items()
        },
    }


def result_to_json(result: InclusionResult, required: int | None = None) -> dict[str, Any]:
    """The result as `fabnode ledger check-proof` prints it; `required` is the
    federation's k when known (`witnessed` then says whether it is met)."""
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
        "witnessed_by": result.witnessed_by,
        "witnesses_required": required,
        "witnessed": None if required is None else result.witnessed_by >= required,
    }
