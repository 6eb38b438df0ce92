"""The governance routes of the local API, under /api/v1/governance (specs/0008).

Every response is plain JSON: ids in text form (specs/0002 §2), times in POSIX
seconds, rules as the integers and strings of specs/0008 §2. Reading routes compute
from the node's governance view at the node's time; signing routes sign into the
node's log and announce it. On a development network every route answers 400
`misuse.no-federation`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from node.ops import governance as ops
from node.ops.context import LedgerContext
from node.ops.governance import API_PREFIX as PREFIX
from node.runtime.governance import set_clock_offset
from node.runtime.service import NodeService
from protocol.ids import id_from_text


class ProposalIn(BaseModel):
    """An action (specs/0008 §3): `action` and `title`, plus `changes` (rules.change),
    `member` (member.admit / member.remove, id text), `fork_proof` (fork.unfreeze,
    id text), `text` (charter.amend), or `blobs` (id texts) and `reason` (blobs.block;
    blobs.unblock takes `blobs` only)."""

    action: Literal[
        "rules.change",
        "member.admit",
        "member.remove",
        "fork.unfreeze",
        "charter.amend",
        "blobs.block",
        "blobs.unblock",
    ]
    title: str = Field(min_length=1, max_length=256)
    changes: dict[str, int | list[str]] | None = None
    member: str | None = Field(default=None, max_length=64)
    fork_proof: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=16384)
    blobs: list[str] | None = Field(default=None, max_length=256)
    reason: str | None = Field(default=None, max_length=1024)


class VoteIn(BaseModel):
    choice: Literal["yes", "no", "abstain", "veto"]


class VouchIn(BaseModel):
    candidate: str = Field(min_length=1, max_length=64)
    withdraw: bool = False


class ApplyIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    text: str = Field(default="", max_length=4096)


class ClockIn(BaseModel):
    offset_s: int = Field(ge=0, le=10 * 365 * 86_400)


def action_body(body: ProposalIn) -> dict[str, Any]:
    """The proposal action as an entry body map (ids as bytes)."""
    action: dict[str, Any] = {"action": body.action, "title": body.title}
    if body.changes is not None:
        action["changes"] = body.changes
    for field in ("member", "fork_proof"):
        value = getattr(body, field)
        if value is not None:
            action[field] = id_from_text(value)
    if body.text is not None:
        action["text"] = body.text
    if body.blobs is not None:
        action["blobs"] = sorted({id_from_text(b) for b in body.blobs})
    if body.reason is not None:
        action["reason"] = body.reason
    return action


def build_router(service: NodeService, guard: list[Any]) -> APIRouter:
    router = APIRouter(prefix=PREFIX, dependencies=guard)

    @router.get("/charter")
    async def charter() -> dict[str, Any]:
        return await service.on_ledger(ops.charter)

    @router.get("/members")
    async def members() -> dict[str, Any]:
        return await service.on_ledger(ops.members)

    @router.get("/rules")
    async def rules(at: int | None = None) -> dict[str, Any]:
        return await service.on_ledger(lambda ctx: ops.rules(ctx, at))

    @router.get("/rules/history")
    async def rules_history() -> dict[str, Any]:
        return await service.on_ledger(ops.rules_history)

    @router.get("/proposals")
    async def proposals() -> dict[str, Any]:
        return await service.on_ledger(ops.proposals)

    @router.post("/proposals", status_code=201)
    async def propose(body: ProposalIn) -> dict[str, Any]:
        action = action_body(body)
        return await service.signing(lambda ctx: ops.propose(ctx, action))

    @router.get("/proposals/{proposal_id}")
    async def proposal(proposal_id: str) -> dict[str, Any]:
        pid = id_from_text(proposal_id)
        return await service.on_ledger(lambda ctx: ops.proposal(ctx, pid))

    @router.get("/proposals/{proposal_id}/tally")
    async def tally(proposal_id: str) -> dict[str, Any]:
        pid = id_from_text(proposal_id)
        return await service.on_ledger(lambda ctx: ops.tally(ctx, pid))

    @router.post("/proposals/{proposal_id}/votes", status_code=201)
    async def vote(proposal_id: str, body: VoteIn) -> dict[str, Any]:
        pid = id_from_text(proposal_id)
        return await service.signing(lambda ctx: ops.vote(ctx, pid, body.choice))

    @router.post("/vouches", status_code=201)
    async def vouch(body: VouchIn) -> dict[str, Any]:
        candidate = id_from_text(body.candidate)
        return await service.signing(lambda ctx: ops.vouch(ctx, candidate, not body.withdraw))

    @router.post("/applications", status_code=201)
    async def apply(body: ApplyIn) -> dict[str, Any]:
        return await service.signing(lambda ctx: ops.apply(ctx, body.name, body.text))

    @router.post("/test-clock")
    async def test_clock(body: ClockIn) -> dict[str, Any]:
        def move(ctx: LedgerContext) -> dict[str, Any]:
            view = ops.view_of(ctx)
            set_clock_offset(view, body.offset_s)
            return {"offset_s": view.clock_offset_s, "now_s": view.now_s()}

        return await service.on_ledger(move)

    return router
