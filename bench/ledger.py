"""Ledger throughput on this machine (issue: the ledger; ARCHITECTURE §2, §6).

Prints, for N entries (default 100,000):
  * raw Ed25519 verify rate of the signature library (PyNaCl/libsodium) and of
    `cryptography`, for reference: the physical bound of ingest;
  * local append: sign + Merkle + SQLite store of our own log, entries/s
    (target >= 15,000/s on one core);
  * ingest: verify + store a received N-entry range of another author in
    1,000-entry batches, entries/s and as a ratio of the raw verify rate
    (target >= 0.7).
Figures only; nothing here asserts on time.  Run: make bench  (or python -m bench.ledger N)
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

import nacl.signing
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.log import Ledger
from node.storage import SqliteLogStore
from protocol import kinds
from protocol.identity import development_network, identity_id
from protocol.keys import SigningKey

BATCH = 1000


def raw_verify_rates(samples: int = 20_000) -> tuple[float, float]:
    message = b"x" * 200
    nacl_key = nacl.signing.SigningKey(b"\x01" * 32)
    signed = nacl_key.sign(message)
    verify_key = nacl_key.verify_key
    start = time.perf_counter()
    for _ in range(samples):
        verify_key.verify(signed)
    nacl_rate = samples / (time.perf_counter() - start)
    crypto_key = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
    signature = crypto_key.sign(message)
    public = crypto_key.public_key()
    start = time.perf_counter()
    for _ in range(samples // 2):
        public.verify(signature, message)
    return nacl_rate, (samples // 2) / (time.perf_counter() - start)


def seeded(name: str) -> SigningKey:
    return SigningKey(hashlib.sha256(name.encode()).digest())


def append_run(folder: Path, n: int) -> tuple[float, list[bytes], bytes, bytes]:
    """Append n entries to our own log; return (rate, raws, network, author)."""
    signing, recovery = seeded("bench/signing"), seeded("bench/recovery")
    network, author = development_network("bench"), identity_id(signing.public, recovery.public)
    store = SqliteLogStore(folder / "author.sqlite3")
    ledger = Ledger(store)
    inception = {"signing_key": signing.public, "recovery_key": recovery.public}
    items = [(kinds.INCEPTION, inception)] + [
        (kinds.NOTE, {"text": f"bench entry {i}"}) for i in range(1, n)
    ]
    start = time.perf_counter()
    for i in range(0, n, BATCH):
        ledger.append(signing, network, author, items[i : i + BATCH], 1_700_000_000_000 + i)
    rate = n / (time.perf_counter() - start)
    raws = store.read_entries(network, author, 1, n + 1)
    store.close()
    return rate, raws, network, author


def ingest_run(folder: Path, raws: list[bytes]) -> float:
    store = SqliteLogStore(folder / "reader.sqlite3")
    ledger = Ledger(store)
    start = time.perf_counter()
    for i in range(0, len(raws), BATCH):
        report = ledger.ingest(raws[i : i + BATCH])
        assert not report.rejected
    rate = len(raws) / (time.perf_counter() - start)
    store.close()
    return rate


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    nacl_rate, crypto_rate = raw_verify_rates()
    with tempfile.TemporaryDirectory() as tmp:
        append_rate, raws, _, _ = append_run(Path(tmp), n)
        ingest_rate = ingest_run(Path(tmp), raws)
    print(f"ledger benchmark, {n:,} entries, one core")
    print(f"  raw Ed25519 verify (PyNaCl/libsodium)   {nacl_rate:>10,.0f} /s")
    print(f"  raw Ed25519 verify (cryptography)       {crypto_rate:>10,.0f} /s")
    print(
        f"  local append (sign+Merkle+SQLite)       {append_rate:>10,.0f} entries/s"
        f"   target >= 15,000"
    )
    print(
        f"  ingest (verify+Merkle+SQLite)           {ingest_rate:>10,.0f} entries/s"
        f"   = {ingest_rate / nacl_rate:.2f} x raw verify, target >= 0.70"
    )


if __name__ == "__main__":
    main()
