"""The incremental advert index against reading every log from scratch (ledger.adverts)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.adverts import AdvertIndex
from ledger.log import Ledger
from ledger.matching import LabAdvert, newest_adverts
from ledger.store import MemoryLogStore
from protocol import kinds
from protocol.capability import ADVERT, AdvertBody
from protocol.entry import read_stored_entry
from tests.factory import NETWORK, Author, seeded_key
from tests.protocol.test_capability import advert_map


def advert_body(lead_time_days: int) -> dict[str, Any]:
    return advert_map(lead_time_days=lead_time_days, seal_key=None)


def from_scratch(store: MemoryLogStore) -> list[LabAdvert]:
    """The literal reading: every valid, unrevoked advert of every log, newest per lab."""
    found = []
    for head in store.heads():
        for raw in store.read_entries(head.network, head.author, 1, head.size + 1):
            entry = read_stored_entry(raw)
            body = kinds.check_body(entry.kind, entry.body).model
            if (
                entry.kind == ADVERT
                and isinstance(body, AdvertBody)
                and not head.is_revoked(entry.seq)
            ):
                found.append(LabAdvert(entry.author, entry.seq, entry.id, body))
    return newest_adverts(found)


def revoke(author: Author, from_seq: int, name: str) -> None:
    assert author.key_event is not None
    next_key = seeded_key(name)
    body = {
        "prev_key_event": author.key_event,
        "revoke_from_seq": from_seq,
        "next_key": next_key.public,
    }
    author.append(kinds.REVOCATION, body, key=author.recovery)
    author.signing = next_key


def test_a_revoked_advert_gives_way_to_the_one_before() -> None:
    store = MemoryLogStore()
    ledger, index, lab = Ledger(store), AdvertIndex(), Author("lab")
    lab.append(ADVERT, advert_body(1))
    lab.append(ADVERT, advert_body(2))
    ledger.ingest(e.raw for e in lab.entries)
    assert [a.body.lead_time_days for a in index.refresh(store, NETWORK)] == [2]
    sent = len(lab.entries)
    revoke(lab, 3, "lab/after-revocation")
    ledger.ingest(e.raw for e in lab.entries[sent:])
    assert [a.body.lead_time_days for a in index.refresh(store, NETWORK)] == [1]
    assert index.refresh(store, NETWORK) == from_scratch(store)


steps = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["advert", "bad-advert", "note", "revoke", "sync"]),
        st.integers(0, 30),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(steps)
def test_incremental_reading_equals_reading_from_scratch(plan: list[tuple[int, str, int]]) -> None:
    store = MemoryLogStore()
    ledger, index = Ledger(store), AdvertIndex()
    labs = [Author(f"lab-{i}") for i in range(3)]
    sent = [0, 0, 0]
    for n, (who, action, value) in enumerate(plan):
        lab = labs[who]
        if action == "advert":
            lab.append(ADVERT, advert_body(value))
        elif action == "bad-advert":
            lab.append(ADVERT, {**advert_body(value), "currency": "euro"})
        elif action == "note":
            lab.note(f"note {value}")
        elif action == "revoke" and len(lab.entries) >= 2:
            # void [k, this revocation) for some k in 2..len: at least one entry
            revoke(lab, 2 + value % (len(lab.entries) - 1), f"lab-{who}/key-{n}")
        elif action == "sync":
            ledger.ingest(e.raw for e in lab.entries[sent[who] :])
            sent[who] = len(lab.entries)
            assert index.refresh(store, NETWORK) == from_scratch(store)
    for who, lab in enumerate(labs):
        ledger.ingest(e.raw for e in lab.entries[sent[who] :])
    assert index.refresh(store, NETWORK) == from_scratch(store)
