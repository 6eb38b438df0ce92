"""`fabnode status`: the running node's state, through its API."""

from __future__ import annotations

import argparse
import json
from typing import Any

from node.cli.client import NodeClient
from node.i18n import _
from node.store.home import NodeHome


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("status", parents=[common], help=_("ask the running node for its state"))
    p.set_defaults(handler=cmd_status)


def cmd_status(args: argparse.Namespace) -> dict[str, Any]:
    client = NodeClient.running(NodeHome(args.home))
    out: dict[str, Any] = client.call("GET", "/api/v1/status")
    out["_text"] = json.dumps(out, indent=2)
    return out
