"""Governance operations over a LedgerContext, shared by the CLI and the API.

(specs/0008-governance.md.) Reading operations return JSON-ready dicts computed from
the node's GovernanceView; signing ones (propose, vote, vouch, apply) return
(result, entries signed) so the running node can announce what it signed
(NodeService.signing). Each checks its input before signing: a body that would be
invalid is refused with decode.bad-proposal (nothing is signed).
"""

from __future__ import annotations

from typing import Any

from node.ops.context import LedgerContext, append_own
from node.ops.freezes import frozen_authors
from node.ops.governance_view import (
    GovernanceView,
    action_json,
    history_json,
    rules_json,
    tally_json,
)
from protocol import kinds
from protocol.entry import Entry
from protocol.errors import DecodeError, LocalMisuseError
from protocol.governance import (
    APPLY,
    PROPOSAL,
    UNVOUCH,
    VOTE,
    VOUCH,
    AdmitMember,
    Choice,
    proposal_body,
)
from protocol.ids import id_to_text

#: Where the node's API serves governance (node.api.governance; the CLI calls it).
API_PREFIX = "/api/v1/governance"


def view_of(ctx: LedgerContext) -> GovernanceView:
    if ctx.governance is None:
        raise LocalMisuseError(
            "misuse.no-federation",
            "this node is on a development network: create or join a federation first",
        )
    return ctx.governance


def refreshed(ctx: LedgerContext) -> GovernanceView:
    view = view_of(ctx)
    view.refresh(ctx.ledger, view.now_s())
    return view


def charter(ctx: LedgerContext) -> dict[str, Any]:
    """The charter, its text as amended and in force now (GovernanceView.charter_json)."""
    return refreshed(ctx).charter_json()


def members(ctx: LedgerContext) -> dict[str, Any]:
    """Members, vouched and applications, plus the frozen members (out of the electorate
    of proposals opening now, specs/0008 §6.1) with why and since when, and the number
    of vouches an admission needs."""
    view = refreshed(ctx)
    assert view.state is not None
    out = view.members_json()
    out["me"] = id_to_text(ctx.identity.id)
    out["at_s"] = view.refreshed_at_s
    out["admission_vouches"] = view.state.rules.admission_vouches
    out["frozen"] = [
        {"identity": id_to_text(who), **why}
        for who, why in sorted(frozen_authors(ctx).items())
        if who in view.state.members
    ]
    return out


def admission_warnings(view: GovernanceView, candidate: bytes) -> list[dict[str, Any]]:
    """What a `member.admit` of `candidate` would not do as things stand: a candidate
    with fewer standing vouches than the rules ask is admitted by no vote (§3.1: the
    passed proposal is void, `too-few-vouches`). Vouches still count until the deadline."""
    assert view.state is not None
    needed = view.state.rules.admission_vouches
    have = len(view.standing_vouchers(candidate))
    if have >= needed:
        return []
    return [
        {
            "code": "warn.too-few-vouches",
            "message": f"{id_to_text(candidate)} has {have} of the {needed} vouches the rules "
            "ask: unless members vouch before the deadline, the admission will pass void",
            "vouches": have,
            "needed": needed,
        }
    ]


def rules(ctx: LedgerContext, at_s: int | None) -> dict[str, Any]:
    view = refreshed(ctx)
    when = view.refreshed_at_s if at_s is None else at_s
    state = view.state if at_s is None else view.state_at(ctx.ledger, at_s)
    assert state is not None
    return {"at_s": when, **rules_json(state)}


def rules_history(ctx: LedgerContext) -> dict[str, Any]:
    view = refreshed(ctx)
    assert view.state is not None
    return {
        "at_s": view.refreshed_at_s,
        "history": history_json(view.charter, view.state, view.proposals),
        "skipped": [{"proposal": id_to_text(p), "reason": why} for p, why in view.state.skipped],
    }


def proposals(ctx: LedgerContext) -> dict[str, Any]:
    view = refreshed(ctx)
    return {"now_s": view.refreshed_at_s, "proposals": view.proposals_json()}


def proposal(ctx: LedgerContext, proposal_id: bytes) -> dict[str, Any]:
    view = refreshed(ctx)
    found = view.proposals.get(proposal_id)
    if found is None:
        raise LocalMisuseError(
            "misuse.unknown-proposal", f"no proposal {id_to_text(proposal_id)} here"
        )
    out = view.proposal_json(found)
    out["now_s"] = view.refreshed_at_s
    return out


def tally(ctx: LedgerContext, proposal_id: bytes) -> dict[str, Any]:
    found = proposal(ctx, proposal_id)
    out: dict[str, Any] = found["tally"]
    out["title"] = found["title"]
    out["now_s"] = found["now_s"]
    return out


def propose(ctx: LedgerContext, action: dict[str, Any]) -> tuple[dict[str, Any], list[Entry]]:
    view_of(ctx)
    body = proposal_body(action)
    made = append_own(ctx, [(PROPOSAL, body)])
    entry = made[-1]
    view = refreshed(ctx)
    found = view.proposals[entry.id]
    admit = found.action
    result = {
        "proposal": id_to_text(entry.id),
        "seq": entry.seq,
        "author": id_to_text(entry.author),
        "action": action_json(found.action),
        "tally": tally_json(entry.id, view.result_of(entry.id)),
        "warnings": admission_warnings(view, admit.member)
        if isinstance(admit, AdmitMember)
        else [],
    }
    return result, made


def vote(ctx: LedgerContext, proposal_id: bytes, choice: str) -> tuple[dict[str, Any], list[Entry]]:
    view = view_of(ctx)
    if proposal_id not in view.proposals:
        raise LocalMisuseError(
            "misuse.unknown-proposal", f"no proposal {id_to_text(proposal_id)} here"
        )
    try:
        Choice(choice)
    except ValueError as e:
        raise DecodeError(
            "decode.bad-proposal", f"choice is yes, no, abstain or veto: {choice}"
        ) from e
    made = append_own(ctx, [(VOTE, {"proposal": proposal_id, "choice": choice})])
    entry = made[-1]
    return {
        "vote": id_to_text(entry.id),
        "proposal": id_to_text(proposal_id),
        "choice": choice,
        "seq": entry.seq,
        "voter": id_to_text(entry.author),
    }, made


def vouch(ctx: LedgerContext, candidate: bytes, on: bool) -> tuple[dict[str, Any], list[Entry]]:
    view_of(ctx)
    made = append_own(ctx, [(VOUCH if on else UNVOUCH, {"candidate": candidate})])
    return {
        "entry_id": id_to_text(made[-1].id),
        "candidate": id_to_text(candidate),
        "vouched": on,
    }, made


def apply(ctx: LedgerContext, name: str, text: str) -> tuple[dict[str, Any], list[Entry]]:
    view_of(ctx)
    body = {"name": name, "text": text}
    status = kinds.check_body(APPLY, body)
    if not status.valid:
        raise DecodeError("decode.bad-proposal", status.reason or "invalid application")
    made = append_own(ctx, [(APPLY, body)])
    return {
        "entry_id": id_to_text(made[-1].id),
        "identity": id_to_text(ctx.identity.id),
        "name": name,
    }, made
