"""Homes written by every earlier release open with this code, nothing lost (issue 16).

`tests/fixtures/homes-schema-<N>.tar.gz` holds the homes of a three-lab federation as
the release that wrote ledger schema N left them (tests/fixtures/make_homes.py: a job
through a counter-offer, a sealed file, a dispute and a refund; designs with blobs; a
proposal with three votes), and `homes-schema-<N>.json` what each home showed then.
Each is unpacked and opened with this code: offline commands first (the first one to
open the ledger migrates it, after a backup copy, when N is older than this code's
schema), then a briefly started `fabnode run`. Every entry, log size, job, tally,
design and blob must be as it was, the logs must verify, and the home must still sign.
While N equals this code's schema the test proves the fixture opens; after a schema
change the same test proves the migration. The fixtures are never regenerated here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import tarfile
from pathlib import Path
from typing import Any

import pytest

from node.store.logs import schema_version
from protocol.ids import id_from_text
from tests.cli_helpers import fabnode
from tests.fixtures.make_homes import closed_tally, lasting_tally, summarize
from tests.node_process import api, running_node
from tests.paths import ROOT

pytestmark = pytest.mark.integration

FIXTURES = ROOT / "tests" / "fixtures"
SUMMARIES = sorted(FIXTURES.glob("homes-schema-*.json"))
GOV = "/api/v1/governance"


def unpack(summary_path: Path, into: Path) -> dict[str, Any]:
    with tarfile.open(summary_path.with_suffix(".tar.gz")) as tar:
        tar.extractall(into, filter="data")
    for home in into.iterdir():  # a home is 0700, its keys 0600 (as `fabnode init` makes them)
        home.chmod(0o700)
    summary: dict[str, Any] = json.loads(summary_path.read_text())
    return summary


def test_there_is_a_fixture_of_this_release() -> None:
    versions = [int(p.stem.removeprefix("homes-schema-")) for p in SUMMARIES]
    assert versions and max(versions) <= schema_version()


@pytest.mark.parametrize("summary_path", SUMMARIES, ids=lambda p: p.stem)
def test_a_home_of_an_earlier_release_opens_with_nothing_lost(
    tmp_path: Path, summary_path: Path
) -> None:
    summary = unpack(summary_path, tmp_path)
    state = tmp_path / summary["state_dir"]
    for name, want in summary["homes"].items():
        home = tmp_path / name
        held_blobs(home, want["blobs"])
        status, verified = fabnode("ledger", "verify", home=home, state=state)
        assert status == 0 and verified["ok"] and verified["errors"] == [], verified
        assert summarize(home, state) == want
        copies = sorted(p.name for p in home.glob("ledger.sqlite3.schema-*.bak"))
        old = summary["schema_version"]
        assert copies == ([] if old == schema_version() else [f"ledger.sqlite3.schema-{old}.bak"])

    for name, want in summary["homes"].items():
        home = tmp_path / name
        with running_node(home, env={"FABNODE_STATE_DIR": str(state)}):
            running(home, summary, want)
        status, signed = fabnode("note", "still signing after the upgrade", home=home, state=state)
        assert status == 0, signed


def held_blobs(home: Path, want: dict[str, str]) -> None:
    """Every blob is there, its bytes hashing to its name (and to what they were)."""
    for blob, sha256 in want.items():
        data = (home / "blobs" / blob[1:3] / blob).read_bytes()
        assert hashlib.sha256(data).digest() == id_from_text(blob)
        assert hashlib.sha256(data).hexdigest() == sha256


def running(home: Path, summary: dict[str, Any], want: dict[str, Any]) -> None:
    """What the started node serves: the same logs, job, designs and tallies; once its
    test clock is past the deadline (as it was when the fixture was made), the same
    closed tally."""
    status = api(home, "GET", "/api/v1/status")
    assert {h["author"]: h["size"] for h in status["logs"]} == want["log_sizes"]
    for job_id, job in want["jobs"].items():
        served = api(home, "GET", f"/api/v1/jobs/{job_id}")
        assert served["state"] == job["state"]
        assert [[s["kind"], s["entry_id"]] for s in served["steps"]] == job["steps"]
    designs = api(home, "GET", "/api/v1/designs?limit=1000")["designs"]
    assert sorted([d["id"], d["name"]] for d in designs) == want["designs"]
    proposals = api(home, "GET", f"{GOV}/proposals")["proposals"]
    assert {p["id"]: lasting_tally(p) for p in proposals} == want["proposals"]
    api(home, "POST", f"{GOV}/test-clock", {"offset_s": summary["clock_offset_s"]})
    found = api(home, "GET", f"{GOV}/proposals/{summary['proposal']}/tally")
    assert closed_tally(found) == summary["closed_tally"]


@pytest.mark.parametrize("command", [("ledger", "log"), ("run",)], ids=" ".join)
def test_a_home_from_a_newer_release_is_refused_by_reads_and_by_the_node(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    summary = unpack(SUMMARIES[-1], tmp_path)
    home = tmp_path / next(iter(summary["homes"]))
    with contextlib.closing(sqlite3.connect(home / "ledger.sqlite3")) as conn, conn:
        newer = schema_version() + 1
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (newer,))
    before = (home / "ledger.sqlite3").read_bytes()
    status, out = fabnode(*command, home=home, state=tmp_path / summary["state_dir"])
    assert status == 1 and out["error"]["code"] == "misuse.newer-database"
    assert (home / "ledger.sqlite3").read_bytes() == before
    assert list(home.glob("*.bak")) == []
