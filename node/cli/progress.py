"""Progress of a running node's long operations, on a terminal (README "Command line").

The node reports long operations (ledger verification, OKH import, sync sessions) as
`progress` events on its event stream (`GET /api/v1/events`, node/api/live.py). A CLI
command that asks the running node to do such work follows that stream on a thread
while its request runs and draws a bar on standard error (`follow`); `fabnode watch`
draws every operation's bar until Ctrl-C. Only when standard error is a terminal and
the output is not JSON: scripts see nothing of it.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import IO, Any

from node.cli.client import NodeClient
from node.i18n import N_, _, localized, ngettext
from node.store.home import NodeHome
from protocol.errors import RemoteFaultError

#: How long one read of the stream may wait: the node sends a keep-alive every 15 s.
READ_TIMEOUT_S = 60
BAR_WIDTH = 30
#: How long a command waits for the stream before it runs anyway, without bars. The
#: wait ends as soon as the node has subscribed us or the stream failed (no node, a
#: refusal), so only a node too busy to answer is waited for, and the command's own
#: request would wait for that node all the same: the API is built just after the
#: node's ready line, and on a loaded machine that can take seconds.
SUBSCRIBE_WAIT_S = 30.0
#: How long a command that finished waits for its operation's last progress event.
FINISH_WAIT_S = 2.0

Render = Callable[[str, int, int], None]


def events(client: NodeClient, timeout_s: float = READ_TIMEOUT_S) -> Iterator[tuple[str, Any]]:
    """(event name, its JSON data) from the node's event stream, as they come; first
    ("open", None) once the node has subscribed us (nothing later is missed)."""
    request = urllib.request.Request(client.url + "/api/v1/events")
    request.add_header("Authorization", f"Bearer {client.token}")
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        name, data = "message", ""
        opened = False
        for raw in response:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not opened:  # the stream's first line: we are subscribed from here on
                opened = True
                yield "open", None
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif line == "" and data:
                with contextlib.suppress(ValueError):
                    yield name, json.loads(data)
                name, data = "message", ""


def bar(label: str, done: int, total: int) -> str:
    filled = done * BAR_WIDTH // total if total > 0 else 0
    return f"{label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}"


class TerminalBars:
    """One line per operation, redrawn in place (the newest operation's line)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.current: str | None = None
        self.drawn = 0  # lines drawn so far

    def __call__(self, operation: str, done: int, total: int) -> None:
        self.drawn += 1
        if self.current is not None and operation != self.current:
            self.out.write("\n")
        self.current = operation
        self.out.write("\r" + bar(operation, done, total))
        if done >= total:
            self.out.write("\n")
            self.current = None
        self.out.flush()

    def close(self) -> None:
        if self.current is not None:
            self.out.write("\n")
            self.out.flush()


@contextlib.contextmanager
def follow(
    client: NodeClient, wanted: Callable[[str], bool], show: bool, out: IO[str] | None = None
) -> Iterator[None]:
    """While the body runs, draw the node's progress of the operations `wanted` accepts
    (when `show`); the follower never delays nor fails the command it decorates."""
    if not show:
        yield
        return
    bars = TerminalBars(out if out is not None else sys.stderr)
    stop, settled = threading.Event(), threading.Event()  # settled: subscribed, or failed

    def run() -> None:
        try:
            # whatever goes wrong with the stream (a reset, a half response, an odd
            # event) ends the bars, never the command nor its output
            with contextlib.suppress(Exception):
                for name, data in events(client):
                    settled.set()
                    if stop.is_set():
                        return
                    if name == "progress" and isinstance(data, dict):
                        _draw(bars, wanted, data)
        finally:
            settled.set()

    thread = threading.Thread(target=run, name="progress", daemon=True)
    thread.start()
    settled.wait(SUBSCRIBE_WAIT_S)  # so that no progress of the request is missed
    try:
        yield
        # The node publishes an operation's last progress just before it answers, on
        # another connection: let the stream bring it (a bar still open, or none yet),
        # for at most FINISH_WAIT_S, so a quick operation still shows its full bar.
        deadline = time.monotonic() + FINISH_WAIT_S
        while (bars.current is not None or not bars.drawn) and thread.is_alive():
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
    finally:
        stop.set()
        bars.close()


def _draw(bars: Render, wanted: Callable[[str], bool], data: dict[str, Any]) -> None:
    if wanted(str(data["operation"])):
        bars(str(data["operation"]), int(data["done"]), int(data["total"]))


def watch(client: NodeClient, render: Render, on_entry: Callable[[Any], None]) -> None:
    """Every progress event and new entry of the node, until the stream ends."""
    for name, data in events(client):
        if name == "progress" and isinstance(data, dict):
            render(str(data["operation"]), int(data["done"]), int(data["total"]))
        elif name == "entries":
            on_entry(data)


def add_commands(sub: Any, common: Any) -> None:
    p = sub.add_parser(
        "watch", parents=[common], help=_("follow the running node: progress bars, new entries")
    )
    p.set_defaults(handler=cmd_watch)


def cmd_watch(args: Any) -> dict[str, Any]:
    """Draw the running node's long operations (sync, verify, import) and count the
    entries it stores, until Ctrl-C; with --json, one JSON line per event instead."""
    client = NodeClient.running(NodeHome(args.home))
    stored = 0
    bars = TerminalBars(sys.stderr)

    def render(operation: str, done: int, total: int) -> None:
        if args.json:
            print(json.dumps({"progress": {"operation": operation, "done": done, "total": total}}))
        else:
            bars(operation, done, total)

    def on_entries(data: Any) -> None:
        nonlocal stored
        count = int(data.get("count", 0)) if isinstance(data, dict) else 0
        stored += count
        if args.json:
            print(json.dumps({"entries": count}), flush=True)

    try:
        watch(client, render, on_entries)
    except KeyboardInterrupt:
        pass
    except OSError as e:
        why = N_("the event stream ended: {reason}")
        raise localized(RemoteFaultError, "remote.node-unreachable", why, reason=e) from e
    finally:
        bars.close()
    return {"entries_stored": stored, "_text": _text_of(stored)}


def _text_of(stored: int) -> str:
    text = ngettext(
        "{count} entry stored while watching", "{count} entries stored while watching", stored
    )
    return text.format(count=stored)
