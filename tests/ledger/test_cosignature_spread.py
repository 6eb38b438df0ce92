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
    MAX_NOTE_SIGNATURES,
    NoteSignature,
    add_signatures,
    cosign,
    cosignatures_in,
    decode_signed_checkpoint,
    witness_name,
)
from ledger.log import Ledger
from ledger.store import Batch, MemoryLogStore, StoredCheckpoint
from protocol.sync import SyncFilter
from tests.factory import NETWORK, Author
from tests.ledger.test_adverts import revoke
from tests.sync_harness import Peer, run_session

NOW_S = 1_800_000_000


def federation(name: str = "spread", count: int = 3) -> tuple[Author, list[Author], list[Ledger]]:
    """Alice's log, checkpointed; `count` witnesses; two nodes holding all their logs."""
    alice = Author(f"{name}-alice")
    for i in range(3):
        alice.note(f"note {i}")
    witnesses = [Author(f"{name}-witness-{i}") for i in range(count)]
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


def test_a_revoked_witness_key_cannot_replace_the_witness_line() -> None:
    """A thief of a witness's key signs a later cosignature with it; the witness has
    revoked that key, so the line is not the witness's (0003 §6.2) and is not kept."""
    alice, witnesses, (a, _) = federation()
    wendy = witnesses[0]
    stolen = wendy.signing
    revoke(wendy, 2, "spread-wendy/next")
    a.ingest([e.raw for e in wendy.entries[-1:]])
    note = a.latest_checkpoint(NETWORK, alice.id)
    assert note is not None
    name = witness_name(wendy.id)
    true = cosign(wendy.signing, name, note.checkpoint, NOW_S)
    a.add_checkpoint(add_signatures(note, [true.note_signature()]).text)
    thief = cosign(stolen, name, note.checkpoint, NOW_S + 100)
    kept = a.add_checkpoint(add_signatures(note, [thief.note_signature()]).text)
    assert set(kept.signatures) == {note.signatures[0], true.note_signature()}
    assert cosignatures_in(kept, {name: wendy.signing.public})[name].timestamp_s == NOW_S


def test_more_lines_than_a_note_holds_are_cut_alike_on_every_node() -> None:
    """Past MAX_NOTE_SIGNATURES lines the earliest cosignatures are kept, whatever
    order they came in, so two nodes holding the same lines keep the same note."""
    alice, witnesses, nodes = federation("spread-many", MAX_NOTE_SIGNATURES + 5)
    signed = nodes[0].latest_checkpoint(NETWORK, alice.id)
    assert signed is not None
    lines = [
        cosign(w.signing, witness_name(w.id), signed.checkpoint, NOW_S + i).note_signature()
        for i, w in enumerate(witnesses)
    ]
    for ledger, order in zip(nodes, (lines, lines[::-1]), strict=True):
        for start in range(0, len(order), 20):
            ledger.add_checkpoint(add_signatures(signed, order[start : start + 20]).text)
    notes = [n.latest_checkpoint(NETWORK, alice.id) for n in nodes]
    assert notes[0] is not None and notes[1] is not None
    assert notes[0].text == notes[1].text
    assert notes[0].signatures == (signed.signatures[0], *lines[: MAX_NOTE_SIGNATURES - 1])


def test_a_note_kept_before_lines_were_judged_is_cleaned_when_a_line_comes() -> None:
    """A note stored with a junk line (as nodes before 0003 §3.3 kept any line) is
    cleaned when a note of that checkpoint brings a line it lacks; one that brings
    nothing new costs no merge."""
    alice, witnesses, (a, b) = federation()
    note = a.latest_checkpoint(NETWORK, alice.id)
    assert note is not None
    junk = NoteSignature(witness_name(witnesses[1].id), b"\x04\x03\x02\x01", b"\x00" * 72)
    spoiled = add_signatures(note, [junk])
    cp = spoiled.checkpoint
    a.store.commit(
        Batch(checkpoints=[StoredCheckpoint(cp.network, cp.author, cp.size, cp.root, spoiled.text)])
    )
    pa, pb = Peer("a", a), Peer("b", b)
    run_session(pa, pb)  # b's note has no line a lacks: a keeps its own
    assert pa.cosigned_heads == pb.cosigned_heads == 0
    kept = a.latest_checkpoint(NETWORK, alice.id)
    assert kept is not None and junk in kept.signatures
    b.witness(witnesses[2].signing, witnesses[2].id, note.text, [], NOW_S)
    pa, pb = Peer("a", a), Peer("b", b)
    run_session(pa, pb)
    assert pa.cosigned_heads == 1 and pb.cosigned_heads == 0
    assert a.latest_checkpoint(NETWORK, alice.id) == b.latest_checkpoint(NETWORK, alice.id)
    again = Peer("a", a), Peer("b", b)
    run_session(*again)
    assert (again[0].heads_sent, again[1].heads_sent) == (0, 0)


def test_a_line_of_a_witness_not_held_yet_comes_once_its_log_does() -> None:
    """A range frame's note carries a cosignature by a witness whose log the receiver
    does not hold: the line is dropped; once the receiver holds the witness's log,
    the next session brings the line (the two items differ until then)."""
    alice = Author("spread-late-alice")
    for i in range(4):
        alice.note(f"note {i}")
    wendy = Author("spread-late-wendy")
    source = Ledger(MemoryLogStore())
    for author in (alice, wendy):
        source.ingest([e.raw for e in author.entries])
    signed = source.sign_checkpoint(alice.signing, NETWORK, alice.id)
    source.witness(wendy.signing, wendy.id, signed.text, [], NOW_S)
    source.sign_checkpoint(wendy.signing, NETWORK, wendy.id)  # so her log is served
    sink = Ledger(MemoryLogStore())
    first = Peer("source", source), Peer("sink", sink, filter=SyncFilter((alice.id,), None))
    run_session(*first)
    held = sink.latest_checkpoint(NETWORK, alice.id)
    assert held is not None and sink.head(NETWORK, alice.id) is not None
    assert held.signatures == signed.signatures  # Wendy's line dropped: no log of hers
    run_session(Peer("source", source), Peer("sink", sink))  # now every log: Wendy's too
    assert sink.head(NETWORK, wendy.id) is not None
    third = Peer("source", source), Peer("sink", sink)  # (heads are judged before gets)
    run_session(*third)
    assert third[1].cosigned_heads == 1
    kept, served = (n.latest_checkpoint(NETWORK, alice.id) for n in (sink, source))
    assert kept is not None and served is not None and kept.text == served.text
    assert set(cosignatures_in(kept, {witness_name(wendy.id): wendy.signing.public}))
