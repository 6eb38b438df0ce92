"""Files that stay available while their author is offline (specs/0009 §12-§13; issue 15
"Availability"), on real `fabnode run` processes on 127.0.0.1.

Three founders, `pin_replicas = 1`: lab a publishes a design with a file; the one member
the rule chooses (rendezvous weights, computed here from the spec's rule) fetches and
pins it, the other does not; a stops for good; a fourth node that joins later fetches
the file from the pinning member, and `blob status` names the holders and the pinner.
Waits poll with deadlines.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ledger.pinning import pinners
from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol.ids import id_from_text, id_to_text
from tests.cli_helpers import fabnode
from tests.integration.test_governance import TIMEOUT_S, charter_toml, run_cli
from tests.node_process import api, log_size, running_node, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def ok(home: Path, *args: str | Path) -> Any:
    status, out = fabnode(*args, home=home)
    assert status == 0, out
    return out


def holds(home: Path, blob: str) -> bool:
    return BlobStore(NodeHome(home).blobs).has(id_from_text(blob))


def blob_status(home: Path, blob: str) -> dict[str, Any]:
    status, out = run_cli(home, "blob", "status", blob)
    assert status == 0, out
    return dict(out)


def test_a_design_stays_fetchable_from_its_pinning_member_while_the_author_is_away(
    tmp_path: Path, stack: ExitStack
) -> None:
    homes = [tmp_path / f"lab-{c}" for c in "abc"]
    ids = [ok(h, "init")["identity"] for h in homes]
    a, b, c = homes
    charter = charter_toml(ids) + "pin_replicas = 1\n"  # the rules table is last
    (tmp_path / "charter.toml").write_text(charter)
    network = ok(a, "federation", "create", tmp_path / "charter.toml")["network"]
    author = ExitStack()
    _, ready_a = author.enter_context(running_node(a))
    ready = {}
    for home in (b, c):
        ok(home, "join", network, "--bootstrap", ready_a["listen"][0])
        ready[home] = stack.enter_context(running_node(home))[1]
    for home in homes:
        wait_until(
            f"founders' logs on {home.name}",
            lambda h=home: all(log_size(h, i) >= 1 for i in ids),
            TIMEOUT_S,
        )

    folder = tmp_path / "bracket"
    folder.mkdir()
    data = hashlib.sha256(b"a bracket").digest() * 512
    (folder / "bracket.scad").write_bytes(data)
    (folder / "okh.toml").write_text(
        'name = "Wall bracket"\nlicense = "CERN-OHL-S-2.0"\nlicensor = "Ada Lab"\n'
        'function = "Holds a shelf."\nsource = "bracket.scad"\n'
    )
    ok(a, "design", "publish", folder)
    blob = id_to_text(hashlib.sha256(data).digest())
    members = [id_from_text(i) for i in ids]
    chosen = pinners(id_from_text(blob), members, 1, [id_from_text(ids[0])])
    pinner, other = (b, c) if chosen == [id_from_text(ids[1])] else (c, b)
    wait_until(f"{pinner.name} pins the file", lambda: holds(pinner, blob), TIMEOUT_S)
    shown = blob_status(pinner, blob)
    assert shown["held"] and shown["pinned_here"] and shown["pinner_self"]
    assert shown["pinners"] == [id_to_text(m) for m in chosen]
    assert not holds(other, blob), "one replica by the rule: the other member does not pin it"
    assert ok(pinner, "du")["blobs"]["rule"]["blobs"] >= 1
    path = BlobStore(NodeHome(pinner).blobs).path_of(id_from_text(blob))
    os.utime(path, (time.time() - 30 * 86400,) * 2)  # a month unused: not kept as recent
    collected = ok(pinner, "gc", "--budget-mib", "0")  # kept by the rule, whatever the budget
    assert blob not in [e["blob"] for e in collected["evicted"]] and holds(pinner, blob)
    assert not blob_status(other, blob)["pinner_self"]

    author.close()  # the author's node stops for good
    d = tmp_path / "lab-d"
    ok(d, "init")
    ok(d, "join", network, "--bootstrap", ready[other]["listen"][0])
    stack.enter_context(running_node(d))
    wait_until(
        "d has the design",
        lambda: log_size(d, ids[0]) >= 2 and api(d, "GET", "/api/v1/designs?q=bracket")["designs"],
        TIMEOUT_S,
    )
    pinner_peer = api(pinner, "GET", "/api/v1/status")["peer_id"]
    wait_until("d is connected to the pinner", lambda: pinner_peer in peers_of(d), TIMEOUT_S)
    fetched = api(d, "POST", f"/api/v1/blobs/{blob}/fetch")
    assert fetched["status"] == "stored" and fetched["peer"] == pinner_peer
    assert holds(d, blob)
    seen = blob_status(d, blob)
    assert seen["held"] and seen["pinners"] == [id_to_text(m) for m in chosen]
    assert {"peer": pinner_peer, "held": True} in seen["peers"]
    assert seen["proved"] == {pinner_peer: True}  # its copy passed the challenge (§12.4)


def peers_of(home: Path) -> list[str]:
    found: list[str] = api(home, "GET", "/api/v1/status")["peers"]
    return found
