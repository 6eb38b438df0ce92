"""GET /api/v1/names: the name of every identity the ledger names (node.ops.names).

The page resolves the lab and member ids it shows through this one map, keeping the
id itself in the title and a copy button."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from node.ops import names
from node.runtime.service import NodeService

PREFIX = "/api/v1"


def router(service: NodeService) -> APIRouter:
    routes = APIRouter(prefix=PREFIX)

    @routes.get("/names")
    async def all_names() -> dict[str, Any]:
        return await service.on_ledger(names.names_json)

    return routes
