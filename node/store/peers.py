"""The peer store: where the node's peers were last heard to be (specs/0014 §4).

`peers.sqlite3` in the home, one row per peer id: the latest signed address record
(kept as received, so it can be shared on), its `seq_ms`, when the peer was last
connected and its consecutive dial failures. It survives restarts: a node that starts
dials from it as well as from its bootstrap list, so a federation does not depend on
its bootstrap node staying up.

Guarantees: a record replaces the stored one only if its `seq_ms` is larger; rows are
re-judged (protocol.address.decode_address_record) when read, so a damaged row or a
record of another network is dropped rather than dialed; at most MAX_STORED_PEERS
rows (beyond, the peers that failed the most, then were connected the longest ago,
go); a peer that failed MAX_DIAL_FAILURES dials in a row and was not connected for
FORGET_AFTER_MS is dropped. One connection behind a lock, used from worker threads
(trio.to_thread), never from the trio loop. Left to others: judging records as they
arrive (node.net.discovery) and deciding whom to dial (ledger.peering).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from protocol.address import AddressRecord, decode_address_record
from protocol.errors import CommonsError, LocalMisuseError

STORE_FILE: Final = "peers.sqlite3"
MAX_STORED_PEERS: Final = 512
MAX_DIAL_FAILURES: Final = 20
FORGET_AFTER_MS: Final = 30 * 24 * 3600 * 1000
#: The file's schema, in SQLite's user_version. Version 0 is the same table written
#: before the version was kept: opening stamps it. A newer version is refused
#: (misuse.newer-database), as the ledger's store does, rather than rewritten.
SCHEMA_VERSION: Final = 1

_SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS peers (
    peer_id TEXT PRIMARY KEY,
    record BLOB NOT NULL,
    seq_ms INTEGER NOT NULL,
    learned_ms INTEGER NOT NULL,
    last_connected_ms INTEGER,
    failures INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True, slots=True)
class StoredPeer:
    record: AddressRecord
    last_connected_ms: int | None
    failures: int

    @property
    def peer_id(self) -> str:
        return self.record.peer_id


class PeerStore:
    """The rows of `peers.sqlite3` for one network."""

    def __init__(self, path: Path, network: bytes) -> None:
        self.network = network
        self._lock = threading.Lock()
        self._closed = False
        #: Records verified already, by their bytes: a stored row is decoded once, not
        #: at every exchange (a record that verified stays valid: only a clock running
        #: ahead fails one, and time only moves on). Kept to what the table holds.
        self._verified: dict[bytes, AddressRecord] = {}
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                self._conn.close()
                raise LocalMisuseError(
                    "misuse.newer-database",
                    f"{path.name} has schema version {version}, written by a newer Fab "
                    f"Commons; this fabnode knows versions up to {SCHEMA_VERSION}: upgrade "
                    "it, or delete the file (it is a cache of peers' addresses)",
                )
            self._conn.executescript(_SCHEMA)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as e:
            raise LocalMisuseError("misuse.bad-home", f"{path.name}: {e}") from e
        os.chmod(path, 0o600)

    @classmethod
    def in_home(cls, home: Path, network: bytes) -> PeerStore:
        return cls(home / STORE_FILE, network)

    def close(self) -> None:
        """Close the file; later calls find nothing and keep nothing (a stream handler
        may still run while the node stops)."""
        with self._lock:
            self._closed = True
            self._conn.close()

    def put(self, record: AddressRecord, now_ms: int) -> bool:
        """Keep `record` (already judged) unless a record as new or newer is stored."""
        with self._lock:
            if self._closed:
                return False
            with self._conn:
                cursor = self._conn.execute(
                    "INSERT INTO peers (peer_id, record, seq_ms, learned_ms) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (peer_id) DO UPDATE SET record = excluded.record, "
                    "seq_ms = excluded.seq_ms, learned_ms = excluded.learned_ms "
                    "WHERE excluded.seq_ms > peers.seq_ms",
                    (record.peer_id, record.signed, record.seq_ms, now_ms),
                )
                changed = cursor.rowcount > 0
                if changed:
                    self._evict()
        return changed

    def note_connected(self, peer_id: str, now_ms: int) -> None:
        self._write(
            "UPDATE peers SET last_connected_ms = ?, failures = 0 WHERE peer_id = ?",
            (now_ms, peer_id),
        )

    def note_dial_failed(self, peer_id: str, now_ms: int) -> None:
        """One more failed dial; a peer failing long and not seen for a month goes."""
        self._write("UPDATE peers SET failures = failures + 1 WHERE peer_id = ?", (peer_id,))
        self._write(
            "DELETE FROM peers WHERE peer_id = ? AND failures >= ? "
            "AND COALESCE(last_connected_ms, learned_ms) < ?",
            (peer_id, MAX_DIAL_FAILURES, now_ms - FORGET_AFTER_MS),
        )

    def peers(self, now_ms: int, limit: int = MAX_STORED_PEERS) -> list[StoredPeer]:
        """The stored peers, freshest record first; rows that no longer verify are
        dropped (a damaged file, a record of another network)."""
        with self._lock:
            if self._closed:
                return []
            rows = self._conn.execute(
                "SELECT peer_id, record, last_connected_ms, failures FROM peers "
                "ORDER BY seq_ms DESC, peer_id LIMIT ?",
                (limit,),
            ).fetchall()
        found: list[StoredPeer] = []
        bad: list[str] = []
        verified: dict[bytes, AddressRecord] = {}
        for peer_id, raw, last, failures in rows:
            record = self._verified.get(bytes(raw))
            if record is None:
                try:
                    record = decode_address_record(bytes(raw), self.network, now_ms)
                except CommonsError:
                    bad.append(peer_id)
                    continue
            if record.peer_id != peer_id:
                bad.append(peer_id)
                continue
            verified[record.signed] = record
            found.append(StoredPeer(record, last, failures))
        with self._lock:
            if len(rows) < limit:  # every row was read: what is not among them is gone
                self._verified = verified
            else:
                self._verified.update(verified)
                while len(self._verified) > 2 * MAX_STORED_PEERS:
                    self._verified.pop(next(iter(self._verified)))
        for peer_id in bad:
            self._write("DELETE FROM peers WHERE peer_id = ?", (peer_id,))
        return found

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock:
            if not self._closed:
                with self._conn:
                    self._conn.execute(sql, params)

    def _evict(self) -> None:
        self._conn.execute(
            "DELETE FROM peers WHERE peer_id IN (SELECT peer_id FROM peers "
            "ORDER BY failures ASC, COALESCE(last_connected_ms, learned_ms) DESC "
            "LIMIT -1 OFFSET ?)",
            (MAX_STORED_PEERS,),
        )
