"""Key events between two real nodes: a rotation and what follows it verify on a peer;
a revocation voids what the thief signed there too, and the stolen key signs no more."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from node.ops.context import open_local
from node.store.home import NodeHome
from protocol import kinds
from protocol.entry import read_stored_entry, sign_entry
from protocol.ids import id_from_text
from tests.cli_helpers import fabnode
from tests.node.cli.test_designs import design_dir, publish
from tests.node_process import api, log_size, running_node, wait_until

pytestmark = pytest.mark.integration


def make_home(root: Path, name: str) -> Path:
    home = root / name
    assert fabnode("init", home=home)[0] == 0
    return home


def identity(home: Path) -> str:
    return str(fabnode("id", home=home)[1]["identity"])


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def two_nodes(stack: ExitStack, tmp_path: Path) -> tuple[Path, Path]:
    a, b = make_home(tmp_path, "lab-a"), make_home(tmp_path, "lab-b")
    _, ready = stack.enter_context(running_node(a))
    stack.enter_context(running_node(b, "--bootstrap", ready["listen"][0]))
    return a, b


def entries_on(home: Path, author: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = api(home, "GET", f"/api/v1/ledger/entries?author={author}")[
        "entries"
    ]
    return rows


def test_a_rotation_and_a_later_note_verify_on_a_peer(tmp_path: Path, stack: ExitStack) -> None:
    a, b = two_nodes(stack, tmp_path)
    author = identity(a)
    assert fabnode("note", "before", home=a)[0] == 0
    status, rotated = fabnode("key", "rotate", home=a)
    assert status == 0 and rotated["seq"] == 3
    assert fabnode("note", "after, with the new key", home=a)[0] == 0
    wait_until("b holds a's four entries", lambda: log_size(b, author) == 4)
    kinds_on_b = [e["kind"] for e in entries_on(b, author)]
    assert kinds_on_b == [kinds.INCEPTION, kinds.NOTE, kinds.ROTATION, kinds.NOTE]
    for home in (a, b):
        status, report = fabnode("ledger", "verify", home=home)
        assert status == 0 and report["ok"] is True, report


def test_a_revocation_voids_the_thiefs_entries_on_a_peer(tmp_path: Path, stack: ExitStack) -> None:
    a, b = two_nodes(stack, tmp_path)
    author = identity(a)
    usb = tmp_path / "usb"
    usb.mkdir()
    recovery = shutil.move(a / "keys" / "recovery.key", usb / "recovery.key")
    stolen = NodeHome(a).signing_key()
    assert fabnode("note", "ours", home=a)[0] == 0  # seq 2
    status, design = publish(a, design_dir(tmp_path, "Thief Cube", "CERN-OHL-S-2.0"))
    assert status == 0  # seq 3, the thief's first, and its print-readiness at seq 4
    assert fabnode("note", "the thief's", home=a)[0] == 0  # seq 5
    wait_until("the design on b", lambda: api(b, "GET", "/api/v1/designs?q=cube")["designs"])
    status, revoked = fabnode(
        "key", "revoke", "--recovery-key", recovery, "--from-seq", "3", home=a
    )
    assert status == 0 and revoked["void"] == [3, 6]  # the revocation itself is seq 6
    assert fabnode("note", "ours again", home=a)[0] == 0  # seq 7
    wait_until("b holds a's seven entries", lambda: log_size(b, author) == 7)
    revoked_on_b = [e["revoked"] for e in entries_on(b, author)]
    assert revoked_on_b == [False, False, True, True, True, False, False]
    assert api(b, "GET", "/api/v1/designs?q=cube")["designs"] == []  # the view ignores it
    shown = api(b, "GET", f"/api/v1/designs/{design['design_id']}")
    assert shown["catalogue"]["listed"] is False and shown["catalogue"]["code"] == "revoked"
    for home in (a, b):
        status, report = fabnode("ledger", "verify", home=home)
        assert status == 0 and report["ok"] is True, report
    stack.close()  # both nodes stop; the thief signs on with the stolen key
    with open_local(NodeHome(b)) as ctx:
        head = ctx.ledger.head(ctx.network, id_from_text(author))
        assert head is not None and head.head_id is not None
        last = read_stored_entry(ctx.ledger.entry_at(ctx.network, head.author, head.size) or b"")
        forged = sign_entry(
            stolen,
            network=ctx.network,
            author=head.author,
            seq=head.size + 1,
            prev=head.head_id,
            timestamp_ms=last.timestamp_ms + 1,
            kind=kinds.NOTE,
            body={"text": "the thief, after the revocation"},
        )
        report = ctx.ledger.ingest([forged.raw])
    assert [e.code for _, e in report.rejected] == ["verify.key-not-in-force"]
