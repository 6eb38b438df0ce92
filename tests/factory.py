"""Deterministic identities and logs for tests (fixed seeds, fixed clock)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from protocol import kinds
from protocol.entry import Entry, read_stored_entry, sign_entry
from protocol.identity import development_network, identity_id
from protocol.keys import SigningKey

NETWORK = development_network("tests")


def seeded_key(name: str) -> SigningKey:
    return SigningKey(hashlib.sha256(b"fabcommons-tests/" + name.encode()).digest())


@dataclass
class Author:
    """One identity writing one log, as a well-behaved node would."""

    name: str
    network: bytes = NETWORK
    entries: list[Entry] = field(default_factory=list)
    clock_ms: int = 1_700_000_000_000

    def __post_init__(self) -> None:
        self.signing = seeded_key(self.name + "/signing")
        self.recovery = seeded_key(self.name + "/recovery")
        self.id = identity_id(self.signing.public, self.recovery.public)
        self.key_event: bytes | None = None
        self.append(
            kinds.INCEPTION,
            {"signing_key": self.signing.public, "recovery_key": self.recovery.public},
        )

    def append(self, kind: str, body: dict[str, Any], key: SigningKey | None = None) -> Entry:
        self.clock_ms += 1000
        entry = sign_entry(
            key or self.signing,
            network=self.network,
            author=self.id,
            seq=len(self.entries) + 1,
            prev=self.entries[-1].id if self.entries else None,
            timestamp_ms=self.clock_ms,
            kind=kind,
            body=body,
        )
        self.entries.append(entry)
        if kind in (kinds.INCEPTION, kinds.ROTATION, kinds.REVOCATION):
            self.key_event = entry.id
        return entry

    def note(self, text: str) -> Entry:
        return self.append(kinds.NOTE, {"text": text})

    def rotate(self, new_key: SigningKey) -> Entry:
        assert self.key_event is not None
        entry = self.append(
            kinds.ROTATION, {"prev_key_event": self.key_event, "next_key": new_key.public}
        )
        self.signing = new_key
        return entry


def badly_signed_note(author: Author, text: str) -> Entry:
    """Append a note to `author`'s log whose signature does not hold (one bit of it
    flipped): what only a faulty or dishonest author ever signs a checkpoint over. The
    entries after it chain from its bytes as from any other's."""
    good = author.note(text)
    bad = read_stored_entry(good.raw[:-1] + bytes([good.raw[-1] ^ 1]))
    author.entries[-1] = bad
    return bad


def author_with_bad_entry(name: str, n: int = 12, bad_at: int = 6) -> Author:
    """A log of `n` entries whose entry `bad_at` (0: none) has a signature that fails."""
    author = Author(name)
    while len(author.entries) < n:
        if len(author.entries) + 1 == bad_at:
            badly_signed_note(author, f"bad {bad_at}")
        else:
            author.note(f"note {len(author.entries) + 1}")
    return author
