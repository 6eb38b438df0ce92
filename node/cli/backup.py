"""`fabnode backup FILE` and `fabnode restore FILE --home DIR` (node.store.backup).

A backup reads the home beside a running node (SQLite's online backup of the ledger),
so it needs no stop and takes no lock. A restore writes only into a new or empty
home, which then signs nothing until it has synced its own log back from a peer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from node.i18n import _, current, ngettext
from node.store.backup import restore_backup, write_backup
from node.store.home import NodeHome


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "backup", parents=[common], help=_("write the home to one file (node may run)")
    )
    p.add_argument("file", type=Path)
    p.add_argument(
        "--with-keys",
        action="store_true",
        help=_(
            "include the signing, recovery and node keys: whoever holds the file can sign as you"
        ),
    )
    p.set_defaults(handler=cmd_backup)
    p = sub.add_parser("restore", parents=[common], help=_("unpack a backup into a new --home"))
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> dict[str, Any]:
    manifest = write_backup(NodeHome(args.home), args.file, with_keys=args.with_keys)
    if args.with_keys:
        warning = _(
            "warning: {file} holds this identity's signing and recovery keys: whoever "
            "has it can sign as you. Keep it offline or encrypted."
        )
        print(warning.format(file=args.file), file=sys.stderr)
    out = _summary(manifest)
    out["file"] = str(args.file)
    tr = current()
    text = ngettext(
        "backed up {entries} entries of our log, {files} file, {bytes} bytes to {file}",
        "backed up {entries} entries of our log, {files} files, {bytes} bytes to {file}",
        out["files"],
    ).format(
        entries=tr.number(out["own_log_size"]),
        files=tr.number(out["files"]),
        bytes=tr.number(out["bytes"]),
        file=args.file,
    )
    out["_text"] = text + (" " + _("(with keys)") if args.with_keys else "")
    return out


def cmd_restore(args: argparse.Namespace) -> dict[str, Any]:
    manifest = restore_backup(args.file, NodeHome(args.home))
    out = _summary(manifest)
    out["home"] = str(args.home)
    text = _(
        "restored {file} into {home}. It signs nothing until a sync session has "
        "brought our log back from a peer: run it with --bootstrap ADDR."
    ).format(file=args.file, home=args.home)
    if not manifest["with_keys"]:
        text += " " + _("The backup holds no keys: copy keys/ in to sign.")
    out["_text"] = text
    return out


def _summary(manifest: dict[str, Any]) -> dict[str, Any]:
    members = manifest["members"].values()
    return {
        "identity": manifest["identity"],
        "own_log_size": manifest["own_log_size"],
        "with_keys": manifest["with_keys"],
        "files": len(manifest["members"]),
        "bytes": sum(m["size"] for m in members),
    }
