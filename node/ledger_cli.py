"""`fabnode ledger …`: list, re-verify and prove what the node's ledger holds."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ledger.audit import audit
from ledger.inclusion import check_bundle, result_to_json
from node.home import NodeHome
from node.local import open_local
from protocol import kinds
from protocol.entry import decode_entry
from protocol.errors import DecodeError, LocalMisuseError
from protocol.ids import id_from_text, id_to_text
from protocol.jsonform import to_json

MAX_PROOF_FILE_BYTES = 8 * 1024 * 1024


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
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


def cmd_log(args: argparse.Namespace) -> dict[str, Any]:
    only = None if args.author is None else id_from_text(args.author)
    rows: list[dict[str, Any]] = []
    with open_local(NodeHome(args.home)) as node:
        for head in node.ledger.heads():
            if only is not None and head.author != only:
                continue
            for raw in node.store.read_entries(head.network, head.author, 1, args.limit + 1):
                entry = decode_entry(raw)  # stored entries were verified once; this is display
                status = kinds.check_body(entry.kind, entry.body)
                rows.append(
                    {
                        "id": id_to_text(entry.id),
                        "author": id_to_text(entry.author),
                        "seq": entry.seq,
                        "timestamp_ms": entry.timestamp_ms,
                        "kind": entry.kind,
                        "body": to_json(entry.body),
                        "body_status": status.code or "valid",
                        "revoked": head.is_revoked(entry.seq),
                    }
                )
    text = "\n".join(f"{r['author'][:12]}… {r['seq']:>6}  {r['kind']:<20} {r['id']}" for r in rows)
    return {"entries": rows, "_text": text or "(no entries)"}


def cmd_verify(args: argparse.Namespace) -> dict[str, Any]:
    show = sys.stderr.isatty() and not args.json

    def progress(done: int, total: int) -> None:
        if show and total:
            filled = done * 30 // total
            sys.stderr.write(f"\rverifying [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
            sys.stderr.flush()

    with open_local(NodeHome(args.home)) as node:
        report = audit(node.store, progress)
    if show:
        sys.stderr.write("\n")
    out: dict[str, Any] = {
        "ok": report.ok,
        "authors": report.authors,
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "fork_proofs": report.fork_proofs,
        "errors": report.errors,
    }
    verdict = "ok" if report.ok else f"{len(report.errors)} problem(s)"
    out["_text"] = f"{verdict}: {report.authors} logs, {report.entries} entries"
    out["_exit"] = 0 if report.ok else 1
    return out


def cmd_prove(args: argparse.Namespace) -> dict[str, Any]:
    with open_local(NodeHome(args.home)) as node:
        bundle = node.ledger.prove(id_from_text(args.entry_id))
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
