"""Our own keys: show the history, rotate the signing key, revoke a stolen one
(specs/0002 §4, its local errors 0003 §7.1; README "Keys" and "Our signing key was stolen").

Both key events switch the home's signing key in three steps, each durable before the
next: (1) the next key's seed is written as `keys/signing.next` (NodeHome.
new_pending_signing_key); (2) the key event naming its public key is signed and
committed; (3) the pending file is renamed over `keys/signing.key`. Whoever signs
next, or a node starting, first settles a pending key from the ledger
(context.signing_key_in_force): in force, it was committed and is installed; not in
force, its event never committed and it is discarded. So a crash anywhere leaves a
home that signs with the key its log has in force, never one that holds no seed for
it. That decision is this node's, not protocol: peers see only the key events.

The recovery key is given as its key file's text and only read: it is never written
into the home, nor kept by the running node after the request.
"""

from __future__ import annotations

from typing import Any

from ledger.keyhistory import MAX_KEY_EVENTS, KeyHistory
from node.i18n import N_
from node.ops.context import (
    LedgerContext,
    append_own,
    append_signed,
    key_in_force,
    signing_key_in_force,
)
from node.store.home import RECOVERY_KEY_FILE, parse_key_text
from protocol import kinds
from protocol.entry import Entry
from protocol.errors import LocalMisuseError
from protocol.ids import id_to_text
from protocol.keys import SigningKey
from protocol.logstate import LogHead


def show(ctx: LedgerContext) -> dict[str, Any]:
    """`fabnode key show`: the key in force and since when, the key events, and
    what the home holds (its key in force? a switch pending? the recovery key?)."""
    me = ctx.identity.id
    head = ctx.ledger.head(ctx.network, me)
    in_force = key_in_force(ctx)
    history = None if head is None else ctx.ledger.key_history(ctx.network, me)
    pending = ctx.home.pending_signing_key()
    recovery_here = ctx.home.has_recovery_key()
    warnings = []
    if recovery_here:
        warnings.append(
            f"keys/{RECOVERY_KEY_FILE} is still in the home: move it to offline storage "
            '(README "Keys"); a thief with both keys can revoke you'
        )
    home_key = ctx.home.signing_key().public
    if home_key != in_force and (pending is None or pending.public != in_force):
        warnings.append("this home's signing key is not the one in force: it cannot sign")
    return {
        "identity": id_to_text(me),
        "signing_key": in_force.hex(),
        "since_seq": 1 if history is None else history.periods[-1].from_seq,
        "recovery_key": ctx.identity.recovery_public.hex(),
        "log_size": 0 if head is None else head.size,
        "history": [] if history is None else _events(history),
        "recovery_key_in_home": recovery_here,
        "home_key_in_force": home_key == in_force,
        "pending_key": None if pending is None else pending.public.hex(),
        "warnings": warnings,
    }


def settle_on_start(ctx: LedgerContext) -> str | None:
    """A starting node finishes or discards a key switch a crash cut short; returns
    a warning if the home's signing key is not the one in force (it cannot sign)."""
    in_force = key_in_force(ctx)
    ctx.home.settle_pending_signing_key(in_force)
    if ctx.home.signing_key().public != in_force:
        return "this home's signing key is not the one our log has in force: it cannot sign"
    return None


def _events(history: KeyHistory) -> list[dict[str, Any]]:
    rows = []
    for event, period in zip(history.events, history.periods, strict=True):
        row: dict[str, Any] = {
            "kind": event.kind,
            "seq": event.seq,
            "entry_id": id_to_text(event.id),
            "timestamp_ms": event.timestamp_ms,
            "signing_key": period.signing_key.hex(),
        }
        if event.kind == kinds.REVOCATION:
            start = int(event.body["revoke_from_seq"])
            row["revoke_from_seq"] = start
            row["void"] = [start, event.seq]  # half-open [start, revocation seq)
        rows.append(row)
    return rows


def rotate(ctx: LedgerContext) -> tuple[dict[str, Any], list[Entry]]:
    """`fabnode key rotate`: a `key.rotate` signed by the key in force names a fresh
    key, which signs from the next seq on. Returns (result, entries signed)."""
    current = signing_key_in_force(ctx)
    made = [] if _our_head(ctx) is not None else append_own(ctx, [])  # the inception first
    _check_room(ctx, spare=1)  # the last key event a history may hold is for a revocation
    head = _our_head(ctx)
    assert head is not None and head.keys is not None
    body = {"prev_key_event": head.keys.key_event, "next_key": b""}
    made += _switch_key(ctx, current, kinds.ROTATION, body)
    return _result(ctx, made[-1]), made


def revoke(
    ctx: LedgerContext, recovery_key_text: str, from_seq: int
) -> tuple[dict[str, Any], list[Entry]]:
    """`fabnode key revoke`: a `key.revoke` signed by the recovery key at the head of
    our log voids entries [from_seq, its seq) and puts a fresh signing key in force.
    misuse.wrong-recovery-key unless the text is this identity's recovery key file;
    misuse.revoke-out-of-range unless 2 ≤ from_seq ≤ the revocation's seq."""
    seed = parse_key_text(recovery_key_text)
    recovery = None if seed is None else SigningKey(seed)
    head = _our_head(ctx)
    if head is None or head.keys is None:
        why = N_("our log has no entries: nothing to revoke")
        raise LocalMisuseError("misuse.unknown-log", why)
    if recovery is None or recovery.public != head.keys.recovery_key:
        raise LocalMisuseError(
            "misuse.wrong-recovery-key",
            "that is not this identity's recovery key file (keys/recovery.key as `init` wrote it)",
        )
    seq = head.size + 1
    if not 2 <= from_seq <= seq:
        raise LocalMisuseError(
            "misuse.revoke-out-of-range",
            f"got from-seq {from_seq}, want 2 to {seq} (at {seq}, the revocation voids nothing)",
            want_max=seq,
        )
    _check_room(ctx, spare=0)
    ctx.home.settle_pending_signing_key(head.keys.signing_key)  # a switch a crash cut short
    body = {"prev_key_event": head.keys.key_event, "revoke_from_seq": from_seq, "next_key": b""}
    made = _switch_key(ctx, recovery, kinds.REVOCATION, body)
    out = _result(ctx, made[-1])
    out["void"] = [from_seq, made[-1].seq]
    return out, made


def _check_room(ctx: LedgerContext, *, spare: int) -> None:
    """misuse.too-many-key-events if one more key event would leave fewer than `spare`
    of the MAX_KEY_EVENTS a key history may hold (specs/0002 §6.1): past it, no
    proof of our log would verify."""
    held = len(ctx.ledger.key_history(ctx.network, ctx.identity.id).events)
    if held + 1 > MAX_KEY_EVENTS - spare:
        raise LocalMisuseError(
            "misuse.too-many-key-events",
            f"our log holds {held} key events; a key history holds at most {MAX_KEY_EVENTS}"
            + (", and the last is kept for a revocation" if spare else ""),
        )


def _switch_key(
    ctx: LedgerContext, signer: SigningKey, kind: str, body: dict[str, Any]
) -> list[Entry]:
    """Steps (1) to (3) of the module docstring: pending key, key event, install."""
    next_key = ctx.home.new_pending_signing_key()
    try:
        return append_signed(ctx, signer, [(kind, {**body, "next_key": next_key.public})], next_key)
    finally:  # committed or not, the ledger decides which key the home keeps
        ctx.home.settle_pending_signing_key(key_in_force(ctx))


def _our_head(ctx: LedgerContext) -> LogHead | None:
    return ctx.ledger.head(ctx.network, ctx.identity.id)


def _result(ctx: LedgerContext, event: Entry) -> dict[str, Any]:
    return {
        "entry_id": id_to_text(event.id),
        "seq": event.seq,
        "kind": event.kind,
        "signing_key": key_in_force(ctx).hex(),
    }
