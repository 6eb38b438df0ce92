"""`fabnode blob …`: put files into the node's blob store and take them out again.

`add` stores a file in the home's store (`<home>/blobs`, node/store/blobs.py) through the
running node's API (node/api/blobs.py) when one runs, else directly: never two writers.
`get` copies a blob this node holds, checking its hash while copying; a running node
first fetches from peers (specs/0009-blobs.md) a blob it lacks.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from node.cli.client import NodeClient
from node.cli.storage import add_pin_commands
from node.i18n import N_, _, current, localized, ngettext
from node.store.blobs import BlobStore, check_blob_size
from node.store.home import NodeHome
from protocol.errors import LocalMisuseError
from protocol.ids import id_from_text, id_to_text


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    blob = sub.add_parser("blob", help=_("content-addressed files (designs, job files)"))
    actions = blob.add_subparsers(metavar="ACTION")
    p = actions.add_parser("add", parents=[common], help=_("store a file; print its blob id"))
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_add)
    p = actions.add_parser(
        "get",
        parents=[common],
        help=_("write a blob to a file; a running node fetches it from peers first"),
        description=(
            _(
                "Copy a blob to FILE, verifying its SHA-256 while copying. A blob this home "
                "does not hold is first fetched from peers by the running node (verified "
                "before it is kept); with no node running, only held blobs can be copied."
            )
        ),
    )
    p.add_argument("blob", metavar="HASH", help=_("the blob id (text form, 53 characters)"))
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    p.set_defaults(handler=cmd_get)
    p = actions.add_parser(
        "status",
        parents=[common],
        help=_("who holds a blob: this node, its peers, the members that pin it by rule"),
        description=(
            _(
                "Whether this node holds the blob; with a running node also which connected "
                "peers answered that they hold it (asked now, specs/0009 §12) and which "
                "members should pin it by the federation's rule (specs/0009 §13)."
            )
        ),
    )
    p.add_argument("blob", metavar="HASH", help=_("the blob id (text form, 53 characters)"))
    p.set_defaults(handler=cmd_status)
    add_pin_commands(actions, common)


def open_store(home: Path) -> BlobStore:
    """The blob store of an initialised home (misuse.no-identity otherwise)."""
    node_home = NodeHome(home)
    node_home.identity()  # refuse to create a blob folder in a mistyped --home
    return node_home.blob_store()


def cmd_add(args: argparse.Namespace) -> dict[str, Any]:
    """Through the running node (POST /api/v1/blobs), so its store has one writer; into
    the store directly when none runs. The same limit either way: the federation's."""
    home = NodeHome(args.home)
    home.identity()  # misuse.no-identity for a mistyped --home, before anything else
    if not args.file.is_file():
        raise localized(
            LocalMisuseError, "misuse.bad-file", N_("{file} is not a file"), file=args.file
        )
    client = NodeClient.discover(home)
    if client is None:
        blob_id, size = open_store(args.home).add_file(args.file)
        text = id_to_text(blob_id)
        return {"blob": text, "size": size, "_text": text}
    # The node checks the same rule; checked here first so a refused body is never sent.
    check_blob_size(args.file.stat().st_size, home.max_blob_bytes())
    added = client.send_file("POST", "/api/v1/blobs", args.file)
    return {"blob": str(added["blob"]), "size": int(added["size"]), "_text": str(added["blob"])}


def cmd_get(args: argparse.Namespace) -> dict[str, Any]:
    blob_id = id_from_text(args.blob)
    store = open_store(args.home)
    if not store.has(blob_id):
        client = NodeClient.discover(NodeHome(args.home))
        if client is None:
            raise localized(
                LocalMisuseError,
                "misuse.blob-missing",
                N_("this node does not hold {blob}; run the node to fetch it from peers"),
                blob=args.blob,
            )
        client.call("POST", f"/api/v1/blobs/{args.blob}/fetch")  # verified before kept
    size = store.export_to(blob_id, args.output)
    return {
        "blob": args.blob,
        "size": size,
        "file": str(args.output),
        "_text": ngettext("wrote {n} byte to {file}", "wrote {n} bytes to {file}", size).format(
            n=current().number(size), file=args.output
        ),
    }


def cmd_status(args: argparse.Namespace) -> dict[str, Any]:
    """Through the running node (GET /api/v1/blobs/ID/status); the store alone otherwise."""
    blob_id = id_from_text(args.blob)
    client = NodeClient.discover(NodeHome(args.home))
    if client is None:
        store = open_store(args.home)
        held = store.has(blob_id)
        out: dict[str, Any] = {
            "blob": args.blob,
            "held": held,
            "size": store.size(blob_id) if held else None,
            "peers": None,  # only a running node can ask its peers
            "pinners": None,
        }
    else:
        out = dict(client.call("GET", f"/api/v1/blobs/{args.blob}/status"))
    out["_text"] = status_text(out)
    return out


def status_text(status: dict[str, Any]) -> str:
    """`blob status` for people: one line for us, one per peer, the pinners by rule."""
    here = (
        ngettext("held here ({n} byte)", "held here ({n} bytes)", status["size"]).format(
            n=status["size"]
        )
        if status["held"]
        else _("not held here")
    )
    lines = [f"{status['blob']}: {here}"]
    peers = status.get("peers")
    if peers is None:
        lines.append(_("peers: not asked (no node running)"))
    else:
        says = {True: _("holds it"), False: _("does not hold it"), None: _("no answer")}
        proved = status.get("proved") or {}
        shown = {
            True: _("{answer} (proved)"),
            False: _("{answer} but failed the proof"),
            None: _("{answer} (proof unanswered)"),
        }
        lines += [
            _("peer {peer}: {answer}").format(
                peer=p["peer"],
                answer=shown[proved[p["peer"]]].format(answer=says[p["held"]])
                if p["peer"] in proved
                else says[p["held"]],
            )
            for p in peers
        ] or [_("no peer connected")]
    pinners = status.get("pinners")
    if pinners is not None:
        lines.append(
            _("pinned by rule by: {members}").format(members=", ".join(pinners))
            if pinners
            else _("pinned by rule by no member (no live design names it)")
        )
    return "\n".join(lines)
