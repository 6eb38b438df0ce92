"""`fabnode join NETWORK_ID --bootstrap MULTIADDR`: adopt a federation's charter,
fetched from one of its nodes over libp2p (specs/0008 §1.3).

It lives beside the daemon, not in node.cli, because it runs a libp2p host in the
command itself; the command table imports it only when `join` runs.
"""

from __future__ import annotations

import argparse
from typing import Any

import trio

from node.cli.governance import charter_out, refuse_running
from node.i18n import N_, _, localized
from node.net.charter import fetch_charter_from
from node.store.home import NodeHome
from protocol.errors import LocalMisuseError
from protocol.ids import id_from_text

JOIN_TIMEOUT_S = 60.0


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("join", parents=[common], help=_("join a federation by its network id"))
    p.add_argument("network_id", metavar="NETWORK_ID")
    p.add_argument("--bootstrap", action="append", required=True, metavar="MULTIADDR")
    p.set_defaults(handler=cmd_join)


def cmd_join(args: argparse.Namespace) -> dict[str, Any]:
    network = id_from_text(args.network_id)
    home = NodeHome(args.home)
    refuse_running(home)
    seed = home.node_key_seed() if home.exists() else None
    if seed is None:
        why = N_("no identity in {home}; run init")
        raise localized(LocalMisuseError, "misuse.no-identity", why, home=home.path)
    charter = trio.run(fetch_charter_from, seed, list(args.bootstrap), network, JOIN_TIMEOUT_S)
    home.adopt_charter(charter, list(args.bootstrap))
    out = charter_out(home)
    joined = _("joined {name} ({network}); now run `fabnode run`")
    out["_text"] = joined.format(name=charter.name, network=args.network_id)
    return out
