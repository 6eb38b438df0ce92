"""`fabnode`, the command line of a Fab Commons node (README "Command line").

Every command takes `--json` for machine-readable output. Failures print
{"error": {"code", "message", ...}} (or a line for people) and exit with 1;
a misused command line exits with 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import trio

from node.cli import blobs as blob_cli
from node.cli import capabilities as capability_cli
from node.cli import designs as design_cli
from node.cli import governance as governance_cli
from node.cli import jobs as job_cli
from node.cli import ledger as ledger_cli
from node.cli import licences as licence_cli
from node.cli import progress
from node.cli.client import NodeClient
from node.daemon import RunOptions, run_node
from node.demo import command as demo_cli
from node.net.host import peer_id_from_seed
from node.ops import context as operations
from node.store.home import NodeHome
from protocol import limits
from protocol.entry import decode_entry
from protocol.errors import CommonsError, DecodeError, LocalMisuseError
from protocol.ids import id_from_text, id_to_text
from protocol.logstate import LogHead, verify_next

Handler = Callable[[argparse.Namespace], dict[str, Any]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        result = handler(args)
    except CommonsError as e:
        _print_error(args, e)
        return 1
    status = int(result.pop("_exit", 0))
    _print_result(args, result)
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fabnode", description="Fab Commons node")
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(os.environ.get("FABNODE_HOME", Path.home() / ".fabnode")),
        help="node home folder (default: $FABNODE_HOME or ~/.fabnode)",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON")
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("init", parents=[common], help="create this node's identity")
    p.set_defaults(handler=cmd_init)
    p = sub.add_parser("id", parents=[common], help="print this node's identity")
    p.set_defaults(handler=cmd_id)

    entry = sub.add_parser("entry", help="inspect encoded entries").add_subparsers(metavar="ACTION")
    p = entry.add_parser("decode", parents=[common], help="decode and verify one entry file")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_entry_decode)

    p = sub.add_parser("run", parents=[common], help="run the node until Ctrl-C")
    p.add_argument("--api-port", type=int, default=0, help="local API port (default: any free)")
    p.add_argument("--listen", action="append", help="libp2p listen multiaddr (repeatable)")
    p.add_argument("--bootstrap", action="append", default=[], help="peer multiaddr to dial")
    p.add_argument("--mdns", action="store_true", help="find peers on the local network")
    p.add_argument("--network", help="development network name (until a charter is joined)")
    p.add_argument("--only-author", action="append", help="partial sync: only this identity's log")
    p.add_argument("--only-kind", action="append", help="partial sync: only logs with this kind")
    p.set_defaults(handler=cmd_run)
    p = sub.add_parser("status", parents=[common], help="ask the running node for its state")
    p.set_defaults(handler=cmd_status)
    ledger_cli.add_commands(sub, common)
    blob_cli.add_commands(sub, common)
    licence_cli.add_commands(sub, common)
    design_cli.add_commands(sub, common)
    governance_cli.add_commands(sub, common)
    capability_cli.add_commands(sub, common)
    job_cli.add_commands(sub, common)
    demo_cli.add_commands(sub, common)
    progress.add_commands(sub, common)
    return parser


def cmd_init(args: argparse.Namespace) -> dict[str, Any]:
    ident = NodeHome(args.home).create_identity()
    out = ident.to_json()
    out["home"] = str(args.home)
    out["_text"] = (
        f"created identity {out['identity']}\n"
        f"keep {args.home / 'keys' / 'recovery.key'} offline: it can revoke a stolen key"
    )
    return out


def cmd_id(args: argparse.Namespace) -> dict[str, Any]:
    home = NodeHome(args.home)
    ident = home.identity()
    peer_id = peer_id_from_seed(home.node_key_seed())
    return {"identity": id_to_text(ident.id), "peer_id": peer_id, "_text": id_to_text(ident.id)}


def cmd_run(args: argparse.Namespace) -> dict[str, Any]:
    home = NodeHome(args.home)
    if args.network:
        home.set_development_network(args.network)
    options = RunOptions(
        api_port=args.api_port,
        bootstrap=args.bootstrap,
        mdns=args.mdns,
        only_authors=None
        if args.only_author is None
        else [id_from_text(a) for a in args.only_author],
        only_kinds=args.only_kind,
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
            print(
                json.dumps({"ready": ready}) if args.json else f"node running: {ready}", flush=True
            )

    try:
        trio.run(main)
    except BaseExceptionGroup as group:
        single = _single_commons_error(group)
        if single is None:
            raise
        raise single from None
    return {"stopped": True, "_text": "node stopped"}


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


def cmd_status(args: argparse.Namespace) -> dict[str, Any]:
    client = NodeClient.discover(NodeHome(args.home))
    if client is None:
        raise LocalMisuseError("misuse.node-not-running", f"no node is running on {args.home}")
    out: dict[str, Any] = client.call("GET", "/api/v1/status")
    out["_text"] = json.dumps(out, indent=2)
    return out


def cmd_entry_decode(args: argparse.Namespace) -> dict[str, Any]:
    data = _read_limited(args.file, limits.MAX_ENTRY_BYTES)
    entry = decode_entry(data)
    log_checked = False
    if entry.seq == 1:  # an inception is verifiable with no other context
        verify_next(LogHead(entry.network, entry.author), entry)
        log_checked = True
    out = operations.entry_json(entry)
    out["log_checked"] = log_checked
    out["_text"] = json.dumps(out, indent=2)
    return out


def _read_limited(path: Path, limit: int) -> bytes:
    """Read at most limit+1 bytes, so an oversized file is refused before parsing."""
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise LocalMisuseError("misuse.bad-file", f"cannot read {path}: {e.strerror}") from e
    if len(data) > limit:
        raise DecodeError("decode.too-large", f"{path} is larger than {limit} bytes")
    return data


def _print_result(args: argparse.Namespace, result: dict[str, Any]) -> None:
    text = result.pop("_text", None)
    if getattr(args, "json", False) or text is None:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(text)


def _print_error(args: argparse.Namespace, error: CommonsError) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"error": error.to_json()}, indent=2, sort_keys=True))
    else:
        print(f"error [{error.code}]: {error.message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
