"""The key routes of the local API, under /api/v1/keys (README "Keys"; node.ops.keys).

- `GET /api/v1/keys`: the signing key in force and since which seq, the key history,
  whether the recovery key is still in the home.
- `POST /api/v1/keys/rotate`: a `key.rotate` naming a fresh signing key.
- `POST /api/v1/keys/revoke`: a `key.revoke` signed by the recovery key, whose key
  file's text comes in the body. The API is local and token-protected; the text is
  parsed on the storage thread, used to sign, and dropped with the request: it is never
  written to the home, logged or kept (a refused body's error never echoes it).

Both writes sign on the storage thread and are announced like any entry we sign.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from node.ops import keys
from node.runtime.service import NodeService


class RevokeIn(BaseModel):
    """The recovery key file's text (as `fabnode init` wrote keys/recovery.key) and the
    first seq the thief signed: entries [from_seq, the revocation's seq) become void."""

    recovery_key: str = Field(min_length=1, max_length=4096)
    from_seq: int = Field(ge=1, le=2**63 - 1)


class KeyEventOut(BaseModel):
    kind: str
    seq: int
    entry_id: str
    timestamp_ms: int
    signing_key: str  # hex: the key this event put in force
    revoke_from_seq: int | None = None
    void: list[int] | None = None  # a revocation's half-open [from, to) range


class KeysOut(BaseModel):
    identity: str
    signing_key: str
    since_seq: int
    recovery_key: str
    log_size: int
    history: list[KeyEventOut]
    recovery_key_in_home: bool
    home_key_in_force: bool
    pending_key: str | None
    warnings: list[str]


class KeySwitchOut(BaseModel):
    entry_id: str
    seq: int
    kind: str
    signing_key: str
    void: list[int] | None = None


def router(service: NodeService) -> APIRouter:
    api = APIRouter(prefix="/api/v1/keys")

    @api.get("", response_model=KeysOut)
    async def show() -> dict[str, Any]:
        return await service.on_ledger(keys.show)

    @api.post("/rotate", response_model=KeySwitchOut, status_code=201)
    async def rotate() -> dict[str, Any]:
        return await service.signing(keys.rotate)

    @api.post("/revoke", response_model=KeySwitchOut, status_code=201)
    async def revoke(body: RevokeIn) -> dict[str, Any]:
        return await service.signing(lambda ctx: keys.revoke(ctx, body.recovery_key, body.from_seq))

    return api
