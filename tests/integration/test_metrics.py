"""Health and metrics of real `fabnode run` processes (issue 16; node/api/metrics.py).

`/metrics` is scraped with the token as Prometheus would and parsed with
prometheus_client's own parser; values are checked to move with what the node does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.cli_helpers import fabnode
from tests.integration.test_governance import charter_toml, cli
from tests.node_process import api, log_size, running_node, wait_until

pytestmark = pytest.mark.integration

TIMEOUT_S = 30
#: (series, labels) -> value of one scrape.
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def scrape(url: str, token: str) -> Samples:
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.get(url + "/metrics", headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def token_of(home: Path) -> str:
    return (home / "api.token").read_text().strip()


def start(stack: ExitStack, home: Path, *extra: str) -> str:
    _, ready = stack.enter_context(running_node(home, *extra))
    return str(ready["api"])


def test_healthz_is_open_and_says_only_ok(tmp_path: Path, stack: ExitStack) -> None:
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    url = start(stack, home)
    health = requests.get(url + "/healthz", timeout=TIMEOUT_S)
    assert health.status_code == 200 and health.json() == {"ok": True}
    assert health.content == b'{"ok":true}'  # and nothing more
    for header in ("Bearer wrong", "Basic Zm9vOmJhcg=="):  # a token changes nothing
        again = requests.get(url + "/healthz", headers={"Authorization": header}, timeout=9)
        assert again.json() == {"ok": True}
    elsewhere = requests.get(url + "/healthz", headers={"Host": "evil.example"}, timeout=9)
    assert elsewhere.status_code == 421  # the Host check still applies
    assert elsewhere.json()["error"]["code"] == "misuse.bad-host"
    for wrong in (None, "Bearer wrong"):
        headers = {} if wrong is None else {"Authorization": wrong}
        stranger = requests.get(url + "/metrics", headers=headers, timeout=TIMEOUT_S)
        assert stranger.status_code == 401
        assert stranger.json()["error"]["code"] == "misuse.unauthorized"


def test_metrics_move_with_what_the_node_does(tmp_path: Path, stack: ExitStack) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for home in (a, b):
        assert fabnode("init", home=home)[0] == 0
    url_a = start(stack, a)
    before = scrape(url_a, token_of(a))
    assert value(before, "fabnode_peers_connected") == 0
    assert value(before, "fabnode_entries_stored_total", source="own") == 0
    assert value(before, "fabnode_disk_read_only") == 0
    assert value(before, "fabnode_disk_free_bytes") > 0
    assert value(before, "fabnode_log_size_entries_count") == 0  # logs held
    assert value(before, "fabnode_blob_store_blobs") == 0
    for name in (
        "fabnode_peers_banned",
        "fabnode_sync_lag_entries",
        "fabnode_fork_proofs",
        "fabnode_frozen_authors",
        "fabnode_storage_jobs_pending",
        "fabnode_process_resident_memory_bytes",
    ):
        assert (name, frozenset()) in before, name
    for verdict in ("accepted", "rejected", "ignored", "unverified", "not_admitted"):
        assert value(before, "fabnode_gossip_announcements_total", verdict=verdict) == 0
    assert ("fabnode_witness_lag_entries", frozenset()) not in before  # no federation

    assert fabnode("note", "the laser cutter is free", home=a)[0] == 0
    part = tmp_path / "bracket.stl"
    part.write_bytes(b"solid bracket\nendsolid bracket\n")
    assert fabnode("blob", "add", part, home=a)[0] == 0
    after = scrape(url_a, token_of(a))
    assert value(after, "fabnode_entries_stored_total", source="own") == 2  # inception, note
    assert value(after, "fabnode_own_log_entries") == 2
    assert value(after, "fabnode_log_size_entries_sum") == 2
    assert value(after, "fabnode_blob_store_blobs") == 1
    assert value(after, "fabnode_blob_store_bytes") == len(part.read_bytes())
    assert value(after, "fabnode_storage_jobs_total") > value(before, "fabnode_storage_jobs_total")

    listen = api(a, "GET", "/api/v1/status")["listen_addrs"][0]
    url_b = start(stack, b, "--bootstrap", listen)
    author_a = fabnode("id", home=a)[1]["identity"]
    wait_until("b holds a's log", lambda: log_size(b, author_a) == 2, TIMEOUT_S)
    on_b = wait_until(
        "a sync session on b",
        lambda: (
            (s := scrape(url_b, token_of(b)))
            and value(s, "fabnode_sync_sessions_total", outcome="completed") >= 1
            and s
        ),
        TIMEOUT_S,
    )
    assert value(on_b, "fabnode_peers_connected") == 1
    fetched = value(on_b, "fabnode_entries_stored_total", source="sync")
    fetched += value(on_b, "fabnode_entries_stored_total", source="gossip")
    assert fetched >= 2
    assert value(on_b, "fabnode_sync_session_lacking_entries_count") >= 1
    on_a = scrape(url_a, token_of(a))
    assert value(on_a, "fabnode_peers_connected") == 1


def test_a_federation_reports_its_witness_lag(tmp_path: Path, stack: ExitStack) -> None:
    """Two founders, one witness required: A's log is witnessed by B, and A's witness
    lag goes back to 0 after each entry; B counts the cosignatures it made."""
    a, b = tmp_path / "fa", tmp_path / "fb"
    ids = [cli(h, "init")["identity"] for h in (a, b)]
    charter = tmp_path / "charter.toml"
    charter.write_text(charter_toml(ids).replace("witness_count = 2", "witness_count = 1"))
    network = cli(a, "federation", "create", charter)["network"]
    url_a = start(stack, a)
    listen = api(a, "GET", "/api/v1/status")["listen_addrs"][0]
    cli(b, "join", network, "--bootstrap", listen)
    url_b = start(stack, b)
    api(a, "POST", "/api/v1/notes", {"text": "witness this"})

    def witnessed() -> bool:
        samples = scrape(url_a, token_of(a))
        own = value(samples, "fabnode_own_log_entries")
        return own >= 2 and value(samples, "fabnode_witness_lag_entries") == 0

    wait_until("a's log witnessed", witnessed, TIMEOUT_S)
    assert value(scrape(url_b, token_of(b)), "fabnode_cosignatures_made_total") >= 1


def test_the_gossip_trace_times_an_entry_from_publish_to_store(
    tmp_path: Path, stack: ExitStack
) -> None:
    """A's note is published, then received and stored on B, on one monotonic clock
    (what bench.gossip subtracts)."""
    a, b = tmp_path / "a", tmp_path / "b"
    for home in (a, b):
        assert fabnode("init", home=home)[0] == 0
    start(stack, a)
    listen = api(a, "GET", "/api/v1/status")["listen_addrs"][0]
    start(stack, b, "--bootstrap", listen)

    def meshed(home: Path) -> bool:
        topics = api(home, "GET", "/api/v1/status")["topics"]
        return any(t.endswith("/announce/1") and c["mesh"] >= 1 for t, c in topics.items())

    wait_until("a gossip mesh", lambda: meshed(a) and meshed(b), TIMEOUT_S)

    def traced(home: Path, entry_id: str, what: str) -> dict[str, int] | None:
        rows = api(home, "GET", "/api/v1/status/gossip")["entries"]
        row = next((r for r in rows if r["entry_id"] == entry_id), None)
        return row if row is not None and what in row else None

    note = api(a, "POST", "/api/v1/notes", {"text": "traced"})["entry_id"]
    sent = wait_until("a's trace", lambda: traced(a, note, "published_ns"), TIMEOUT_S)
    got = wait_until("b's trace", lambda: traced(b, note, "stored_ns"), TIMEOUT_S)
    assert sent["bytes"] == got["bytes"] > 0
    assert sent["published_ns"] <= got["received_ns"] <= got["stored_ns"]
