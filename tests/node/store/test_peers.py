"""node.store.peers: the persistent peer store (specs/0014 §4), on real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from node.store import peers as peers_module
from node.store.peers import (
    MAX_DIAL_FAILURES,
    MAX_STORED_PEERS,
    SCHEMA_VERSION,
    STORE_FILE,
    PeerStore,
)
from protocol.address import AddressRecord, decode_address_record, sign_address_record
from protocol.errors import LocalMisuseError
from protocol.keys import SigningKey

NETWORK = bytes(range(32))
NOW = 1_767_225_600_000


def record(index: int, seq_ms: int = NOW, port: int = 4001) -> AddressRecord:
    key = SigningKey(index.to_bytes(32, "big"))
    signed = sign_address_record(key, NETWORK, [f"/ip4/192.0.2.1/tcp/{port}"], seq_ms)
    return decode_address_record(signed, NETWORK, seq_ms)


def test_a_newer_record_replaces_and_an_older_one_does_not(tmp_path: Path) -> None:
    store = PeerStore.in_home(tmp_path, NETWORK)
    assert store.put(record(1, NOW), NOW)
    assert not store.put(record(1, NOW - 1, port=5000), NOW)
    assert not store.put(record(1, NOW, port=5000), NOW)  # as new: kept the first
    assert store.put(record(1, NOW + 1, port=6000), NOW)
    [peer] = store.peers(NOW)
    assert peer.record.addrs == ("/ip4/192.0.2.1/tcp/6000",)


def test_it_survives_a_restart(tmp_path: Path) -> None:
    store = PeerStore.in_home(tmp_path, NETWORK)
    store.put(record(1), NOW)
    store.put(record(2), NOW)
    store.note_connected(record(2).peer_id, NOW + 5)
    store.close()
    again = PeerStore.in_home(tmp_path, NETWORK)
    found = {p.peer_id: p.last_connected_ms for p in again.peers(NOW)}
    assert found == {record(1).peer_id: None, record(2).peer_id: NOW + 5}
    assert (tmp_path / STORE_FILE).stat().st_mode & 0o777 == 0o600


def test_rows_that_no_longer_verify_are_dropped(tmp_path: Path) -> None:
    store = PeerStore.in_home(tmp_path, NETWORK)
    store.put(record(1), NOW)
    store.put(record(2), NOW)
    with sqlite3.connect(tmp_path / STORE_FILE) as db:
        db.execute("UPDATE peers SET record = x'00' WHERE peer_id = ?", (record(1).peer_id,))
    assert [p.peer_id for p in store.peers(NOW)] == [record(2).peer_id]
    other = PeerStore.in_home(tmp_path, bytes(32))  # the home joined another network
    assert other.peers(NOW) == []


def test_a_peer_failing_for_a_month_is_forgotten(tmp_path: Path) -> None:
    store = PeerStore.in_home(tmp_path, NETWORK)
    store.put(record(1), NOW)
    peer = record(1).peer_id
    for _ in range(MAX_DIAL_FAILURES):
        store.note_dial_failed(peer, NOW + 1000)  # failing, but learned just now: kept
    assert store.peers(NOW)[0].failures == MAX_DIAL_FAILURES
    store.note_dial_failed(peer, NOW + 31 * 24 * 3600 * 1000)
    assert store.peers(NOW) == []


def test_the_store_is_bounded_and_keeps_the_peers_that_work(tmp_path: Path) -> None:
    store = PeerStore.in_home(tmp_path, NETWORK)
    store.put(record(1), NOW)
    for _ in range(3):
        store.note_dial_failed(record(1).peer_id, NOW)
    for index in range(2, MAX_STORED_PEERS + 2):
        store.put(record(index), NOW)
    found = {p.peer_id for p in store.peers(NOW)}
    assert len(found) == MAX_STORED_PEERS
    assert record(1).peer_id not in found  # the failing one went first


def test_a_stored_row_is_verified_once_while_its_bytes_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PeerStore.in_home(tmp_path, NETWORK)
    for i in (1, 2, 3):
        store.put(record(i), NOW)
    decoded: list[bytes] = []

    def counting(data: bytes, network: bytes, now_ms: int) -> AddressRecord:
        decoded.append(data)
        return decode_address_record(data, network, now_ms)

    monkeypatch.setattr(peers_module, "decode_address_record", counting)
    first = store.peers(NOW)
    assert len(decoded) == 3 and store.peers(NOW + 1) == first and len(decoded) == 3
    store.put(record(2, NOW + 5, port=5000), NOW + 5)  # a newer record: its new bytes
    assert {p.record.addrs[0] for p in store.peers(NOW + 5)} >= {"/ip4/192.0.2.1/tcp/5000"}
    assert len(decoded) == 4


def test_the_schema_version_is_kept_and_a_newer_one_refused(tmp_path: Path) -> None:
    store = PeerStore.in_home(tmp_path, NETWORK)
    store.put(record(1), NOW)
    store.close()
    with sqlite3.connect(tmp_path / STORE_FILE) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        db.execute("PRAGMA user_version = 0")  # as written before the version was kept
    again = PeerStore.in_home(tmp_path, NETWORK)
    assert [p.peer_id for p in again.peers(NOW)] == [record(1).peer_id]
    again.close()
    with sqlite3.connect(tmp_path / STORE_FILE) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LocalMisuseError) as refused:
        PeerStore.in_home(tmp_path, NETWORK)
    assert refused.value.code == "misuse.newer-database"
    with sqlite3.connect(tmp_path / STORE_FILE) as db:  # left as it was
        assert db.execute("SELECT COUNT(*) FROM peers").fetchone()[0] == 1
