"""`fabnode run` as a real process: the API, the CLI through it, one writer, clean stop."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from node.store.home import NodeHome
from tests.cli_helpers import fabnode
from tests.node_process import running_node

pytestmark = pytest.mark.integration


def test_cli_goes_through_the_running_node_and_it_stops_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    with running_node(home) as (proc, ready):
        url = ready["api"]
        assert url.startswith("http://127.0.0.1:")
        assert json.loads((home / "api.json").read_text())["url"] == url
        status, out = fabnode("note", "via the API", home=home)
        assert status == 0 and out["seq"] == 2
        status, log = fabnode("ledger", "log", home=home)
        assert [e["kind"] for e in log["entries"]] == ["identity.inception", "note"]
        status, node_status = fabnode("status", home=home)
        assert status == 0 and node_status["logs"][0]["size"] == 2
        status, refused = fabnode("run", home=home)  # a second writer on the same home
        assert status == 1 and refused["error"]["code"] == "misuse.home-busy"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "/api/v1/status", timeout=10)
        assert err.value.code == 401
        assert json.loads(err.value.read())["error"]["code"] == "misuse.unauthorized"
        err.value.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert not (home / "api.json").exists()
    status, out = fabnode("note", "node stopped: written locally", home=home)
    assert status == 0 and out["seq"] == 3


def test_api_errors_are_typed(tmp_path: Path) -> None:
    home = tmp_path / "lab"
    fabnode("init", home=home)
    with running_node(home) as (_, ready):
        token = (home / "api.token").read_text().strip()
        bad_id = "b" + "a" * 52
        request = urllib.request.Request(
            ready["api"] + f"/api/v1/ledger/proofs/{bad_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 404
        assert json.loads(err.value.read())["error"]["code"] == "misuse.unknown-entry"
        err.value.close()


def test_the_api_answers_only_to_its_own_address(tmp_path: Path) -> None:
    """DNS rebinding (specs/0012 §5, finding 12): a page on another name that resolves
    to 127.0.0.1 gets 421 misuse.bad-host for every path, the dashboard's files too."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    with running_node(home) as (_, ready):
        token = (home / "api.token").read_text().strip()
        parts = urllib.parse.urlsplit(ready["api"])
        for path, host, want in (
            ("/", "evil.example", 421),
            ("/api/v1/status", f"evil.example:{parts.port}", 421),
            ("/api/v1/status", f"localhost:{parts.port}", 200),
            ("/api/v1/status", f"127.0.0.1:{parts.port}", 200),
        ):
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
            conn.request("GET", path, headers={"Host": host, "Authorization": f"Bearer {token}"})
            answer = conn.getresponse()
            body = answer.read()
            conn.close()
            assert answer.status == want, (path, host, body[:200])
            if want == 421:
                assert json.loads(body)["error"]["code"] == "misuse.bad-host"


def test_reads_take_no_lock_and_a_starting_node_waits_for_a_short_command(
    tmp_path: Path,
) -> None:
    """Issue 16: a monitoring script's `ledger log` while the node (re)starts must not
    kill it. Reads open the databases read-only beside the writer, without the lock;
    a node that finds the lock held by a command (not by a running node) waits for it."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    assert fabnode("note", "before", home=home)[0] == 0
    lock = NodeHome(home).writer_lock()
    lock.__enter__()  # a local command is writing to the home...
    status, log = fabnode("ledger", "log", home=home)  # ...a read goes on beside it
    assert status == 0 and [e["kind"] for e in log["entries"]][-1] == "note"
    assert fabnode("note", "blocked", home=home)[1]["error"]["code"] == "misuse.home-busy"
    threading.Timer(2.0, lock.__exit__, (None, None, None)).start()  # ...and ends soon
    with running_node(home):  # started while the lock is held: it waits, then runs
        assert fabnode("note", "after", home=home)[0] == 0


def test_reads_do_not_block_a_running_node_and_see_its_writes(tmp_path: Path) -> None:
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    with running_node(home):
        assert fabnode("note", "through the node", home=home)[0] == 0
        NodeHome(home).clear_api_info()  # the reader cannot find the node: reads the files
        status, log = fabnode("ledger", "log", home=home)
        assert status == 0 and [e["kind"] for e in log["entries"]][-1] == "note"
