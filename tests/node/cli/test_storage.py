"""`fabnode du`, `gc` and `blob pin` on a real home (node.ops.storage): the collector
keeps own, pinned and recent blobs and evicts the rest, least recently used first.
Time passing is the blobs' mtime set back, as a year of disuse would leave it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol.ids import id_from_text, id_to_text
from tests.cli_helpers import fabnode
from tests.node.cli.test_designs import design_dir, init_home

DAY_S = 24 * 3600


def ok(home: Path, *args: str | Path) -> Any:
    status, out = fabnode(*args, home=home)
    assert status == 0, out
    return out


def age(home: Path, blob: str, days: float) -> None:
    path = BlobStore(NodeHome(home).blobs).path_of(id_from_text(blob))
    then = time.time() - days * DAY_S
    os.utime(path, (then, then))


def held(home: Path) -> set[str]:
    return {p.name for p in NodeHome(home).blobs.glob("??/b*")}


def test_gc_keeps_own_pinned_and_recent_blobs_and_evicts_the_oldest_rest(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    published = ok(home, "design", "publish", design_dir(tmp_path, "Cube", "CERN-OHL-S-2.0"))
    files = ok(home, "design", "show", published["design_id"])["body"]["files"]
    own = {id_to_text(bytes.fromhex(f["sha256"])) for f in files}
    foreign = []
    for i in range(4):  # blobs fetched for others, long unused: the oldest first
        (tmp_path / f"f{i}.bin").write_bytes(bytes([i]) * (100_000 + i))
        foreign.append(ok(home, "blob", "add", tmp_path / f"f{i}.bin")["blob"])
        age(home, foreign[i], 100 - i)
    for blob in own:
        age(home, blob, 365)  # own: kept however old
    ok(home, "blob", "pin", foreign[0])  # the oldest, but pinned
    recent = foreign[3]
    age(home, recent, 1)

    usage = ok(home, "du")
    assert usage["blobs"]["own"]["blobs"] == len(own)
    assert usage["blobs"]["pinned"]["blobs"] == 1
    assert usage["blobs"]["other"]["blobs"] == 3

    before = held(home)
    dry = ok(home, "gc", "--budget-mib", "0", "--dry-run")
    assert [e["blob"] for e in dry["evicted"]] == [foreign[1], foreign[2]]  # oldest first
    assert held(home) == before and dry["within_budget"] is False

    done = ok(home, "gc", "--budget-mib", "0")
    assert [e["blob"] for e in done["evicted"]] == [foreign[1], foreign[2]]
    assert held(home) == before - {foreign[1], foreign[2]}
    assert ok(home, "ledger", "verify")["ok"] is True  # the ledger is untouched

    ok(home, "blob", "unpin", foreign[0])
    assert ok(home, "blob", "pins")["pinned"] == []
    budget = ok(home, "gc", "--budget-mib", "1")  # within budget: nothing more goes
    assert budget["evicted"] == [] and budget["within_budget"] is True


def test_a_blob_served_is_used_now(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    (tmp_path / "x.bin").write_bytes(b"x" * 1000)
    blob = ok(home, "blob", "add", tmp_path / "x.bin")["blob"]
    age(home, blob, 30)
    ok(home, "blob", "get", blob, "-o", tmp_path / "copy.bin")  # a use: no longer old
    assert ok(home, "gc", "--budget-mib", "0")["evicted"] == []


def test_blob_status_without_a_running_node_says_what_this_home_holds(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    (tmp_path / "part.bin").write_bytes(b"a part" * 100)
    blob = ok(home, "blob", "add", tmp_path / "part.bin")["blob"]
    shown = ok(home, "blob", "status", blob)
    assert shown["held"] and shown["size"] == 600
    assert shown["peers"] is None and shown["pinners"] is None  # only a running node asks
    other = id_to_text(bytes(32))
    assert not ok(home, "blob", "status", other)["held"]
    status, out = fabnode("blob", "status", "not-an-id", home=home)
    assert status == 1 and out["error"]["code"].startswith("decode.")
