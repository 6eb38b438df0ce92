"""ledger/witness: sequences of checkpoints submitted to one witness, from a fresh state."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from protocol import kinds
from protocol.keys import SigningKey
from specs.vectorgen import tlog
from specs.vectorgen.common import ALICE, BOB, NETWORK, Case, error, ok
from specs.vectorgen.logs import Log
from specs.vectorgen.tlog import T0_S, WENDY, WITNESS_NAME


def _log(fork_at: int | None = None) -> list[bytes]:
    """Leaf hashes of Alice's 8-entry log; from seq `fork_at` on, of another history."""
    log = Log().inception()
    while len(log.raws) < 8:
        seq = len(log.raws) + 1
        text = f"fork {seq}" if fork_at is not None and seq >= fork_at else f"note {seq}"
        log.add(kinds.NOTE, {"text": text})
    return [tlog.leaf_hash(raw) for raw in log.raws]


MAIN = _log()
FORK = _log(fork_at=4)  # shares entries 1 to 3 with MAIN


class Step:
    """One submission: Alice's checkpoint of `leaves` at `size`, a proof, the witness clock."""

    def __init__(
        self,
        size: int,
        proof: Sequence[bytes] = (),
        now_s: int = T0_S,
        *,
        leaves: Sequence[bytes] = MAIN,
        key: SigningKey = ALICE.signing,
    ) -> None:
        self.root = tlog.mth(leaves[:size])
        self.text = tlog.body(tlog.origin(NETWORK, ALICE.id), size, self.root)
        self.note = tlog.checkpoint(key, NETWORK, ALICE.id, size, self.root)
        self.proof, self.now_s = list(proof), now_s

    def data(self) -> dict[str, Any]:
        return {"note": self.note, "proof_hex": [h.hex() for h in self.proof], "now_s": self.now_s}


def _proof(old: int, new: int, leaves: Sequence[bytes] = MAIN) -> list[bytes]:
    return tlog.consistency_proof(old, leaves[:new])


def witness_cases() -> Iterator[Case]:
    for name, description, steps, expect in _sequences():
        data = {
            "author_public_key_hex": ALICE.signing.public.hex(),
            "witness_seed_hex": WENDY.signing.seed.hex(),
            "witness_name": WITNESS_NAME,
            "steps": [s.data() for s in steps],
        }
        yield Case("ledger", "witness", name, description, data, expect)


def _cosigned(steps: Sequence[Step], timestamps: Sequence[int]) -> dict[str, Any]:
    lines = [
        tlog.cosignature_line(WENDY.signing, s.text, t)
        for s, t in zip(steps, timestamps, strict=True)
    ]
    return ok(timestamps=list(timestamps), cosignatures=lines)


def _at(code: str, at: int) -> dict[str, Any]:
    return error(code, at=at)


def _sequences() -> Iterator[tuple[str, str, list[Step], dict[str, Any]]]:
    t = T0_S
    steps = [Step(3, (), t), Step(5, _proof(3, 5), t + 60), Step(8, _proof(5, 8), t + 120)]
    yield (
        "grows",
        "Sizes 3, 5 and 8, each with its proof.",
        steps,
        _cosigned(steps, [t, t + 60, t + 120]),
    )
    steps = [Step(0, (), t), Step(4, (), t + 60)]
    yield (
        "from-empty-tree",
        "Size 0, then size 4 with an empty proof.",
        steps,
        _cosigned(steps, [t, t + 60]),
    )
    steps = [Step(5, (), t), Step(5, (), t + 60)]
    yield (
        "same-size-same-root",
        "The same checkpoint twice: cosigned again, at the new time.",
        steps,
        _cosigned(steps, [t, t + 60]),
    )
    steps = [Step(3, (), t), Step(5, _proof(3, 5), t - 3600), Step(8, _proof(5, 8), t + 60)]
    yield (
        "clock-goes-back",
        "The witness clock goes back an hour: the time is held at T0.",
        steps,
        _cosigned(steps, [t, t, t + 60]),
    )
    yield (
        "rollback",
        "Size 5, then size 3.",
        [Step(5, (), t), Step(3, (), t + 60)],
        _at("verify.checkpoint-rollback", 2),
    )
    yield (
        "split-view",
        "Size 5, then another tree of size 5.",
        [Step(5, (), t), Step(5, (), t + 60, leaves=FORK)],
        _at("verify.inconsistent-checkpoint", 2),
    )
    yield (
        "split-view-larger-size",
        "Size 5, then another tree of size 8 with its own proof from 5.",
        [Step(5, (), t), Step(8, _proof(5, 8, FORK), t + 60, leaves=FORK)],
        _at("proof.root-mismatch", 2),
    )
    bad = _proof(3, 5)
    bad[0] = tlog.flip(bad[0])
    yield (
        "bad-consistency-proof",
        "Size 3, then size 5 with one proof bit flipped.",
        [Step(3, (), t), Step(5, bad, t + 60)],
        _at("proof.root-mismatch", 2),
    )
    yield (
        "missing-consistency-proof",
        "Size 3, then size 5 with an empty proof.",
        [Step(3, (), t), Step(5, (), t + 60)],
        _at("proof.wrong-length", 2),
    )
    yield (
        "same-size-with-proof",
        "Size 5 twice, the second time with a non-empty proof.",
        [Step(5, (), t), Step(5, _proof(3, 5), t + 60)],
        _at("proof.wrong-length", 2),
    )
    yield (
        "from-empty-tree-with-proof",
        "Size 0, then size 4 with a non-empty proof: from the empty tree there is nothing "
        "to prove.",
        [Step(0, (), t), Step(4, _proof(2, 4), t + 60)],
        _at("proof.wrong-length", 2),
    )
    yield (
        "first-with-proof",
        "A first checkpoint with a non-empty proof.",
        [Step(5, _proof(3, 5), t)],
        _at("proof.wrong-length", 1),
    )
    yield (
        "not-signed-by-author",
        "Size 5, then size 8 signed by Bob under Alice's origin.",
        [Step(5, (), t), Step(8, _proof(5, 8), t + 60, key=BOB.signing)],
        _at("verify.no-author-signature", 2),
    )
