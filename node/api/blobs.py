"""Local API route that adds a blob through the running node (specs/0009 §4).

    POST /api/v1/blobs    body: the file's bytes (application/octet-stream)
                          -> 201 {"blob": id, "size": bytes}

`fabnode blob add` uses it while a node runs, so the home's store has one writer. The
body is streamed, never held whole: each piece is hashed and written to a temp file
in the store (node.blobstore.NewBlob), which is renamed to its id once complete. The
limit is the federation's blob size rule (NodeHome.max_blob_bytes, as node.ops.designs
stores files), so a blob is refused here (rule.blob-too-large) exactly when peers
would refuse to fetch it: a declared Content-Length above it before any body byte is
read, a body without one as soon as it passes it. The front door
(node.api_guard.RequestGuard) checks the token and lets the body through unbuffered
(`STREAMED_PATHS`).
"""

from __future__ import annotations

import re
from typing import Any, Final

import trio
from fastapi import APIRouter, Request

from node.runtime.service import NodeService
from node.store.blobs import READ_BYTES, NewBlob, check_blob_size
from protocol.ids import id_to_text

PREFIX: Final = "/api/v1"
#: The route streams its own body under the blob size rule (not the front door's limit).
STREAMED_PATHS: Final = re.compile(rf"{PREFIX}/blobs")

#: The request body as the OpenAPI document states it (FastAPI sees a bare Request).
_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def router(service: NodeService) -> APIRouter:
    routes = APIRouter(prefix=PREFIX)

    @routes.post("/blobs", status_code=201, openapi_extra=_BODY)
    async def add_blob(request: Request) -> dict[str, Any]:
        """Store the body as a blob; its id (the SHA-256 of the bytes) and size."""
        home = service.ctx.home
        store = await trio.to_thread.run_sync(home.blob_store)
        declared = request.headers.get("content-length", "")
        if declared.isdigit():
            check_blob_size(int(declared), store.max_blob_bytes)  # before a byte is read
        blob = await trio.to_thread.run_sync(store.new_blob)
        try:
            blob_id, size = await _write_body(request, blob)
        finally:
            blob.discard()  # removes the temp file unless finished; no await: cancel-safe
        return {"blob": id_to_text(blob_id), "size": size}

    return routes


async def _write_body(request: Request, blob: NewBlob) -> tuple[bytes, int]:
    """Write the body into `blob` in pieces of about READ_BYTES, off the trio thread."""
    pending = bytearray()
    async for chunk in request.stream():
        pending += chunk
        if len(pending) >= READ_BYTES:
            await trio.to_thread.run_sync(blob.write, bytes(pending))
            pending.clear()
    await trio.to_thread.run_sync(blob.write, bytes(pending))
    return await trio.to_thread.run_sync(blob.finish)
