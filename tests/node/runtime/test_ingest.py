"""node.runtime.ingest against serial `Ledger.ingest`, and the ledger's split halves.

The pipelined path (verify batch N+1 on a worker thread while the storage thread
commits batch N, real SQLite files) must store the same logs and report the same
outcomes and errors as `Ledger.ingest` of each batch in turn, on mixed batches of
valid, duplicate, out-of-order, forged, malformed and equivocating entries.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.attest import check_key_events
from ledger.log import IngestReport, Ledger, prepare_ingest
from ledger.store import LogStore, MemoryLogStore
from node.runtime.ingest import Prepared, ingest_batches, pipelined
from node.runtime.storage_thread import open_storage
from node.store.logs import SqliteLogStore
from protocol.entry import check_signatures
from protocol.errors import CommonsError, LocalMisuseError
from tests.factory import Author

# -- a pool of received entries: good, forged, malformed, equivocating ---------------


def _pool() -> list[bytes]:
    alice, bob = Author("pipe-alice"), Author("pipe-bob")
    for i in range(6):
        alice.note(f"alice {i}")
        bob.note(f"bob {i}")
    twin = Author("pipe-alice")  # same keys: a restored backup that forks alice at seq 4
    for i in range(3):
        twin.note(f"twin {i}" if i == 2 else f"alice {i}")
    forged = bytearray(bob.entries[3].raw)
    forged[-1] ^= 1  # the signature no longer verifies
    raws = [e.raw for e in alice.entries + bob.entries]
    return [*raws, twin.entries[3].raw, bytes(forged), b"\x00not an entry", raws[2][:40]]


POOL = _pool()

batches_of_pool = st.lists(
    st.lists(st.sampled_from(range(len(POOL))), max_size=12), min_size=1, max_size=5
).map(lambda bs: [[POOL[i] for i in b] for b in bs])


def report_view(report: IngestReport) -> dict[str, Any]:
    return {
        "accepted": [e.id for e in report.accepted],
        "duplicates": report.duplicates,
        "rejected": [(i, type(e), e.code, e.message) for i, e in report.rejected],
        "forks": [p.raw for p in report.forks],
        "gaps": dict(report.gaps),
    }


def stored_view(store: LogStore) -> dict[str, Any]:
    heads = sorted(store.heads(), key=lambda h: h.author)
    return {
        "heads": [(h.author, h.size, h.head_id) for h in heads],
        "entries": [store.read_entries(h.network, h.author, 1, h.size + 1) for h in heads],
        "forks": sorted(p.raw for p in store.fork_proofs()),
    }


def serial(path: Path, batches: list[list[bytes]]) -> tuple[list[dict[str, Any]], Any]:
    with SqliteLogStore(path) as store:
        ledger = Ledger(store)
        reports = [report_view(ledger.ingest(batch)) for batch in batches]
        return reports, stored_view(store)


def piped(path: Path, batches: list[list[bytes]]) -> tuple[list[dict[str, Any]], Any]:
    async def main() -> tuple[list[dict[str, Any]], Any]:
        async with open_storage(path) as storage:
            ledger = await storage.run(Ledger)
            reports = await ingest_batches(storage, ledger, batches)
            return [report_view(r) for r in reports], await storage.run(stored_view)

    return trio.run(main)


@settings(max_examples=40, deadline=None)
@given(batches_of_pool)
def test_pipelined_ingest_stores_and_reports_as_serial_ingest(
    batches: list[list[bytes]],
) -> None:
    with tempfile.TemporaryDirectory(prefix="fabtest-pipe-") as tmp:
        expected = serial(Path(tmp) / "serial.sqlite3", batches)
        assert piped(Path(tmp) / "piped.sqlite3", batches) == expected


def test_the_mixed_pool_exercises_every_outcome() -> None:
    """The property above is not vacuous: the pool accepts, rejects, forks and gaps."""
    with tempfile.TemporaryDirectory(prefix="fabtest-pipe-") as tmp:
        reports, stored = piped(Path(tmp) / "p.sqlite3", [POOL[9:11], POOL[:7], POOL, POOL])
    assert reports[0]["gaps"] and not reports[0]["accepted"]  # bob's middle, no inception
    assert reports[1]["accepted"] and reports[2]["duplicates"]
    codes = {code for r in reports for _, _, code, _ in r["rejected"]}
    assert {"verify.bad-signature", "rule.frozen-author"} <= codes
    assert any(c.startswith("decode.") for c in codes)
    assert len(stored["forks"]) == 1


# -- the ledger's two halves: ingest_range unchanged ------------------------------------


def range_outcome(
    ledger: Ledger, raws: Sequence[bytes], note: bytes, split: bool, attested: bool
) -> Any:
    author = Author("pipe-alice")
    ledger.attested_ranges = attested
    check = check_key_events if attested else check_signatures
    try:
        if split:
            got = ledger.ingest_range_decoded(
                author.network, author.id, prepare_ingest(raws, check), note, [], deferred=attested
            )
        else:
            got = ledger.ingest_range(author.network, author.id, raws, note, [])
    except CommonsError as e:
        return (type(e), e.code, e.message)
    return [e.id for e in got]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(range(len(POOL))), max_size=8), st.booleans(), st.booleans())
def test_ingest_range_decoded_is_ingest_range(
    picks: list[int], whole: bool, attested: bool
) -> None:
    """Same entries committed, or the same first error, all or nothing; attested
    (specs/0003 §4.2: only key events checked on receipt) or every signature checked."""
    alice = Author("pipe-alice")
    for i in range(6):
        alice.note(f"alice {i}")
    raws = [e.raw for e in alice.entries] if whole else [POOL[i] for i in picks]
    cp = Ledger(MemoryLogStore())
    cp.ingest([e.raw for e in alice.entries])
    note = cp.sign_checkpoint(alice.signing, alice.network, alice.id).text
    outcomes = []
    for split in (False, True):
        ledger = Ledger(MemoryLogStore())
        outcome = range_outcome(ledger, raws, note, split, attested)
        outcomes.append((outcome, ledger.heads(), ledger.store.count_unchecked()))
    assert outcomes[0] == outcomes[1]


# -- ordering, bound and errors of the pipeline ----------------------------------------


def test_pipeline_keeps_order_and_one_batch_ahead() -> None:
    pulled: list[int] = []
    seen: list[tuple[int, int]] = []

    def batches() -> Iterator[list[bytes]]:
        for i in range(6):
            pulled.append(i)
            yield [POOL[i]]

    def apply(prepared: Prepared) -> int:
        index = POOL.index(prepared[0].raw) if not isinstance(prepared[0], CommonsError) else -1
        seen.append((index, len(pulled)))
        return index

    async def main() -> list[int]:
        with tempfile.TemporaryDirectory(prefix="fabtest-pipe-") as tmp:
            async with open_storage(Path(tmp) / "s.sqlite3") as storage:
                return await pipelined(storage, batches(), apply)

    assert trio.run(main) == list(range(6))
    # While batch k commits, batches up to k+1 have been taken, never more.
    assert all(taken <= index + 2 for index, taken in seen)


def test_an_error_of_the_stateful_half_stops_the_pipeline_as_itself() -> None:
    applied: list[int] = []
    failure = LocalMisuseError("misuse.test", "the second batch fails")

    def apply(prepared: Prepared) -> None:
        applied.append(len(applied))
        if len(applied) == 2:
            raise failure

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix="fabtest-pipe-") as tmp:
            async with open_storage(Path(tmp) / "s.sqlite3") as storage:
                await pipelined(storage, [[POOL[0]]] * 5, apply)

    with pytest.raises(LocalMisuseError) as raised:
        trio.run(main)
    assert raised.value is failure
    assert applied == [0, 1]
