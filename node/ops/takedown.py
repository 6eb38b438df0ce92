"""Taking designs and blobs down on this node (specs/0010 §7, specs/0009 §9).

- `withdraw`: sign a `design.withdraw` of one of our own designs (refused for another
  author's: `rule.withdraw-not-author`, which every view would ignore anyway).
- `blob_policy`: what this node may store, fetch and serve now: the blocklist of the
  governance state in force (none on a network without a charter) and the withheld
  blobs — those of withdrawn designs that no live design names (the catalogue) and no
  job we are a party to needs (node.ops.storage.job_blobs).
The running node applies the policy every second (node.daemon): it hands it to its
blob store and deletes the blocked blobs it holds. Local commands read the blocklist
the node last wrote to governance.json (NodeHome.blocked_blobs).
"""

from __future__ import annotations

from typing import Any

from ledger.catalogue import withdrawal_json
from ledger.takedown import NOT_AUTHOR, BlobPolicy
from node.ops.context import LedgerContext, append_own
from node.ops.designs import design_entry, withdrawn_text
from node.ops.storage import job_blobs
from protocol import kinds
from protocol.design import WITHDRAW
from protocol.entry import Entry
from protocol.errors import LocalMisuseError, RuleViolationError
from protocol.ids import id_to_text


def withdraw(
    ctx: LedgerContext, design_id: bytes, reason: str
) -> tuple[dict[str, Any], list[Entry]]:
    """Withdraw our design `design_id`; a design already withdrawn is left as it is."""
    entry, _ = design_entry(ctx, design_id)
    if entry.author != ctx.identity.id:
        raise RuleViolationError(
            NOT_AUTHOR, f"design {id_to_text(design_id)} is {id_to_text(entry.author)}'s"
        )
    held = ctx.catalogue.withdrawal_of(design_id)
    if held is not None:
        return {"design_id": id_to_text(design_id), "withdrawn": withdrawn_text(
            withdrawal_json(held)), "already": True}, []  # fmt: skip
    body = {"design": design_id, "reason": reason}
    status = kinds.check_body(WITHDRAW, body)
    if not status.valid:
        raise LocalMisuseError("misuse.bad-argument", f"a withdrawal's {status.reason}")
    made = append_own(ctx, [(WITHDRAW, body)])
    shown = withdrawal_json(ctx.catalogue.withdrawal_of(design_id))
    out = {"design_id": id_to_text(design_id), "withdrawn": withdrawn_text(shown), "already": False}
    return out, made


def blob_policy(ctx: LedgerContext) -> BlobPolicy:
    """The blob policy in force on this node now (module doc)."""
    view = ctx.governance
    blocked = view.state.blocked if view is not None and view.state is not None else frozenset()
    withheld = ctx.catalogue.withheld_blobs()
    if withheld:
        withheld -= job_blobs(ctx)
    return BlobPolicy(frozenset(blocked), frozenset(withheld))
