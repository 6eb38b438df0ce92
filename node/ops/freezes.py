"""Who is frozen on this node, why and since when, for the directory, matching and the
governance page (issue 14; specs/0004 §4-§5, 0008 §6.1, 0011 §5.1).

The ledger decides the freezes from the fork proofs it stores and the lifts in force
(ledger.freezes); this module only describes them: for each frozen author of our
network, the proof that freezes it, the fork's position, and since when — the
witnessed-by time of that position on a federation (0008 §6.1: the time from which
the member leaves the electorate), else the author's own timestamp of the entry held
at that position (a claim, marked as such). Reads the ledger, signs nothing.
"""

from __future__ import annotations

from typing import Any

from ledger.governance import frozen_members
from node.ops.context import LedgerContext
from protocol.entry import read_stored_entry
from protocol.ids import id_to_text

#: Why a frozen author is frozen, as the JSON says it (the only cause today).
FORKED = "forked"


def frozen_authors(ctx: LedgerContext) -> dict[bytes, dict[str, Any]]:
    """Frozen author of our network -> {reason, fork_proof, position, since_s, since}."""
    witnessed = _witnessed_since(ctx)
    out: dict[bytes, dict[str, Any]] = {}
    for proof in ctx.store.fork_proofs():
        author = proof.author
        if proof.network != ctx.network or author in out:
            continue
        if not ctx.ledger.is_frozen(proof.network, author) or ctx.ledger.is_lifted(proof.id):
            continue
        position = ctx.ledger.fork_position(proof)
        since_s, source = witnessed.get(author), "witnessed"
        if since_s is None and position is not None:
            since_s, source = _claimed_s(ctx, author, position), "claimed"
        out[author] = {
            "reason": FORKED,
            "fork_proof": id_to_text(proof.id),
            "position": position,
            "since_s": since_s,
            "since": None if since_s is None else source,
        }
    return out


def frozen_json(ctx: LedgerContext, author: bytes, why: dict[str, Any]) -> dict[str, Any]:
    return {"identity": id_to_text(author), **why}


def _witnessed_since(ctx: LedgerContext) -> dict[bytes, int]:
    view = ctx.governance
    if view is None or view.state is None:
        return {}
    state = view.state
    found = frozen_members(
        view.forks(ctx.ledger),
        state.unfrozen,
        view.clock(ctx.ledger),
        state.members,
        state.rules.witness_count,
        view.refreshed_at_s or view.now_s(),
    )
    return {author: since for author, (_, since) in found.items()}


def _claimed_s(ctx: LedgerContext, author: bytes, position: int) -> int | None:
    raw = ctx.ledger.entry_at(ctx.network, author, position)
    return None if raw is None else read_stored_entry(raw).timestamp_ms // 1000
