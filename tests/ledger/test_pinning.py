"""ledger/pinning.py: who pins a design file, and what each member pins (specs/0009 §13).
The vectors (blobs/pinning) hold the spec's cases; here, properties of the choice, and
the optional pinning rules of specs/0008 §2."""

from __future__ import annotations

import hashlib
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from ledger.pinning import PinnedFile, pin_set, pinners
from protocol.governance import Charter, Rules, RulesChange, charter_bytes, decode_charter

ids = st.binary(min_size=32, max_size=32)


@given(ids, st.lists(ids, min_size=1, max_size=12, unique=True), st.integers(0, 16), st.data())
def test_pinners_are_members_not_authors_and_as_many_as_asked(
    blob: bytes, members: list[bytes], replicas: int, data: st.DataObject
) -> None:
    authors = data.draw(st.lists(st.sampled_from(members), unique=True))
    chosen = pinners(blob, members, replicas, authors)
    assert len(chosen) == min(replicas, len(members) - len(authors))
    assert len(set(chosen)) == len(chosen)
    assert set(chosen) <= set(members) - set(authors)
    assert chosen == pinners(blob, list(reversed(members)), replicas, authors)  # order-free


@given(st.lists(ids, min_size=2, max_size=8, unique=True), st.data())
def test_a_member_leaving_moves_only_its_own_blobs(
    members: list[bytes], data: st.DataObject
) -> None:
    """Rendezvous hashing: a blob whose pinners did not include the member that left
    keeps the same pinners."""
    gone = data.draw(st.sampled_from(members))
    rest = [m for m in members if m != gone]
    for i in range(20):
        blob = hashlib.sha256(bytes([i])).digest()
        before = pinners(blob, members, 2)
        if gone not in before:
            assert pinners(blob, rest, 2) == before


def test_replicas_spread_over_the_members() -> None:
    members = [hashlib.sha256(b"m%d" % i).digest() for i in range(5)]
    load: Counter[bytes] = Counter()
    for i in range(1000):
        load.update(pinners(hashlib.sha256(b"f%d" % i).digest(), members, 2))
    assert sum(load.values()) == 2000
    assert all(300 <= n <= 500 for n in load.values()), load  # 400 each on average


@given(st.integers(0, 10_000))
def test_a_member_keeps_within_its_quota(quota: int) -> None:
    members = [hashlib.sha256(b"m%d" % i).digest() for i in range(3)]
    files = {
        hashlib.sha256(b"f%d" % i).digest(): PinnedFile(700 * (i + 1), frozenset())
        for i in range(10)
    }
    for member in members:
        unlimited = pin_set(member, files, members, 3, 10**9)
        kept = pin_set(member, files, members, 3, quota)
        assert sum(files[b].size for b in kept) <= quota
        assert set(kept) <= set(unlimited)
        # nothing left out would still fit
        room = quota - sum(files[b].size for b in kept)
        assert all(files[b].size > room for b in set(unlimited) - set(kept))
    assert pin_set(hashlib.sha256(b"stranger").digest(), files, members, 3, 10**9) == []


def _charter(rules: Rules) -> Charter:
    return Charter(version=1, name="Pins", members=[bytes(32), b"\x01" * 32], rules=rules, text="")


RULES = Rules(
    quorum_permille=500,
    pass_threshold_permille=500,
    veto_threshold_permille=334,
    voting_period_s=3600,
    effect_delay_s=0,
    admission_vouches=0,
    licences=[],
    max_entry_bytes=65536,
    max_str_bytes=16384,
    max_blob_bytes=1 << 20,
    job_offer_ttl_s=604800,
    witness_count=1,
)


def test_the_pinning_rules_are_optional_and_absent_from_the_bytes_when_unset() -> None:
    plain = charter_bytes(_charter(RULES))
    assert b"pin_" not in plain  # charters from before the rules keep their network ids
    assert decode_charter(plain).rules.pin_replicas is None
    pinned = RULES.model_copy(update={"pin_replicas": 3})
    data = charter_bytes(_charter(pinned))
    assert decode_charter(data).rules.pin_replicas == 3 and b"pin_quota_bytes" not in data
    changed = RulesChange(pin_quota_bytes=5 << 30).apply(RULES)
    assert changed.pin_quota_bytes == 5 << 30 and changed.pin_replicas is None
