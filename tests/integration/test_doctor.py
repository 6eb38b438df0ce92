"""`fabnode doctor` and GET /api/v1/doctor on real node processes (specs/0014 §6).

Three nodes on 127.0.0.1: B and C bootstrap from A; B asks A and C to dial it back on
new connections and so learns it is reachable; its report lists direct connections,
no relays, UPnP not tried, and advises that loopback reaches no other machine."""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.cli_helpers import fabnode
from tests.node_process import api, node_env, running_node, wait_until

pytestmark = pytest.mark.integration


def make_home(root: Path, name: str) -> Path:
    home = root / name
    status, _ = fabnode("init", home=home)
    assert status == 0
    return home


def test_doctor_reports_reachability_connections_and_advice(tmp_path: Path) -> None:
    a, b, c = (make_home(tmp_path, n) for n in ("a", "b", "c"))
    with ExitStack() as stack:
        ready_a = stack.enter_context(running_node(a))[1]
        bootstrap = ["--bootstrap", ready_a["listen"][0]]
        stack.enter_context(running_node(b, *bootstrap))
        ready_c = stack.enter_context(running_node(c, *bootstrap))[1]
        report = wait_until(
            "b is found reachable by two peers",
            lambda: (r := api(b, "GET", "/api/v1/doctor"))["reachability"] == "public" and r,
        )
        assert {v["peer"] for v in report["dialbacks"]} >= {ready_a["peer_id"]}
        assert all(v["reached"] for v in report["dialbacks"])
        by_peer = {c["peer"]: c for c in report["connections"]}
        assert by_peer[ready_a["peer_id"]]["connection"] == "direct"
        assert by_peer[ready_a["peer_id"]]["remote"].startswith("127.0.0.1:")
        assert report["relays"] == [] and report["upnp"].startswith("not tried")
        assert report["upnp_status"] == {
            "code": "off",
            "external_ip": None,
            "port": None,
            "detail": "",
        }
        assert report["observed_addrs"] == []  # identify refuses loopback observations
        assert any("loopback only" in line for line in report["advice"])
        assert any("local network only" in line for line in report["advice"])

        status, cli = fabnode("doctor", home=b)
        assert status == 0 and cli["peer_id"] == report["peer_id"]
        assert cli["reachability"] == "public" and ready_c["peer_id"] in {
            c["peer"] for c in cli["connections"]
        }
        text = subprocess.run(
            [sys.executable, "-m", "node.cli", "--home", str(b), "doctor"],
            capture_output=True, text=True, env=node_env(b), timeout=60, check=True,
        ).stdout  # fmt: skip
        assert "reachability   public" in text and "what to change" in text


def test_doctor_says_when_no_node_runs(tmp_path: Path) -> None:
    status, out = fabnode("doctor", home=make_home(tmp_path, "idle"))
    assert status != 0 and out["error"]["code"] == "misuse.node-not-running"
