"""Cosignatures reach every node, and only true ones are kept (specs/0003 §3.3,
0005 §8.2).

Gossip may lose a witness's cosigned note (a mesh not formed yet, a link down): two
nodes then hold one head with different cosignatures. Their items differ, so the next
session sends that head each way and each merges the lines it lacks; the session
after is in sync again. A line that does not verify by a key of its witness held
here (forged, or of a witness we hold no log of) is never kept, so no peer can spoil
the notes that witnessed time is read from (0008 §4)."""

from __future__ import annotations

from ledger.checkpoint import (
    NoteSignature,
    add_signatures,
    cosign,
    cosignatures_in,
    decode_signed_checkpoint,
    witness_name,
)
from ledger.log import Ledger
from ledger.store import MemoryLogStore
from tests.factory import NETWORK, Author
from tests.sync_harness import Peer, run_session

NOW_S = 1_800_000_000


def federation() -> tuple[Author, list[Author], list[Ledger]]:
    """Alice's log, checkpointed; three witnesses; two nodes holding all four logs."""
    alice = Author("spread-alice")
    for i in range(3):
        alice.note(f"note {i}")
    witnesses = [Author(f"spread-witness-{i}") for i in range(3)]
    nodes = []
    for _ in range(2):
        ledger = Ledger(MemoryLogStore())
        for author in (alice, *witnesses):
            ledger.ingest([e.raw for e in author.entries])
        nodes.append(ledger)
    signed = nodes[0].sign_checkpoint(alice.signing, NETWORK, alice.id)
    nodes[1].add_checkpoint(signed.text)
    return alice, witnesses, nodes


def cosigners(ledger: Ledger, author: Author, witnesses: list[Author]) -> set[str]:
    note = ledger.latest_checkpoint(NETWORK, author.id)
    assert note is not None
    keys = {witness_name(w.id): w.signing.public for w in witnesses}
    return set(cosignatures_in(note, keys))


def test_a_session_spreads_the_cosignatures_each_side_lacks() -> None:
    alice, witnesses, (a, b) = federation()
    note = a.latest_checkpoint(NETWORK, alice.id)
    assert note is not None
    for witness, node in zip(witnesses, (a, b, b), strict=True):  # as gossip left them
        node.witness(witness.signing, witness.id, note.text, [], NOW_S)
    names = [witness_name(w.id) for w in witnesses]
    assert cosigners(a, alice, witnesses) == {names[0]}
    assert cosigners(b, alice, witnesses) == {names[1], names[2]}
    pa, pb = Peer("a", a), Peer("b", b)
    run_session(pa, pb)
    assert pa.conn.reconciling and (pa.heads_sent, pb.heads_sent) == (1, 1)
    assert pa.cosigned_heads == pb.cosigned_heads == 1
    assert cosigners(a, alice, witnesses) == cosigners(b, alice, witnesses) == set(names)
    again = Peer("a", a), Peer("b", b)
    run_session(*again)
    assert (again[0].heads_sent, again[1].heads_sent) == (0, 0)


def test_an_old_peer_full_exchange_spreads_them_too() -> None:
    alice, witnesses, (a, b) = federation()
    note = a.latest_checkpoint(NETWORK, alice.id)
    assert note is not None
    a.witness(witnesses[0].signing, witnesses[0].id, note.text, [], NOW_S)
    pa, pb = Peer("a", a), Peer("b", b, reconcile=False)
    run_session(pa, pb)
    assert not pa.conn.reconciling and pb.cosigned_heads == 1
    assert cosigners(b, alice, witnesses) == {witness_name(witnesses[0].id)}


def test_only_cosignatures_that_verify_by_a_known_witness_key_are_kept() -> None:
    alice, witnesses, (a, _) = federation()
    note = a.latest_checkpoint(NETWORK, alice.id)
    assert note is not None
    cp = note.checkpoint
    good = cosign(witnesses[0].signing, witness_name(witnesses[0].id), cp, NOW_S)
    newer = cosign(witnesses[0].signing, witness_name(witnesses[0].id), cp, NOW_S + 60)
    forged = cosign(witnesses[1].signing, witness_name(witnesses[1].id), cp, NOW_S)
    forged_line = forged.note_signature()
    forged_line = NoteSignature(
        forged_line.name, forged_line.key_id, forged_line.signature[:-1] + b"\x00"
    )
    stranger = Author("spread-stranger")  # a witness whose log this node does not hold
    unknown = cosign(stranger.signing, witness_name(stranger.id), cp, NOW_S)
    junk_author_line = NoteSignature(note.checkpoint.origin, b"\x01\x02\x03\x04", b"\x00" * 64)
    offered = add_signatures(
        note,
        [good.note_signature(), forged_line, unknown.note_signature(), junk_author_line],
    )
    kept = decode_signed_checkpoint(a.add_checkpoint(offered.text).text)
    assert set(kept.signatures) == {note.signatures[0], good.note_signature()}
    assert cosignatures_in(kept, {witness_name(w.id): w.signing.public for w in witnesses})
    kept = a.add_checkpoint(add_signatures(note, [newer.note_signature()]).text)
    assert set(kept.signatures) == {note.signatures[0], newer.note_signature()}  # newest only
    stored = a.latest_checkpoint(NETWORK, alice.id)
    assert stored is not None and stored.text == kept.text
