"""Local API routes for a job's thread (specs/0007-jobs.md §2.5, §9; node.ops.jobmessages):

    POST /api/v1/jobs/{job}/messages  {text, to, paths, upload_id} -> the job.message signed
    GET  /api/v1/jobs/{job}/thread    -> every kept message, opened when this node can

Sending plans on the storage thread, seals on a worker thread (attachments from local
paths, as `POST /sealed` reads them, or files staged with the upload routes, whose
folder is removed whatever happens), then signs on the storage thread. Reading first
fetches from peers every blob of the thread not held (a failed fetch leaves the
message to show misuse.blob-missing), then opens each message on the storage thread
(a thread is small: one HPKE open per message).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import trio
from fastapi import APIRouter
from pydantic import BaseModel, Field

from node.api.live import UPLOADS_FOLDER, upload_folder
from node.ops import jobmessages, jobs
from node.ops.context import now_ms
from node.runtime.service import NodeService
from protocol.errors import CommonsError
from protocol.ids import id_from_field, id_from_text
from protocol.jobmessage import MAX_TEXT_CHARS
from protocol.jobs import MAX_ATTACHMENTS


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    to: str | None = None
    paths: list[str] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    upload_id: str | None = Field(default=None, min_length=32, max_length=32)


def router(service: NodeService) -> APIRouter:
    routes = APIRouter(prefix="/api/v1")
    uploads = service.ctx.home.path / UPLOADS_FOLDER

    @routes.post("/jobs/{job_id}/messages", status_code=201)
    async def send(job_id: str, body: MessageIn) -> dict[str, Any]:
        job = id_from_text(job_id)
        to = None if body.to is None else id_from_field(body.to, "to")
        folder = None if body.upload_id is None else upload_folder(uploads, body.upload_id)
        try:
            plan = await service.on_ledger(lambda ctx: jobmessages.plan_message(ctx, job, to))
            paths = [Path(p) for p in body.paths]
            if folder is not None:
                staged = sorted(p for p in folder.iterdir() if not p.name.endswith(".part"))
                paths += staged
            files = await trio.to_thread.run_sync(jobmessages.read_files, paths)
            sent_ms = now_ms()
            sealed, attached = await trio.to_thread.run_sync(
                jobmessages.seal_message, service.ctx.home, plan, body.text, files, sent_ms
            )
            signed: dict[str, Any] = await service.signing(
                lambda ctx: jobmessages.sign_message(ctx, plan, sealed, attached)
            )
        finally:
            if folder is not None:
                await trio.to_thread.run_sync(shutil.rmtree, folder, True)
        return signed

    @routes.get("/jobs/{job_id}/thread")
    async def thread(job_id: str) -> dict[str, Any]:
        job = id_from_text(job_id)
        view = await service.on_ledger(lambda ctx: jobs.job_view(ctx, job))
        for blob in jobmessages.message_blobs(view):
            try:
                await service.fetch_blob(blob)  # "held" at once when we have it
            except CommonsError:
                continue  # shown on its message as misuse.blob-missing
        out: dict[str, Any] = await service.on_ledger(lambda ctx: jobmessages.thread(ctx, job))
        return out

    return routes
