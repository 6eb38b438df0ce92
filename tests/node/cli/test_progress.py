"""The CLI's follower of a node's event stream (node/cli/progress.py), against a real
HTTP server on loopback that answers the way the node's stream does."""

from __future__ import annotations

import contextlib
import io
import queue
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from node.cli import progress
from node.cli.client import NodeClient

#: Longer than the 5 s the follower used to wait: a node whose API is still being
#: built after its ready line (node/lazyapp.py) on a loaded machine.
SLOW_SUBSCRIBE_S = 6.0


class FakeNode(BaseHTTPRequestHandler):
    """The node's two endpoints a follower meets: the event stream, which writes the
    queued lines (`sent` after each) until `closing`, and a request answered `{}`."""

    lines: queue.Queue[bytes]
    closing: threading.Event
    sent: threading.Event

    def stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b": subscribed\n\n")
        self.wfile.flush()
        self.subscribed()
        while not self.closing.is_set():
            with contextlib.suppress(queue.Empty):
                self.wfile.write(self.lines.get(timeout=0.1))
                self.wfile.flush()
                self.sent.set()

    def subscribed(self) -> None:
        pass

    def answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


def progress_line(done: int, total: int) -> bytes:
    data = f'{{"operation": "verify", "done": {done}, "total": {total}}}'
    return f"event: progress\ndata: {data}\n\n".encode()


class SlowStream(FakeNode):
    """GET /api/v1/events subscribes after SLOW_SUBSCRIBE_S; GET /work (the command's
    own request) reports its progress to whoever is subscribed then, as the node
    does: a follower that subscribes later sees none of it."""

    subscribed_now = threading.Event()
    sent = threading.Event()
    closing = threading.Event()
    lines: queue.Queue[bytes] = queue.Queue()

    def subscribed(self) -> None:
        self.subscribed_now.set()

    def do_GET(self) -> None:
        if self.path == "/api/v1/events":
            self.closing.wait(SLOW_SUBSCRIBE_S)  # nobody sets it early: the node is slow
            self.stream()
            return
        if self.subscribed_now.is_set():
            for done in (1, 2):
                self.lines.put(progress_line(done, 2))
            self.sent.wait(30.0)
        self.answer()


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), SlowStream)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        SlowStream.closing.set()
        httpd.shutdown()
        httpd.server_close()


def test_a_node_slow_to_subscribe_still_gets_its_bars_drawn(server: str) -> None:
    """The command waits for the subscription, so the progress of its request is drawn."""
    out = io.StringIO()
    client = NodeClient(server, "token")
    with progress.follow(client, lambda operation: operation == "verify", True, out):
        with urllib.request.urlopen(server + "/work", timeout=30) as response:
            assert response.read() == b"{}"
        deadline = time.monotonic() + 10.0  # the lines sent reach the follower's thread
        while "2/2" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
    drawn = out.getvalue()
    assert "verify [" in drawn and "2/2" in drawn, drawn


def test_no_node_listening_lets_the_command_run_at_once() -> None:
    """A refused stream ends the wait: the body runs, nothing is drawn."""
    out = io.StringIO()
    ran = []
    with progress.follow(NodeClient("http://127.0.0.1:9", "token"), lambda _op: True, True, out):
        ran.append(True)
    assert ran == [True] and out.getvalue() == ""


class LateLastEvent(FakeNode):
    """The stream subscribes at once; GET /work answers at once, and its operation's
    last progress event reaches the stream 0.3 s later (the node publishes it on
    another connection just before it answers: either may arrive first)."""

    lines: queue.Queue[bytes] = queue.Queue()
    closing = threading.Event()
    sent = threading.Event()

    def do_GET(self) -> None:
        if self.path == "/api/v1/events":
            self.stream()
            return
        threading.Timer(0.3, self.lines.put, [progress_line(2, 2)]).start()
        self.answer()


def test_the_last_progress_arriving_after_the_answer_is_still_drawn() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), LateLastEvent)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    out = io.StringIO()
    try:
        client = NodeClient(url, "token")
        with (
            progress.follow(client, lambda op: op == "verify", True, out),
            urllib.request.urlopen(url + "/work", timeout=30) as response,
        ):
            assert response.read() == b"{}"
    finally:
        LateLastEvent.closing.set()
        httpd.shutdown()
        httpd.server_close()
    assert "verify [" in out.getvalue() and "2/2" in out.getvalue(), out.getvalue()
