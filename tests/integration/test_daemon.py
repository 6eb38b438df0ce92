"""`fabnode run` as a real process: the API, the CLI through it, one writer, clean stop."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest

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
