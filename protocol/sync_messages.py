"""The messages of the sync protocol `/fabcommons/sync/1` (specs/0005-sync.md §3).

Each message is one canonical msgpack map with a "t" field, carried in one frame
(protocol.framing). Here: the message dataclasses, their wire form
(`message_to_wire`) and the strict reading of a decoded frame (`parse_message`),
which checks all a single message can get wrong alone: exact keys, types, lengths,
orders, counts (limits in protocol.sync_limits). The conversation (state, requests,
the peer's filter) is protocol.sync_state's job; the ledger (signatures, proofs,
chains) the driver's, through Ledger.ingest_range.

`parse_message` raises SyncViolationError, which SyncConnection turns into
RemoteFaultError ("remote.<reason>") for what the peer sent or LocalMisuseError
("misuse.<reason>") for what we tried to send; it never escapes SyncConnection.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Final

from protocol import limits
from protocol.errors import RemoteFaultError
from protocol.reconcile_wire import WireRange, decode_message
from protocol.sync_fields import (
    SyncViolationError,
    bad,
    check_ascending,
    check_keys,
    oversized,
    read_bin,
    read_bool,
    read_entry,
    read_hash,
    read_id,
    read_kind,
    read_list,
    read_uint,
)
from protocol.sync_limits import (
    MAX_ENTRIES_PER_RANGE_FRAME,
    MAX_ERROR_CODE_BYTES,
    MAX_ERROR_MESSAGE_BYTES,
    MAX_FILTER_AUTHORS,
    MAX_FILTER_KINDS,
    MAX_FORK_PROOFS_PER_FRAME,
    MAX_HEADS_PER_FRAME,
    MAX_KEY_EVENTS_PER_FRAME,
    MAX_NOTE_BYTES,
    MAX_PROOF_HASHES,
    MAX_RANGE_REQUEST,
    MAX_RECONCILE_MESSAGE_BYTES,
    MAX_SYNC_FRAME_BYTES,
    RECONCILE_VERSION,
    SYNC_VERSION,
)

ROLE_PEER: Final = "peer"
ROLE_PULL: Final = "pull"
_CODE_PATTERN = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9.-]+")


# -- the messages (specs/0005 §3) ------------------------------------------------
@dataclass(frozen=True, slots=True)
class SyncFilter:
    """What the sender of a hello wants: None means everything.

    `kinds` works at log granularity: a log is sent whole if it holds at least one
    entry of one of the kinds (specs/0005 §7)."""

    authors: tuple[bytes, ...] | None = None
    kinds: tuple[str, ...] | None = None
    _author_set: frozenset[bytes] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_author_set", frozenset(self.authors or ()))

    def admits_author(self, author: bytes) -> bool:
        return self.authors is None or author in self._author_set

    @property
    def is_everything(self) -> bool:
        return self.authors is None and self.kinds is None


@dataclass(frozen=True, slots=True)
class Hello:
    """`reconcile`: the highest set reconciliation version the sender offers (0005 §8.1),
    0 for none (the key is then left out, as a node before reconciliation sent it)."""

    network: bytes
    filter: SyncFilter = SyncFilter()
    role: str = ROLE_PEER
    version: int = SYNC_VERSION
    reconcile: int = 0


def reconciling(a: Hello, b: Hello) -> bool:
    """Whether a session with these hellos reconciles its heads (0005 §8.1): both offer
    version 2 or later, both serve (role peer) and both want every log (no filter)."""
    return all(
        h.reconcile >= RECONCILE_VERSION and h.role == ROLE_PEER and h.filter.is_everything
        for h in (a, b)
    )


@dataclass(frozen=True, slots=True)
class Head:
    """One log the sender can serve: its latest checkpoint, of `size` entries."""

    author: bytes
    size: int
    checkpoint: bytes


@dataclass(frozen=True, slots=True)
class Heads:
    heads: tuple[Head, ...]
    more: bool = False


@dataclass(frozen=True, slots=True)
class Get:
    """A request for entries [from_seq, to_seq) of `author`'s log."""

    id: int
    author: bytes
    from_seq: int
    to_seq: int


@dataclass(frozen=True, slots=True)
class Range:
    """One answer frame: entries [start_seq, end_seq) with the checkpoint that covers
    them, the consistency proof from end_seq - 1 entries to it, and the key events
    after them up to it. Verifiable alone by Ledger.ingest_range."""

    id: int
    author: bytes
    start_seq: int
    entries: tuple[bytes, ...]
    checkpoint: bytes
    proof: tuple[bytes, ...] = ()
    key_events: tuple[bytes, ...] = ()
    more: bool = False

    @property
    def end_seq(self) -> int:
        return self.start_seq + len(self.entries)


@dataclass(frozen=True, slots=True)
class Forks:
    proofs: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Reconcile:
    """A message of the sender's own reconciliation (it initiated it), 0005 §8.3.
    `ranges`: the message decoded, once the parser checked it (None when built to
    send); it is the message, so it takes no part in equality."""

    message: bytes
    ranges: tuple[WireRange, ...] | None = dataclass_field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ReconcileReply:
    """The answer to the other side's last Reconcile (`ranges` as in Reconcile)."""

    message: bytes
    ranges: tuple[WireRange, ...] | None = dataclass_field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Done:
    pass


@dataclass(frozen=True, slots=True)
class SyncError:
    """The error message we send; the peer's arrives as a RemoteError event."""

    code: str
    message: str

    @classmethod
    def from_exception(cls, error: Exception) -> SyncError:
        code = getattr(error, "code", "remote.internal")
        text = getattr(error, "message", str(error))
        return cls(code[:MAX_ERROR_CODE_BYTES], _clip(text, MAX_ERROR_MESSAGE_BYTES))


Message = Hello | Heads | Reconcile | ReconcileReply | Get | Range | Forks | Done | SyncError


def _clip(text: str, max_bytes: int) -> str:
    return text.encode()[:max_bytes].decode(errors="ignore")


# -- wire form ---------------------------------------------------------------------
def message_to_wire(message: Message) -> dict[str, Any]:
    """The map carried in a frame (specs/0005 §3); canonical.encode sorts its keys."""
    match message:
        case Hello(network, flt, role, version, offered):
            authors = None if flt.authors is None else list(flt.authors)
            kinds = None if flt.kinds is None else list(flt.kinds)
            hello = {
                "t": "hello",
                "v": version,
                "network": network,
                "role": role,
                "filter": {"authors": authors, "kinds": kinds},
            }
            return hello | ({"reconcile": offered} if offered else {})
        case Reconcile(payload):
            return {"t": "reconcile", "msg": payload}
        case ReconcileReply(payload):
            return {"t": "reconcile-reply", "msg": payload}
        case Heads(heads, more):
            rows = [[h.author, h.size, h.checkpoint] for h in heads]
            return {"t": "heads", "heads": rows, "more": more}
        case Get(id_, author, from_seq, to_seq):
            return {"t": "get", "id": id_, "author": author, "from_seq": from_seq, "to_seq": to_seq}
        case Range():
            return _range_to_wire(message)
        case Forks(proofs):
            return {"t": "forks", "proofs": list(proofs)}
        case Done():
            return {"t": "done"}
        case SyncError(code, text):
            return {"t": "error", "code": code, "message": text}
    raise bad(f"not a sync message: {type(message).__name__}", "t")


def _range_to_wire(r: Range) -> dict[str, Any]:
    return {
        "t": "range",
        "id": r.id,
        "author": r.author,
        "start_seq": r.start_seq,
        "entries": list(r.entries),
        "checkpoint": r.checkpoint,
        "proof": list(r.proof),
        "key_events": list(r.key_events),
        "more": r.more,
    }


def parse_message(value: Any) -> Message:
    """The message a decoded frame holds, checked field by field; raises SyncViolationError."""
    if type(value) is not dict:
        raise bad("a message is a map", "t")
    kind = value.get("t")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise bad(f"unknown message type {kind!r}", "t")
    return parser(value)


# -- one parser per message type ----------------------------------------------------
def _parse_hello(m: dict[str, Any]) -> Hello:
    check_keys(m, frozenset({"t", "v"}), extra_ok=True)
    version = read_uint(m["v"], "v")
    if version != SYNC_VERSION:
        raise SyncViolationError(
            "unsupported-version", f"got version {version}, want {SYNC_VERSION}", "v"
        )
    check_keys(m, frozenset({"t", "v", "network", "role", "filter"}), extra_ok=True)
    network = read_id(m["network"], "network")
    role = m["role"]
    if role not in (ROLE_PEER, ROLE_PULL):
        raise bad(f"role must be {ROLE_PEER!r} or {ROLE_PULL!r}", "role")
    offered = read_uint(m["reconcile"], "reconcile") if "reconcile" in m else 0
    return Hello(network, _parse_filter(m["filter"]), role, version, offered)


def _parse_filter(f: Any) -> SyncFilter:
    if type(f) is not dict:
        raise bad("filter is a map", "filter")
    check_keys(f, frozenset({"authors", "kinds"}))
    authors = None
    if f["authors"] is not None:
        authors = read_list(f["authors"], "filter.authors", MAX_FILTER_AUTHORS, read_id)
        check_ascending(authors, "filter.authors", lambda a: a)
    kinds = None
    if f["kinds"] is not None:
        kinds = read_list(f["kinds"], "filter.kinds", MAX_FILTER_KINDS, read_kind)
        check_ascending(kinds, "filter.kinds", lambda k: k.encode())
    return SyncFilter(authors, kinds)


def _head(value: Any, field: str) -> Head:
    if type(value) is not list or len(value) != 3:
        raise bad("a head is [author, size, checkpoint]", field)
    author, size, note = value
    return Head(
        read_id(author, field), read_uint(size, field, 1), read_bin(note, field, 1, MAX_NOTE_BYTES)
    )


def _parse_heads(m: dict[str, Any]) -> Heads:
    check_keys(m, frozenset({"t", "heads", "more"}))
    heads = read_list(m["heads"], "heads", MAX_HEADS_PER_FRAME, _head)
    check_ascending(heads, "heads", lambda h: h.author)
    more = read_bool(m["more"], "more")
    if more and not heads:
        raise bad("a heads frame with more=true must hold a head", "more")
    return Heads(heads, more)


def _parse_get(m: dict[str, Any]) -> Get:
    check_keys(m, frozenset({"t", "id", "author", "from_seq", "to_seq"}))
    from_seq = read_uint(m["from_seq"], "from_seq", 1)
    to_seq = read_uint(m["to_seq"], "to_seq", from_seq + 1)
    if to_seq - from_seq > MAX_RANGE_REQUEST:
        raise oversized(f"asks {to_seq - from_seq} entries", "to_seq")
    return Get(read_uint(m["id"], "id"), read_id(m["author"], "author"), from_seq, to_seq)


def _parse_range(m: dict[str, Any]) -> Range:
    fields = {"t", "id", "author", "start_seq", "entries", "checkpoint", "proof", "key_events"}
    check_keys(m, frozenset({*fields, "more"}))
    entries = read_list(m["entries"], "entries", MAX_ENTRIES_PER_RANGE_FRAME, read_entry)
    start = read_uint(m["start_seq"], "start_seq", 1, limits.MAX_INT + 1 - len(entries))
    more = read_bool(m["more"], "more")
    if more and not entries:
        raise bad("a range frame with more=true must hold entries", "more")
    checkpoint = read_bin(m["checkpoint"], "checkpoint", 1 if entries else 0, MAX_NOTE_BYTES)
    return Range(
        read_uint(m["id"], "id"),
        read_id(m["author"], "author"),
        start,
        entries,
        checkpoint,
        read_list(m["proof"], "proof", MAX_PROOF_HASHES, read_hash),
        read_list(m["key_events"], "key_events", MAX_KEY_EVENTS_PER_FRAME, read_entry),
        more,
    )


def _parse_forks(m: dict[str, Any]) -> Forks:
    check_keys(m, frozenset({"t", "proofs"}))
    proofs = read_list(
        m["proofs"],
        "proofs",
        MAX_FORK_PROOFS_PER_FRAME,
        lambda v, f: read_bin(v, f, 1, MAX_SYNC_FRAME_BYTES),
    )
    if not proofs:
        raise bad("a forks frame holds at least one proof", "proofs")
    return Forks(proofs)


def _reconcile_payload(m: dict[str, Any]) -> tuple[bytes, tuple[WireRange, ...]]:
    """A Negentropy message: its size first, then its whole format (0005 §8.3); the
    bytes and their ranges (kept, so the reconciler does not decode them again)."""
    check_keys(m, frozenset({"t", "msg"}))
    payload = read_bin(m["msg"], "msg", 1, MAX_RECONCILE_MESSAGE_BYTES)
    try:
        return payload, decode_message(payload, max_bytes=MAX_RECONCILE_MESSAGE_BYTES)
    except RemoteFaultError as e:
        raise SyncViolationError(e.code.removeprefix("remote."), e.message, "msg") from None


def _parse_reconcile(m: dict[str, Any]) -> Reconcile:
    return Reconcile(*_reconcile_payload(m))


def _parse_reconcile_reply(m: dict[str, Any]) -> ReconcileReply:
    return ReconcileReply(*_reconcile_payload(m))


def _parse_done(m: dict[str, Any]) -> Done:
    check_keys(m, frozenset({"t"}))
    return Done()


def _parse_error(m: dict[str, Any]) -> SyncError:
    check_keys(m, frozenset({"t", "code", "message"}))
    code, text = m["code"], m["message"]
    if (
        type(code) is not str
        or len(code) > MAX_ERROR_CODE_BYTES
        or not _CODE_PATTERN.fullmatch(code)
    ):
        raise bad("want a code like 'remote.timeout'", "code")
    if type(text) is not str or len(text.encode()) > MAX_ERROR_MESSAGE_BYTES:
        raise bad(f"want text of at most {MAX_ERROR_MESSAGE_BYTES}", "message")
    return SyncError(code, text)


_PARSERS: dict[str, Callable[[dict[str, Any]], Message]] = {
    "hello": _parse_hello,
    "heads": _parse_heads,
    "reconcile": _parse_reconcile,
    "reconcile-reply": _parse_reconcile_reply,
    "get": _parse_get,
    "range": _parse_range,
    "forks": _parse_forks,
    "done": _parse_done,
    "error": _parse_error,
}
