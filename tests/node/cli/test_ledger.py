"""`fabnode note` and `fabnode ledger …` on real SQLite homes, as an operator runs them."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from node.ops.context import open_local
from node.store.home import NodeHome
from protocol.ids import id_to_text
from tests.cli_helpers import fabnode
from tests.factory import Author
from tests.node_process import api, running_node


def init_home(tmp_path: Path) -> Path:
    home = tmp_path / "lab"
    status, _ = fabnode("init", home=home)
    assert status == 0
    return home


def test_notes_are_listed_verified_and_provable(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    ids = []
    for text in ("doors open at nine", "laser cutter back in service"):
        status, out = fabnode("note", text, home=home)
        assert status == 0
        ids.append(out["entry_id"])
    status, log = fabnode("ledger", "log", home=home)
    assert status == 0
    assert [e["kind"] for e in log["entries"]] == ["identity.inception", "note", "note"]
    assert log["entries"][2]["body"] == {"text": "laser cutter back in service"}
    status, report = fabnode("ledger", "verify", home=home)
    assert status == 0
    assert report == {
        "ok": True,
        "authors": 1,
        "entries": 3,
        "checkpoints": 2,
        "checkpoints_ahead": 0,
        "fork_proofs": 0,
        "errors": [],
    }
    status, bundle = fabnode("ledger", "prove", ids[0], home=home)
    assert status == 0
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(bundle))
    status, checked = fabnode("ledger", "check-proof", proof)  # no home at all
    assert status == 0 and checked["ok"] is True and checked["entry_id"] == ids[0]
    # No witness cosigned: k unknown here, so reported, not failed (specs/0003 §6.3).
    witnessed = {k: checked[k] for k in ("witnessed_by", "witnesses_required", "witnessed")}
    assert witnessed == {"witnessed_by": 0, "witnesses_required": None, "witnessed": None}
    status, weighed = fabnode("ledger", "check-proof", proof, "--witnesses", "1")
    assert status == 0 and weighed["witnessed"] is False and weighed["witnesses_required"] == 1
    status, unwitnessed = fabnode(
        "ledger", "check-proof", proof, "--witnesses", "1", "--require-witnesses"
    )
    assert status == 1 and unwitnessed["error"]["code"] == "verify.too-few-witnesses"
    assert (unwitnessed["error"]["witnessed_by"], unwitnessed["error"]["required"]) == (0, 1)
    status, unknown = fabnode("ledger", "check-proof", proof, "--require-witnesses")
    assert status == 1 and unknown["error"]["code"] == "misuse.bad-argument"
    bundle["entry_hex"] = bundle["entry_hex"][:-4] + "0000"
    proof.write_text(json.dumps(bundle))
    status, refused = fabnode("ledger", "check-proof", proof)
    assert status == 1 and refused["error"]["code"].startswith(("verify.", "decode."))


def test_verify_reports_a_tampered_database(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    for i in range(3):
        fabnode("note", f"n{i}", home=home)
    with sqlite3.connect(home / "ledger.sqlite3") as db:
        (pos, raw) = db.execute(
            "SELECT pos, raw FROM entries ORDER BY pos LIMIT 1 OFFSET 2"
        ).fetchone()
        forged = bytearray(raw)
        forged[-1] ^= 1
        db.execute("UPDATE entries SET raw = ? WHERE pos = ?", (bytes(forged), pos))
    status, report = fabnode("ledger", "verify", home=home)
    assert status == 1 and report["ok"] is False
    assert report["errors"][0]["code"] == "verify.bad-signature"
    assert report["errors"][0]["seq"] == 3


def test_a_restored_backup_refuses_to_sign(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    fabnode("note", "before the backup", home=home)
    backup = tmp_path / "backup"
    shutil.copytree(home, backup)
    fabnode("note", "after the backup, maybe already gossiped", home=home)
    shutil.rmtree(home)
    shutil.copytree(backup, home)  # the operator restores last week's copy
    status, out = fabnode("note", "this would fork the log", home=home)
    assert status == 1
    assert out["error"]["code"] == "misuse.restored-backup"
    assert "sync" in out["error"]["message"]
    status, log = fabnode("ledger", "log", home=home)
    assert len(log["entries"]) == 2  # nothing was signed


def test_a_crash_between_commit_and_mark_is_not_mistaken_for_a_backup(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    fabnode("note", "one", home=home)
    state = Path(str(home) + "-state")
    for mark in state.iterdir():
        mark.unlink()  # as if the process died after the commit, before the mark
    status, _ = fabnode("note", "two", home=home)
    assert status == 0


def verify_on_a_terminal(home: Path) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """Run `fabnode ledger verify` with its stderr on a terminal (a pty), as for an
    operator; return the finished process and what the terminal showed."""
    env = {**os.environ, "FABNODE_STATE_DIR": str(home) + "-state"}
    argv = [sys.executable, "-m", "node.cli", "--home", str(home), "ledger", "verify"]
    main, child = pty.openpty()
    done = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=child,
        env=env,
        timeout=120,
        check=False,
    )
    os.close(child)
    shown = b""
    while select.select([main], [], [], 0.5)[0]:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    return done, shown


def test_verify_shows_progress_on_a_terminal_and_not_in_json(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    fabnode("note", "one", home=home)
    done, shown = verify_on_a_terminal(home)
    assert done.returncode == 0
    assert b"verifying [" in shown and b"2/2" in shown
    status, report = fabnode("ledger", "verify", home=home)  # --json: no bar in the output
    assert status == 0 and report["ok"]


def test_ledger_verify_through_a_running_node_draws_the_nodes_progress(tmp_path: Path) -> None:
    """With a node running, verify runs in the node: the bar comes from its event stream."""
    home = init_home(tmp_path)
    fabnode("note", "one", home=home)
    with running_node(home):
        done, shown = verify_on_a_terminal(home)
        assert done.returncode == 0, done.stdout
        assert b"verify [" in shown and b"2/2" in shown, shown
        assert b"ok: 1 log, 2 entries" in done.stdout


def test_watch_follows_the_running_nodes_entries_until_ctrl_c(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    with running_node(home):
        env = {**os.environ, "FABNODE_STATE_DIR": str(home) + "-state"}
        argv = [sys.executable, "-m", "node.cli", "--home", str(home), "watch", "--json"]
        watcher = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert watcher.stdout is not None
            deadline = time.monotonic() + 60
            lines: list[Any] = []
            while time.monotonic() < deadline and {"entries": 1} not in lines:
                fabnode("note", "watched", home=home)  # until the watcher is subscribed
                while select.select([watcher.stdout], [], [], 1.0)[0]:
                    lines.append(json.loads(watcher.stdout.readline()))
                    if lines[-1] == {"entries": 1}:
                        break
            assert {"entries": 1} in lines
        finally:
            watcher.send_signal(signal.SIGINT)
            try:
                out, _ = watcher.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                watcher.kill()  # deaf to Ctrl-C: the returncode check below says so,
                out, _ = watcher.communicate()  # and a failure above is not masked
        assert watcher.returncode == 0, "the watcher did not stop on Ctrl-C"
        assert json.loads(out)["entries_stored"] >= 1


def test_the_licence_queries_answer_the_same_through_the_api(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    with running_node(home):
        status, check = fabnode("licence", "check", "CERN-OHL-S-2.0 OR MIT")
        assert status == 0
        query = "expression=CERN-OHL-S-2.0%20OR%20MIT"
        assert api(home, "GET", f"/api/v1/licences/check?{query}") == check
        status, derived = fabnode(
            "licence", "derive", "--parent", "CC-BY-SA-4.0", "--parent", "MIT", "--child", "MIT"
        )
        assert status == 0 and derived["verdict"] == "forbidden"
        query = "parent=CC-BY-SA-4.0&parent=MIT&child=MIT"
        assert api(home, "GET", f"/api/v1/licences/derive?{query}") == derived
        allowed = api(home, "GET", "/api/v1/licences/derive?parent=MIT&child=CC-BY-SA-4.0")
        assert allowed["verdict"] == "allowed"


def test_an_operator_forgets_a_log_and_lets_it_back(tmp_path: Path) -> None:
    """`fabnode ledger forget AUTHOR` (specs/0003 §5.1): the log's rows go, the
    database remembers (a real SQLite home, reopened by each command), and our own
    log cannot be forgotten."""
    home = init_home(tmp_path)
    NodeHome(home).set_development_network("tests")
    spammer = Author("spammer")
    for i in range(20):
        spammer.note(f"buy now {i}")
    with open_local(NodeHome(home)) as ctx:
        assert len(ctx.ledger.ingest_entries(spammer.entries).accepted) == 21
    who = id_to_text(spammer.id)
    status, out = fabnode("ledger", "forget", who, home=home)
    assert status == 0 and out == {"author": who, "forgotten": True, "entries_dropped": 21}
    status, log = fabnode("ledger", "log", "--author", who, home=home)
    assert status == 0 and log["entries"] == []
    with open_local(NodeHome(home)) as ctx:
        refused = ctx.ledger.ingest_entries(spammer.entries).rejected
        assert refused[0][1].code == "rule.forgotten"
    status, out = fabnode("ledger", "forget", who, "--undo", home=home)
    assert status == 0 and out["forgotten"] is False
    with open_local(NodeHome(home)) as ctx:
        assert len(ctx.ledger.ingest_entries(spammer.entries).accepted) == 21
    status, me = fabnode("id", home=home)
    status, out = fabnode("ledger", "forget", me["identity"], home=home)
    assert status == 1 and out["error"]["code"] == "misuse.own-log"
