"""`fabnode run`: the node as one trio program (docs/architecture.md §1, README "Running a node").

One root nursery holds everything: the storage thread (the only writer), the
libp2p host with gossip, sync and blobs (node.net.network), and the local HTTP API.
SIGINT/SIGTERM stop it cleanly: the API stops accepting, in-flight
commits finish (the storage thread never abandons one), files are closed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import cast

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from hypercorn.typing import ASGIFramework

from node.lazyapp import Asgi, LazyApp
from node.net.discovery import Discovery
from node.net.host import HostConfig, open_host
from node.net.network import Network
from node.ops import keys
from node.ops.context import LedgerContext, Quota, make_context
from node.ops.slicing import slicer_from_env
from node.ops.storage import collect_garbage
from node.ops.takedown import blob_policy
from node.runtime.deferred_checks import serve_deferred_checks
from node.runtime.events import EventHub
from node.runtime.governance import GovernanceDriver, max_blob_bytes
from node.runtime.notifications import Notifier, open_tap
from node.runtime.previews import Previewer
from node.runtime.service import Endpoints, LedgerRunner, NodeService, open_news
from node.runtime.storage_thread import StorageThread, open_storage
from node.store import memory
from node.store.blobs import BlobStore
from node.store.diskspace import DEFAULT_MIN_FREE_BYTES, MIB, DiskSpace
from node.store.home import NodeHome
from node.store.logs import SqliteLogStore
from node.store.notifications import STORE_FILE, NotificationStore, load_settings
from node.store.peers import PeerStore
from protocol.entry import Entry
from protocol.errors import LocalMisuseError
from protocol.keys import SigningKey
from protocol.sync import SyncFilter

log = logging.getLogger(__name__)

#: How long a stopping node lets the storage thread finish its job before aborting it.
STOP_GRACE_S = 3.0
#: How long a starting node waits for a command that holds the home's writer lock (a
#: local write: seconds at most) before it gives up with misuse.home-busy.
WRITER_WAIT_S = 15.0
#: How often a node with a blob budget collects (node.ops.storage).
GC_INTERVAL_S = 600.0
#: How often the blob policy (blocklist, withdrawn designs' files) is recomputed.
TAKEDOWN_INTERVAL_S = 1.0
#: How often the node measures its disk's free space (node.store.diskspace).
DISK_CHECK_S = 5.0


@dataclass
class RunOptions:
    api_host: str = "127.0.0.1"
    api_port: int = 0
    listen: list[str] = field(default_factory=lambda: ["/ip4/127.0.0.1/tcp/0"])
    bootstrap: list[str] = field(default_factory=list)
    mdns: bool = False
    #: Map the listen port at the lab's router by UPnP (specs/0014 §6.1); off by default.
    upnp: bool = False
    #: Partial sync (specs/0005 §7): only these authors' logs / logs with these kinds.
    only_authors: list[bytes] | None = None
    only_kinds: list[str] | None = None
    #: Offer set reconciliation of heads to peers (specs/0005 §8.1); False forces the
    #: full head exchange with every peer.
    sync_reconcile: bool = True
    #: What it keeps of logs it has no reason to keep (ledger.quota).
    quota: Quota = field(default_factory=Quota)
    #: Below this much free space on the home's disk the node is read-only.
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES
    #: Keep the blob store within this many bytes (node.ops.storage); None: no limit.
    blob_budget_bytes: int | None = None


async def run_node(
    home: NodeHome,
    options: RunOptions,
    *,
    stop: trio.Event | None = None,
    task_status: trio.TaskStatus[NodeService] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run until `stop` is set, SIGINT/SIGTERM arrives or the task is cancelled.

    `task_status.started(service)` once the API is serving and api.json written.

    The composition root: every collaborator is built here, in order, and handed to
    those that use it; nothing is filled in after construction. News (what the node
    signs or cosigns) travels from the service and the governance driver to the
    network through one channel.
    """
    home.identity()  # a clear error before anything is opened
    memory.tune_allocator()  # before the storage thread starts
    if stop is None:  # (an Event has no truth value in trio 0.35)
        stop = trio.Event()
    hub = EventHub(token=trio.lowlevel.current_trio_token())
    on_committed, committed = _commit_hook(hub)  # the event stream's and the notifier's
    disk = DiskSpace(home.path, options.min_free_bytes)
    disk.start()  # before any database is opened: a full disk gives back the reserve
    # a node already running on the home: refused at once; a short command: waited for
    wait_s = 0.0 if home.running_node_info() is not None else WRITER_WAIT_S
    with home.writer_lock(wait_s), _api_socket(options) as api_socket:
        async with _open_storage(home, disk) as storage:
            ctx = await storage.run(
                lambda store: make_context(home, store, on_committed, options.quota)
            )
            refused = await storage.run(lambda _: keys.settle_on_start(ctx))
            if refused is not None:
                log.warning('%s (README "Our signing key was stolen")', refused)
            runner = LedgerRunner(storage, ctx)
            news_send, news_receive = open_news()
            blobs = BlobStore(
                home.blobs,
                max_blob_bytes=max_blob_bytes(ctx.governance),
                policy=await runner.on_ledger(blob_policy),
            )
            async with open_host(_host_config(home, options)) as host:
                view = ctx.governance
                network = Network(
                    runner,
                    host,
                    blobs,
                    news_receive,
                    progress=hub.from_thread_progress,
                    max_blob_bytes=functools.partial(max_blob_bytes, view),
                    wanted=_wanted(options),
                    charter=None if view is None else view.charter,
                    discovery=Discovery(  # its peer store closes when network.run ends
                        host,
                        PeerStore.in_home(home.path, ctx.network),
                        SigningKey(home.node_key_seed()),
                    ),
                    reconcile=options.sync_reconcile,
                    upnp=options.upnp,
                )
                driver = None if view is None else GovernanceDriver(runner, view, news_send)
                endpoints = Endpoints(host.peer_id, host.listen_addrs, _url_of(api_socket))
                service = NodeService(
                    runner,
                    news_send,
                    endpoints,
                    network,
                    hub.from_thread_progress,
                    driver,
                    disk,
                    slicer=slicer_from_env(home.path),
                    stopping=stop,
                    previews=Previewer(home.path, blobs),  # thumbnails (specs/0010 §8)
                )
                notifier = _notifier(home, runner, committed, hub, service.api_url)
                try:
                    async with trio.open_nursery() as nursery:
                        await nursery.start(_watch_disk, disk, storage, blobs, network)
                        _start_upkeep(
                            nursery, runner, blobs, service.previews, options.blob_budget_bytes
                        )
                        await nursery.start(network.run)
                        if driver is not None:
                            await nursery.start(driver.run)
                        await nursery.start(notifier.run)
                        app = LazyApp()  # the API is built after the ready line
                        await _serve(nursery, app, api_socket, stop)
                        home.write_api_info(service.api_url, os.getpid())
                        await nursery.start(_stop_on_signals, stop)  # before we say ready
                        task_status.started(service)
                        make = partial(_build_api, service, home.api_token(), hub, network,
                                       blobs, driver, notifier)  # fmt: skip
                        await app.build(make)
                        await stop.wait()
                        _interrupt_later(storage, ctx.catalogue.interrupt)
                        nursery.cancel_scope.cancel()
                finally:
                    home.clear_api_info()
                    notifier.store.close()


def _commit_hook(
    hub: EventHub,
) -> tuple[Callable[[Sequence[Entry]], None], trio.MemoryReceiveChannel[list[Entry]]]:
    """The ledger's commit hook: the live event stream, then the notifier's tap (both
    hand the batch to the loop and return at once); and the tap's receiving end."""
    tap, committed = open_tap(trio.lowlevel.current_trio_token())

    def on_committed(entries: Sequence[Entry]) -> None:
        hub.from_thread_committed(entries)
        tap.from_thread_committed(entries)

    return on_committed, committed


def _notifier(
    home: NodeHome,
    runner: LedgerRunner,
    committed: trio.MemoryReceiveChannel[list[Entry]],
    hub: EventHub,
    api_url: str,
) -> Notifier:
    """The notification engine over `notifications.sqlite3` and `notify.json`."""
    store = NotificationStore(home.path / STORE_FILE)
    return Notifier(runner, committed, store, hub, home.path, load_settings(home.path), api_url)


@contextlib.asynccontextmanager
async def _open_storage(home: NodeHome, disk: DiskSpace) -> AsyncIterator[StorageThread]:
    """The ledger's storage thread; on a full disk with no reserve left to give back,
    a failure to open says what to do (SQLite cannot open a WAL database without room
    for its index)."""
    opened = False
    try:
        async with open_storage(home.database) as storage:
            opened = True
            yield storage
    except LocalMisuseError as e:
        if opened or not disk.full or e.code not in ("misuse.storage-failed", "misuse.disk-full"):
            raise
        raise LocalMisuseError(
            "misuse.disk-full",
            f"the disk holding {home.path} is full ({disk.last_free_bytes // MIB} MiB free) "
            f"and no reserve was left to give back: free some space, then start again ({e})",
        ) from e


async def _collect_blobs(runner: LedgerRunner, blobs: BlobStore, budget_bytes: int) -> None:
    """Keep the blob store within the operator's budget: a collection at start, then
    every GC_INTERVAL_S (node.ops.storage: own, job, pinned, rule and recent blobs stay)."""
    while True:
        done = await runner.on_ledger(lambda ctx: collect_garbage(ctx, blobs, budget_bytes))
        if done.evicted:
            log.info(
                "evicted %d blobs (%d bytes)", len(done.evicted), sum(n for _, n in done.evicted)
            )
        if done.kept_bytes > budget_bytes:
            log.warning(
                "blobs hold %d bytes, over the budget of %d: the rest is own, job, pinned, rule or "
                "recent",
                done.kept_bytes,
                budget_bytes,
            )
        await trio.sleep(GC_INTERVAL_S)


def _start_upkeep(
    nursery: trio.Nursery,
    runner: LedgerRunner,
    blobs: BlobStore,
    previews: Previewer | None,
    budget_bytes: int | None,
) -> None:
    """The node's background upkeep: takedowns applied, the deferred signature checks of
    attested ranges (specs/0003 §4.2), thumbnails drawn after publishes, blobs collected
    within their budget if one is set."""
    nursery.start_soon(_apply_takedowns, runner, blobs)
    nursery.start_soon(serve_deferred_checks, runner)
    if previews is not None:
        nursery.start_soon(previews.run)
    if budget_bytes is not None:
        nursery.start_soon(_collect_blobs, runner, blobs, budget_bytes)


async def _apply_takedowns(runner: LedgerRunner, blobs: BlobStore) -> None:
    """Keep the blob store's policy current (node.ops.takedown) and delete every
    blocked blob it holds, each second (specs/0009 §9)."""
    purged: frozenset[bytes] = frozenset()
    seen: object = None
    while True:
        # The policy derives every job we are party to: only when what it reads changed
        # (a commit, or a governance state taking effect), not every second.
        inputs = await runner.on_ledger(_takedown_inputs)
        if inputs == seen:
            await trio.sleep(TAKEDOWN_INTERVAL_S)
            continue
        seen = inputs
        blobs.policy = await runner.on_ledger(blob_policy)
        if blobs.policy.blocked != purged:
            purged = blobs.policy.blocked
            gone = await trio.to_thread.run_sync(_purge, blobs, purged)
            if gone:
                log.warning("deleted %d blocked blobs", len(gone))
        await trio.sleep(TAKEDOWN_INTERVAL_S)


def _takedown_inputs(ctx: LedgerContext) -> tuple[int, frozenset[bytes]]:
    """What the blob policy depends on: the entries held (by count: logs only grow, and
    a forgotten log changes the count) and the blocklist in force."""
    view = ctx.governance
    state = None if view is None else view.state
    return sum(h.size for h in ctx.ledger.heads()), frozenset() if state is None else state.blocked


def _purge(blobs: BlobStore, blocked: frozenset[bytes]) -> list[bytes]:
    return [b for b in sorted(blocked) if blobs.purge(b)]


async def _watch_disk(
    disk: DiskSpace,
    storage: StorageThread,
    blobs: BlobStore,
    network: Network,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Apply the disk's mode now, then measure every DISK_CHECK_S: while it is full the
    ledger and the blob store refuse writes (misuse.disk-full) and the network fetches
    nothing; when space is freed the node writes again, without a restart."""

    async def apply() -> None:
        refusal = disk.refusal()

        def set_refusal(store: SqliteLogStore) -> None:
            store.write_refusal = refusal

        await storage.run(set_refusal)
        blobs.write_refusal = refusal
        network.read_only = disk.full
        if refusal is not None:
            log.warning("%s", refusal.message)

    await apply()
    task_status.started()
    while True:
        await trio.sleep(DISK_CHECK_S)
        if await trio.to_thread.run_sync(disk.check):
            await apply()
            if not disk.full:
                log.warning("the disk has room again: the node writes again")


def _interrupt_later(storage: StorageThread, *others: Callable[[], None]) -> None:
    """If the storage thread still runs a job STOP_GRACE_S after the stop, abort its SQL
    (StorageThread.interrupt), again every second (an interrupt reaches only the
    statement running): stopping never waits on what a peer asked for."""

    def keep_interrupting() -> None:
        while True:
            with contextlib.suppress(Exception):  # a connection closed meanwhile: done
                storage.interrupt(*others)
            time.sleep(1.0)

    timer = threading.Timer(STOP_GRACE_S, keep_interrupting)
    timer.daemon = True  # gone with the process, whatever it finds
    timer.start()


def _host_config(home: NodeHome, options: RunOptions) -> HostConfig:
    return HostConfig(
        key_seed=home.node_key_seed(),
        listen=options.listen,
        bootstrap=options.bootstrap or home.bootstrap(),
        mdns=options.mdns,
    )


def _wanted(options: RunOptions) -> SyncFilter:
    return SyncFilter(
        None if options.only_authors is None else tuple(sorted(options.only_authors)),
        None if options.only_kinds is None else tuple(sorted(options.only_kinds)),
    )


@contextmanager
def _api_socket(options: RunOptions) -> Iterator[socket.socket]:
    """The API's listening socket, bound before anything is built, so its URL is known
    to the service from the start (hypercorn serves it by its descriptor)."""
    try:
        sock = socket.create_server((options.api_host, options.api_port))
    except OSError as e:
        where = f"{options.api_host}:{options.api_port}"
        raise LocalMisuseError("misuse.api-port-busy", f"cannot listen on {where}: {e}") from e
    with sock:
        yield sock


def _url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


def _build_api(
    service: NodeService,
    token: str,
    hub: EventHub,
    network: Network,
    blobs: BlobStore,
    driver: GovernanceDriver | None,
    notifier: Notifier,
) -> Asgi:
    """The local API (node.api.app) and its metrics; imported here, not at start-up."""
    from node.api.app import build_app  # noqa: PLC0415 (after the ready line: ~0.2 s)
    from node.api.metrics import NodeMetrics  # noqa: PLC0415

    metrics = NodeMetrics(service, network, blobs, driver)
    return cast(Asgi, build_app(service, token, hub, metrics, notifier))


async def _serve(
    nursery: trio.Nursery, app: LazyApp, api_socket: socket.socket, stop: trio.Event
) -> None:
    config = _api_config(api_socket)
    serving = partial(serve, cast(ASGIFramework, app), config, shutdown_trigger=stop.wait)
    await nursery.start(serving)


def _api_config(api_socket: socket.socket) -> Config:
    config = Config()
    config.bind = [f"fd://{os.dup(api_socket.fileno())}"]  # hypercorn closes its own
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 2.0
    return config


async def _stop_on_signals(
    stop: trio.Event, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Set `stop` on SIGINT or SIGTERM (only possible in the main thread); reports
    started only once the handler is in place, so no early signal is lost."""
    try:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            task_status.started()
            async for _ in signals:
                stop.set()
                return
    except RuntimeError:  # not the main thread: the caller stops us through `stop`
        task_status.started()
        await trio.sleep_forever()
