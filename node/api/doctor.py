"""GET /api/v1/doctor: the node's reachability report (specs/0014 §6; node.ops.doctor).

Listen and observed addresses, the dial-back verdicts, relays in use, each connection
direct or relayed, UPnP's result and what to change. `fabnode doctor` and the Node
page's "Reachability" panel show this answer."""

from __future__ import annotations

from fastapi import APIRouter

from node.ops.doctor import DoctorReport
from node.runtime.service import NodeService

PREFIX = "/api/v1"


def router(service: NodeService) -> APIRouter:
    routes = APIRouter(prefix=PREFIX)

    @routes.get("/doctor", response_model=DoctorReport)
    async def doctor() -> DoctorReport:
        return service.peers.doctor()

    return routes
