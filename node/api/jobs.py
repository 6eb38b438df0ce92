"""The jobs, reputation and contributions routes of the local API (README "Jobs").

An APIRouter mounted by node.api.app under /api/v1 with the same bearer token. Reads run
on the storage thread (NodeService.on_ledger); writes sign there and are announced
(NodeService.signing). Bodies are JSON with ids as text; errors are the usual
{"error": {"code", "message"}} (job.* codes are rule violations: HTTP 403).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from node.ops import jobs, myjobs
from node.runtime.service import NodeService
from protocol.ids import id_from_field, id_from_text
from protocol.processes import Location

Text = Annotated[str, Field(max_length=4096)]


class Money(BaseModel):
    amount_minor: int
    currency: str


class OfferIn(BaseModel):
    """A job offer (specs/0007 §2.1); `ttl_s` defaults to the rule in force."""

    title: Text
    design: str | None = None
    sealed: bool = False
    part: dict[str, Any] | None = None
    quantity: int = 1
    process: str
    material: str
    tolerance: str | None = None
    deadline_ms: int
    location: dict[str, int]
    radius_km: int
    budget: Money | None = None
    ttl_s: int | None = None
    note: Text = ""


class BidIn(BaseModel):
    price: Money
    ready_ms: int
    note: Text = ""


class StepIn(BaseModel):
    """Fields of a step: `bid` (award), `reason` (cancel, dispute), `tracking` (ship),
    `evidence` (dispute: blob ids), `note` (refund), `score` and `text` (review)."""

    bid: str | None = None
    reason: Text | None = None
    tracking: str | None = None
    evidence: list[str] = Field(default_factory=list, max_length=64)
    note: Text | None = None
    score: int | None = None
    text: Text | None = None


class FilesIn(BaseModel):
    blobs: list[str] = Field(min_length=1, max_length=64)


def router(service: NodeService) -> APIRouter:
    api = APIRouter(prefix="/api/v1")

    @api.get("/jobs")
    async def list_jobs(
        open: bool = False,
        near_lat_microdeg: Annotated[int | None, Query()] = None,
        near_lon_microdeg: Annotated[int | None, Query()] = None,
        radius_km: int | None = None,
        party: str | None = None,
        limit: int = jobs.MAX_LIST,
    ) -> dict[str, Any]:
        near = None
        if near_lat_microdeg is not None and near_lon_microdeg is not None:
            near = Location(lat_microdeg=near_lat_microdeg, lon_microdeg=near_lon_microdeg)
        who = None if party is None else id_from_text(party)
        return await service.on_ledger(
            lambda ctx: jobs.list_jobs(
                ctx, open_only=open, near=near, radius_km=radius_km, party=who, limit=limit
            )
        )

    @api.get("/jobs/mine")
    async def mine() -> dict[str, Any]:
        """Every job we are a party to, newest activity first (node.ops.myjobs)."""
        return await service.on_ledger(myjobs.mine)

    @api.post("/jobs", status_code=201)
    async def offer(body: OfferIn) -> dict[str, Any]:
        fields = body.model_dump()
        out = await service.signing(lambda ctx: jobs.offer_from_json(ctx, fields))
        out.update(await service.job_candidates(id_from_text(out["entry_id"])))
        return out

    @api.get("/jobs/{job_id}")
    async def show(job_id: str) -> dict[str, Any]:
        job = id_from_text(job_id)
        return await service.on_ledger(lambda ctx: jobs.show(ctx, job))

    @api.get("/jobs/{job_id}/candidates")
    async def candidates(job_id: str) -> dict[str, Any]:
        job = id_from_text(job_id)
        return await service.job_candidates(job)

    @api.post("/jobs/{job_id}/bids", status_code=201)
    async def bid(job_id: str, body: BidIn) -> dict[str, Any]:
        job, price = id_from_text(job_id), body.price.model_dump()
        return await service.signing(
            lambda ctx: jobs.bid(ctx, job, price, body.ready_ms, body.note)
        )

    @api.post("/jobs/{job_id}/bids/{bid_id}/counter", status_code=201)
    async def counter(job_id: str, bid_id: str, body: BidIn) -> dict[str, Any]:
        job, bid, price = id_from_text(job_id), id_from_text(bid_id), body.price.model_dump()
        return await service.signing(
            lambda ctx: jobs.counter(ctx, job, bid, price, body.ready_ms, body.note)
        )

    @api.post("/jobs/{job_id}/bids/{bid_id}/withdraw", status_code=201)
    async def withdraw(job_id: str, bid_id: str) -> dict[str, Any]:
        job, bid = id_from_text(job_id), id_from_text(bid_id)
        return await service.signing(lambda ctx: jobs.withdraw(ctx, job, bid))

    @api.post("/jobs/{job_id}/files", status_code=201)
    async def files(job_id: str, body: FilesIn) -> dict[str, Any]:
        job, blobs = id_from_text(job_id), [id_from_field(b, "blobs") for b in body.blobs]
        return await service.signing(lambda ctx: jobs.attach_files(ctx, job, blobs))

    @api.post("/jobs/{job_id}/steps/{action}", status_code=201)
    async def step(job_id: str, action: str, body: StepIn) -> dict[str, Any]:
        job, fields = id_from_text(job_id), body.model_dump()
        return await service.signing(lambda ctx: jobs.step_from_json(ctx, job, action, fields))

    @api.get("/labs/{lab_id}/reputation")
    async def reputation(lab_id: str) -> dict[str, Any]:
        lab = id_from_text(lab_id)
        return await service.on_ledger(lambda ctx: jobs.reputation(ctx, lab))

    @api.get("/contributions/{identity}")
    async def contributions(identity: str) -> dict[str, Any]:
        who = id_from_text(identity)
        return await service.on_ledger(lambda ctx: jobs.contributions_of(ctx, who))

    return api
