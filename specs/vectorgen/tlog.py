"""A small model of the transparency-log formats, written from the specs, not from ledger/.

RFC 6962 §2.1 hashes and proofs (MTH, PATH, PROOF), C2SP signed-note signature lines,
tlog-checkpoint note bodies and tlog-cosignature/v1 lines, plus the Fab Commons names
(specs/0003 draft): origin ``fabcommons/<network>/<author>`` and witness key names
``fabcommons-witness/<identity>``. The ledger suites build their inputs and expectations
with this model, so the vectors check ledger/ against the specs rather than against itself.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from protocol.ids import id_to_text
from protocol.keys import SigningKey
from specs.vectorgen.common import T0_MS, identity

EMPTY_ROOT = hashlib.sha256(b"").digest()
SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
EM_DASH = "\u2014"
#: The witness of every ledger suite, and its key name.
WENDY = identity("wendy")
WITNESS_NAME = "fabcommons-witness/" + id_to_text(WENDY.id)
#: Cosignature times are POSIX seconds; the suites start at T0 (2026-01-01T00:00:00Z).
T0_S = T0_MS // 1000


# --- RFC 6962 §2.1 -------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf *hashes*."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(mth(leaves[:k]), mth(leaves[k:]))


def inclusion_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf m, bottom to top."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*inclusion_path(m, leaves[:k]), mth(leaves[k:])]
    return [*inclusion_path(m - k, leaves[k:]), mth(leaves[:k])]


def consistency_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) for 0 < m <= n."""
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def flip(raw: bytes, at: int = 0) -> bytes:
    """`raw` with the low bit of byte `at` flipped."""
    return raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :]


# --- C2SP signed-note, tlog-checkpoint, tlog-cosignature ----------------------------------


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def origin(network: bytes, author: bytes) -> str:
    return f"fabcommons/{id_to_text(network)}/{id_to_text(author)}"


def body(origin_line: str, size: int | str, root: bytes) -> str:
    """The checkpoint note text: origin, decimal size, base64 root, each with a newline."""
    return f"{origin_line}\n{size}\n{b64(root)}\n"


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    material = name.encode() + b"\n" + bytes([signature_type]) + public_key
    return hashlib.sha256(material).digest()[:4]


def line(name: str, kid: bytes, signature: bytes) -> str:
    """A signature line: em dash, space, key name, space, base64(key id || signature)."""
    return f"{EM_DASH} {name} {b64(kid + signature)}\n"


def ed25519_line(key: SigningKey, name: str, text: str) -> str:
    """A type 0x01 signature of `text` by `key` under key name `name`."""
    return line(name, key_id(name, SIG_ED25519, key.public), key.sign(b"", text.encode()))


def note(text: str, *lines: str) -> str:
    """The note text, the blank line, then the signature lines."""
    return text + "\n" + "".join(lines)


def checkpoint(key: SigningKey, network: bytes, author: bytes, size: int, root: bytes) -> str:
    """The author's signed checkpoint: key name = origin line."""
    o = origin(network, author)
    text = body(o, size, root)
    return note(text, ed25519_line(key, o, text))


def cosignature_line(
    key: SigningKey, text: str, timestamp_s: int, *, name: str = WITNESS_NAME
) -> str:
    """A cosignature/v1 line: key id || u64 timestamp || Ed25519 over the signed message."""
    message = f"cosignature/v1\ntime {timestamp_s}\n{text}".encode()
    stamp = timestamp_s.to_bytes(8, "big")
    return line(name, key_id(name, SIG_COSIGNATURE_V1, key.public), stamp + key.sign(b"", message))
