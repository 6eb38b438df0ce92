"""`fabnode doctor`: can peers reach this node, and what to change (specs/0014 §6).

Asks the running node (GET /api/v1/doctor) and prints its report: listen and observed
addresses, reachability from peers' dial-backs, relays in use, each connection direct
or relayed, UPnP's result, then the advice. `--json` prints the report as is."""

from __future__ import annotations

import argparse
from typing import Any

from node.cli.client import NodeClient
from node.i18n import _, aligned
from node.ops.doctor import ADVICE, UPNP
from node.store.home import NodeHome


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("doctor", parents=[common], help=_("can peers reach this node?"))
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> dict[str, Any]:
    client = NodeClient.running(NodeHome(args.home))
    report: dict[str, Any] = client.call("GET", "/api/v1/doctor")
    return {**report, "_text": render(report)}


def render(report: dict[str, Any]) -> str:
    """The report as a person reads it."""

    def listed(items: list[str]) -> list[str]:
        return [f"  {item}" for item in items] or ["  " + _("(none)")]

    def verdict(v: dict[str, Any]) -> str:
        text = _("{peer}: reached us ({age} s ago)") if v["reached"] else None
        text = text or _("{peer}: could not reach us ({age} s ago)")
        return "  " + text.format(peer=v["peer"], age=v["age_s"])

    verdicts = [verdict(v) for v in report["dialbacks"]]
    peers = [
        f"  {c['peer']}: {c['connection']}, {c['remote'] or '?'}" for c in report["connections"]
    ]
    punches = report["hole_punches"]
    peer_id, reachability, hole_punches, connections, known, upnp = aligned(
        [
            (_("peer id"), report["peer_id"]),
            (_("reachability"), report["reachability"]),
            (
                _("hole punches"),
                _("{ok} direct of {tried} tried (DCUtR)").format(
                    ok=punches["successes"], tried=punches["attempts"]
                ),
            ),
            (_("connections"), str(len(report["connections"]))),
            (_("known peers"), _("{n} (peer store)").format(n=report["known_peers"])),
            ("UPnP", _upnp(report)),
        ],
        min_width=13,
    )
    lines = [
        peer_id,
        _("listening on"),
        *listed(report["listen_addrs"]),
        _("observed at (confirmed by 4 peers)"),
        *listed(report["observed_addrs"]),
        _("observed at (not confirmed)"),
        *listed(report["observed_unconfirmed"]),
        reachability,
        *(verdicts or ["  " + _("(no dial-back yet)")]),
        _("relays in use (our addresses through them)"),
        *listed(report["relays"]),
        _("relaying for (reservations at our relay)"),
        *listed(report["relaying_for"]),
        hole_punches,
        connections,
        *peers,
        known,
        upnp,
        _("what to change"),
        *listed([_advice(item, english) for item, english in _advice_pairs(report)]),
    ]
    return "\n".join(lines)


def _upnp(report: dict[str, Any]) -> str:
    """UPnP's result in the reader's language (node.ops.doctor.UPNP); a node before
    upnp_status, or a code this CLI does not know, in the node's English."""
    status: dict[str, Any] | None = report.get("upnp_status")
    template = None if status is None else UPNP.get(status["code"])
    if status is None or template is None:
        return str(report["upnp"])
    return _(template).format(ip=status.get("external_ip") or "?", port=status.get("port") or "?")


def _advice_pairs(report: dict[str, Any]) -> list[tuple[dict[str, Any] | None, str]]:
    english: list[str] = report["advice"]
    items: list[dict[str, Any]] = report.get("advice_items") or []
    if len(items) != len(english):  # a node before advice_items: its sentences as they are
        return [(None, text) for text in english]
    return list(zip(items, english, strict=True))


def _advice(item: dict[str, Any] | None, english: str) -> str:
    """One piece of advice in the reader's language (node.ops.doctor.ADVICE); a code
    this CLI does not know (a newer node's) in the node's English."""
    template = None if item is None else ADVICE.get(item["code"])
    if item is None or template is None:
        return english
    return _(template).format(**item.get("params", {}))
