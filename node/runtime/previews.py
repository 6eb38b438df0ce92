"""Thumbnails on a running node: drawn after a publish, or when first asked for
(specs/0010 §8).

`Previewer.thumbnail(blob_id, media_type)` gives the path of a mesh's PNG, drawing it
first if the node holds the mesh and has not drawn it; `Previewer.soon(files)` queues a
just-published design's meshes, drawn by `run` in the root nursery. One child process
draws at a time (node.ops.previews bounds it); cancelling the node kills it.
Left to others: which files belong to which design (node.ops.designs), serving (node.api).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import trio

from node.ops import previews
from node.ops.geometry import is_mesh_media_type
from node.store.blobs import BlobStore
from protocol.design import FileEntry
from protocol.errors import LocalMisuseError
from protocol.ids import id_to_text

log = logging.getLogger(__name__)
#: Meshes waiting to be drawn after publishes; past this, later ones wait for a view.
QUEUE_SIZE: Final = 256


class Previewer:
    """Draws and finds thumbnails for one home (module docstring)."""

    def __init__(self, home_path: Path, blobs: BlobStore) -> None:
        self.home_path = home_path
        self.blobs = blobs
        self._one_at_a_time = trio.Lock()
        self._send, self._receive = trio.open_memory_channel[tuple[bytes, str]](QUEUE_SIZE)
        #: Why this node cannot draw at all (no EGL/Mesa), once a child said so.
        self.unavailable: str | None = None

    def soon(self, files: Sequence[FileEntry]) -> None:
        """Queue the meshes of a design just published (never waits; a full queue
        leaves the rest to be drawn when first viewed)."""
        for f in files:
            if f.geometry is not None and is_mesh_media_type(f.media_type):
                try:
                    self._send.send_nowait((f.sha256, f.media_type))
                except trio.WouldBlock:
                    return

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async for blob_id, media_type in self._receive:
            try:
                await self.thumbnail(blob_id, media_type)
            except LocalMisuseError as e:
                log.info("no thumbnail for %s: %s", id_to_text(blob_id), e.message)

    async def thumbnail(self, blob_id: bytes, media_type: str) -> Path:
        """The mesh's PNG, drawn now if needed; LocalMisuseError misuse.no-preview
        (saying why) or misuse.blob-missing when there is none."""
        png = previews.preview_path(self.home_path, blob_id)
        if png.is_file():
            return png
        failed = previews.read_failure(png)
        if failed is not None:
            raise failed
        if not is_mesh_media_type(media_type):
            raise previews.no_preview(f"{media_type} is not a mesh this node draws")
        if self.unavailable is not None:
            raise previews.no_preview(self.unavailable)
        source = self.blobs.path_of(blob_id)
        if not self.blobs.has(blob_id):
            raise LocalMisuseError(
                "misuse.blob-missing", f"this node does not hold the mesh {id_to_text(blob_id)}"
            )
        async with self._one_at_a_time:
            if not png.is_file() and previews.read_failure(png) is None:
                await self._draw([previews.PreviewJob(source, media_type, png)])
        if png.is_file():
            return png
        raise previews.read_failure(png) or previews.no_preview(self.unavailable or "not drawn")

    async def _draw(self, jobs: list[previews.PreviewJob]) -> None:
        status: int | None = None
        output = b""
        with trio.move_on_after(previews.RENDER_TIMEOUT_S):
            done = await trio.run_process(
                previews.worker_command(),
                stdin=previews.worker_input(jobs),
                capture_stdout=True,
                capture_stderr=True,
                check=False,
                env=previews.worker_environment(),
            )
            status, output = done.returncode, done.stdout
            if status != 0:
                log.warning("the thumbnail renderer: %s", done.stderr.decode(errors="replace"))
        for result in previews.read_results(jobs, output, status):
            if result.code == "preview.no-renderer":
                self.unavailable = result.message
            previews.record(result)
