"""`fabnode run`: the node as one trio program (ARCHITECTURE §1, README "Running a node").

One root nursery holds everything: the storage thread (the only writer), the
libp2p host with gossip, sync and blobs (node.net.network), and the local HTTP API.
SIGINT/SIGTERM stop it cleanly: the API stops accepting, in-flight
commits finish (the storage thread never abandons one), files are closed.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from functools import partial
from typing import cast

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from hypercorn.typing import ASGIFramework

from node.api.app import build_app
from node.net.host import HostConfig, P2PHost, open_host
from node.net.network import Network
from node.ops.context import make_context
from node.runtime.governance import GovernanceDriver
from node.runtime.service import NodeService
from node.runtime.storage_thread import open_storage
from node.store import memory
from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol.blob import DEFAULT_MAX_BLOB_BYTES
from protocol.sync import SyncFilter


@dataclass
class RunOptions:
    api_host: str = "127.0.0.1"
    api_port: int = 0
    listen: list[str] = field(default_factory=lambda: ["/ip4/127.0.0.1/tcp/0"])
    bootstrap: list[str] = field(default_factory=list)
    mdns: bool = False
    #: Partial sync (specs/0005 §7): only these authors' logs / logs with these kinds.
    only_authors: list[bytes] | None = None
    only_kinds: list[str] | None = None


async def run_node(
    home: NodeHome,
    options: RunOptions,
    *,
    stop: trio.Event | None = None,
    task_status: trio.TaskStatus[NodeService] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run until `stop` is set, SIGINT/SIGTERM arrives or the task is cancelled.

    `task_status.started(service)` once the API is serving and api.json written.
    """
    home.identity()  # a clear error before anything is opened
    memory.tune_allocator()  # before the storage thread starts
    if stop is None:  # (an Event has no truth value in trio 0.35)
        stop = trio.Event()
    with home.writer_lock():
        async with open_storage(home.database) as storage:
            ctx = await storage.run(lambda store: make_context(home, store))
            service = NodeService(storage, ctx)
            host_config = HostConfig(
                key_seed=home.node_key_seed(),
                listen=options.listen,
                bootstrap=options.bootstrap or home.bootstrap(),
                mdns=options.mdns,
            )
            async with open_host(host_config) as host:
                network = _attach_network(service, host, home, options)
                try:
                    async with trio.open_nursery() as nursery:
                        await nursery.start(network.run)
                        if ctx.governance is not None:
                            driver = GovernanceDriver(network, ctx.governance)
                            service.governance = driver
                            await nursery.start(driver.run)
                        await _serve(nursery, service, home, options, stop)
                        task_status.started(service)
                        await stop.wait()
                        nursery.cancel_scope.cancel()
                finally:
                    home.clear_api_info()


def _attach_network(
    service: NodeService, host: P2PHost, home: NodeHome, options: RunOptions
) -> Network:
    blobs = BlobStore(home.blobs, max_blob_bytes=DEFAULT_MAX_BLOB_BYTES)
    wanted = SyncFilter(
        None if options.only_authors is None else tuple(sorted(options.only_authors)),
        None if options.only_kinds is None else tuple(sorted(options.only_kinds)),
    )
    network = Network(service, host, blobs, wanted)
    service.peer_id = host.peer_id
    service.listen_addrs = host.listen_addrs
    service.network_status = network.status
    service.announcer = network.announce
    service.blob_fetcher = lambda blob_id: network.fetch_blob(blob_id, blobs.max_blob_bytes)
    return network


async def _serve(
    nursery: trio.Nursery,
    service: NodeService,
    home: NodeHome,
    options: RunOptions,
    stop: trio.Event,
) -> None:
    app = cast(ASGIFramework, build_app(service, home.api_token()))
    serving = partial(serve, app, _api_config(options), shutdown_trigger=stop.wait)
    binds: list[str] = await nursery.start(serving)
    service.api_url = binds[0]
    home.write_api_info(binds[0], os.getpid())
    await nursery.start(_stop_on_signals, stop)  # installed before we say we are ready


def _api_config(options: RunOptions) -> Config:
    config = Config()
    config.bind = [f"{options.api_host}:{options.api_port}"]
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
