"""`fabnode note` and `fabnode ledger …`: write, list, re-verify and prove the ledger.

Each command runs through the running node's API when a node is running on the
home (node.cli.client), else directly on the home (node.ops.context): one
implementation, never two writers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ledger.inclusion import (
    MAX_BUNDLE_BYTES,
    check_bundle,
    parse_bundle,
    result_to_json,
    verify_witnessed,
)
from node.cli import progress
from node.cli.client import NodeClient
from node.i18n import N_, _, localized, ngettext
from node.ops import context as operations
from node.ops.context import LedgerContext
from node.ops.files import read_bounded
from node.store.home import GOVERNANCE_FILE, NodeHome
from protocol.errors import CommonsError, LocalMisuseError
from protocol.ids import id_from_text, id_to_text


def via_node(
    args: argparse.Namespace,
    local: Callable[[LedgerContext], Any],
    method: str,
    path: str,
    body: Any = None,
    progress_of: str | None = None,
) -> Any:
    """Run a command through the home's running node, or locally if none runs. With
    `progress_of`, the node's progress of that operation is drawn on a terminal."""
    home = NodeHome(args.home)
    client = NodeClient.discover(home)
    if client is not None:
        show = progress_of is not None and sys.stderr.isatty() and not args.json
        with progress.follow(client, lambda op: op == progress_of, show):
            return client.call(method, path, body)
    with operations.open_local(home, write=method != "GET") as ctx:  # a read takes no lock
        return local(ctx)


def known_names(args: argparse.Namespace) -> dict[str, str]:
    """Id text -> name (node.ops.names) for human output; not asked for --json."""
    if getattr(args, "json", False):
        return {}
    from node.ops import names  # noqa: PLC0415 (only the commands that show names)

    found: dict[str, Any] = via_node(args, names.names_json, "GET", "/api/v1/names")
    return {str(k): str(v) for k, v in found["names"].items()}


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("note", parents=[common], help=_("append a free-text note to our log"))
    p.add_argument("text")
    p.set_defaults(handler=cmd_note)
    ledger = sub.add_parser("ledger", help=_("the node's logs")).add_subparsers(metavar="ACTION")
    p = ledger.add_parser("log", parents=[common], help=_("list entries"))
    p.add_argument("--author", help=_("only this identity's log (default: every log)"))
    p.add_argument("--limit", type=int, default=1000, help=_("at most this many entries per log"))
    p.set_defaults(handler=cmd_log)
    p = ledger.add_parser("verify", parents=[common], help=_("re-verify every stored log"))
    p.set_defaults(handler=cmd_verify)
    p = ledger.add_parser("prove", help=_("write a self-contained inclusion proof (JSON)"))
    p.add_argument("entry_id")
    p.add_argument("--json", action="store_true", help=_("(the proof is always JSON)"))
    p.set_defaults(handler=cmd_prove)
    p = ledger.add_parser(
        "forget", parents=[common], help=_("drop a log this node has no reason to keep")
    )
    p.add_argument("author", metavar="AUTHOR")
    p.add_argument("--undo", action="store_true", help=_("let the log be fetched again"))
    p.set_defaults(handler=cmd_forget)
    p = ledger.add_parser("check-proof", parents=[common], help=_("verify an inclusion proof"))
    p.add_argument("file", type=Path)
    p.add_argument(
        "--witnesses",
        type=int,
        metavar="K",
        help=_("the witnesses required (default: the home's federation's witness_count)"),
    )
    p.add_argument(
        "--require-witnesses",
        action="store_true",
        help=_("fail (verify.too-few-witnesses) unless K distinct witnesses cosigned"),
    )
    p.set_defaults(handler=cmd_check_proof)


def cmd_note(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: operations.note(ctx, args.text),
        "POST",
        "/api/v1/notes",
        {"text": args.text},
    )
    out["_text"] = out["entry_id"]
    return out


def cmd_forget(args: argparse.Namespace) -> dict[str, Any]:
    author = id_from_text(args.author)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: operations.forget(ctx, author, undo=args.undo),
        "POST",
        "/api/v1/ledger/forget",
        {"author": args.author, "undo": args.undo},
    )
    if args.undo:
        out["_text"] = _("{author} may be fetched again").format(author=args.author)
    else:
        dropped = out["entries_dropped"]
        out["_text"] = ngettext(
            "forgot {author} ({n} entry dropped)", "forgot {author} ({n} entries dropped)", dropped
        ).format(author=args.author, n=dropped)
    return out


def cmd_log(args: argparse.Namespace) -> dict[str, Any]:
    only = None if args.author is None else id_from_text(args.author)
    query = f"?limit={args.limit}" + ("" if only is None else f"&author={quote(args.author)}")
    rows: list[dict[str, Any]] = via_node(
        args,
        lambda ctx: operations.list_entries(ctx, only, args.limit),
        "GET",
        "/api/v1/ledger/entries" + query,
    )
    if isinstance(rows, dict):  # the API wraps the list
        rows = rows["entries"]
    text = "\n".join(f"{r['author'][:12]}… {r['seq']:>6}  {r['kind']:<20} {r['id']}" for r in rows)
    return {"entries": rows, "_text": text or _("(no entries)")}


def cmd_verify(args: argparse.Namespace) -> dict[str, Any]:
    show = sys.stderr.isatty() and not args.json

    def draw(done: int, total: int) -> None:
        if show and total:
            sys.stderr.write("\r" + progress.bar("verifying", done, total))
            sys.stderr.flush()

    out: dict[str, Any] = via_node(
        args,
        lambda ctx: operations.verify(ctx, draw),
        "POST",
        "/api/v1/ledger/verify",
        progress_of="verify",
    )
    if show:
        sys.stderr.write("\n")
    problems = len(out["errors"])
    verdict = (
        _("ok")
        if out["ok"]
        else ngettext("{n} problem", "{n} problems", problems).format(n=problems)
    )
    logs = ngettext("{n} log", "{n} logs", out["authors"]).format(n=out["authors"])
    entries = ngettext("{n} entry", "{n} entries", out["entries"]).format(n=out["entries"])
    out["_text"] = f"{verdict}: {logs}, {entries}"
    out["_exit"] = 0 if out["ok"] else 1
    return out


def cmd_prove(args: argparse.Namespace) -> dict[str, Any]:
    entry_id = id_from_text(args.entry_id)
    bundle: dict[str, Any] = via_node(
        args,
        lambda ctx: operations.prove(ctx, entry_id),
        "GET",
        f"/api/v1/ledger/proofs/{args.entry_id}",
    )
    args.json = True
    return bundle


def cmd_check_proof(args: argparse.Namespace) -> dict[str, Any]:
    """Verify a proof file (specs/0003 §6) and weigh its witnesses against k: `--witnesses K`,
    else the `witness_count` in force in the home's federation when the proof is of that
    network, else unknown. With `--require-witnesses`, fewer than k is an error."""
    if args.witnesses is not None and args.witnesses < 1:
        raise LocalMisuseError("misuse.bad-argument", N_("--witnesses is at least 1"))
    result = check_bundle(parse_bundle(read_bounded(args.file, MAX_BUNDLE_BYTES)))
    network = id_to_text(result.entry.network)
    required = args.witnesses if args.witnesses is not None else _federation_k(args.home, network)
    if args.require_witnesses:
        if required is None:
            raise localized(
                LocalMisuseError,
                "misuse.bad-argument",
                N_("no k known for this network: give --witnesses K"),
            )
        verify_witnessed(result, required)
    out = result_to_json(result, required)
    k = "?" if required is None else str(required)
    out["_text"] = _(
        "ok: entry {entry} is seq {seq} of {author}'s log "
        "(tree size {size}, cosigned by {witnesses} of k={k} witnesses)"
    ).format(
        entry=out["entry_id"],
        seq=out["seq"],
        author=out["author"],
        size=out["tree_size"],
        witnesses=out["witnessed_by"],
        k=k,
    )
    return out


def _federation_k(home: Path, network: str) -> int | None:
    """The witness_count in force in the home's federation (as the node last wrote it in
    governance.json, else the charter's), if the home takes part in `network`."""
    try:
        data = json.loads((Path(home) / GOVERNANCE_FILE).read_text())
        if data["network"] == network:
            return int(data["rules"]["witness_count"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        node_home = NodeHome(home)
        charter = node_home.charter()
        if charter is not None and id_to_text(node_home.network()[1]) == network:
            return charter.rules.witness_count
    except (OSError, ValueError, KeyError, TypeError, CommonsError):
        pass
    return None
