"""API routes for the dashboard: identity, peers and sync, the event stream, uploads.

(README "Local API"; included by node.api.build_app with one line.)

- `GET /api/v1/identity`, `GET /api/v1/peers`, `GET /api/v1/sync`: what the node
  is, whom it talks to, how far each log is, which authors forked (fork alerts).
- `GET /api/v1/licences/check?expression=`: as `fabnode licence check` (badges).
- `GET /api/v1/events`: server-sent events (node.runtime.events) — `entries` as they are
  committed, `progress` of long operations, a `ping` comment every
  `KEEPALIVE_S`. Authenticated like every route, by the `Authorization` header:
  the dashboard reads the stream with `fetch()` (which can set headers) instead of
  `EventSource` (which cannot), so the token never travels in a URL, where logs
  and history would keep it.
- Uploads, for publishing a design from a browser: `POST /api/v1/uploads` opens a
  staging folder in the home, `PUT /api/v1/uploads/{id}/files/{name}` streams one
  file's body to disk (never held in memory; refused past `MAX_UPLOAD_FILE_BYTES`
  before or while reading), `POST /api/v1/uploads/{id}/publish` writes an OKH-LOSH
  manifest from the form fields and publishes the folder exactly as
  `fabnode design publish` would; the staging folder is removed either way.
- `GET /`: the dashboard (node/web), `GET /static/...` its files, with a
  Content-Security-Policy allowing nothing from outside the node; the only paths
  served without the token (`OPEN_PATHS`, `OPEN_PREFIXES`).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import trio
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from licenses.derive import derive
from licenses.families import assess
from licenses.spdx import parse_expression
from node.runtime.events import EventHub, encode_sse
from node.runtime.service import NodeService
from protocol.errors import DecodeError, LocalMisuseError
from protocol.ids import id_from_text, id_to_text

API_PREFIX = "/api/v1"
WEB_FOLDER = Path(__file__).parent / "web"
UPLOADS_FOLDER = "uploads"
#: An upload not touched for this long is abandoned: its folder goes at the next open.
UPLOAD_TTL_S = 24 * 3600
MAX_OPEN_UPLOADS = 64
MAX_UPLOAD_FILE_BYTES = 256 * 1024 * 1024
MAX_UPLOAD_FILES = 64
MAX_EXPRESSION_CHARS = 512
#: A design's parents (protocol.design MAX_PARENTS) and some room for a what-if.
MAX_DERIVE_PARENTS = 64
KEEPALIVE_S = 15.0
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,127}")
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
#: The routes that stream their request body under a limit of their own
#: (node.api_guard.RequestGuard passes them through unbuffered).
STREAMED_PATHS = re.compile(rf"{API_PREFIX}/uploads/[0-9a-f]{{32}}/files/[^/]+")
#: What the front door serves without the token: the dashboard's page and its files
#: (no data; the page asks for the token once loaded). Everything else needs it.
OPEN_PATHS = frozenset({"/"})
OPEN_PREFIXES = ("/static/",)


class PublishIn(BaseModel):
    """The dashboard's design form: the fields of a minimal OKH-LOSH manifest."""

    name: str = Field(min_length=1, max_length=256)
    licence: str = Field(min_length=1, max_length=512)
    licensor: str = Field(min_length=1, max_length=256)
    function: str = Field(default="", max_length=4096)
    version: str = Field(default="", max_length=64)
    derived_from: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=32
    )


def install(app: FastAPI, service: NodeService, guard: list[Any], hub: EventHub) -> None:
    """Add the routes, the dashboard and the event stream of `hub` to `app`."""
    router = APIRouter(prefix=API_PREFIX, dependencies=guard)
    _node_routes(router, service, hub)
    _upload_routes(router, service)
    app.include_router(router)
    _dashboard(app)


def _node_routes(router: APIRouter, service: NodeService, hub: EventHub) -> None:
    @router.get("/identity")
    async def identity() -> dict[str, Any]:
        out = service.ctx.identity.to_json()
        out.update(
            network={"name": service.ctx.network_name, "id": id_to_text(service.ctx.network)},
            peer_id=service.peer_id,
            listen_addrs=service.listen_addrs,
            api_url=service.api_url,
        )
        return out

    @router.get("/peers")
    async def peers() -> dict[str, Any]:
        net = _network(service)
        sync = net.get("sync", {})
        scores = net.get("peer_scores", {})
        running = set(sync.get("running", []))
        return {
            "peer_id": service.peer_id,
            "listen_addrs": service.listen_addrs,
            "peers": [
                {
                    "peer_id": p,
                    "score": scores.get(p),
                    "syncing": p in running,
                    "last_sync_ms": sync.get("last_sync_ms", {}).get(p),
                    "last_error": sync.get("last_error", {}).get(p),
                    "refused": sync.get("refused", {}).get(p, {}),
                }
                for p in net.get("peers", [])
            ],
            "banned_peers": net.get("banned_peers", []),
        }

    @router.get("/sync")
    async def sync() -> dict[str, Any]:
        status = await service.status()
        stats = dict(_network(service).get("sync", {}))
        stats.pop("last_error", None)
        stats.pop("refused", None)
        return {
            "logs": status["logs"],
            "entries_held": sum(h["size"] for h in status["logs"]),
            "sync": stats,
            "fork_alerts": await service.fork_proofs(),
            "events": vars(hub.statistics()),
        }

    @router.get("/licences/check")
    async def licence_check(expression: str) -> dict[str, Any]:
        """`fabnode licence check`: an SPDX expression's openness and family (badges)."""
        if len(expression) > MAX_EXPRESSION_CHARS:
            raise DecodeError(
                "decode.too-large", f"licence expression over {MAX_EXPRESSION_CHARS} characters"
            )
        out: dict[str, Any] = assess(parse_expression(expression)).to_json()
        return out

    @router.get("/licences/derive")
    async def licence_derive(
        child: str, parent: Annotated[list[str], Query(max_length=MAX_DERIVE_PARENTS)]
    ) -> dict[str, Any]:
        """`fabnode licence derive`: may a derivative of these parents be licensed so."""
        if any(len(e) > MAX_EXPRESSION_CHARS for e in [child, *parent]):
            raise DecodeError(
                "decode.too-large", f"licence expression over {MAX_EXPRESSION_CHARS} characters"
            )
        out: dict[str, Any] = derive(parent, child).to_json()
        return out

    @router.get("/events", response_class=StreamingResponse, responses=_SSE_RESPONSE)
    async def events(request: Request) -> StreamingResponse:
        receive = hub.subscribe()
        return StreamingResponse(
            _sse(receive),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


#: What the OpenAPI document says of the event stream (FastAPI would claim JSON).
_SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "server-sent events", "content": {"text/event-stream": {}}}
}


async def _sse(receive: trio.MemoryReceiveChannel[Any]) -> AsyncIterator[bytes]:
    yield b": fab commons events\nretry: 3000\n\n"
    with receive:
        while True:
            with trio.move_on_after(KEEPALIVE_S) as idle:
                try:
                    event = await receive.receive()
                except trio.EndOfChannel:
                    yield b'event: dropped\ndata: {"reason":"client too slow"}\n\n'
                    return
            if idle.cancelled_caught:
                yield b": ping\n\n"
            else:
                yield encode_sse(event)


def _network(service: NodeService) -> dict[str, Any]:
    return service.peers.status()


# -- uploads -------------------------------------------------------------------------


def _upload_routes(router: APIRouter, service: NodeService) -> None:
    root = service.ctx.home.path / UPLOADS_FOLDER

    @router.post("/uploads", status_code=201)
    async def open_upload() -> dict[str, Any]:
        open_now = await trio.to_thread.run_sync(sweep_uploads, root, time.time())
        if open_now >= MAX_OPEN_UPLOADS:
            raise LocalMisuseError(
                "misuse.too-many-uploads", f"{open_now} uploads are open; publish or wait"
            )
        upload_id = secrets.token_hex(16)
        await trio.Path(root / upload_id).mkdir(parents=True, mode=0o700)
        return {"upload_id": upload_id, "max_file_bytes": MAX_UPLOAD_FILE_BYTES}

    @router.put("/uploads/{upload_id}/files/{name}", status_code=201)
    async def put_file(upload_id: str, name: str, request: Request) -> dict[str, Any]:
        folder = upload_folder(root, upload_id)
        if not _FILE_NAME.fullmatch(name) or name.lower().endswith((".toml", ".yml", ".yaml")):
            raise LocalMisuseError("misuse.bad-file-name", f"{name!r} is not a plain file name")
        if sum(1 for _ in folder.iterdir()) >= MAX_UPLOAD_FILES:
            raise LocalMisuseError("misuse.too-many-files", f"at most {MAX_UPLOAD_FILES} files")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_FILE_BYTES:
            raise _too_large(int(declared))
        size = await _stream_to(folder / name, request)
        return {"name": name, "size": size}

    @router.post("/uploads/{upload_id}/publish", status_code=201)
    async def publish(upload_id: str, body: PublishIn) -> dict[str, Any]:
        folder = upload_folder(root, upload_id)
        try:
            files = sorted(p.name for p in folder.iterdir())
            (folder / "okh.toml").write_text(_manifest(body, files))
            parents = [id_from_text(p) for p in body.derived_from]
            return await service.publish_design(folder, body.licence, parents)
        finally:
            await trio.to_thread.run_sync(shutil.rmtree, folder, True)


def sweep_uploads(root: Path, now_s: float) -> int:
    """Remove staging folders untouched for UPLOAD_TTL_S (an upload abandoned by its
    page: specs/0012 §5, finding 12); return how many remain open."""
    remaining = 0
    for folder in root.glob("*") if root.is_dir() else []:
        try:
            stale = now_s - folder.stat().st_mtime > UPLOAD_TTL_S
        except OSError:
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            remaining += 1
    return remaining


def upload_folder(root: Path, upload_id: str) -> Path:
    folder = root / upload_id
    if not _UPLOAD_ID.fullmatch(upload_id) or not folder.is_dir():
        raise LocalMisuseError("misuse.unknown-upload", f"no upload {upload_id!r}")
    return folder


async def _stream_to(path: Path, request: Request) -> int:
    size = 0
    partial = path.with_name(path.name + ".part")
    try:
        async with await trio.open_file(partial, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD_FILE_BYTES:
                    raise _too_large(size)
                await out.write(chunk)
        await trio.Path(partial).rename(path)
    finally:
        await trio.Path(partial).unlink(missing_ok=True)
    return size


def _too_large(size: int) -> DecodeError:
    return DecodeError(
        "decode.too-large",
        f"upload of {size} bytes or more, limit {MAX_UPLOAD_FILE_BYTES}",
        field="body",
    )


def _manifest(body: PublishIn, files: list[str]) -> str:
    """A minimal OKH-LOSH manifest (TOML) naming the uploaded files as sources."""
    lines = [
        f"name = {json.dumps(body.name)}",
        f"license = {json.dumps(body.licence)}",
        f"licensor = {json.dumps(body.licensor)}",
    ]
    if body.function:
        lines.append(f"function = {json.dumps(body.function)}")
    if body.version:
        lines.append(f"version = {json.dumps(body.version)}")
    if files:
        lines.append(f"source = [{', '.join(json.dumps(f) for f in files)}]")
    return "\n".join(lines) + "\n"


# -- the dashboard -------------------------------------------------------------------


def _dashboard(app: FastAPI) -> None:
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB_FOLDER / "index.html", headers=headers)

    app.mount("/static", StaticFiles(directory=WEB_FOLDER), name="static")

    @app.middleware("http")
    async def no_outside(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        if request.url.path.startswith("/static/"):
            response.headers.update(headers)
        return response
