"""`fabnode doctor`: can peers reach this node, and what to change (specs/0014 §6).

Asks the running node (GET /api/v1/doctor) and prints its report: listen and observed
addresses, reachability from peers' dial-backs, relays in use, each connection direct
or relayed, UPnP's result, then the advice. `--json` prints the report as is."""

from __future__ import annotations

import argparse
from typing import Any

from node.cli.client import NodeClient
from node.store.home import NodeHome
from protocol.errors import LocalMisuseError


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("doctor", parents=[common], help="can peers reach this node?")
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> dict[str, Any]:
    client = NodeClient.discover(NodeHome(args.home))
    if client is None:
        raise LocalMisuseError("misuse.node-not-running", f"no node is running on {args.home}")
    report: dict[str, Any] = client.call("GET", "/api/v1/doctor")
    return {**report, "_text": render(report)}


def render(report: dict[str, Any]) -> str:
    """The report as a person reads it."""

    def listed(items: list[str]) -> list[str]:
        return [f"  {item}" for item in items] or ["  (none)"]

    verdicts = [
        f"  {v['peer']}: {'reached us' if v['reached'] else 'could not reach us'} "
        f"({v['age_s']} s ago)"
        for v in report["dialbacks"]
    ]
    peers = [
        f"  {c['peer']}: {c['connection']}, {c['remote'] or '?'}" for c in report["connections"]
    ]
    lines = [
        f"peer id        {report['peer_id']}",
        "listening on",
        *listed(report["listen_addrs"]),
        "observed at (confirmed by 4 peers)",
        *listed(report["observed_addrs"]),
        "observed at (not confirmed)",
        *listed(report["observed_unconfirmed"]),
        f"reachability   {report['reachability']}",
        *(verdicts or ["  (no dial-back yet)"]),
        "relays in use (our addresses through them)",
        *listed(report["relays"]),
        "relaying for (reservations at our relay)",
        *listed(report["relaying_for"]),
        f"hole punches   {report['hole_punches']['successes']} direct of "
        f"{report['hole_punches']['attempts']} tried (DCUtR)",
        f"connections    {len(report['connections'])}",
        *peers,
        f"known peers    {report['known_peers']} (peer store)",
        f"UPnP           {report['upnp']}",
        "what to change",
        *listed(report["advice"]),
    ]
    return "\n".join(lines)
