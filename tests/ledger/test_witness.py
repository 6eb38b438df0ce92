"""The witness rule (ledger.witness; C2SP tlog-witness add-checkpoint, tlog-cosignature)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger.checkpoint import (
    SignedCheckpoint,
    add_cosignatures,
    cosignatures_in,
    decode_signed_checkpoint,
    sign_checkpoint,
    verify_cosignature,
    witness_name,
)
from ledger.merkle import MerkleTree, leaf_hash
from ledger.witness import CosignedHead, WitnessState, witness_checkpoint
from protocol.errors import CommonsError, ProofError, VerificationError
from protocol.identity import identity_id
from protocol.keys import SigningKey
from tests.factory import NETWORK, seeded_key

AUTHOR_KEY = seeded_key("alice/signing")
AUTHOR = identity_id(AUTHOR_KEY.public, seeded_key("alice/recovery").public)
WITNESS_KEY = seeded_key("wendy/signing")
WITNESS = witness_name(identity_id(WITNESS_KEY.public, seeded_key("wendy/recovery").public))
NOW_S = 1_700_000_000


@dataclass
class Log:
    """One author's log as a tree over seeded leaves; `fork_at` leaves shared with `parent`."""

    label: str
    size: int
    parent: Log | None = None
    fork_at: int = 0
    author: bytes = AUTHOR
    key: SigningKey = AUTHOR_KEY
    tree: MerkleTree = field(default_factory=MerkleTree)

    def __post_init__(self) -> None:
        self.grow(self.size)

    def grow(self, size: int) -> None:
        while self.tree.size < size:
            i = self.tree.size
            if self.parent is not None and i < self.fork_at:
                self.tree.append(self.parent.tree.leaf(i))
            else:
                self.tree.append(leaf_hash(hashlib.sha256(f"{self.label}/{i}".encode()).digest()))

    def signed(self, size: int) -> SignedCheckpoint:
        return sign_checkpoint(self.key, NETWORK, self.author, size, self.tree.root(size))

    def proof(self, old_size: int, size: int) -> list[bytes]:
        return self.tree.consistency_proof(old_size, size)


def submit(
    state: WitnessState, log: Log, size: int, proof_from: int | None, now_s: int = NOW_S
) -> tuple[WitnessState, SignedCheckpoint]:
    """Submit `log` at `size` with the honest proof from `proof_from`; return the cosigned note."""
    proof = [] if proof_from in (None, 0) else log.proof(proof_from, size)
    signed = log.signed(size)
    new_state, cosig = witness_checkpoint(
        state,
        signed,
        log.key.public,
        proof,
        witness_key=WITNESS_KEY,
        witness_name=WITNESS,
        now_s=now_s,
    )
    return new_state, add_cosignatures(signed, [cosig])


def cosig_time(note: SignedCheckpoint) -> int:
    return cosignatures_in(note, {WITNESS: WITNESS_KEY.public})[WITNESS].timestamp_s


def test_a_witness_cosigns_a_growing_log() -> None:
    log = Log("main", 200)
    state, previous, now = WitnessState(), 0, NOW_S
    for size in (1, 2, 3, 7, 8, 9, 64, 65, 100, 100, 199, 200):
        state, note = submit(state, log, size, previous, now)
        decoded = decode_signed_checkpoint(note.text)
        cosigs = cosignatures_in(decoded, {WITNESS: WITNESS_KEY.public})
        assert cosigs[WITNESS].timestamp_s == now
        head = state.head(note.checkpoint.origin)
        assert head == CosignedHead(size, log.tree.root(size), now, log.signed(size).text)
        previous, now = size, now + 60


def test_the_first_checkpoint_is_trusted_with_an_empty_proof_only() -> None:
    log = Log("main", 10)
    state, _ = submit(WitnessState(), log, 10, None)
    assert state.head(log.signed(10).checkpoint.origin) is not None
    with pytest.raises(ProofError) as err:
        witness_checkpoint(
            WitnessState(),
            log.signed(10),
            AUTHOR_KEY.public,
            log.proof(4, 10),
            witness_key=WITNESS_KEY,
            witness_name=WITNESS,
            now_s=NOW_S,
        )
    assert err.value.code == "proof.wrong-length"


def test_an_empty_log_grows_without_a_proof() -> None:
    log = Log("main", 5)
    state, _ = submit(WitnessState(), log, 0, None)
    state, _ = submit(state, log, 0, None)
    state, _ = submit(state, log, 5, 0)
    with pytest.raises(CommonsError):
        submit(state, log, 0, None)


def test_the_same_checkpoint_is_cosigned_again_with_a_new_time() -> None:
    log = Log("main", 10)
    state, first = submit(WitnessState(), log, 10, None, NOW_S)
    state, again = submit(state, log, 10, 10, NOW_S + 5)
    assert (cosig_time(first), cosig_time(again)) == (NOW_S, NOW_S + 5)


def test_a_rollback_is_refused() -> None:
    log = Log("main", 20)
    state, _ = submit(WitnessState(), log, 20, None)
    with pytest.raises(VerificationError) as err:
        submit(state, log, 19, None)
    assert err.value.code == "verify.checkpoint-rollback"
    assert err.value.details["previous_size"] == 20
    assert err.value.details["previous_root"] == log.tree.root(20)


@pytest.mark.parametrize("fork_at", [0, 1, 5, 16, 19])
def test_a_split_view_of_the_same_size_is_refused_and_reported(fork_at: int) -> None:
    log = Log("main", 20)
    fork = Log("fork", 20, parent=log, fork_at=fork_at)
    state, _ = submit(WitnessState(), log, 20, None)
    with pytest.raises(VerificationError) as err:
        submit(state, fork, 20, None)
    assert err.value.code == "verify.inconsistent-checkpoint"
    details = err.value.details
    assert (details["previous_size"], details["previous_root"]) == (20, log.tree.root(20))
    # The earlier signed checkpoint is there too: with the refused one, a fork proof.
    earlier = decode_signed_checkpoint(details["previous_note"])
    assert (earlier.checkpoint.size, earlier.checkpoint.root) == (20, log.tree.root(20))
    assert earlier.checkpoint.origin == fork.signed(20).checkpoint.origin


@pytest.mark.parametrize(("fork_at", "old", "new"), [(0, 8, 9), (3, 8, 16), (7, 8, 30), (0, 1, 2)])
def test_a_split_view_of_a_larger_size_is_refused_and_reported(
    fork_at: int, old: int, new: int
) -> None:
    log = Log("main", 40)
    fork = Log("fork", 40, parent=log, fork_at=fork_at)
    state, _ = submit(WitnessState(), log, old, None)
    for proof in (fork.proof(old, new), log.proof(old, new), [], [b"\x00" * 32] * 3):
        with pytest.raises(ProofError) as err:
            witness_checkpoint(
                state,
                fork.signed(new),
                AUTHOR_KEY.public,
                proof,
                witness_key=WITNESS_KEY,
                witness_name=WITNESS,
                now_s=NOW_S,
            )
        assert err.value.code.startswith("proof.")
        details = err.value.details
        assert (details["previous_size"], details["previous_root"]) == (old, log.tree.root(old))
    # ... while the honest log still extends.
    submit(state, log, new, old)


def test_a_checkpoint_the_author_did_not_sign_is_refused() -> None:
    log = Log("main", 10)
    impostor = Log("main", 10, key=seeded_key("mallory"))
    state, _ = submit(WitnessState(), log, 5, None)
    for bad in (WitnessState(), state):
        with pytest.raises(VerificationError) as err:
            witness_checkpoint(
                bad,
                impostor.signed(10),
                AUTHOR_KEY.public,
                log.proof(5, 10) if bad.heads else [],
                witness_key=WITNESS_KEY,
                witness_name=WITNESS,
                now_s=NOW_S,
            )
        assert err.value.code == "verify.no-author-signature"


def test_the_state_given_is_never_changed() -> None:
    log = Log("main", 10)
    empty = WitnessState()
    state, _ = submit(empty, log, 5, None)
    assert empty.heads == {}
    head = state.head(log.signed(5).checkpoint.origin)
    with pytest.raises(CommonsError):
        submit(state, log, 4, None)
    later, _ = submit(state, log, 10, 5)
    assert state.head(log.signed(5).checkpoint.origin) == head
    assert later.head(log.signed(5).checkpoint.origin) != head


def test_cosignature_times_never_go_backwards_per_origin() -> None:
    log = Log("main", 10)
    bob_key = seeded_key("bob/signing")
    bob = Log("bob", 10, author=identity_id(bob_key.public, b"\x00" * 32), key=bob_key)
    state, first = submit(WitnessState(), log, 5, None, NOW_S)
    state, second = submit(state, log, 10, 5, NOW_S - 3600)  # the clock went back
    state, third = submit(state, log, 10, 10, NOW_S + 1)
    assert [cosig_time(n) for n in (first, second, third)] == [NOW_S, NOW_S, NOW_S + 1]
    # Another origin has its own clock.
    state, other = submit(state, bob, 3, None, NOW_S - 3600)
    assert cosig_time(other) == NOW_S - 3600


def test_cosignatures_verify_with_the_witness_key_only() -> None:
    log, other = Log("main", 10), Log("other", 10)
    _, note = submit(WitnessState(), log, 10, None)
    (cosig,) = cosignatures_in(note, {WITNESS: WITNESS_KEY.public}).values()
    verify_cosignature(cosig, WITNESS_KEY.public, note.checkpoint)
    for key, checkpoint in [
        (seeded_key("walter").public, note.checkpoint),
        (WITNESS_KEY.public, log.signed(9).checkpoint),
        (WITNESS_KEY.public, other.signed(10).checkpoint),
    ]:
        with pytest.raises(VerificationError) as err:
            verify_cosignature(cosig, key, checkpoint)
        assert err.value.code == "verify.bad-signature"


# --- property: never two inconsistent cosigned checkpoints -------------------------------

MAX_SIZE = 40


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Log], list[tuple[int, int, str, int]]]:
    """Up to three versions of one log (forks of the first), and submissions to a witness.

    Each submission is (log index, size, proof kind, clock step).
    """
    main = Log("main", MAX_SIZE)
    logs = [main]
    for n in range(draw(st.integers(0, 2))):
        parent = logs[draw(st.integers(0, len(logs) - 1))]
        logs.append(Log(f"fork{n}", MAX_SIZE, parent, draw(st.integers(0, MAX_SIZE))))
    submission = st.tuples(
        st.integers(0, len(logs) - 1),
        st.integers(0, MAX_SIZE),
        st.sampled_from(["honest", "honest", "honest", "empty", "garbage", "other-log"]),
        st.integers(-100, 100),
    )
    return logs, draw(st.lists(submission, min_size=1, max_size=25))


def proof_for(kind: str, logs: list[Log], log: Log, old: int, size: int) -> list[bytes]:
    if kind == "empty" or old == 0 or old > size:
        return []
    if kind == "garbage":
        return [hashlib.sha256(bytes([i])).digest() for i in range(3)]
    source = logs[0] if kind == "other-log" else log
    return source.proof(old, size)


@settings(max_examples=150)
@given(histories())
def test_the_witness_never_cosigns_two_inconsistent_checkpoints(
    history: tuple[list[Log], list[tuple[int, int, str, int]]],
) -> None:
    logs, submissions = history
    state, now = WitnessState(), NOW_S
    cosigned: list[tuple[int, bytes, Log, int]] = []  # size, root, the log it came from, time
    for index, size, kind, step in submissions:
        log, now = logs[index], now + step
        previous = cosigned[-1] if cosigned else None
        old = previous[0] if previous else 0
        try:
            state, note = submit_with(state, log, size, proof_for(kind, logs, log, old, size), now)
        except CommonsError as e:
            assert isinstance(e, VerificationError)
            event(f"refused: {e.code}")
            # Liveness: an honest extension of what was cosigned is never refused.
            extends = previous is None or (size >= old and log.tree.root(old) == previous[1])
            assert not (extends and (kind == "honest" or old == 0)), e
            continue
        cosigned.append((size, log.tree.root(size), log, cosig_time(note)))
        event("cosigned a fork" if log is not logs[0] else "cosigned")
    # Every pair of cosigned heads is consistent: the later, larger one has the earlier as
    # a prefix in the tree it came from. And cosignature times never went backwards.
    for i, (size1, root1, _, time1) in enumerate(cosigned):
        for size2, _, log2, time2 in cosigned[i + 1 :]:
            assert size2 >= size1
            assert log2.tree.root(size1) == root1
            assert time2 >= time1


def submit_with(
    state: WitnessState, log: Log, size: int, proof: list[bytes], now_s: int
) -> tuple[WitnessState, SignedCheckpoint]:
    signed = log.signed(size)
    new_state, cosig = witness_checkpoint(
        state,
        signed,
        AUTHOR_KEY.public,
        proof,
        witness_key=WITNESS_KEY,
        witness_name=WITNESS,
        now_s=now_s,
    )
    return new_state, add_cosignatures(signed, [cosig])
