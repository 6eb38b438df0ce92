"""Taking down on real nodes (specs/0010 §7, 0009 §9, 0008 §3; issue 16 "Takedown").

(a) A designer publishes, a peer fetches the file, the designer withdraws: the peer's
catalogue shows the design withdrawn, the peer refuses to fetch it and stops serving
it to a third node (which syncs only the peer's log, so it has not heard of the
withdrawal and asks). (b) Three founders vote a blob onto the blocklist: once the
effect passes (the test clock moved on every node) every node has deleted it, and
adding or fetching the same bytes is refused. Waits poll with deadlines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol.errors import CommonsError
from protocol.ids import id_from_text, id_to_text
from tests.cli_helpers import fabnode
from tests.integration.test_governance import (
    GOV,
    HOUR_S,
    TIMEOUT_S,
    advance_clocks,
    charter_toml,
    counted_everywhere,
    outcome_everywhere,
    run_cli,
    tally,
    vote,
)
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


def refusal(home: Path, method: str, path: str, body: Any = None) -> str | None:
    """The code of an API call that fails, None if it succeeds."""
    try:
        api(home, method, path, body)
    except CommonsError as e:
        return e.code
    return None


def holds(home: Path, blob: str) -> bool:
    return BlobStore(NodeHome(home).blobs).has(id_from_text(blob))


def test_a_withdrawn_design_is_marked_and_no_longer_served(
    tmp_path: Path, stack: ExitStack
) -> None:
    designer, peer, third = (tmp_path / n for n in ("designer", "peer", "third"))
    for home in (designer, peer, third):
        ok(home, "init")
    _, ready = stack.enter_context(running_node(designer))
    _, ready_peer = stack.enter_context(running_node(peer, "--bootstrap", ready["listen"][0]))
    folder = tmp_path / "bracket"
    folder.mkdir()
    data = hashlib.sha256(b"a bracket").digest() * 64
    (folder / "bracket.scad").write_bytes(data)
    (folder / "okh.toml").write_text(
        'name = "Wall bracket"\nlicense = "CERN-OHL-S-2.0"\nlicensor = "Ada Lab"\n'
        'function = "Holds a shelf."\nsource = "bracket.scad"\n'
    )
    design = ok(designer, "design", "publish", folder)["design_id"]
    blob = id_to_text(hashlib.sha256(data).digest())
    wait_until("the design at the peer", lambda: search(peer, "bracket"), TIMEOUT_S)
    ok(peer, "design", "fetch", design, "-o", tmp_path / "copy")
    assert (tmp_path / "copy" / "bracket.scad").read_bytes() == data and holds(peer, blob)

    out = ok(designer, "design", "withdraw", design, "--reason", "a crack at the screw hole")
    assert out["withdrawn"]["reason"] == "a crack at the screw hole" and not out["already"]
    shown = wait_until(
        "the withdrawal at the peer",
        lambda: api(peer, "GET", f"/api/v1/designs/{design}")["withdrawn"],
        TIMEOUT_S,
    )
    assert shown["reason"] == "a crack at the screw hole"
    assert search(peer, "bracket") == []
    assert [d["id"] for d in search(peer, "bracket", withdrawn=True)] == [design]
    wait_until(
        "the peer refuses to fetch it",
        lambda: refusal(peer, "POST", f"/api/v1/blobs/{blob}/fetch") == "rule.design-withdrawn",
        TIMEOUT_S,
    )
    assert holds(peer, blob), "withheld, not deleted"
    status, out = fabnode("design", "withdraw", design, "--reason", "not mine", home=peer)
    assert status == 1 and out["error"]["code"] == "rule.withdraw-not-author"

    # A third node that follows only the peer's log has not heard of the withdrawal:
    # it asks, and no one serves the file.
    peer_id = api(peer, "GET", "/api/v1/status")["identity"]
    only_peer = ("--bootstrap", ready_peer["listen"][0], "--only-author", peer_id)
    stack.enter_context(running_node(third, *only_peer))
    wait_until("the third is connected", lambda: api(third, "GET", "/api/v1/status")["peers"])
    assert log_size(third, api(designer, "GET", "/api/v1/status")["identity"]) == 0
    assert refusal(third, "POST", f"/api/v1/blobs/{blob}/fetch") == "remote.blob-unavailable"
    assert not holds(third, blob)


def search(home: Path, query: str, *, withdrawn: bool = False) -> list[dict[str, Any]]:
    flag = "&withdrawn=true" if withdrawn else ""
    found: list[dict[str, Any]] = api(home, "GET", f"/api/v1/designs?q={query}{flag}")["designs"]
    return found


def test_members_vote_a_blob_onto_the_blocklist(tmp_path: Path, stack: ExitStack) -> None:
    homes = [tmp_path / f"lab-{c}" for c in "abc"]
    ids = [ok(h, "init")["identity"] for h in homes]
    a, b, c = homes
    (tmp_path / "charter.toml").write_text(charter_toml(ids))
    network = ok(a, "federation", "create", tmp_path / "charter.toml")["network"]
    _, ready = stack.enter_context(running_node(a))
    for home in (b, c):
        ok(home, "join", network, "--bootstrap", ready["listen"][0])
        stack.enter_context(running_node(home))
    for home in homes:
        wait_until(
            f"founders' logs on {home.name}",
            lambda h=home: all(log_size(h, i) >= 1 for i in ids),
            TIMEOUT_S,
        )
    illegal = tmp_path / "illegal.bin"
    illegal.write_bytes(b"\x01" * 3000)
    blob = run_cli(a, "blob", "add", illegal)[1]["blob"]
    for home in (b, c):
        api(home, "POST", f"/api/v1/blobs/{blob}/fetch")
        assert holds(home, blob)

    proposal = run_cli(
        a, "propose", "block", blob, "--reason", "court order", "--title", "Remove a file"
    )[1]["proposal"]
    wait_until("it opens", lambda: outcome_everywhere(homes, proposal, "voting"), TIMEOUT_S)
    for home in homes:
        vote(home, proposal, "yes")
    wait_until("votes witnessed", lambda: counted_everywhere(homes, proposal, 3), TIMEOUT_S)
    assert api(b, "GET", f"{GOV}/proposals/{proposal}")["action"]["blobs"] == [blob]
    advance_clocks(homes, HOUR_S + 100)
    wait_until("passed", lambda: outcome_everywhere(homes, proposal, "passed"), TIMEOUT_S)
    for home in homes:
        wait_until(f"deleted on {home.name}", lambda h=home: not holds(h, blob), TIMEOUT_S)
        wait_until(
            f"the blocklist written on {home.name}",
            lambda h=home: id_from_text(blob) in NodeHome(h).blocked_blobs(),
            TIMEOUT_S,
        )
    assert tally(c, proposal)["final"]
    for home in homes:
        status, out = run_cli(home, "blob", "add", illegal)
        assert status == 1 and out["error"]["code"] == "rule.blob-blocked"
        assert refusal(home, "POST", f"/api/v1/blobs/{blob}/fetch") == "rule.blob-blocked"
        assert not holds(home, blob)
