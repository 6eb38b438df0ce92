"""`fabnode demo` (the three-lab federation of `make run`) and `fabnode dashboard`
(the running node's dashboard URL, its token in the fragment)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from node.cli.client import NodeClient
from node.demo.federation import default_okh_folder, ready_json, ready_text, run_demo
from node.demo.lab import Lab
from node.i18n import _
from node.store.home import NodeHome


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo", parents=[common], help=_("run a seeded three-lab federation on loopback")
    )
    p.add_argument(
        "--home",
        dest="demo_home",
        type=Path,
        help=_("keep the three homes here (default: a temporary folder, removed at exit)"),
    )
    p.add_argument("--okh", type=Path, help=_("a folder of OKH-LOSH manifests to import a few of"))
    p.set_defaults(handler=cmd_demo)
    p = sub.add_parser(
        "dashboard", parents=[common], help=_("print the running node's dashboard URL")
    )
    p.set_defaults(handler=cmd_dashboard)


def cmd_demo(args: argparse.Namespace) -> dict[str, Any]:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    okh = args.okh if args.okh is not None else default_okh_folder()

    def say(text: str) -> None:
        if not args.json:
            print(text, file=sys.stderr, flush=True)

    def on_ready(labs: list[Lab], base: Path) -> None:
        if args.json:
            print(json.dumps({"ready": ready_json(labs, base)}), flush=True)
        else:
            print(ready_text(labs, base), flush=True)

    run_demo(args.demo_home, okh, say, on_ready, stop)
    return {"stopped": True, "_text": _("demo stopped")}


def cmd_dashboard(args: argparse.Namespace) -> dict[str, Any]:
    home = NodeHome(args.home)
    client = NodeClient.running(home)
    url = f"{client.url}/#token={home.api_token()}"
    return {"dashboard": url, "_text": url}
