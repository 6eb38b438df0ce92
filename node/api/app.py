"""The node's local HTTP API (README "Local API"; OpenAPI at /openapi.json).

FastAPI on hypercorn's trio worker, bound to 127.0.0.1, every request carrying
`Authorization: Bearer <token>` from the home's `api.token` (0600). Errors are
`{"error": {"code", "message"}}` with the codes used everywhere else. The CLI
talks to a running node through this API, so there is never a second writer.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from ledger.catalogue import Filters
from node.api import blobs as blob_api
from node.api import capabilities as capability_api
from node.api import doctor as doctor_api
from node.api import governance as governance_api
from node.api import jobfiles as jobfiles_api
from node.api import jobmessages as jobmessages_api
from node.api import jobs as jobs_api
from node.api import keys as keys_api
from node.api import live as live_api
from node.api import metrics as metrics_api
from node.api import names as names_api
from node.api import notifications as notifications_api
from node.api import previews as previews_api
from node.api.fields import LocalPath
from node.api.guard import LOOPBACK_HOSTS, RequestGuard
from node.runtime.events import EventHub
from node.runtime.notifications import Notifier
from node.runtime.service import NodeService
from protocol import kinds
from protocol.errors import (
    CommonsError,
    DecodeError,
    LocalMisuseError,
    RemoteFaultError,
    RuleViolationError,
    VerificationError,
)
from protocol.ids import id_from_text, id_to_text

API_PREFIX = "/api/v1"
#: Bounds of a refused request's field name and message (a name may be request text).
MAX_FIELD_CHARS = 256
MAX_MESSAGE_CHARS = 1024
log = logging.getLogger(__name__)

_STATUS = {
    DecodeError: 400,
    VerificationError: 422,
    RuleViolationError: 403,
    RemoteFaultError: 502,
    LocalMisuseError: 400,
}
_UNAVAILABLE = {"misuse.disk-full", "misuse.storage-interrupted"}
_NOT_FOUND = {
    "misuse.unknown-entry",
    "misuse.unknown-log",
    "misuse.blob-missing",
    "misuse.unknown-design",
    "misuse.unknown-lab",
    "misuse.unknown-job",
    "misuse.unknown-bid",
    "remote.blob-unavailable",
    "misuse.unknown-proposal",
    "misuse.unknown-notification",
    "misuse.unknown-file",
    "misuse.no-preview",
}


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=4096)


class SyncIn(BaseModel):
    peer: str = Field(min_length=1, max_length=128)


class ForgetIn(BaseModel):
    """A log to forget (or, with undo, to let be fetched again): specs/0003 §5.1."""

    author: str = Field(min_length=1, max_length=64)
    undo: bool = False


class NotesIn(BaseModel):
    """Several notes signed in one commit (bulk announcements, imports, tests)."""

    texts: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        min_length=1, max_length=1000
    )


class DesignIn(BaseModel):
    """Publish a design from a path on this machine (the API is local-only)."""

    path: LocalPath
    licence: str | None = Field(default=None, max_length=512)
    derived_from: list[str] = Field(default_factory=list, max_length=32)


class ImportOkhIn(BaseModel):
    paths: list[LocalPath] = Field(min_length=1, max_length=10_000)


class FetchIn(BaseModel):
    out_dir: LocalPath


class WithdrawIn(BaseModel):
    """Why the author withdraws the design (specs/0010 §7: one line, 1-1024 chars)."""

    reason: str = Field(min_length=1, max_length=1024)


class EscapedJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped. An error may echo request text, and
    JSON text may hold a lone surrogate (a \\ud800 escape) that UTF-8 cannot carry."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode()


def error_response(error: CommonsError) -> JSONResponse:
    status = 404 if error.code in _NOT_FOUND else 500
    for family, code in _STATUS.items():
        if isinstance(error, family) and status != 404:
            status = code
            break
    if error.code in _UNAVAILABLE:  # the node cannot store now: not the request's fault
        status = 507 if error.code == "misuse.disk-full" else 503
    if status >= 500:
        log.error("answered %d: %s", status, error)
    return EscapedJSONResponse({"error": error.to_json()}, status_code=status)


def invalid_request_response(error: RequestValidationError) -> JSONResponse:
    """422 `decode.bad-request` for a request that does not match the OpenAPI document
    (specs/0012 §1), naming the first field at fault. Escaped: a field name may echo
    the request's own text (a key of a map)."""
    problems = error.errors()
    first = problems[0] if problems else {}
    loc: tuple[Any, ...] = tuple(first.get("loc", ()))
    what = str(first.get("msg", "does not match the API"))
    if first.get("type") == "json_invalid" and len(loc) == 2:  # ("body", where it broke)
        what = f"not JSON ({what} at character {loc[1]})"
        loc = loc[:1]
    field = ".".join(str(part) for part in loc)[:MAX_FIELD_CHARS]
    message = f"{field or 'request'}: {what}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more)"
    refused = DecodeError("decode.bad-request", message[:MAX_MESSAGE_CHARS], field=field)
    return EscapedJSONResponse({"error": refused.to_json()}, status_code=422)


#: The API's error body, as the OpenAPI document states it for a 422 (specs/0012 §1).
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def document_errors(app: FastAPI) -> None:
    """Make the OpenAPI document say what a 422 carries: FastAPI documents its own
    `{"detail": [...]}` body, which the API never sends."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # cached by FastAPI until the routes change
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Error"] = ERROR_SCHEMA
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if "422" in responses:
                    responses["422"] = {
                        "description": "the request does not match this document "
                        "(decode.bad-request), or a record in it does not verify",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    }
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def build_app(
    service: NodeService,
    token: str,
    hub: EventHub | None = None,
    metrics: metrics_api.NodeMetrics | None = None,
    notifier: Notifier | None = None,
) -> FastAPI:
    """The API of `service`, with the live events of `hub`, the collector of
    `metrics` (none: an app built only for its OpenAPI document) and the routes of
    `notifier` (none: no notification routes)."""
    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN, which a lab's
    # machine may not reach and the dashboard's CSP forbids; /openapi.json needs the token.
    app = FastAPI(
        title="Fab Commons node",
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )

    async def authorised(request: Request) -> None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    @app.exception_handler(CommonsError)
    async def commons_error(_: Request, error: CommonsError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        code = "misuse.unauthorized" if error.status_code == 401 else f"http.{error.status_code}"
        body = {"error": {"code": code, "message": str(error.detail)}}
        return EscapedJSONResponse(body, status_code=error.status_code)

    @app.exception_handler(Exception)
    async def internal_error(_: Request, error: Exception) -> JSONResponse:
        log.exception("answered 500: %s", type(error).__name__)  # a bug: say so loudly
        body = {"error": {"code": "misuse.internal-error", "message": "the node failed"}}
        return EscapedJSONResponse(body, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return invalid_request_response(error)

    document_errors(app)

    guard = [Depends(authorised)]
    _routes(app, service, guard)
    app.include_router(governance_api.build_router(service, guard))
    app.include_router(jobs_api.router(service), dependencies=guard)
    app.include_router(jobfiles_api.router(service), dependencies=guard)
    app.include_router(jobmessages_api.router(service), dependencies=guard)
    app.include_router(capability_api.router(service), dependencies=guard)
    app.include_router(blob_api.router(service), dependencies=guard)
    app.include_router(previews_api.router(service), dependencies=guard)
    app.include_router(keys_api.router(service), dependencies=guard)
    app.include_router(names_api.router(service), dependencies=guard)
    app.include_router(doctor_api.router(service), dependencies=guard)
    if notifier is not None:
        app.include_router(notifications_api.router(notifier), dependencies=guard)
    live_api.install(app, service, guard, hub or EventHub())  # dashboard, events, uploads
    metrics_api.routes(app, service, guard, metrics)  # /healthz, /metrics
    app.add_middleware(
        RequestGuard,
        token=token,
        open_paths=live_api.OPEN_PATHS | metrics_api.OPEN_PATHS,
        open_prefixes=live_api.OPEN_PREFIXES,
        streamed=re.compile(f"{live_api.STREAMED_PATHS.pattern}|{blob_api.STREAMED_PATHS.pattern}"),
        hosts=LOOPBACK_HOSTS | {urlsplit(service.api_url).hostname or "127.0.0.1"},
    )
    return app


def _routes(app: FastAPI, service: NodeService, guard: list[Any]) -> None:
    @app.get(f"{API_PREFIX}/status", dependencies=guard)
    async def status() -> dict[str, Any]:
        return await service.status()

    @app.post(f"{API_PREFIX}/sync", dependencies=guard)
    async def sync_now(body: SyncIn) -> dict[str, Any]:
        """A sync session with a connected peer now (misuse.not-connected otherwise)."""
        return await service.peers.sync_now(body.peer)

    @app.post(f"{API_PREFIX}/notes", dependencies=guard, status_code=201)
    async def post_note(body: NoteIn) -> dict[str, Any]:
        return await service.note(body.text)

    @app.post(f"{API_PREFIX}/notes/batch", dependencies=guard, status_code=201)
    async def post_notes(body: NotesIn) -> dict[str, Any]:
        entries = await service.append_own([(kinds.NOTE, {"text": t}) for t in body.texts])
        notes = entries[len(entries) - len(body.texts) :]  # after an inception, if one was made
        return {"entry_ids": [id_to_text(e.id) for e in notes], "last_seq": entries[-1].seq}

    @app.get(f"{API_PREFIX}/ledger/entries", dependencies=guard)
    async def entries(author: str | None = None, limit: int = 1000) -> dict[str, Any]:
        who = None if author is None else id_from_text(author)
        return {"entries": await service.entries(who, max(1, min(limit, 100_000)))}

    @app.post(f"{API_PREFIX}/ledger/verify", dependencies=guard)
    async def verify() -> dict[str, Any]:
        return await service.verify()

    @app.get(f"{API_PREFIX}/ledger/proofs/{{entry_id}}", dependencies=guard)
    async def proof(entry_id: str) -> dict[str, Any]:
        return await service.prove(id_from_text(entry_id))

    @app.post(f"{API_PREFIX}/ledger/forget", dependencies=guard)
    async def forget(body: ForgetIn) -> dict[str, Any]:
        return await service.forget(id_from_text(body.author), undo=body.undo)

    @app.get(f"{API_PREFIX}/ledger/fork-proofs", dependencies=guard)
    async def fork_proofs() -> dict[str, Any]:
        return {"fork_proofs": await service.fork_proofs()}

    @app.post(f"{API_PREFIX}/blobs/{{blob_id}}/fetch", dependencies=guard)
    async def fetch_blob(blob_id: str) -> dict[str, Any]:
        return await service.fetch_blob(id_from_text(blob_id))

    @app.get(f"{API_PREFIX}/blobs/{{blob_id}}/status", dependencies=guard)
    async def blob_status(blob_id: str) -> dict[str, Any]:
        """Who holds the blob: this node, its peers (asked now), its pinners by rule."""
        return await service.blob_status(id_from_text(blob_id))

    @app.post(f"{API_PREFIX}/designs", dependencies=guard, status_code=201)
    async def publish_design(body: DesignIn) -> dict[str, Any]:
        parents = [id_from_text(p) for p in body.derived_from]
        return await service.publish_design(Path(body.path), body.licence, parents)

    @app.get(f"{API_PREFIX}/designs", dependencies=guard)
    async def search_designs(
        q: str = "",
        family: str | None = None,
        process: str | None = None,
        material: str | None = None,
        tag: str | None = None,
        limit: int = 20,
        withdrawn: bool = False,
    ) -> dict[str, Any]:
        filters = Filters(
            licence_family=family,
            process=process,
            material=material,
            tag=tag,
            include_withdrawn=withdrawn,
        )
        return {"designs": await service.search_designs(q, filters, limit)}

    @app.post(f"{API_PREFIX}/designs/import-okh", dependencies=guard)
    async def import_okh(body: ImportOkhIn) -> dict[str, Any]:
        return await service.import_okh([Path(p) for p in body.paths])

    @app.get(f"{API_PREFIX}/designs/{{design_id}}", dependencies=guard)
    async def show_design(design_id: str) -> dict[str, Any]:
        return await service.show_design(id_from_text(design_id))

    @app.post(f"{API_PREFIX}/designs/{{design_id}}/withdraw", dependencies=guard)
    async def withdraw_design(design_id: str, body: WithdrawIn) -> dict[str, Any]:
        return await service.withdraw_design(id_from_text(design_id), body.reason)

    @app.get(f"{API_PREFIX}/designs/{{design_id}}/lineage", dependencies=guard)
    async def design_lineage(design_id: str) -> dict[str, Any]:
        return await service.design_lineage(id_from_text(design_id))

    @app.get(f"{API_PREFIX}/designs/{{design_id}}/okh", dependencies=guard)
    async def design_okh(design_id: str) -> dict[str, Any]:
        return await service.export_okh(id_from_text(design_id))

    @app.post(f"{API_PREFIX}/designs/{{design_id}}/fetch", dependencies=guard)
    async def fetch_design(design_id: str, body: FetchIn) -> dict[str, Any]:
        return await service.fetch_design(id_from_text(design_id), Path(body.out_dir))
