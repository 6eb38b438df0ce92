"""Local API routes for capability adverts, matching and sealed files (specs/0011).

    POST /api/v1/capabilities                 {"advert": {...}} -> our new advert
    GET  /api/v1/capabilities                 ?near=LAT,LON&radius_km=R&process=P&material=M
    GET  /api/v1/capabilities/{lab|"self"}    one lab's newest advert
    POST /api/v1/capabilities/import-okw      {"path"} -> our new advert, from OKW YAML
    GET  /api/v1/capabilities/{lab}/okw       {"yaml": the advert as OKW YAML}
    POST /api/v1/match                        MatchQuery -> ranked candidates with quotes
    POST /api/v1/sealed                       {"path", "lab"} -> the sealed blob
    POST /api/v1/sealed/{blob}/open           {"out"} -> the file written

Ledger work runs on the storage thread (NodeService.on_ledger / signing), file and
crypto work and slicing for quotes on a worker thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
from fastapi import APIRouter
from pydantic import BaseModel, Field

from node.api.fields import LocalPath
from node.ops import capabilities, okw_files, sealing
from node.ops.capabilities import MatchQuery, parse_near
from node.runtime.service import NodeService
from protocol.capability import advert_fields, validate_advert
from protocol.ids import id_from_text

PREFIX = "/api/v1"


class AdvertIn(BaseModel):
    advert: dict[str, Any]


class PathIn(BaseModel):
    path: LocalPath


class SealIn(BaseModel):
    path: LocalPath
    lab: str = Field(min_length=1, max_length=64)


class OpenIn(BaseModel):
    out: LocalPath


def _lab(text: str) -> bytes | None:
    return None if text == "self" else id_from_text(text)


def router(service: NodeService) -> APIRouter:
    """The routes; node.api.app includes them behind its bearer-token guard."""
    routes = APIRouter(prefix=PREFIX)

    @routes.post("/capabilities", status_code=201)
    async def set_advert(body: AdvertIn) -> dict[str, Any]:
        fields = advert_fields(body.advert)
        advert = validate_advert(fields)
        return await service.signing(lambda ctx: capabilities.set_advert(ctx, advert))

    @routes.get("/capabilities")
    async def list_adverts(
        near: str | None = None,
        radius_km: int | None = None,
        process: str | None = None,
        material: str | None = None,
    ) -> dict[str, Any]:
        where = None if near is None else parse_near(near)
        return await service.on_ledger(
            lambda ctx: capabilities.find(ctx, where, radius_km, process, material)
        )

    @routes.post("/capabilities/import-okw", status_code=201)
    async def import_okw(body: PathIn) -> dict[str, Any]:
        advert = await trio.to_thread.run_sync(okw_files.read_okw_file, Path(body.path))
        return await service.signing(lambda ctx: capabilities.set_advert(ctx, advert))

    @routes.get("/capabilities/{lab}")
    async def show_advert(lab: str) -> dict[str, Any]:
        who = _lab(lab)
        advert = await service.on_ledger(lambda ctx: capabilities.advert_of(ctx, who))
        return capabilities.advert_json(advert)

    @routes.get("/capabilities/{lab}/okw")
    async def export_okw(lab: str) -> dict[str, Any]:
        who = _lab(lab)
        advert = await service.on_ledger(lambda ctx: capabilities.advert_of(ctx, who))
        return okw_files.export_json(advert)

    @routes.post("/match")
    async def match(query: MatchQuery) -> dict[str, Any]:
        return await service.match(query)

    @routes.post("/sealed", status_code=201)
    async def seal(body: SealIn) -> dict[str, Any]:
        lab = id_from_text(body.lab)
        key = await service.on_ledger(lambda ctx: capabilities.lab_seal_key(ctx, lab))
        home = service.ctx.home
        return await trio.to_thread.run_sync(sealing.seal_to_blob, home, Path(body.path), key)

    @routes.post("/sealed/{blob}/open")
    async def open_sealed(blob: str, body: OpenIn) -> dict[str, Any]:
        blob_id = id_from_text(blob)
        await service.fetch_blob(blob_id)  # "held" at once when we have it
        home = service.ctx.home
        return await trio.to_thread.run_sync(sealing.open_blob, home, blob_id, Path(body.out))

    return routes
