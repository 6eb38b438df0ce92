"""Discovery on real node processes (specs/0014 §3-§5): a federation that outlives its
bootstrap node. B and C know only A; they learn each other's address records through
A; A stops; B and C restart knowing no one but their peer stores, find each other and
sync. Real `fabnode run` processes on 127.0.0.1, real SQLite peer stores; waits poll."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import fabnode
from tests.node_process import api, log_size, running_node, wait_until

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_home(root: Path, name: str) -> Path:
    home = root / name
    status, _ = fabnode("init", home=home)
    assert status == 0
    return home


def identity(home: Path) -> str:
    return str(fabnode("id", home=home)[1]["identity"])


def status(home: Path) -> dict[str, Any]:
    result: dict[str, Any] = api(home, "GET", "/api/v1/status")
    return result


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def test_peers_find_each_other_from_their_stores_once_the_bootstrap_node_is_gone(
    tmp_path: Path, stack: ExitStack
) -> None:
    a, b, c = (make_home(tmp_path, n) for n in ("a", "b", "c"))
    ports = {home: free_port() for home in (b, c)}  # a lab's port stays across restarts

    def listen(home: Path) -> list[str]:
        return ["--listen", f"/ip4/127.0.0.1/tcp/{ports[home]}"]

    with running_node(a) as (_, ready_a):
        bootstrap = ["--bootstrap", ready_a["listen"][0]]
        with (
            running_node(b, *listen(b), *bootstrap) as (_, ready_b),
            running_node(c, *listen(c), *bootstrap) as (_, ready_c),
        ):
            peer_b, peer_c = ready_b["peer_id"], ready_c["peer_id"]
            # each learns the other's record through A, then dials it
            wait_until("b connected to c", lambda: peer_c in status(b)["peers"])
            wait_until("c connected to b", lambda: peer_b in status(c)["peers"])
            for home in (b, c):  # the records of a and of the other are stored
                wait_until(
                    f"{home.name} holds two records",
                    lambda h=home: status(h)["discovery"]["known_peers"] >= 2,
                )
    # A is gone for good. B and C restart with no bootstrap: only their peer stores.
    start_b = stack.enter_context(running_node(b, *listen(b)))[1]
    start_c = stack.enter_context(running_node(c, *listen(c)))[1]
    assert start_b["peer_id"] == peer_b and start_c["peer_id"] == peer_c
    wait_until("b finds c again", lambda: peer_c in status(b)["peers"], timeout_s=90)
    api(c, "POST", "/api/v1/notes", {"text": "found you without the bootstrap node"})
    author = identity(c)
    wait_until("b syncs c's note", lambda: log_size(b, author) == 2, timeout_s=90)
