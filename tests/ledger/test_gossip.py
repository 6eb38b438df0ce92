"""The gossip validator: what is accepted, rejected or ignored (specs/0005 §10).

The router runs ledger.gossip.check_announcement (entries by protocol.announce, then
checkpoints and fork proofs), so that is what these tests call.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.checkpoint import Checkpoint, Note, encode_note, sign_checkpoint, sign_note
from ledger.forkproof import KIND_ENTRIES, encode_fork_proof
from ledger.gossip import check_announcement, check_checkpoint
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from protocol.announce import Verdict, encode_announcement
from protocol.identity import development_network
from tests.factory import NETWORK, Author, seeded_key


def held(author: Author, upto: int) -> Ledger:
    ledger = Ledger(MemoryLogStore())
    ledger.ingest([e.raw for e in author.entries[:upto]])
    return ledger


def verdict_of(data: bytes, ledger: Ledger) -> tuple[Verdict, str | None]:
    result = check_announcement(data, NETWORK, ledger)
    return result.verdict, None if result.error is None else result.error.code


def test_new_entries_are_accepted_and_old_news_ignored() -> None:
    author = Author("gossip")
    for i in range(3):
        author.note(f"n{i}")
    ledger = held(author, 2)
    fresh = encode_announcement(NETWORK, [e.raw for e in author.entries[2:]])
    assert verdict_of(fresh, ledger) == (Verdict.ACCEPT, None)
    stale = encode_announcement(NETWORK, [author.entries[1].raw])
    assert verdict_of(stale, ledger) == (Verdict.IGNORE, None)
    beyond = encode_announcement(NETWORK, [author.entries[3].raw])  # gap: sync will fetch
    assert verdict_of(beyond, ledger) == (Verdict.IGNORE, None)  # but not relay unchecked
    assert check_announcement(beyond, NETWORK, ledger).unverified


def test_unknown_kinds_are_log_valid_and_accepted() -> None:
    author = Author("future")
    author.append("design.v7", {"anything": True})
    ledger = held(author, 1)
    data = encode_announcement(NETWORK, [author.entries[1].raw])
    assert verdict_of(data, ledger) == (Verdict.ACCEPT, None)


def test_bad_announcements_are_rejected_with_their_codes() -> None:
    author = Author("rogue")
    author.note("x")
    ledger = held(author, 1)
    other_net = encode_announcement(development_network("elsewhere"), [author.entries[1].raw])
    assert verdict_of(other_net, ledger) == (Verdict.REJECT, "verify.wrong-network")
    broken = bytearray(author.entries[1].raw)
    broken[-1] ^= 1
    assert verdict_of(encode_announcement(NETWORK, [bytes(broken)]), ledger)[0] == Verdict.REJECT
    twin = Author("rogue")
    twin.clock_ms -= 5000  # an entry at the next seq that breaks the chain (time regresses)
    twin.note("y")
    assert verdict_of(encode_announcement(NETWORK, [twin.entries[1].raw]), ledger) == (
        Verdict.REJECT,
        "verify.timestamp-regress",
    )
    loose = encode_announcement(NETWORK, [author.entries[1].raw]).replace(
        b"\xa1v\x01", b"\xa1v\xcc\x01"
    )
    assert verdict_of(loose, ledger) == (Verdict.REJECT, "decode.non-canonical")
    assert verdict_of(b"\x00" * (300 * 1024), ledger) == (Verdict.REJECT, "decode.too-large")


def test_frozen_authors_are_rejected() -> None:
    honest = Author("frozen")
    honest.note("a")
    twin = Author("frozen")
    twin.clock_ms += 1
    twin.note("b")
    ledger = held(honest, 2)
    ledger.ingest([twin.entries[1].raw])
    assert ledger.is_frozen(NETWORK, honest.id)
    honest.note("c")
    data = encode_announcement(NETWORK, [honest.entries[2].raw])
    assert verdict_of(data, ledger) == (Verdict.REJECT, "rule.frozen-author")


@given(st.binary(max_size=600))
@settings(max_examples=1000)
def test_any_bytes_get_a_verdict_never_an_exception(data: bytes) -> None:
    result = check_announcement(data, NETWORK, Ledger(MemoryLogStore()))
    assert (result.verdict is Verdict.REJECT) == (result.error is not None)


# -- checkpoints (specs/0005 §10: decoded, this network, signed by the key in force) ----


def checkpoint_of(author: Author, size: int, network: bytes = NETWORK) -> bytes:
    """The author's signed checkpoint of its first `size` entries, by its current key."""
    tree = held(author, size).tree(author.network, author.id)
    return sign_checkpoint(author.signing, network, author.id, size, tree.root()).text


def announcing(checkpoints: Sequence[bytes] = (), forks: Sequence[bytes] = ()) -> bytes:
    return encode_announcement(NETWORK, checkpoints=checkpoints, forks=forks)


def test_a_checkpoint_signed_by_the_key_in_force_is_accepted() -> None:
    author = Author("checkpointer")
    author.note("a")
    author.note("b")
    ledger = held(author, 2)
    assert verdict_of(announcing([checkpoint_of(author, 2)]), ledger) == (Verdict.ACCEPT, None)
    ahead = checkpoint_of(author, 3)  # beyond our head, by the key we hold: checked too
    assert verdict_of(announcing([ahead]), ledger) == (Verdict.ACCEPT, None)
    assert check_checkpoint(checkpoint_of(author, 2), NETWORK, ledger) is True
    assert check_checkpoint(ahead, NETWORK, ledger) is True


def test_garbage_checkpoint_bytes_are_rejected() -> None:
    ledger = held(Author("anyone"), 1)
    for garbage in (
        b"garbage",
        b"",
        b"\xff\xfe\n\n",
        "origin\n1\nroot\n\n\u2014 x AAAA\n".encode(),
    ):
        data = announcing([garbage])
        assert verdict_of(data, ledger) == (Verdict.REJECT, "decode.bad-checkpoint"), garbage


def test_a_checkpoint_with_a_bad_signature_is_rejected() -> None:
    author = Author("forger")
    author.note("a")
    ledger = held(author, 2)
    good = sign_checkpoint(author.signing, NETWORK, author.id, 2, bytes(32)).checkpoint
    other = Checkpoint.of_log(NETWORK, author.id, 1, bytes(32))
    # The author's key name and key id, over another checkpoint's text.
    line = sign_note(author.signing, good.origin, other.body())
    forged = encode_note(Note(good.body(), (line,)))
    assert verdict_of(announcing([forged]), ledger) == (Verdict.REJECT, "verify.bad-signature")
    ahead = encode_note(Note(Checkpoint.of_log(NETWORK, author.id, 9, bytes(32)).body(), (line,)))
    assert verdict_of(announcing([ahead]), ledger) == (Verdict.REJECT, "verify.bad-signature")
    stranger = sign_checkpoint(seeded_key("stranger"), NETWORK, author.id, 2, bytes(32)).text
    assert verdict_of(announcing([stranger]), ledger) == (
        Verdict.REJECT,
        "verify.no-author-signature",
    )


def test_a_checkpoint_of_another_network_is_rejected() -> None:
    author = Author("elsewhere")
    ledger = held(author, 1)
    note = checkpoint_of(author, 1, network=development_network("elsewhere"))
    assert verdict_of(announcing([note]), ledger) == (Verdict.REJECT, "verify.wrong-network")


def test_checkpoints_whose_key_we_cannot_know_are_passed_over() -> None:
    """No log of the author, or a size beyond our head after a rotation we lack: the
    key that signs it is unknown here, so it is not judged (sync checks what it fetches)
    and not relayed either (IGNORE, no credit: specs/0012 §5 finding 7)."""
    stranger = Author("unknown")
    unsigned = sign_checkpoint(seeded_key("anyone"), NETWORK, stranger.id, 5, bytes(32)).text
    assert verdict_of(announcing([unsigned]), held(Author("x"), 1)) == (Verdict.IGNORE, None)
    assert check_checkpoint(unsigned, NETWORK, held(Author("x"), 1)) is False
    author = Author("rotator")
    author.note("a")
    author.rotate(seeded_key("rotator/next"))
    author.note("b")
    ledger = held(author, 2)
    assert verdict_of(announcing([checkpoint_of(author, 4)]), ledger) == (Verdict.IGNORE, None)
    assert check_checkpoint(checkpoint_of(author, 4), NETWORK, ledger) is False
    # Holding the rotation, a checkpoint from before it needs the earlier key, which
    # the head does not hold: left to Ledger.add_checkpoint on the storage thread.
    old_key = sign_checkpoint(seeded_key("rotator/signing"), NETWORK, author.id, 2, bytes(32))
    assert check_checkpoint(old_key.text, NETWORK, held(author, 4)) is False


def test_a_new_log_with_its_checkpoint_is_judged_whole() -> None:
    """A first announcement of a log we lack (inception, entries, the checkpoint over
    them) is checkable: the checkpoint is judged against the entries it came with."""
    author = Author("newcomer")
    author.note("hello")
    note = checkpoint_of(author, 2)
    data = encode_announcement(NETWORK, [e.raw for e in author.entries], [note])
    assert verdict_of(data, held(Author("x"), 1)) == (Verdict.ACCEPT, None)
    forged = sign_checkpoint(seeded_key("anyone"), NETWORK, author.id, 2, bytes(32)).text
    bad = encode_announcement(NETWORK, [e.raw for e in author.entries], [forged])
    assert verdict_of(bad, held(Author("x"), 1))[0] is Verdict.REJECT


# -- fork proofs (specs/0005 §10, 0004: verify_fork_proof with no other context) ---------


def fork_proof(name: str, *, forge_b: bool = False, network: bytes = NETWORK) -> bytes:
    """An entries fork proof of `network`; with `forge_b`, one side's signature broken."""
    honest, twin = Author(name, network=network), Author(name, network=network)  # a restored backup
    honest.note("one history")
    twin.clock_ms += 7
    twin.note("another history")
    a, b = honest.entries[1].raw, bytearray(twin.entries[1].raw)
    if forge_b:
        b[-1] ^= 1  # the entry's signature
    events = [honest.entries[0].raw]
    return encode_fork_proof(KIND_ENTRIES, network, honest.id, a, bytes(b), events)


def test_a_valid_fork_proof_is_accepted() -> None:
    data = announcing(forks=[fork_proof("forker")])
    assert verdict_of(data, Ledger(MemoryLogStore())) == (Verdict.ACCEPT, None)


def test_a_tampered_fork_proof_is_rejected() -> None:
    ledger = Ledger(MemoryLogStore())
    forged = fork_proof("forker", forge_b=True)
    assert verdict_of(announcing(forks=[forged]), ledger) == (
        Verdict.REJECT,
        "verify.bad-signature",
    )
    flipped = bytearray(fork_proof("forker"))
    for i in range(0, len(flipped), 97):  # a bit flipped anywhere: never accepted
        flipped[i] ^= 1
        assert verdict_of(announcing(forks=[bytes(flipped)]), ledger)[0] == Verdict.REJECT, i
        flipped[i] ^= 1
    assert verdict_of(announcing(forks=[b"garbage"]), ledger)[0] == Verdict.REJECT
    honest = Author("forker")
    honest.note("x")
    twice = encode_fork_proof(
        KIND_ENTRIES,
        NETWORK,
        honest.id,
        honest.entries[1].raw,
        honest.entries[1].raw,
        [honest.entries[0].raw],
    )
    assert verdict_of(announcing(forks=[twice]), ledger) == (
        Verdict.REJECT,
        "decode.bad-fork-proof",
    )
    # One bad proof spoils the announcement, whatever else it carries.
    mixed = announcing([checkpoint_of(honest, 2)], [fork_proof("other"), forged])
    assert verdict_of(mixed, ledger)[0] == Verdict.REJECT


def test_a_fork_proof_of_another_network_is_rejected() -> None:
    data = announcing(forks=[fork_proof("far", network=development_network("elsewhere"))])
    assert verdict_of(data, Ledger(MemoryLogStore())) == (Verdict.REJECT, "verify.wrong-network")


@given(st.lists(st.binary(max_size=300), max_size=3), st.lists(st.binary(max_size=300), max_size=3))
@settings(max_examples=300)
def test_any_checkpoint_or_fork_bytes_get_a_verdict(notes: list[bytes], forks: list[bytes]) -> None:
    result = check_announcement(announcing(notes, forks), NETWORK, Ledger(MemoryLogStore()))
    assert (result.verdict is Verdict.REJECT) == (result.error is not None)
