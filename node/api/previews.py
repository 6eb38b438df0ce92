"""Routes for a design's pictures and mesh bytes (specs/0010 §8; README "Previews").

    GET /api/v1/designs/{design}/preview[?file=BLOB]  -> image/png, the thumbnail of
        the design's mesh `file` (its first mesh without one), drawn by this node
        (node.runtime.previews) — 404 misuse.no-preview saying why there is none
    GET /api/v1/designs/{design}/files/{blob}         -> the file's bytes, with the
        media type the design gives it (the dashboard's 3D viewer loads meshes here)

Only files the design names are served, never a withheld or blocked blob (specs/0010
§7, 0009 §9); a file not held is fetched from a peer first. Both answers are the same
for ever for one URL (a blob id names its bytes; a thumbnail's ETag names the mesh, the
renderer's version and the size), so they carry `Cache-Control: private` with a long
max-age, and an ETag that a repeated request (If-None-Match) gets a 304 for. `private`:
the routes need the token, so no shared cache may keep them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from node.ops import designs, previews
from node.ops.geometry import is_mesh_media_type
from node.runtime.service import NodeService
from node.store.blobs import BlobStore
from protocol.design import FileEntry
from protocol.errors import LocalMisuseError
from protocol.ids import id_from_text, id_to_text

PREFIX: Final = "/api/v1"
#: A thumbnail is kept a day (a new renderer version gives new ETags); a file for ever.
PREVIEW_CACHE: Final = "private, max-age=86400"
FILE_CACHE: Final = "private, max-age=31536000, immutable"
_PNG: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {"image/png": {}}, "description": "the thumbnail"}
}
_BYTES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "the file"}
}


def router(service: NodeService) -> APIRouter:
    routes = APIRouter(prefix=PREFIX)

    @routes.get("/designs/{design_id}/preview", response_class=Response, responses=_PNG)
    async def design_preview(design_id: str, request: Request, file: str | None = None) -> Response:
        """The thumbnail of one of the design's meshes (its first without `file`)."""
        entry = await _file_of(service, id_from_text(design_id), file)
        previewer = service.previews
        if previewer is None:
            raise previews.no_preview("this node draws none")
        _refuse_withheld(service, entry.sha256)
        headers = {"ETag": f'"{previews.preview_path(Path(), entry.sha256).stem}"'}
        headers["Cache-Control"] = PREVIEW_CACHE
        if request.headers.get("if-none-match") == headers["ETag"]:
            return Response(status_code=304, headers=headers)
        png = previews.preview_path(previewer.home_path, entry.sha256)
        failed = None if png.is_file() else previews.read_failure(png)
        if failed is not None:
            raise failed
        if not png.is_file():  # not drawn yet: the mesh is needed (from a peer if not held)
            await service.fetch_blob(entry.sha256)  # "held" at once when we have it
            png = await previewer.thumbnail(entry.sha256, entry.media_type)
        return FileResponse(png, media_type="image/png", headers=headers)

    @routes.get("/designs/{design_id}/files/{blob_id}", response_class=Response, responses=_BYTES)
    async def design_file(design_id: str, blob_id: str, request: Request) -> Response:
        """The bytes of a file the design names."""
        entry = await _file_of(service, id_from_text(design_id), blob_id)
        tag = f'"{id_to_text(entry.sha256)}"'
        headers = {"ETag": tag, "Cache-Control": FILE_CACHE, "X-Content-Type-Options": "nosniff"}
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers=headers)
        store = _refuse_withheld(service, entry.sha256)
        await service.fetch_blob(entry.sha256)
        path = store.path_of(entry.sha256)
        return FileResponse(path, media_type=entry.media_type, headers=headers)

    return routes


async def _file_of(service: NodeService, design_id: bytes, blob: str | None) -> FileEntry:
    """The design's file `blob` (misuse.unknown-file if it names none such), or without
    one its first mesh (misuse.no-preview when it has none)."""
    files = await service.on_ledger(lambda ctx: designs.design_entry(ctx, design_id)[1].files)
    if blob is None:
        for f in files:
            if is_mesh_media_type(f.media_type):
                return f
        raise previews.no_preview("the design has no mesh file")
    wanted = id_from_text(blob)
    for f in files:
        if f.sha256 == wanted:
            return f
    raise LocalMisuseError(
        "misuse.unknown-file", f"design {id_to_text(design_id)} names no file {blob}"
    )


def _refuse_withheld(service: NodeService, blob: bytes) -> BlobStore:
    """The node's blob store, after refusing a blob it must not serve: the running
    node's policy (blocklist and withheld blobs, kept current by node.daemon)."""
    store = service.peers.blobs
    refused = store.policy.fetch_refusal(blob)
    if refused is not None:
        raise refused
    return store
