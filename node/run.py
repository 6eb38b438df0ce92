"""`fabnode run`: start the node (node.daemon) and print its ready line.

Beside the daemon, not in node.cli: it runs the whole node in-process; the command
table imports it only when `run` runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import trio

from ledger.quota import DEFAULT_MAX_LOG_ENTRIES, DEFAULT_MAX_OTHER_ENTRIES
from node.daemon import RunOptions, run_node
from node.i18n import _
from node.logs import FORMATS, configure_logging
from node.ops.context import Quota
from node.store.diskspace import DEFAULT_MIN_FREE_BYTES, MIB
from node.store.home import NodeHome
from protocol.errors import CommonsError
from protocol.ids import id_from_text


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("run", parents=[common], help=_("run the node until Ctrl-C"))
    p.add_argument("--api-port", type=int, default=0, help=_("local API port (default: any free)"))
    p.add_argument("--listen", action="append", help=_("libp2p listen multiaddr (repeatable)"))
    p.add_argument("--bootstrap", action="append", default=[], help=_("peer multiaddr to dial"))
    p.add_argument("--mdns", action="store_true", help=_("find peers on the local network"))
    p.add_argument(
        "--upnp",
        action="store_true",
        help=_("ask the router to forward the listen port by UPnP (default: off)"),
    )
    p.add_argument("--network", help=_("development network name (until a charter is joined)"))
    p.add_argument(
        "--only-author", action="append", help=_("partial sync: only this identity's log")
    )
    p.add_argument("--only-kind", action="append", help=_("partial sync: only logs with this kind"))
    p.add_argument(
        "--no-sync-reconcile",
        dest="sync_reconcile",
        action="store_false",
        help=_("sync by the full head exchange only, as nodes before set reconciliation"),
    )
    p.add_argument(
        "--quota-log-entries",
        type=int,
        default=DEFAULT_MAX_LOG_ENTRIES,
        help=_("most entries kept of a log this node has no reason to keep"),
    )
    p.add_argument(
        "--quota-other-entries",
        type=int,
        default=DEFAULT_MAX_OTHER_ENTRIES,
        help=_("most entries kept of all such logs together"),
    )
    p.add_argument(
        "--min-free-mib",
        type=int,
        default=DEFAULT_MIN_FREE_BYTES // MIB,
        help=_("below this much free disk space (MiB) the node is read-only (default: 64)"),
    )
    p.add_argument(
        "--log-format",
        choices=FORMATS,
        help=_(
            "the log on stderr: text lines or JSON lines (default: $FABNODE_LOG_FORMAT or text)"
        ),
    )
    p.add_argument(
        "--blob-budget-mib",
        type=int,
        help=_("keep the blob store within this many MiB, evicting unused foreign blobs"),
    )
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> dict[str, Any]:
    configure_logging(args.log_format)
    home = NodeHome(args.home)
    if args.network:
        home.set_development_network(args.network)
    options = RunOptions(
        api_port=args.api_port,
        bootstrap=args.bootstrap,
        mdns=args.mdns,
        upnp=args.upnp,
        only_authors=None
        if args.only_author is None
        else [id_from_text(a) for a in args.only_author],
        only_kinds=args.only_kind,
        sync_reconcile=args.sync_reconcile,
        quota=Quota(args.quota_log_entries, args.quota_other_entries),
        min_free_bytes=args.min_free_mib * MIB,
        blob_budget_bytes=None if args.blob_budget_mib is None else args.blob_budget_mib * MIB,
    )
    if args.listen:
        options.listen = args.listen

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            service = await nursery.start(run_node, home, options)
            ready = {
                "api": service.api_url,
                "peer_id": service.peer_id,
                "listen": service.listen_addrs,
            }
            human = _("node running: {ready}").format(ready=ready)
            print(json.dumps({"ready": ready}) if args.json else human, flush=True)

    try:
        trio.run(main)
    except BaseExceptionGroup as group:
        single = _single_commons_error(group)
        if single is None:
            raise
        raise single from None
    return {"stopped": True, "_text": _("node stopped")}


def _single_commons_error(group: BaseExceptionGroup[BaseException]) -> CommonsError | None:
    """trio nurseries wrap errors in groups; a group of one of ours is just that error."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        item = pending.pop()
        if isinstance(item, BaseExceptionGroup):
            pending += item.exceptions
        else:
            leaves.append(item)
    if len(leaves) == 1 and isinstance(leaves[0], CommonsError):
        return leaves[0]
    return None
