"""Content routing for blobs: `/fabcommons/blob-route/1` (specs/0009-blobs.md §12).

One stream carries one request and its one answer, each a frame of protocol/framing.py
holding a canonical map:

    have   {"blobs": [bin32, ...], "t": "have", "v": 1}      which of these do you hold?
    held   {"held": [bin32, ...], "t": "held", "v": 1}       these (a subset, maybe empty)
    get    {"blob": bin32, "t": "get", "v": 1}               fetch it from your peers for me
    ready  {"blob": bin32, "size": uint, "t": "ready", "v": 1}   held now: fetch it from me
    prove  {"blob": bin32, "length": uint, "nonce": bin16, "offset": uint, "t": "prove", "v": 1}
    proof  {"blob": bin32, "digest": bin32, "t": "proof", "v": 1}   `proof_digest` of the range
    error  {"code": str, "message": str, "t": "error", "v": 1}   refused (then it closes)

Lists are sorted by bytes and unique, 1..MAX_ASKED_BLOBS ids in a `have`, at most that
many in a `held`. `decode_message` is the only way from a frame's value to a message
(DecodeError `decode.bad-blob-route` for anything else); `encode_message` refuses
(LocalMisuseError) what the decoder would refuse. `judge_answer` checks an answer
against the request it answers (RemoteFaultError `remote.unexpected-answer`);
`proof_digest` is what a holder answers a `prove` with (§12.4).
Pure: no I/O, no clock. Left to others: who may ask what, fetching, timeouts
(node/net/blob_exchange.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

from protocol.errors import DecodeError, LocalMisuseError, RemoteFaultError
from protocol.ids import ID_BYTES, id_to_text
from protocol.tags import BLOB_PROOF

ROUTE_PROTOCOL_ID: Final = "/fabcommons/blob-route/1"
#: `prove` travels on its own protocol (0009 §12.4): a node without it then refuses the
#: stream, and is "unanswered", instead of charging the asker for an unknown message.
PROOF_PROTOCOL_ID: Final = "/fabcommons/blob-proof/1"
ROUTE_VERSION: Final = 1
#: Most blob ids one `have` asks about, and so one `held` answers.
MAX_ASKED_BLOBS: Final = 32
#: Largest frame of this protocol: 32 ids (34 bytes each) or an error's two texts fit.
MAX_ROUTE_FRAME_BYTES: Final = 2048
MAX_CODE_BYTES: Final = 64
MAX_MESSAGE_BYTES: Final = 1024
#: Most bytes of a blob one `prove` asks a holder to hash (one disk read of 64 KiB).
MAX_PROOF_BYTES: Final = 65_536
NONCE_BYTES: Final = 16
BAD: Final = "decode.bad-blob-route"

_FIELDS: Final = {
    "have": frozenset({"blobs", "t", "v"}),
    "held": frozenset({"held", "t", "v"}),
    "get": frozenset({"blob", "t", "v"}),
    "ready": frozenset({"blob", "size", "t", "v"}),
    "prove": frozenset({"blob", "length", "nonce", "offset", "t", "v"}),
    "proof": frozenset({"blob", "digest", "t", "v"}),
    "error": frozenset({"code", "message", "t", "v"}),
}


@dataclass(frozen=True)
class Have:
    """Which of `blobs` (sorted, unique) does the server hold and serve?"""

    blobs: tuple[bytes, ...]


@dataclass(frozen=True)
class Held:
    """The asked blobs the server holds and serves (sorted, unique)."""

    held: tuple[bytes, ...]


@dataclass(frozen=True)
class Get:
    """Fetch `blob` from your own peers and hold it, so that I can fetch it from you."""

    blob: bytes


@dataclass(frozen=True)
class Ready:
    """The server holds `blob` (of `size` bytes) now: fetch it on /fabcommons/blob/1."""

    blob: bytes
    size: int


@dataclass(frozen=True)
class Prove:
    """Hash bytes [offset, offset + length) of `blob` (cut at its end) with `nonce`."""

    blob: bytes
    length: int
    nonce: bytes
    offset: int


@dataclass(frozen=True)
class Proof:
    """`proof_digest` of the range a `prove` named, by a node holding the blob."""

    blob: bytes
    digest: bytes


@dataclass(frozen=True)
class RouteError:
    code: str
    message: str


RouteMessage = Have | Held | Get | Ready | Prove | Proof | RouteError
Request = Have | Get | Prove
_NAMES: Final = {
    Have: "have", Held: "held", Get: "get", Ready: "ready", Prove: "prove", Proof: "proof",
    RouteError: "error",
}  # fmt: skip


def proof_digest(blob: bytes, nonce: bytes, data: bytes) -> bytes:
    """SHA-256(BLOB_PROOF || blob id || nonce || the range's bytes) (0009 §12.4)."""
    return hashlib.sha256(BLOB_PROOF + blob + nonce + data).digest()


def encode_message(message: RouteMessage) -> dict[str, Any]:
    """The map of `message` (for protocol.framing.encode_frame); LocalMisuseError if
    the decoder would refuse it."""
    value = {"t": _NAMES[type(message)], "v": ROUTE_VERSION}
    for name, field in vars(message).items():
        value[name] = list(field) if isinstance(field, tuple) else field
    try:
        decode_message(value)
    except DecodeError as e:
        raise LocalMisuseError("misuse.bad-argument", f"not a route message: {e.message}") from e
    return value


def decode_message(value: Any) -> RouteMessage:
    """The message a frame's value holds (0009 §12.1), or DecodeError decode.bad-blob-route."""
    if type(value) is not dict:
        raise _bad("a message is a map")
    kind = value.get("t")
    fields = _FIELDS.get(kind) if type(kind) is str else None
    if fields is None:
        raise _bad(f"unknown message type {kind!r}")
    if value.keys() != fields:
        raise _bad(f"{kind} has fields {sorted(value)}, want {sorted(fields)}")
    if type(value["v"]) is not int or value["v"] != ROUTE_VERSION:
        raise _bad(f"v {value['v']!r}, want {ROUTE_VERSION}")
    if kind == "have":
        return Have(_ids(value["blobs"], "blobs", minimum=1))
    if kind == "held":
        return Held(_ids(value["held"], "held", minimum=0))
    if kind == "error":
        return RouteError(
            _text(value["code"], "code", MAX_CODE_BYTES),
            _text(value["message"], "message", MAX_MESSAGE_BYTES),
        )
    blob = _id(value["blob"], "blob")
    if kind == "get":
        return Get(blob)
    if kind == "prove":
        return _prove(blob, value)
    if kind == "proof":
        return Proof(blob, _id(value["digest"], "digest"))
    size = value["size"]
    if type(size) is not int or size < 0:
        raise _bad("size must be an unsigned integer")
    return Ready(blob, size)


def judge_answer(request: Request, answer: RouteMessage) -> Held | Ready | Proof:
    """The answer, if it answers `request` (a `held` of asked ids only, a `ready` or a
    `proof` of the blob asked; whether a proof's digest is right only a holder of the
    bytes can tell). RemoteFaultError: `remote.refused` for an `error` (its code kept
    as `peer_code`), else `remote.unexpected-answer`."""
    if isinstance(answer, RouteError):
        raise RemoteFaultError(
            "remote.refused",
            f"the peer refused: {answer.code}: {answer.message[:200]}",
            peer_code=answer.code,
        )
    if isinstance(request, Have) and isinstance(answer, Held):
        extra = set(answer.held) - set(request.blobs)
        if not extra:
            return answer
        why = f"held {id_to_text(min(extra))}, which was not asked"
    elif (isinstance(request, Get) and isinstance(answer, Ready)) or (
        isinstance(request, Prove) and isinstance(answer, Proof)
    ):
        if answer.blob == request.blob:
            return answer
        why = f"{_NAMES[type(answer)]} {id_to_text(answer.blob)}, asked {id_to_text(request.blob)}"
    else:
        why = f"a {_NAMES[type(answer)]} does not answer a {_NAMES[type(request)]}"
    raise RemoteFaultError("remote.unexpected-answer", why)


def _prove(blob: bytes, value: dict[str, Any]) -> Prove:
    length, nonce, offset = value["length"], value["nonce"], value["offset"]
    if type(length) is not int or not 1 <= length <= MAX_PROOF_BYTES:
        raise _bad(f"length must be 1..{MAX_PROOF_BYTES}")
    if type(offset) is not int or offset < 0:
        raise _bad("offset must be an unsigned integer")
    if type(nonce) is not bytes or len(nonce) != NONCE_BYTES:
        raise _bad(f"nonce must be {NONCE_BYTES} bytes")
    return Prove(blob, length, nonce, offset)


def _ids(value: Any, name: str, *, minimum: int) -> tuple[bytes, ...]:
    if type(value) is not list or not minimum <= len(value) <= MAX_ASKED_BLOBS:
        raise _bad(f"{name} must be a list of {minimum}..{MAX_ASKED_BLOBS} blob ids")
    ids = tuple(_id(item, name) for item in value)
    if list(ids) != sorted(set(ids)):
        raise _bad(f"{name} must be sorted and unique")
    return ids


def _id(value: Any, name: str) -> bytes:
    if type(value) is not bytes or len(value) != ID_BYTES:
        raise _bad(f"{name} must hold {ID_BYTES}-byte blob ids")
    return value


def _text(value: Any, name: str, limit: int) -> str:
    if type(value) is str:
        try:
            if len(value.encode()) <= limit:
                return value
        except UnicodeEncodeError:  # a lone surrogate: only our own text can hold one
            pass
    raise _bad(f"{name} must be UTF-8 text of at most {limit} bytes")


def _bad(why: str) -> DecodeError:
    return DecodeError(BAD, why)
