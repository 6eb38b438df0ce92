"""`fabnode init` and `fabnode id`: this home's identity (no server, no libp2p: the
peer id is computed by node.store.peerid)."""

from __future__ import annotations

import argparse
from typing import Any

from node.i18n import _
from node.store.home import NodeHome
from node.store.peerid import peer_id_from_seed
from protocol.ids import id_to_text


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("init", parents=[common], help=_("create this node's identity"))
    p.set_defaults(handler=cmd_init)
    p = sub.add_parser("id", parents=[common], help=_("print this node's identity"))
    p.set_defaults(handler=cmd_id)


def cmd_init(args: argparse.Namespace) -> dict[str, Any]:
    ident = NodeHome(args.home).create_identity()
    out = ident.to_json()
    out["home"] = str(args.home)
    out["_text"] = "\n".join(
        [
            _("created identity {identity}").format(identity=out["identity"]),
            _("keep {file} offline: it can revoke a stolen key").format(
                file=args.home / "keys" / "recovery.key"
            ),
        ]
    )
    return out


def cmd_id(args: argparse.Namespace) -> dict[str, Any]:
    home = NodeHome(args.home)
    ident = home.identity()
    peer_id = peer_id_from_seed(home.node_key_seed())
    return {"identity": id_to_text(ident.id), "peer_id": peer_id, "_text": id_to_text(ident.id)}
