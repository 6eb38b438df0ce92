"""Vectors of content routing, `/fabcommons/blob-route/1` (specs/0009 §12).

blobs/route: the canonical value of one frame in (`frame_hex`), and, for an answer,
the request it answers (`request_hex`, or empty); out: the message (`t` and its fields,
ids in text form) or the error. Built from the spec's table, not read back from code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from protocol import canonical
from protocol.ids import id_to_text
from specs.vectorgen.common import Case, error, ok

SUITE = ("blobs", "route")
A, B, C = (hashlib.sha256(name).digest() for name in (b"a", b"b", b"c"))
IDS = sorted([A, B, C])
MAX_ASKED = 32
MANY = sorted(hashlib.sha256(bytes([i])).digest() for i in range(MAX_ASKED + 1))


def _case(
    name: str,
    description: str,
    value: Any,
    expect: dict[str, Any],
    request: dict[str, Any] | None = None,
) -> Case:
    data = {
        "frame_hex": canonical.encode(value).hex(),
        "request_hex": "" if request is None else canonical.encode(request).hex(),
    }
    return Case(*SUITE, name, description, data, expect)


def have(blobs: list[bytes]) -> dict[str, Any]:
    return {"blobs": blobs, "t": "have", "v": 1}


def held(blobs: list[bytes]) -> dict[str, Any]:
    return {"held": blobs, "t": "held", "v": 1}


def get(blob: bytes) -> dict[str, Any]:
    return {"blob": blob, "t": "get", "v": 1}


def ready(blob: bytes, size: int) -> dict[str, Any]:
    return {"blob": blob, "size": size, "t": "ready", "v": 1}


def texts(blobs: list[bytes]) -> list[str]:
    return [id_to_text(b) for b in blobs]


def prove(blob: bytes, length: int, nonce: bytes, offset: int) -> dict[str, Any]:
    return {"blob": blob, "length": length, "nonce": nonce, "offset": offset, "t": "prove",
            "v": 1}  # fmt: skip


def proof(blob: bytes, digest: bytes) -> dict[str, Any]:
    return {"blob": blob, "digest": digest, "t": "proof", "v": 1}


NONCE = bytes(range(16))
BAD = "decode.bad-blob-route"


def cases() -> Iterator[Case]:
    yield _case("have", "Which of three blobs do you hold?", have(IDS),
                ok(t="have", blobs=texts(IDS)))  # fmt: skip
    yield _case("have-thirty-two", "The most one request asks about.", have(MANY[:MAX_ASKED]),
                ok(t="have", blobs=texts(MANY[:MAX_ASKED])))  # fmt: skip
    yield _case("held-some", "Two of the three asked.", held(IDS[:2]),
                ok(t="held", held=texts(IDS[:2])), have(IDS))  # fmt: skip
    yield _case("held-none", "None of those asked: an empty list.", held([]),
                ok(t="held", held=[]), have(IDS))  # fmt: skip
    yield _case("get", "Fetch this blob from your peers for me.", get(A),
                ok(t="get", blob=id_to_text(A)))  # fmt: skip
    yield _case("ready", "Held now, 5 bytes: fetch it on /fabcommons/blob/1.", ready(A, 5),
                ok(t="ready", blob=id_to_text(A), size=5), get(A))  # fmt: skip
    yield _case("error-not-relaying", "Refused: not a blob the peer keeps.",
                {"code": "remote.not-relaying", "message": "no", "t": "error", "v": 1},
                error("remote.refused", peer_code="remote.not-relaying"), get(A))  # fmt: skip
    yield _case("have-empty", "A request must ask about one blob at least.", have([]),
                error(BAD))  # fmt: skip
    yield _case("have-thirty-three", "One id over MAX_ASKED_BLOBS.", have(MANY),
                error(BAD))  # fmt: skip
    yield _case("have-unsorted", "Ids not sorted by bytes.", have(IDS[::-1]),
                error(BAD))  # fmt: skip
    yield _case("have-repeated", "One id twice.", have([A, A]), error(BAD))
    yield _case("have-short-id", "An id of 31 bytes.", have([A[:31]]), error(BAD))
    yield _case("unknown-type", "t is want: a message of the blob protocol, not this one.",
                {"blob": A, "t": "want", "v": 1}, error(BAD))  # fmt: skip
    yield _case("extra-field", "A get with an offset.", {**get(A), "offset": 0}, error(BAD))
    yield _case("version-2", "v is 2.", {**get(A), "v": 2}, error(BAD))
    yield _case("ready-negative-size", "size is -1.", ready(A, -1), error(BAD))
    yield _case("error-code-too-long", "An error code of 65 bytes.",
                {"code": "r" * 65, "message": "", "t": "error", "v": 1},
                error(BAD))  # fmt: skip
    yield _case("not-a-map", "A list, not a map.", [1, 2], error(BAD))
    yield _case("held-unasked", "A held id that was not asked.", held([C]),
                error("remote.unexpected-answer"), have(sorted([A, B])))  # fmt: skip
    yield _case("ready-other-blob", "Ready for another blob than the one asked.", ready(B, 5),
                error("remote.unexpected-answer"), get(A))  # fmt: skip
    yield _case("held-answers-get", "A held list does not answer a get.", held([A]),
                error("remote.unexpected-answer"), get(A))  # fmt: skip
    yield from _proof_frames()


def _proof_frames() -> Iterator[Case]:
    """`prove` and `proof` (0009 §12.4)."""
    asked = prove(A, 4096, NONCE, 100)
    a, nonce = id_to_text(A), NONCE.hex()
    yield _case("prove", "Hash 4,096 bytes of blob a from offset 100, with this nonce.", asked,
                ok(t="prove", blob=a, length=4096, nonce=nonce, offset=100))  # fmt: skip
    yield _case("prove-largest", "The longest range one prove asks: 65,536 bytes.",
                prove(A, 65_536, NONCE, 0),
                ok(t="prove", blob=a, length=65_536, nonce=nonce, offset=0))  # fmt: skip
    digest = hashlib.sha256(b"any 32 bytes").digest()
    yield _case("proof", "A digest for blob a, answering a prove of a.", proof(A, digest),
                ok(t="proof", blob=id_to_text(A), digest=digest.hex()), asked)  # fmt: skip
    yield _case("prove-empty-range", "length 0.", prove(A, 0, NONCE, 0), error(BAD))
    yield _case("prove-too-long", "length 65,537.", prove(A, 65_537, NONCE, 0), error(BAD))
    yield _case("prove-short-nonce", "A nonce of 15 bytes.", prove(A, 1, NONCE[:15], 0),
                error(BAD))  # fmt: skip
    yield _case("prove-negative-offset", "offset -1.", prove(A, 1, NONCE, -1), error(BAD))
    yield _case("proof-short-digest", "A digest of 31 bytes.", proof(A, digest[:31]),
                error(BAD))  # fmt: skip
    yield _case("proof-other-blob", "A proof for another blob than the one asked.",
                proof(B, digest), error("remote.unexpected-answer"), asked)  # fmt: skip
    yield _case("held-answers-prove", "A held list does not answer a prove.", held([A]),
                error("remote.unexpected-answer"), asked)  # fmt: skip


# -- blobs/proof (0009 §12.4) ----------------------------------------------------------

PROOF_SUITE = ("blobs", "proof")
BLOB_PROOF_TAG = b"fabcommons/v1/blob-proof\x00"


def proof_cases() -> Iterator[Case]:
    """What a holder answers: SHA-256(tag || blob id || nonce || bytes of the range,
    cut at the blob's end), for a 1,000-byte blob."""
    data = bytes((i * 7 + 3) % 256 for i in range(1000))
    blob = hashlib.sha256(data).digest()
    for name, description, offset, length in (
        ("whole", "The whole blob: offset 0, length 1,000.", 0, 1000),
        ("middle", "Bytes [100, 164).", 100, 64),
        ("cut-at-end", "offset 900, length 4,096: the 100 bytes to the end.", 900, 4096),
        ("past-end", "offset 1,000: no bytes, the digest of tag, id and nonce.", 1000, 1),
    ):
        answer = hashlib.sha256(BLOB_PROOF_TAG + blob + NONCE + data[offset : offset + length])
        fields = {"blob_hex": data.hex(), "nonce_hex": NONCE.hex(), "offset": offset,
                  "length": length}  # fmt: skip
        yield Case(*PROOF_SUITE, name, description, fields,
                   ok(blob=id_to_text(blob), digest=answer.hexdigest()))  # fmt: skip


# -- blobs/pinning (0009 §13) ---------------------------------------------------------

PIN_SUITE = ("blobs", "pinning")
PIN_WEIGHT_TAG = b"fabcommons/v1/pin-weight\x00"


def _member(name: str) -> bytes:
    return hashlib.sha256(b"member/" + name.encode()).digest()


def _weight(blob: bytes, member: bytes) -> bytes:
    return hashlib.sha256(PIN_WEIGHT_TAG + blob + member).digest()


def _pinners(blob: bytes, members: list[bytes], replicas: int, authors: list[bytes]) -> list[bytes]:
    """The spec's rule, written out: weights of the members not authors, highest first."""
    ranked = sorted((m for m in members if m not in authors), key=lambda m: _weight(blob, m))
    return ranked[::-1][:replicas]


def _pin_case(
    name: str,
    description: str,
    members: list[bytes],
    files: list[tuple[bytes, int, list[bytes]]],
    replicas: int,
    quota_bytes: int,
) -> Case:
    pinners = {b: _pinners(b, members, replicas, a) for b, _, a in files}
    sizes = {b: s for b, s, _ in files}
    sets = []
    for m in sorted(members):
        chosen = sorted((b for b in pinners if m in pinners[b]), key=lambda b: _weight(b, m))[::-1]
        kept, used = [], 0
        for b in chosen:
            if used + sizes[b] <= quota_bytes:
                kept.append(b)
                used += sizes[b]
        sets.append({"member": id_to_text(m), "pins": texts(kept)})
    data = {
        "members": texts(sorted(members)),
        "files": [{"blob": id_to_text(b), "size": s, "authors": texts(sorted(a))}
                  for b, s, a in sorted(files)],
        "pin_replicas": replicas,
        "pin_quota_bytes": quota_bytes,
    }  # fmt: skip
    expect = ok(
        pinners=[{"blob": id_to_text(b), "members": texts(p)} for b, p in sorted(pinners.items())],
        pin_sets=sets,
    )
    return Case(*PIN_SUITE, name, description, data, expect)


def pin_cases() -> Iterator[Case]:
    lab = {n: _member(n) for n in ("a", "b", "c", "d", "e")}
    five = list(lab.values())
    files = [(hashlib.sha256(f"file {i}".encode()).digest(), 1000 * (i + 1), [lab["a"]])
             for i in range(6)]  # fmt: skip
    yield _pin_case("two-replicas-of-five", "Six files of lab a's designs; two of the other "
                    "four members pin each, by weight.", five, files, 2, 10**9)  # fmt: skip
    yield _pin_case("quota-binds", "A quota of 5,000 bytes: each member keeps what fits, "
                    "highest weight first, skipping what would pass it.", five, files, 2,
                    5000)  # fmt: skip
    yield _pin_case("more-replicas-than-members", "Five replicas asked of five members: "
                    "the four that are not the author pin everything.", five, files[:2], 5,
                    10**9)  # fmt: skip
    yield _pin_case("no-replicas", "pin_replicas 0: no member pins anything.", five, files[:2],
                    0, 10**9)  # fmt: skip
    shared = [(files[0][0], 1000, [lab["a"], lab["b"]])]
    yield _pin_case("two-authors", "A file two designs name, by a and by b: neither author "
                    "pins it.", five, shared, 2, 10**9)  # fmt: skip
