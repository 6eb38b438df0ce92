"""ledger/fork-proofs: encoded fork proofs, verified with no other context."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ledger.forkproof import MAX_FORK_PROOF_BYTES
from protocol import canonical, kinds, limits
from protocol.ids import id_to_text
from specs.vectorgen import tlog
from specs.vectorgen.common import (
    ALICE,
    ALICE_NEXT,
    ALICE_THIRD,
    BOB,
    NETWORK,
    T0_MS,
    Case,
    error,
    ok,
)
from specs.vectorgen.logs import Log


def encode(
    kind: str,
    a: bytes,
    b: bytes,
    key_events: Sequence[bytes],
    *,
    author: bytes = ALICE.id,
    version: int | bool = 1,
    sort: bool = True,
) -> bytes:
    """The canonical map of specs/0004, sides in bytewise order unless `sort` is False."""
    first, second = sorted((a, b)) if sort else (a, b)
    fields = {
        "a": first,
        "author": author,
        "b": second,
        "key_events": list(key_events),
        "kind": kind,
        "network": NETWORK,
        "v": version,
    }
    return canonical.encode(fields)


def fork_proof_cases() -> Iterator[Case]:
    for name, description, raw, expect in [*_entry_forks(), *_checkpoint_forks(), *_malformed()]:
        data = {"fork_proof_hex": raw.hex()}
        yield Case("ledger", "fork-proofs", name, description, data, expect)


def _ok(kind: str, position: int) -> dict[str, Any]:
    return ok(
        kind=kind, position=position, author=id_to_text(ALICE.id), network=id_to_text(NETWORK)
    )


def _other_note(log: Log) -> Log:
    return log.add(kinds.NOTE, {"text": f"another note {len(log.raws) + 1}"})


ForkCase = tuple[str, str, bytes, dict[str, Any]]


def _entry_forks() -> Iterator[ForkCase]:
    bad = error("verify.bad-fork-proof")
    one, two = Log().inception().note(), _other_note(Log().inception())
    sides = (one.raws[1], two.raws[1])
    happy = encode("entries", *sides, one.events)
    yield "entries-fork", "Two different entries at seq 2.", happy, _ok("entries", 2)
    late = Log().inception(timestamp_ms=T0_MS + 1500)
    yield (
        "fork-at-inception",
        "Two inceptions with the same keys and different timestamps.",
        encode("entries", one.raws[0], late.raws[0], one.events),
        _ok("entries", 1),
    )
    rotated = Log().inception().note().rotate(ALICE_NEXT).note()
    twin = _other_note(Log().inception().note().rotate(ALICE_NEXT))
    yield (
        "fork-after-rotation",
        "Two entries at seq 4 by the key a rotation at seq 3 put in force.",
        encode("entries", rotated.raws[3], twin.raws[3], rotated.events),
        _ok("entries", 4),
    )
    thief = Log().inception().note().rotate(ALICE_NEXT).note(key=ALICE.signing)
    yield (
        "rotated-away-key-side",
        "One side at seq 4 is signed by the key rotated away at seq 3.",
        encode("entries", rotated.raws[3], thief.raws[3], rotated.events),
        error("verify.key-not-in-force"),
    )
    yield (
        "same-entry-twice",
        "Both sides are the same entry.",
        encode("entries", one.raws[1], one.raws[1], one.events),
        error("decode.bad-fork-proof"),
    )
    yield (
        "unsorted-sides",
        "Side a sorts after side b.",
        encode("entries", max(sides), min(sides), one.events, sort=False),
        error("decode.bad-fork-proof"),
    )
    yield (
        "different-seq",
        "Entries at seq 2 and 3 of two histories.",
        encode("entries", one.raws[1], _other_note(Log().inception().note()).raws[2], one.events),
        bad,
    )
    flipped = canonical.decode(two.raws[1])
    flipped[1] = tlog.flip(flipped[1])
    yield (
        "entry-signature-flip",
        "One bit of one side's signature is flipped.",
        encode("entries", one.raws[1], canonical.encode(flipped), one.events),
        error("verify.bad-signature"),
    )
    yield (
        "missing-key-events",
        "The key events are left out.",
        encode("entries", one.raws[1], two.raws[1], []),
        error("verify.bad-key-history"),
    )
    bob = Log(BOB).inception().note()
    yield (
        "other-author-entry",
        "Side b is Bob's entry at seq 2.",
        encode("entries", one.raws[1], bob.raws[1], one.events),
        bad,
    )
    yield from _gaps()


def _gaps() -> Iterator[ForkCase]:
    # Rotation at 3, then a revocation at 5 (voiding nothing) naming it; the fork is at 6.
    def revoked() -> Log:
        return Log().inception().note().rotate(ALICE_NEXT).note().revoke(5, ALICE_THIRD)

    one, two = revoked().note(), _other_note(revoked())
    yield (
        "key-events-gap",
        "The rotation at seq 3 is dropped from the key events.",
        encode("entries", one.raws[5], two.raws[5], [one.events[0], one.events[2]]),
        error("verify.bad-key-event"),
    )

    def rotated() -> Log:
        return Log().inception().note().rotate(ALICE_NEXT).note().rotate(ALICE_THIRD)

    one, two = rotated().note(), _other_note(rotated())
    yield (
        "key-events-gap-rotation",
        "Of rotations at seq 3 and 5, the first is dropped.",
        encode("entries", one.raws[5], two.raws[5], [one.events[0], one.events[2]]),
        error("verify.key-not-in-force"),
    )
    yield (
        "key-events-repeated",
        "The rotation at seq 3 is listed twice.",
        encode("entries", one.raws[5], two.raws[5], [*one.events[:2], *one.events[1:]]),
        error("verify.bad-key-history"),
    )
    yield (
        "key-events-without-inception",
        "The key events start at the rotation at seq 3: it does not extend the empty log.",
        encode("entries", one.raws[5], two.raws[5], one.events[1:]),
        error("verify.seq-gap"),
    )
    yield (
        "key-events-with-a-note",
        "The note at seq 2 is listed among the key events.",
        encode("entries", one.raws[5], two.raws[5], [one.events[0], one.raws[1], *one.events[1:]]),
        error("verify.bad-key-history"),
    )


def _checkpoint_forks() -> Iterator[ForkCase]:
    bad = error("verify.bad-fork-proof")
    main = Log().inception().note().note().note().note()
    fork = _other_note(_other_note(Log().inception().note().note()))
    leaves = [tlog.leaf_hash(raw) for raw in main.raws]
    forked = [tlog.leaf_hash(raw) for raw in fork.raws]

    def checkpoint(size: int, of: Sequence[bytes] = leaves, key: Any = ALICE.signing) -> bytes:
        return tlog.checkpoint(key, NETWORK, ALICE.id, size, tlog.mth(of[:size])).encode()

    events = main.events
    yield (
        "checkpoints-fork",
        "Two checkpoints of size 5 with different roots.",
        encode("checkpoints", checkpoint(5), checkpoint(5, forked), events),
        _ok("checkpoints", 5),
    )
    yield (
        "checkpoints-not-conflicting",
        "Checkpoints of sizes 4 and 5 of one history.",
        encode("checkpoints", checkpoint(4), checkpoint(5), events),
        bad,
    )
    text = checkpoint(5).decode().split("\n\n")[0] + "\n"
    extra = checkpoint(5) + tlog.ed25519_line(BOB.signing, "example.com/bob", text).encode()
    yield (
        "checkpoints-same-root",
        "The same checkpoint, once with an extra signature line.",
        encode("checkpoints", checkpoint(5), extra, events),
        bad,
    )
    bob = Log(BOB).inception().note().note().note().note()
    bob_note = tlog.checkpoint(
        BOB.signing, NETWORK, BOB.id, 5, tlog.mth([tlog.leaf_hash(r) for r in bob.raws])
    ).encode()
    yield (
        "checkpoint-side-of-another-log",
        "Side b is Bob's checkpoint of size 5.",
        encode("checkpoints", checkpoint(5), bob_note, events),
        bad,
    )
    yield (
        "checkpoint-side-not-signed-by-author",
        "Side b is signed by Bob's key under Alice's origin.",
        encode("checkpoints", checkpoint(5), checkpoint(5, forked, BOB.signing), events),
        error("verify.no-author-signature"),
    )


def _malformed() -> Iterator[ForkCase]:
    one, two = Log().inception().note(), _other_note(Log().inception())
    yield (
        "wrong-version",
        "The version is 2.",
        encode("entries", one.raws[1], two.raws[1], one.events, version=2),
        error("decode.bad-fork-proof"),
    )
    yield (
        "version-true",
        "The version is true, not the integer 1.",
        encode("entries", one.raws[1], two.raws[1], one.events, version=True),
        error("decode.bad-fork-proof"),
    )
    yield (
        "unknown-kind",
        "The kind is heads.",
        encode("heads", one.raws[1], two.raws[1], one.events),
        error("decode.bad-fork-proof"),
    )
    yield (
        "too-large",
        "A proof one byte over the size cap.",
        _too_large(),
        error("decode.too-large"),
    )


def _too_large() -> bytes:
    """An entries fork proof padded with zero key events to MAX_FORK_PROOF_BYTES + 1 bytes."""
    one, two = Log().inception().note(), _other_note(Log().inception())
    pad = [bytes(limits.MAX_BIN_BYTES)] * (MAX_FORK_PROOF_BYTES // limits.MAX_BIN_BYTES - 1)
    last = 0
    for _ in range(4):
        raw = encode("entries", one.raws[1], two.raws[1], [*one.events, *pad, bytes(last)])
        if len(raw) == MAX_FORK_PROOF_BYTES + 1:
            return raw
        last += MAX_FORK_PROOF_BYTES + 1 - len(raw)
    raise AssertionError("cannot pad a fork proof to the size cap")
