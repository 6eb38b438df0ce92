"""Real node processes on 127.0.0.1: gossip, catch-up sync, forks and blobs (issue: network).

Every node is a `fabnode run` process with its own home, a real libp2p host on a
real socket and a real SQLite file. Waits poll with deadlines; nothing sleeps.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from protocol.ids import id_to_text
from tests.cli_helpers import fabnode
from tests.node_process import api, log_size, running_node, wait_until

pytestmark = pytest.mark.integration


def make_home(root: Path, name: str) -> Path:
    home = root / name
    status, _ = fabnode("init", home=home)
    assert status == 0
    return home


def identity(home: Path) -> str:
    return str(fabnode("id", home=home)[1]["identity"])


def start(stack: ExitStack, home: Path, bootstrap: str | None = None) -> dict[str, Any]:
    extra = [] if bootstrap is None else ["--bootstrap", bootstrap]
    _, ready = stack.enter_context(running_node(home, *extra))
    return ready


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def test_an_entry_published_on_one_of_five_nodes_reaches_all(
    tmp_path: Path, stack: ExitStack
) -> None:
    homes = [make_home(tmp_path, f"lab{i}") for i in range(5)]
    first = start(stack, homes[0])
    for home in homes[1:]:
        start(stack, home, first["listen"][0])
    author = identity(homes[3])
    api(homes[3], "POST", "/api/v1/notes", {"text": "the laser cutter is free on Friday"})
    for home in homes:
        wait_until(f"the note on {home.name}", lambda h=home: log_size(h, author) == 2)
    entries = api(homes[0], "GET", f"/api/v1/ledger/entries?author={author}")["entries"]
    assert entries[1]["body"] == {"text": "the laser cutter is free on Friday"}


def test_a_stopped_node_catches_up_5000_entries_from_one_peer(
    tmp_path: Path, stack: ExitStack
) -> None:
    a, b, c = (make_home(tmp_path, n) for n in ("a", "b", "c"))
    ready_a = start(stack, a)
    start(stack, b, ready_a["listen"][0])
    author = identity(a)
    api(a, "POST", "/api/v1/notes", {"text": "before c went away"})
    with running_node(c, "--bootstrap", ready_a["listen"][0]):
        # c meets a and holds its log as it is (2 entries), then goes offline...
        wait_until("c holds a's first note", lambda: log_size(c, author) == 2)
    for batch in range(5):  # ...while a publishes 5,000 entries
        texts = [f"entry {batch * 1000 + i}" for i in range(1000)]
        api(a, "POST", "/api/v1/notes/batch", {"texts": texts})
    wait_until("b holds a's 5,002 entries", lambda: log_size(b, author) == 5002, timeout_s=120)
    ready_b = api(b, "GET", "/api/v1/status")
    start(stack, c, ready_b["listen_addrs"][0])  # ...and comes back knowing only b
    wait_until("c catches up from b", lambda: log_size(c, author) == 5002, timeout_s=120)
    status, report = fabnode("ledger", "verify", home=c)
    assert status == 0 and report["ok"] and report["entries"] >= 5002


def test_a_fork_is_detected_and_its_proof_reaches_every_node(
    tmp_path: Path, stack: ExitStack
) -> None:
    hub = make_home(tmp_path, "hub")
    twin_a = make_home(tmp_path, "twin-a")
    twin_b = tmp_path / "twin-b"
    shutil.copytree(twin_a, twin_b)  # one identity, two machines: a restored backup
    forker = identity(twin_a)
    with ExitStack() as alone:  # b writes its history offline, so a's can never reach it first
        start(alone, twin_b)
        two = api(twin_b, "POST", "/api/v1/notes", {"text": "history two"})
    ready = start(stack, hub)
    start(stack, twin_a, ready["listen"][0])
    one = api(twin_a, "POST", "/api/v1/notes", {"text": "history one"})
    assert one["seq"] == two["seq"] and one["entry_id"] != two["entry_id"]
    start(stack, twin_b, ready["listen"][0])

    def proof_at(home: Path) -> list[dict[str, Any]]:
        proofs = api(home, "GET", "/api/v1/ledger/fork-proofs")["fork_proofs"]
        return [p for p in proofs if p["author"] == forker]

    for home in (hub, twin_a, twin_b):
        wait_until(f"the fork proof on {home.name}", lambda h=home: proof_at(h))
        assert forker in api(home, "GET", "/api/v1/status")["frozen_authors"]


def test_a_20mb_blob_is_fetched_and_verified_by_another_node(
    tmp_path: Path, stack: ExitStack
) -> None:
    a, b = make_home(tmp_path, "maker"), make_home(tmp_path, "fetcher")
    data = hashlib.sha256(b"seed").digest() * (20 * 1024 * 1024 // 32)
    part = tmp_path / "bracket.stl"
    part.write_bytes(data)
    ready = start(stack, a)
    start(stack, b, ready["listen"][0])
    status, added = fabnode("blob", "add", part, home=a)
    assert status == 0
    blob = added["blob"]
    assert blob == id_to_text(hashlib.sha256(data).digest())
    wait_until("b is connected", lambda: api(b, "GET", "/api/v1/status")["peers"])
    out = tmp_path / "copy.stl"  # b does not hold it: `blob get` fetches it from a peer
    status, _ = fabnode("blob", "get", blob, "-o", out, home=b)
    assert status == 0 and out.read_bytes() == data


def test_partial_sync_by_author_fetches_only_that_log(tmp_path: Path, stack: ExitStack) -> None:
    a, b = (make_home(tmp_path, n) for n in ("pa", "pb"))
    ready_a = start(stack, a)
    start(stack, b, ready_a["listen"][0])
    author_a, author_b = identity(a), identity(b)
    api(a, "POST", "/api/v1/notes", {"text": "from a"})
    api(b, "POST", "/api/v1/notes", {"text": "from b"})
    wait_until("b holds both logs", lambda: log_size(b, author_a) == 2 == log_size(b, author_b))
    ready_b = api(b, "GET", "/api/v1/status")
    d = make_home(tmp_path, "pd")
    stack.enter_context(
        running_node(d, "--bootstrap", ready_b["listen_addrs"][0], "--only-author", author_a)
    )
    wait_until("d holds a's log", lambda: log_size(d, author_a) == 2)
    syncs = wait_until(
        "d has synced", lambda: api(d, "GET", "/api/v1/status")["sync"]["syncs_completed"]
    )
    assert syncs >= 1 and log_size(d, author_b) == 0


def test_a_restored_home_syncs_its_own_log_back_then_signs(
    tmp_path: Path, stack: ExitStack
) -> None:
    lab, peer = make_home(tmp_path, "lab"), make_home(tmp_path, "peer")
    me = identity(lab)
    ready_peer = start(stack, peer)
    fabnode("note", "monday", home=lab)
    backup = tmp_path / "backup"
    shutil.copytree(lab, backup)
    with running_node(lab, "--bootstrap", ready_peer["listen"][0]):
        api(lab, "POST", "/api/v1/notes", {"text": "tuesday, after the backup"})
        wait_until("the peer has tuesday", lambda: log_size(peer, me) == 3)
    shutil.rmtree(lab)
    shutil.copytree(backup, lab)  # the disk died; last week's copy comes back
    status, refused = fabnode("note", "offline: would fork", home=lab)
    assert status == 1 and refused["error"]["code"] == "misuse.restored-backup"
    start(stack, lab, ready_peer["listen"][0])
    wait_until("our own log synced back", lambda: log_size(lab, me) == 3)
    posted = api(lab, "POST", "/api/v1/notes", {"text": "wednesday"})
    assert posted["seq"] == 4
