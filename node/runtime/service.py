"""The running node's operations, as async methods (used by the API and the network).

The ledger lives on the storage thread: every operation runs there as one job
(`StorageThread.run`), calling the same functions the CLI runs locally
(node.ops.context). So the trio loop never blocks on SQLite or on signature
checks of a large batch, and there is exactly one writer.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import trio

from ledger.catalogue import Filters
from ledger.matching import wanted_slices
from node.ops import capabilities, designs, jobs, readiness, takedown
from node.ops import context as operations
from node.ops.capabilities import MatchPlan, MatchQuery
from node.ops.context import LedgerContext
from node.ops.doctor import DoctorReport
from node.ops.slicing import Slicer
from node.runtime.previews import Previewer
from node.runtime.storage_thread import StorageThread
from node.store.blobs import BlobStore
from node.store.diskspace import DiskSpace
from protocol import kinds
from protocol.entry import Entry
from protocol.errors import CommonsError
from protocol.ids import id_to_text

T = TypeVar("T")
IMPORT_CHUNK = 100  # manifests read per worker-thread call of an import
#: How long a match waits for peers to send design meshes it would slice (seconds).
MESH_FETCH_S = 30
NEWS_QUEUE = 256  # announcements waiting for the network; senders wait beyond it

#: (operation, done, total) of a long operation, called from the storage thread.
ProgressReport = Callable[[str, int, int], None]


@dataclass(frozen=True)
class News:
    """What the node has to tell the network: entries it signed with its new checkpoint,
    cosignatures it made as a witness. Sent through a channel (open_news) to the
    network, which cuts it into announcements (node.net.network)."""

    entries: list[bytes] = field(default_factory=list)
    checkpoint: bytes | None = None
    cosignatures: list[bytes] = field(default_factory=list)


def open_news() -> tuple[trio.MemorySendChannel[News], trio.MemoryReceiveChannel[News]]:
    return trio.open_memory_channel[News](NEWS_QUEUE)


@dataclass(frozen=True)
class LedgerRunner:
    """The ledger where it lives: `on_ledger(fn)` runs `fn(ctx)` on the storage thread."""

    storage: StorageThread
    ctx: LedgerContext

    async def on_ledger(self, fn: Callable[[LedgerContext], T]) -> T:
        return await self.storage.run(lambda _store: fn(self.ctx))


class Peers(Protocol):
    """What the service asks of the network (node.net.network.Network)."""

    #: The node's live blob store: its policy refuses blocked and withheld blobs.
    blobs: BlobStore

    def status(self) -> dict[str, Any]: ...

    async def fetch_blob(self, blob_id: bytes) -> dict[str, Any]: ...

    async def blob_status(self, blob_id: bytes) -> dict[str, Any]: ...

    async def sync_now(self, peer: str) -> dict[str, Any]: ...

    def doctor(self) -> DoctorReport: ...


class Governance(Protocol):
    """What the service asks of the governance driver (node.runtime.governance)."""

    def status(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Endpoints:
    """Where this node is reached: its libp2p peer id and addresses, its API's URL."""

    peer_id: str
    listen_addrs: list[str]
    api_url: str


@dataclass
class NodeService:
    """Built once by the composition root (node.daemon) with every collaborator."""

    runner: LedgerRunner
    news: trio.MemorySendChannel[News]
    endpoints: Endpoints
    peers: Peers
    progress: ProgressReport
    governance: Governance | None = None  # on a chartered federation (specs/0008)
    disk: DiskSpace | None = None  # the home's free space and read-only mode
    #: PrusaSlicer's command line for quotes (node.ops.slicing); None: volume quotes only.
    slicer: Slicer | None = None
    #: Draws and finds thumbnails of meshes (specs/0010 §8); None: this node draws none.
    previews: Previewer | None = None
    #: Set when the node starts stopping (node.daemon): health checks answer "not ok".
    stopping: trio.Event = field(default_factory=trio.Event)
    started_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    #: Entries this node signed into its own log through the service (a counter).
    entries_signed: int = 0

    @property
    def storage(self) -> StorageThread:
        return self.runner.storage

    @property
    def ctx(self) -> LedgerContext:
        return self.runner.ctx

    @property
    def peer_id(self) -> str:
        return self.endpoints.peer_id

    @property
    def listen_addrs(self) -> list[str]:
        return self.endpoints.listen_addrs

    @property
    def api_url(self) -> str:
        return self.endpoints.api_url

    async def on_ledger(self, fn: Callable[[LedgerContext], T]) -> T:
        """Run `fn(ctx)` on the storage thread, where the ledger lives."""
        return await self.runner.on_ledger(fn)

    async def append_own(self, items: list[tuple[str, dict[str, Any]]]) -> list[Entry]:
        """Sign into our log, then announce the entries and our new checkpoint."""

        def job(ctx: LedgerContext) -> tuple[list[Entry], list[Entry]]:
            entries = operations.append_own(ctx, items)
            return entries, entries

        return await self.signing(job)

    async def signing(self, fn: Callable[[LedgerContext], tuple[T, list[Entry]]]) -> T:
        """Run `fn(ctx)` (which signs entries into our log and returns (result,
        entries signed)) on the storage thread; announce the entries and checkpoint."""

        def job(ctx: LedgerContext) -> tuple[T, list[Entry], bytes | None]:
            result, entries = fn(ctx)
            checkpoint = ctx.ledger.latest_checkpoint(ctx.network, ctx.identity.id)
            return result, entries, None if checkpoint is None else checkpoint.text

        result, entries, checkpoint = await self.on_ledger(job)
        self.entries_signed += len(entries)
        if entries:
            await self.news.send(News([e.raw for e in entries], checkpoint))
        return result

    # -- matching and quotes: plan on the ledger, slice on a worker thread ------------------
    async def match(self, query: MatchQuery) -> dict[str, Any]:
        """POST /api/v1/match (specs/0011 §5): slicing never holds the storage thread."""
        plan = await self._plan(lambda ctx: capabilities.plan_match(ctx, query))
        return await trio.to_thread.run_sync(
            capabilities.finish_match, plan, self.slicer, abandon_on_cancel=True
        )

    async def job_candidates(self, job_id: bytes) -> dict[str, Any]:
        """The labs that can make a job, with quotes (specs/0007 §6)."""
        plan = await self._plan(lambda ctx: jobs.plan_candidates(ctx, job_id))
        return await trio.to_thread.run_sync(
            capabilities.matched, plan, self.slicer, abandon_on_cancel=True
        )

    async def _plan(self, plan: Callable[[LedgerContext], MatchPlan]) -> MatchPlan:
        """A match's plan; when a lab would slice a mesh we do not hold, we fetch it from
        peers first (for at most MESH_FETCH_S), so the quote can come from the slicer."""
        planned = await self.on_ledger(plan)
        if self.slicer is None or not planned.missing_meshes:
            return planned
        if not wanted_slices(planned.request, planned.adverts, planned.frozen):
            return planned
        with trio.move_on_after(MESH_FETCH_S):
            for blob in planned.missing_meshes:
                with contextlib.suppress(CommonsError):  # then the quote says mesh-not-held
                    await self.fetch_blob(blob)
        return await self.on_ledger(plan)

    # -- designs (node.ops.designs; file work off the storage thread) ------------------------
    async def publish_design(
        self, path: Path, licence_override: str | None, derived_from: Sequence[bytes]
    ) -> dict[str, Any]:
        prepared = await trio.to_thread.run_sync(
            designs.prepare, self.ctx.home.blobs, path, licence_override, derived_from
        )
        published = await self.signing(lambda ctx: designs.commit(ctx, prepared))
        if self.previews is not None:
            self.previews.soon(prepared.files)  # drawn in the background (specs/0010 §8)
        return published

    async def import_okh(self, paths: Sequence[Path]) -> dict[str, Any]:
        """Read the manifests in chunks (reporting progress), then sign them in one commit."""
        files = await trio.to_thread.run_sync(designs.manifest_files, paths)
        items: list[designs.ImportItem] = []
        for start in range(0, len(files), IMPORT_CHUNK):
            chunk = files[start : start + IMPORT_CHUNK]
            items += await trio.to_thread.run_sync(designs.prepare_import, chunk)
            self.progress("import", len(items), len(files))
        return await self.signing(lambda ctx: designs.commit_import(ctx, items))

    async def search_designs(
        self, query: str, filters: Filters, limit: int
    ) -> list[dict[str, Any]]:
        return await self.on_ledger(lambda ctx: designs.search(ctx, query, filters, limit))

    async def show_design(self, design_id: bytes) -> dict[str, Any]:
        return await self.on_ledger(lambda ctx: designs.show(ctx, design_id))

    async def withdraw_design(self, design_id: bytes, reason: str) -> dict[str, Any]:
        """Sign a design.withdraw of our design (specs/0010 §7)."""
        return await self.signing(lambda ctx: takedown.withdraw(ctx, design_id, reason))

    async def design_lineage(self, design_id: bytes) -> dict[str, Any]:
        return await self.on_ledger(lambda ctx: designs.lineage(ctx, design_id))

    async def export_okh(self, design_id: bytes) -> dict[str, Any]:
        return await self.on_ledger(lambda ctx: designs.export_okh(ctx, design_id))

    async def fetch_design(self, design_id: bytes, out_dir: Path) -> dict[str, Any]:
        """Write a design's files to `out_dir`, first fetching from peers what we lack."""
        files = await self.on_ledger(lambda ctx: designs.design_files(ctx, design_id))
        fetched = []
        for _, blob_id in files:
            result = await self.fetch_blob(blob_id)  # "held" when we have it already
            if result.get("status") != "held":
                fetched.append(result)
        out = await trio.to_thread.run_sync(
            designs.export_files, self.ctx.home.blobs, design_id, files, out_dir
        )
        out["fetched"] = fetched
        # The meshes' print-readiness (specs/0010 §3.3), measured off the storage thread.
        entries = await self.on_ledger(lambda ctx: designs.design_entry(ctx, design_id)[1].files)
        await trio.to_thread.run_sync(readiness.mesh_readiness, self.ctx.home, entries, True)
        return out

    async def note(self, text: str) -> dict[str, Any]:
        entry = (await self.append_own([(kinds.NOTE, {"text": text})]))[-1]
        return {
            "entry_id": id_to_text(entry.id),
            "seq": entry.seq,
            "author": id_to_text(entry.author),
        }

    async def fork_proofs(self) -> list[dict[str, Any]]:
        return await self.on_ledger(operations.fork_proofs)

    async def fetch_blob(self, blob_id: bytes) -> dict[str, Any]:
        return await self.peers.fetch_blob(blob_id)

    async def blob_status(self, blob_id: bytes) -> dict[str, Any]:
        """Who holds a blob: us, our peers, the members that pin it by rule (0009 §13)."""
        return await self.peers.blob_status(blob_id)

    async def entries(self, author: bytes | None, limit: int) -> list[dict[str, Any]]:
        return await self.on_ledger(lambda ctx: operations.list_entries(ctx, author, limit))

    async def verify(self) -> dict[str, Any]:
        report = self.progress

        def progress(done: int, total: int) -> None:
            report("verify", done, total)

        return await self.on_ledger(lambda ctx: operations.verify(ctx, progress))

    async def forget(self, author: bytes, *, undo: bool = False) -> dict[str, Any]:
        return await self.on_ledger(lambda ctx: operations.forget(ctx, author, undo=undo))

    async def prove(self, entry_id: bytes) -> dict[str, Any]:
        return await self.on_ledger(lambda ctx: operations.prove(ctx, entry_id))

    async def status(self) -> dict[str, Any]:
        heads = await self.on_ledger(operations.log_heads)
        forks = await self.on_ledger(operations.fork_proofs)
        unchecked = await self.on_ledger(lambda ctx: ctx.store.count_unchecked())
        out: dict[str, Any] = {
            "identity": id_to_text(self.ctx.identity.id),
            "peer_id": self.peer_id,
            "network": {"name": self.ctx.network_name, "id": id_to_text(self.ctx.network)},
            "listen_addrs": self.listen_addrs,
            "uptime_ms": time.time_ns() // 1_000_000 - self.started_ms,
            "logs": heads,
            "frozen_authors": sorted({f["author"] for f in forks if not f["lifted"]}),
            # entries of attested ranges whose own signature is still to be checked
            "unchecked_entries": unchecked,
            "storage": vars(self.storage.statistics()),
        }
        if self.disk is not None:
            out["disk"] = self.disk.status()
        out.update(self.peers.status())
        if self.governance is not None:
            out.update(self.governance.status())
        return out
