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

from ledger.inclusion import check_bundle, result_to_json
from node.cli import progress
from node.cli.client import NodeClient
from node.ops import context as operations
from node.ops.context import LedgerContext
from node.store.home import NodeHome
from protocol.errors import DecodeError, LocalMisuseError
from protocol.ids import id_from_text

MAX_PROOF_FILE_BYTES = 8 * 1024 * 1024


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
    with operations.open_local(home) as ctx:
        return local(ctx)


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("note", parents=[common], help="append a free-text note to our log")
    p.add_argument("text")
    p.set_defaults(handler=cmd_note)
    ledger = sub.add_parser("ledger", help="the node's logs").add_subparsers(metavar="ACTION")
    p = ledger.add_parser("log", parents=[common], help="list entries")
    p.add_argument("--author", help="only this identity's log (default: every log)")
    p.add_argument("--limit", type=int, default=1000, help="at most this many entries per log")
    p.set_defaults(handler=cmd_log)
    p = ledger.add_parser("verify", parents=[common], help="re-verify every stored log")
    p.set_defaults(handler=cmd_verify)
    p = ledger.add_parser("prove", help="write a self-contained inclusion proof (JSON)")
    p.add_argument("entry_id")
    p.add_argument("--json", action="store_true", help="(the proof is always JSON)")
    p.set_defaults(handler=cmd_prove)
    p = ledger.add_parser("check-proof", parents=[common], help="verify an inclusion proof")
    p.add_argument("file", type=Path)
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
    return {"entries": rows, "_text": text or "(no entries)"}


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
    verdict = "ok" if out["ok"] else f"{len(out['errors'])} problem(s)"
    out["_text"] = f"{verdict}: {out['authors']} logs, {out['entries']} entries"
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
    try:
        with args.file.open("rb") as f:
            data = f.read(MAX_PROOF_FILE_BYTES + 1)
    except OSError as e:
        raise LocalMisuseError("misuse.bad-file", f"cannot read {args.file}: {e.strerror}") from e
    if len(data) > MAX_PROOF_FILE_BYTES:
        raise DecodeError("decode.too-large", f"a proof file is at most {MAX_PROOF_FILE_BYTES}")
    try:
        bundle = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise DecodeError("decode.bad-bundle", "the proof file is not JSON") from e
    out = result_to_json(check_bundle(bundle))
    out["_text"] = (
        f"ok: entry {out['entry_id']} is seq {out['seq']} of {out['author']}'s log "
        f"(tree size {out['tree_size']}, cosigned by {len(out['cosigned_by'])} witnesses)"
    )
    return out
