"""The node's signature checks on every core give the answers of the serial ones
(node.verifier; specs/0002 §4): the same verdict, error code and order for every
entry of a batch, whatever its size and wherever its bad signatures are."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.audit import audit
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from node.ops.verifier import PARALLEL_FROM, ParallelSignatureCheck, usable_cores
from protocol.entry import Entry, check_signatures, decode_entries
from protocol.errors import CommonsError
from tests.factory import Author

_AUTHOR = Author("verifier")
for _i in range(3 * PARALLEL_FROM):
    _AUTHOR.note(f"note {_i}")
_RAWS = [e.raw for e in _AUTHOR.entries]
_CHECK = ParallelSignatureCheck(threads=3)
_POOL_RAN: list[int] = []  # sizes of the parts _CHECK's pool threads checked


def _recorded(part: Sequence[Entry]) -> list[CommonsError | None]:
    if threading.current_thread().name.startswith("fab-verify"):
        _POOL_RAN.append(len(part))
    return check_signatures(part)


_CHECK.check_part = _recorded  # so each test can tell the pool did part of the work


def _flip_signature(raw: bytes) -> bytes:
    out = bytearray(raw)
    out[-1] ^= 0x01  # the signature's last byte: the form still decodes
    return bytes(out)


def _codes(results: list[Entry | CommonsError]) -> list[str | None]:
    return [r.code if isinstance(r, CommonsError) else None for r in results]


@given(
    size=st.integers(0, len(_RAWS)),
    bad=st.sets(st.integers(0, len(_RAWS) - 1), max_size=6),
    cut=st.sets(st.integers(0, len(_RAWS) - 1), max_size=3),
)
@settings(max_examples=60, deadline=None)
def test_parallel_checks_agree_with_serial_ones(size: int, bad: set[int], cut: set[int]) -> None:
    items = []
    for i, raw in enumerate(_RAWS[:size]):
        if i in cut:
            items.append(raw[:40])  # a bad form: never reaches the signature check
        elif i in bad:
            items.append(_flip_signature(raw))
        else:
            items.append(raw)
    serial = decode_entries(items)
    _POOL_RAN.clear()
    parallel = decode_entries(items, check=_CHECK)
    formed = size - len({i for i in cut if i < size})
    assert bool(_POOL_RAN) == (formed >= PARALLEL_FROM)  # the pool's share, when large
    assert _codes(parallel) == _codes(serial)
    assert [r for r in parallel if isinstance(r, Entry)] == [
        r for r in serial if isinstance(r, Entry)
    ]
    want = {i for i in bad if i < size and i not in cut}
    assert {i for i, c in enumerate(_codes(parallel)) if c == "verify.bad-signature"} == want


def test_a_large_batch_is_checked_on_other_threads_too() -> None:
    entries = [r for r in decode_entries(_RAWS) if isinstance(r, Entry)]
    seen: list[tuple[str, int]] = []

    def watched(part: Sequence[Entry]) -> list[CommonsError | None]:
        seen.append((threading.current_thread().name, len(part)))
        return check_signatures(part)

    checker = ParallelSignatureCheck(threads=2)
    checker.check_part = watched
    try:
        assert checker(entries) == [None] * len(entries)
        here = threading.current_thread().name
        assert sorted(n for _, n in seen) == [len(entries) // 2, len(entries) - len(entries) // 2]
        assert {name for name, _ in seen} - {here} and any(name == here for name, _ in seen)
        seen.clear()
        assert checker(entries[: PARALLEL_FROM - 1]) == [None] * (PARALLEL_FROM - 1)
        assert seen == [(here, PARALLEL_FROM - 1)]  # small: on the calling thread only
    finally:
        checker.close()


def test_a_ledger_with_the_parallel_check_refuses_what_the_serial_one_refuses() -> None:
    good = _RAWS[: 2 * PARALLEL_FROM]
    broken = [*good[:-1], _flip_signature(good[-1])]
    _POOL_RAN.clear()
    for check in (check_signatures, _CHECK):
        ledger = Ledger(MemoryLogStore())
        ledger.check_signatures = check
        report = ledger.ingest(broken)
        assert len(report.accepted) == len(broken) - 1
        assert [e.code for _, e in report.rejected] == ["verify.bad-signature"]
    assert _POOL_RAN  # the ledger used the check it was given


def test_the_thread_count_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABNODE_VERIFY_THREADS", "1")
    assert usable_cores() == 1
    assert ParallelSignatureCheck().threads == 1
    monkeypatch.setenv("FABNODE_VERIFY_THREADS", "3")
    assert ParallelSignatureCheck().threads == 3
    monkeypatch.setenv("FABNODE_VERIFY_THREADS", "junk")
    assert usable_cores() == len(os.sched_getaffinity(0))


@given(at=st.lists(st.integers(0, len(_RAWS) - 1), min_size=1, max_size=2, unique=True))
@settings(max_examples=15, deadline=None)
def test_a_full_audit_finds_the_same_damage_either_way(at: list[int]) -> None:
    ledger = Ledger(MemoryLogStore())
    assert not ledger.ingest(_RAWS).rejected
    store = ledger.store
    assert isinstance(store, MemoryLogStore)
    log = store._entries[(_AUTHOR.network, _AUTHOR.id)]  # the damage, in place
    assert isinstance(log, list)
    for i in at:
        log[i] = log[i]._replace(raw=_flip_signature(log[i].raw))
    serial = audit(ledger.store)
    _POOL_RAN.clear()
    parallel = audit(ledger.store, check=_CHECK)
    assert _POOL_RAN  # the audit used the check it was given
    assert parallel.errors == serial.errors
    assert serial.errors == [
        {"code": "verify.bad-signature", "author": _AUTHOR.id.hex(), "seq": min(at) + 1}
    ]
