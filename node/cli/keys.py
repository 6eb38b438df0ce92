"""`fabnode key show|rotate|revoke`: this identity's keys (README "Keys", and the runbook
"Our signing key was stolen"; node.ops.keys).

Through the running node when one runs on the home, else on the home directly. The
recovery key file of `revoke` is only read (from offline storage, e.g. a USB stick):
never copied into the home; through a running node its text goes over the local,
token-protected API, which does not keep it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from node.cli.ledger import via_node
from node.i18n import _, aligned, message
from node.ops import keys
from node.ops.files import read_bounded
from node.store.home import MAX_KEY_FILE_BYTES


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    key = sub.add_parser("key", help=_("this identity's keys")).add_subparsers(metavar="ACTION")
    p = key.add_parser("show", parents=[common], help=_("the signing key in force and its history"))
    p.set_defaults(handler=cmd_show)
    p = key.add_parser(
        "rotate", parents=[common], help=_("sign a key.rotate: a new signing key from the next seq")
    )
    p.set_defaults(handler=cmd_rotate)
    p = key.add_parser(
        "revoke",
        parents=[common],
        help=_("with the recovery key: void what a stolen key signed, put a new key in force"),
    )
    p.add_argument("--recovery-key", type=Path, required=True, metavar="FILE")
    p.add_argument(
        "--from-seq", type=int, required=True, metavar="N", help=_("the first seq the thief signed")
    )
    p.set_defaults(handler=cmd_revoke)


def cmd_show(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = via_node(args, keys.show, "GET", "/api/v1/keys")
    since = _("(in force since seq {seq})").format(seq=out["since_seq"])
    lines = aligned(
        [
            (_("identity"), out["identity"]),
            (_("signing key"), f"{out['signing_key']} {since}"),
            (_("recovery key"), out["recovery_key"]),
        ],
        gap=1,
    )
    lines.append(_("history:"))
    for event in out["history"]:
        void = event.get("void")
        voids = _(", voids seqs {start}..{end}")
        extra = voids.format(start=void[0], end=void[1] - 1) if void and void[0] < void[1] else ""
        lines.append(
            f"  seq {event['seq']:>6}  {event['kind']:<18} {event['entry_id']}  "
            f"-> {event['signing_key'][:16]}…{extra}"
        )
    if not out["history"]:
        lines.append("  " + _("(no log yet: the inception is signed with the first entry)"))
    lines += [_("warning: {text}").format(text=message(w)) for w in out["warnings"]]
    out["_text"] = "\n".join(lines)
    return out


def cmd_rotate(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = via_node(
        args, lambda ctx: keys.rotate(ctx)[0], "POST", "/api/v1/keys/rotate", {}
    )
    text = _("rotated at seq {seq}: signing key {key}")
    out["_text"] = text.format(seq=out["seq"], key=out["signing_key"])
    return out


def cmd_revoke(args: argparse.Namespace) -> dict[str, Any]:
    text = read_key_file(args.recovery_key)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: keys.revoke(ctx, text, args.from_seq)[0],
        "POST",
        "/api/v1/keys/revoke",
        {"recovery_key": text, "from_seq": args.from_seq},
    )
    start, end = out["void"]
    out["_text"] = _(
        "revoked at seq {seq}: seqs {start}..{end} are void; "
        "new signing key {key}. Put the recovery key back offline."
    ).format(seq=out["seq"], start=start, end=end - 1, key=out["signing_key"])
    return out


def read_key_file(path: Path) -> str:
    """A key file's text, bounded; misuse.bad-file if it cannot be read."""
    return read_bounded(path, MAX_KEY_FILE_BYTES).decode("utf-8", errors="replace")
