"""Local API routes for a job's private files, as the dashboard uses them
(specs/0007-jobs.md §2.4, §9; node.ops.jobfiles):

    POST /api/v1/jobs/{job}/files/sealed   {"upload_id"} -> the job.files entry signed
    GET  /api/v1/jobs/{job}/blobs/{blob}   -> the file's bytes (application/octet-stream)

The page stages plaintext files through the dashboard's upload path (node.api.live:
`POST /api/v1/uploads`, `PUT …/files/{name}`), never into the blob store, which peers
fetch from. The first route seals each staged file on this node to the awarded lab's
advertised key and to our own, stores the sealed bytes as blobs, signs one `job.files`
naming them, and removes the staging folder whatever happens. The second returns a
blob the job names: a sealed file opened with this node's key (the lab's, or the
customer's own), a dispute's evidence as stored; it fetches the blob from peers first
when it is not held. Crypto and files run on a worker thread.
"""

from __future__ import annotations

import shutil
from typing import Any

import trio
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from node.api.live import UPLOADS_FOLDER, upload_folder
from node.ops import jobfiles, jobs, sealing
from node.ops.context import LedgerContext
from node.runtime.service import NodeService
from protocol.capability import SealKey
from protocol.errors import JobError
from protocol.ids import id_from_text, id_to_text

PREFIX = "/api/v1"


class SealUploadIn(BaseModel):
    upload_id: str = Field(min_length=32, max_length=32)


def router(service: NodeService) -> APIRouter:
    routes = APIRouter(prefix=PREFIX)
    uploads = service.ctx.home.path / UPLOADS_FOLDER

    @routes.post("/jobs/{job_id}/files/sealed", status_code=201)
    async def seal_upload(job_id: str, body: SealUploadIn) -> dict[str, Any]:
        job = id_from_text(job_id)
        folder = upload_folder(uploads, body.upload_id)
        home = service.ctx.home
        try:
            key = await service.on_ledger(lambda ctx: _customer_key(ctx, job))
            names = sorted(p.name for p in folder.iterdir() if not p.name.endswith(".part"))
            if not names:
                raise JobError("job.files-not-sealed", "no file in the upload")
            sealed = []
            for name in names:
                out = await trio.to_thread.run_sync(sealing.seal_to_blob, home, folder / name, key)
                sealed.append({"name": name, **out})
            blobs = [id_from_text(s["blob"]) for s in sealed]
            signed = await service.signing(lambda ctx: jobs.attach_files(ctx, job, blobs))
        finally:
            await trio.to_thread.run_sync(shutil.rmtree, folder, True)
        return {**signed, "sealed": sealed}

    @routes.get("/jobs/{job_id}/blobs/{blob_id}", response_class=Response)
    async def job_blob(job_id: str, blob_id: str) -> Response:
        job, blob = id_from_text(job_id), id_from_text(blob_id)
        view = await service.on_ledger(lambda ctx: jobs.job_view(ctx, job))
        is_file = jobfiles.check_named(view, blob)
        await service.fetch_blob(blob)  # "held" at once when we have it
        data = await trio.to_thread.run_sync(jobfiles.job_blob, service.ctx.home, blob, is_file)
        name = f"{id_to_text(blob)[:16]}.bin"
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return routes


def _customer_key(ctx: LedgerContext, job: bytes) -> SealKey:
    """The awarded lab's key, for the customer only (job.not-party, job.out-of-turn)."""
    view = jobs.job_view(ctx, job)
    if ctx.identity.id != view.customer:
        raise JobError("job.not-party", "only the customer attaches files")
    return jobfiles.job_lab_key(ctx, view)
