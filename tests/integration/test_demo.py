"""`fabnode demo` (`make run`): three real nodes on loopback, seeded, stopped by Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from node.cli.client import NodeClient
from node.demo.federation import FEDERATION
from tests.node_process import READY_TIMEOUT_S, wait_until

pytestmark = pytest.mark.integration


def test_demo_runs_a_seeded_federation_and_stops_cleanly(tmp_path: Path) -> None:
    okh = tmp_path / "okh"
    okh.mkdir()
    (okh / "okh-FarmBot.toml").write_text(
        'name = "FarmBot"\nlicense = "MIT"\nlicensor = "FarmBot Inc."\n'
        'function = "A CNC farming machine."\n'
    )
    root = tmp_path / "federation"
    argv = [sys.executable, "-m", "node.cli", "demo", "--home", str(root), "--okh", str(okh)]
    proc = subprocess.Popen([*argv, "--json"], stdout=subprocess.PIPE, text=True)
    try:
        ready = _ready(proc)
        labs = ready["labs"]
        assert [lab["name"] for lab in labs] == ["lab-aurora", "lab-borealis", "lab-cassini"]
        assert all("/#token=" in lab["dashboard"] for lab in labs)
        clients = [NodeClient(lab["api"], _token(lab)) for lab in labs]

        def names(client: NodeClient) -> set[str]:
            return {d["name"] for d in client.call("GET", "/api/v1/designs?q=&limit=50")["designs"]}

        want = {"Calibration cube 20 mm", "L bracket 40x30x20", "M5 spacer 10x8", "FarmBot"}
        want.add("L bracket, wider screw holes")
        for client in clients:  # every lab holds every lab's designs
            wait_until("the seeded designs everywhere", lambda c=client: names(c) >= want)
        remix = next(
            d
            for d in clients[0].call("GET", "/api/v1/designs?q=wider")["designs"]
            if d["name"] == "L bracket, wider screw holes"
        )
        lineage = clients[0].call("GET", f"/api/v1/designs/{remix['id']}/lineage")
        assert [a["name"] for a in lineage["ancestors"]] == ["L bracket 40x30x20"]
        for client in clients:  # one test federation, every advert, the open job
            assert client.call("GET", "/api/v1/identity")["network"]["name"] == FEDERATION
            wait_until("three adverts", lambda c=client: _count(c, "/api/v1/capabilities") == 3)
            wait_until("the open job", lambda c=client: _count(c, "/api/v1/jobs?open=true") == 1)
        # Aurora publishes slicer settings: its quote for the job comes from the slicer
        # (where PrusaSlicer is installed, as in CI), Cassini's from the volume model.
        (job,) = clients[0].call("GET", "/api/v1/jobs?open=true")["jobs"]
        matched = clients[0].call("GET", f"/api/v1/jobs/{job['id']}/candidates")
        quotes = {c["advert"]["name"]: c["quote"] for c in matched["candidates"]}
        aurora = "slicer" if shutil.which("prusa-slicer") else "volume"
        assert quotes["Fab Lab Aurora"]["method"] == aurora
        assert quotes["Fab Lab Cassini"]["fallback"]["reason"] == "no-settings"
        # the open proposal, with the second lab's vote
        wait_until("the seeded vote", lambda: _yes_votes(clients[2]) == 1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    assert not list(root.glob("*/api.json"))  # every node stopped cleanly
    assert (root / "seeded").exists()  # a second run reuses the homes, unseeded


def _ready(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    for _ in range(1000):
        line = proc.stdout.readline()
        if not line:
            raise AssertionError("the demo stopped before it was ready")
        if line.startswith('{"ready"'):
            ready: dict[str, Any] = json.loads(line)["ready"]
            return ready
    raise AssertionError(f"no ready line (timeout {READY_TIMEOUT_S} s per node)")


def _yes_votes(client: NodeClient) -> int:
    found = client.call("GET", "/api/v1/governance/proposals")["proposals"]
    return sum(p["tally"].get("counts", {}).get("yes", 0) for p in found)


def _count(client: NodeClient, path: str) -> int:
    found = client.call("GET", path)
    return len(found.get("adverts", found.get("jobs", [])))


def _token(lab: dict[str, Any]) -> str:
    return str(lab["dashboard"].split("#token=", 1)[1])
