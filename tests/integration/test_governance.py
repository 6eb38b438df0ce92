"""Governance on five real nodes (specs/0008-governance.md; issue: governance).

Every node is a `fabnode run` process with its own home, libp2p host and SQLite file.
A test federation (0008 §1.2) is founded by four labs; a fifth joins by network id,
applies, and is admitted by vote; a rule change (the blob size limit) passes and every
node enforces it; a proposal that misses quorum fails everywhere; a member removed by
vote can no longer publish, and what it signs anyway is refused by every other node.
Deadlines pass by moving the test federation's clock on every node: votes count by
their witnessed time (cosignatures of k members), never by the voter's timestamp.
Waits poll with deadlines; nothing sleeps.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ledger.log import Ledger
from node.cli.main import main
from node.store.home import NodeHome
from node.store.logs import SqliteLogStore
from protocol.errors import LocalMisuseError
from protocol.identity import development_network
from protocol.ids import id_from_text, id_to_text
from tests.cli_helpers import fabnode
from tests.node_process import api, log_size, running_node, wait_until

pytestmark = pytest.mark.integration

GOV = "/api/v1/governance"
HOUR_S = 3600
TIMEOUT_S = 120.0


def charter_toml(founders: list[str]) -> str:
    members = ",\n".join(f'  "{m}"' for m in founders)
    return f"""version = 1
name = "Test Commons"
text = "Five labs try their governance."
test = true
members = [
{members}
]

[rules]
quorum_permille = 500
pass_threshold_permille = 500
veto_threshold_permille = 334
voting_period_s = 3600
effect_delay_s = 0
admission_vouches = 0
licences = ["CC-BY-SA-4.0", "CERN-OHL-S-2.0"]
max_entry_bytes = 65536
max_str_bytes = 16384
max_blob_bytes = 1048576
job_offer_ttl_s = 604800
witness_count = 2
"""


def cli(home: Path, *args: str | Path) -> Any:
    """`fabnode --home HOME ARGS --json` as a subprocess, as an operator runs it."""
    status, out = fabnode(*args, home=home)
    assert status == 0, out
    return out


def run_cli(home: Path, *args: str | Path) -> tuple[int, Any]:
    """The same command line in this process (node.cli.main): commands that talk to a
    running node through its API, without paying an interpreter start each."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["--home", str(home), *map(str, args), "--json"])
    return status, json.loads(out.getvalue())


def fab(home: Path, *args: str | Path) -> Any:
    status, out = run_cli(home, *args)
    assert status == 0, out
    return out


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def tally(home: Path, proposal: str) -> dict[str, Any]:
    """The node's tally, or {} while the proposal has not reached it."""
    try:
        out: dict[str, Any] = api(home, "GET", f"{GOV}/proposals/{proposal}/tally")
    except LocalMisuseError as e:
        assert e.code == "misuse.unknown-proposal"
        return {}
    return out


def counted_everywhere(homes: list[Path], proposal: str, voted: int) -> bool:
    return all(tally(h, proposal).get("counts", {}).get("yes", -1) == voted for h in homes)


def advance_clocks(homes: list[Path], offset_s: int) -> None:
    out = fab(homes[0], "federation", "test-clock", str(offset_s))
    assert out["offset_s"] == offset_s
    for home in homes[1:]:
        api(home, "POST", f"{GOV}/test-clock", {"offset_s": offset_s})


def vote(home: Path, proposal: str, choice: str) -> None:
    out = api(home, "POST", f"{GOV}/proposals/{proposal}/votes", {"choice": choice})
    assert out["choice"] == choice


def propose(home: Path, **action: Any) -> str:
    return str(api(home, "POST", f"{GOV}/proposals", action)["proposal"])


def blob_refused(home: Path) -> bool:
    """Does the running node's rule reach local commands? (the node writes it)"""
    out = json.loads((home / "governance.json").read_text())
    return bool(out["rules"]["max_blob_bytes"] == 2048)


def outcome_everywhere(homes: list[Path], proposal: str, outcome: str) -> bool:
    return all(tally(h, proposal).get("outcome") == outcome for h in homes)


def test_five_labs_govern_a_federation(tmp_path: Path, stack: ExitStack) -> None:
    homes = [tmp_path / f"lab-{c}" for c in "abcde"]
    ids = [cli(h, "init")["identity"] for h in homes]
    a, b, c, d, e = homes
    founders = homes[:4]
    (tmp_path / "charter.toml").write_text(charter_toml(ids[:4]))

    created = cli(a, "federation", "create", tmp_path / "charter.toml")
    network = created["network"]
    assert created["founder"] and created["test"]
    _, ready_a = stack.enter_context(running_node(a))
    wrong = id_to_text(development_network("elsewhere"))
    status, refused = fabnode("join", wrong, "--bootstrap", ready_a["listen"][0], home=b)
    assert status == 1 and refused["error"]["code"] == "remote.charter-unavailable"
    assert NodeHome(b).charter() is None
    d_stack = stack.enter_context(ExitStack())  # D's node is restarted below
    for home in homes[1:]:
        joined = cli(home, "join", network, "--bootstrap", ready_a["listen"][0])
        assert joined["network"] == network
        (d_stack if home == d else stack).enter_context(running_node(home))
    for home in homes:
        status = api(home, "GET", "/api/v1/status")
        assert status["network"]["id"] == network
    for home in homes:  # every founder publishes its inception: witnesses need its key
        wait_until(
            f"founders' logs on {home.name}",
            lambda h=home: all(log_size(h, i) >= 1 for i in ids[:4]),
            TIMEOUT_S,
        )

    # A new lab applies; its request is relayed although it is not a member.
    applied = fab(e, "member", "apply", "--name", "Lab E", "--text", "a new fab lab")
    assert applied["identity"] == ids[4]
    for home in founders:
        wait_until(
            f"the application on {home.name}",
            lambda h=home: any(
                x["identity"] == ids[4] for x in api(h, "GET", f"{GOV}/members")["applications"]
            ),
            TIMEOUT_S,
        )

    # Three proposals: admit E, lower the blob limit, and one that will miss quorum.
    admit = fab(a, "propose", "admit", ids[4], "--title", "Admit Lab E")["proposal"]
    blobs = fab(c, "propose", "rules", "--set", "max_blob_bytes=2048", "--title", "Smaller blobs")[
        "proposal"
    ]
    lonely = propose(
        b, action="rules.change", title="Short offers", changes={"job_offer_ttl_s": 3600}
    )
    for home in founders:
        wait_until(
            f"proposals open on {home.name}",
            lambda h=home: all(
                tally(h, p).get("outcome") == "voting" for p in (admit, blobs, lonely)
            ),
            TIMEOUT_S,
        )
    assert fab(a, "vote", admit, "yes")["choice"] == "yes"
    for voter in (b, c):
        vote(voter, admit, "yes")
    for voter in (a, b, c):
        vote(voter, blobs, "yes")
    vote(d, blobs, "no")
    vote(b, lonely, "yes")
    live = fab(a, "tally", admit)
    assert live["final"] is False
    wait_until("votes witnessed", lambda: counted_everywhere(homes, admit, 3), TIMEOUT_S)
    wait_until("votes witnessed", lambda: counted_everywhere(homes, blobs, 3), TIMEOUT_S)
    wait_until("the lonely vote", lambda: counted_everywhere(homes, lonely, 1), TIMEOUT_S)

    # Before the deadline a 4 KiB blob is fine; then the deadline passes everywhere.
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 4096)
    assert run_cli(a, "blob", "add", big)[0] == 0
    advance_clocks(homes, HOUR_S + 100)
    wait_until("admitted", lambda: outcome_everywhere(homes, admit, "passed"), TIMEOUT_S)
    wait_until("rule passed", lambda: outcome_everywhere(homes, blobs, "passed"), TIMEOUT_S)
    wait_until("no quorum", lambda: outcome_everywhere(homes, lonely, "no-quorum"), TIMEOUT_S)
    final = fab(c, "tally", lonely)
    assert final["final"] and final["quorum_reached"] is False
    assert final["counts"] == {"yes": 1, "no": 0, "abstain": 0, "veto": 0}

    rules = [api(h, "GET", f"{GOV}/rules")["rules_hash"] for h in homes]
    assert len(set(rules)) == 1, "every node computes the same rules"
    assert fab(d, "rules", "show")["rules"]["max_blob_bytes"] == 2048
    for home in homes:
        assert ids[4] in api(home, "GET", f"{GOV}/members")["members"]
        wait_until(f"the rule written on {home.name}", lambda h=home: blob_refused(h), TIMEOUT_S)
    for home in (a, e):  # the blob store refuses what the rule forbids
        status, out = run_cli(home, "blob", "add", big)
        assert status == 1 and out["error"]["code"] == "rule.blob-too-large"
    listing = api(a, "GET", f"{GOV}/proposals")["proposals"]
    assert {p["id"] for p in listing} == {admit, blobs, lonely}
    detail = api(d, "GET", f"{GOV}/proposals/{blobs}")
    assert detail["action"] == {
        "action": "rules.change",
        "title": "Smaller blobs",
        "changes": {"max_blob_bytes": 2048},
    }
    assert detail["tally"]["counts"] == {"yes": 3, "no": 1, "abstain": 0, "veto": 0}
    charter = api(e, "GET", f"{GOV}/charter")
    assert charter["network"] == network and charter["amendments"] == []
    assert charter["text"] == charter["founding_text"]
    history = fab(b, "rules", "show", "--history")["history"]
    assert {h["proposal"] for h in history[1:]} == {admit, blobs}
    times = [h["effective_at_s"] for h in history[1:]]
    assert times == sorted(times)
    assert any(h["proposal"] == blobs and h["rules"]["max_blob_bytes"] == 2048 for h in history)
    before = fab(b, "rules", "show", "--at", str(int(time.time())))["rules"]
    assert before["max_blob_bytes"] == 1048576, "the rules at a past time"

    # A member vouches for a designer: the designer may publish, not vote.
    designer = fab(tmp_path / "designer", "init")["identity"]
    fab(a, "member", "vouch", designer)
    wait_until(
        "the designer vouched for everywhere",
        lambda: all(
            [v["identity"] for v in api(h, "GET", f"{GOV}/members")["vouched"]] == [designer]
            for h in homes
        ),
        TIMEOUT_S,
    )

    # The admitted lab proposes to remove D; D's node then refuses to sign, and what D
    # signs anyway (a modified node) is refused by every other node.
    remove = fab(e, "propose", "remove", ids[3], "--title", "Remove Lab D")["proposal"]
    wait_until("remove opens", lambda: outcome_everywhere(homes, remove, "voting"), TIMEOUT_S)
    for voter in (a, b, c, e):
        vote(voter, remove, "yes")
    wait_until("remove votes", lambda: counted_everywhere(homes, remove, 4), TIMEOUT_S)
    assert tally(a, remove)["electorate_size"] == 5
    advance_clocks(homes, 2 * HOUR_S + 200)
    wait_until("removed", lambda: outcome_everywhere(homes, remove, "passed"), TIMEOUT_S)
    for home in homes:
        wait_until(
            f"D removed on {home.name}",
            lambda h=home: ids[3] not in api(h, "GET", f"{GOV}/members")["members"],
            TIMEOUT_S,
        )
    status, refused = run_cli(d, "note", "still here")
    assert status == 1 and refused["error"]["code"] == "rule.not-admitted"

    # A modified node signs anyway: every peer refuses the entry in sync and gossip.
    held = log_size(a, ids[3])
    d_stack.close()
    sign_bypassing_rules(d, network, ids[3])
    with running_node(d):
        peer_d = run_cli(d, "id")[1]["peer_id"]
        wait_until(  # a separate step, so a failure says which one failed
            "d connected to a again",
            lambda: peer_d in api(a, "GET", "/api/v1/status")["peers"],
            TIMEOUT_S,
        )
        # A session now (not at the peering policy's next timer), so one certainly ran
        # after D's entry existed. The refusal may fall in it or in another session
        # with D: the policy's, or D's own, in which A fetches too (a log one session
        # fetches, another leaves to it: specs/0005 §6 step 4). A's refusals from D
        # count them all, each once its session ended.
        synced = api(a, "POST", "/api/v1/sync", {"peer": peer_d})
        assert {"entries_ingested", "heads_cosigned", "logs_left_to_others"} <= synced.keys()

        def refused_from_d() -> Any:
            refused = api(a, "GET", "/api/v1/status")["sync"]["refused"]
            return refused.get(peer_d, {}).get("rule.not-admitted")

        assert wait_until("A refused D's entry", refused_from_d, TIMEOUT_S), synced
        assert log_size(d, ids[3]) == held + 1
        for home in [*homes[:3], e]:
            assert log_size(home, ids[3]) == held


def sign_bypassing_rules(home: Path, network: str, author: str) -> None:
    """What a modified node would do: sign a note with no admission policy at all."""
    with SqliteLogStore(home / "ledger.sqlite3") as store:
        ledger = Ledger(store)
        key = NodeHome(home).signing_key()
        net, me = id_from_text(network), id_from_text(author)
        ledger.append(key, net, me, [("note", {"text": "signed anyway"})], time.time_ns() // 10**6)
        ledger.sign_checkpoint(key, net, me)
