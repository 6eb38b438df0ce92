"""Sealed job files on a node (specs/0011-capabilities.md §6): the node's sealed-file
keys, sealing a local file to a lab's advertised key, opening a sealed blob.

A node's private sealed-file key of each suite lives at `<home>/keys/seal-<suite>.key`
(0600, created on first use, the same file format as the identity keys); its public
key goes into the node's capability advert. `seal_to_blob` seals a file so that the
lab *and this node* can open it (the customer keeps reading its own files) and stores
the result as an ordinary blob, which any node may carry; `open_blob` opens a held
blob with this node's key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any, Final

from node.ops.files import read_bounded
from node.store.blobs import BlobStore
from node.store.home import NodeHome, _read_secret, _write_secret
from protocol.blob import DEFAULT_MAX_BLOB_BYTES
from protocol.capability import SealKey
from protocol.errors import LocalMisuseError, VerificationError
from protocol.ids import id_to_text
from protocol.sealed import (
    MAX_PLAINTEXT_BYTES,
    PRIVATE_KEY_BYTES,
    SealPrivateKey,
    generate_key,
    key_id,
    open_sealed,
    read_header,
    seal,
)

SEAL_KEY_PREFIX: Final = "seal-"


def seal_key(home: NodeHome, suite: str) -> SealPrivateKey:
    """This node's private sealed-file key of `suite`, created (0600) on first use."""
    if suite not in PRIVATE_KEY_BYTES:
        raise LocalMisuseError("misuse.bad-seal-key", f"unknown suite {suite!r}")
    home.identity()  # never create keys in a mistyped --home
    path = home.keys_dir / f"{SEAL_KEY_PREFIX}{suite}.key"
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # a concurrent first use made it
            _write_secret(path, generate_key(suite).private_bytes)
    return SealPrivateKey(suite, _read_secret(path))


def _store(home: NodeHome) -> BlobStore:
    """The blob store under the federation's blob size rule (specs/0008 §2), as
    node.ops.designs stores files: a sealed blob above it is one no peer would fetch."""
    return home.blob_store()


def _read_bounded(path: Path, limit: int) -> bytes:
    with contextlib.suppress(OSError):  # unreadable: read_bounded says so, typed
        if path.stat().st_size > limit:  # refused before ~1 GiB is read into memory
            raise LocalMisuseError("misuse.too-large", f"{path} is over {limit} bytes")
    data = read_bounded(path, limit)
    if len(data) > limit:
        raise LocalMisuseError("misuse.too-large", f"{path} is over {limit} bytes")
    return data


def seal_bytes_to_blob(home: NodeHome, data: bytes, lab_key: SealKey) -> dict[str, Any]:
    """Seal `data` to the lab's key and ours (same suite); store it as a blob."""
    ours = seal_key(home, lab_key.suite).public()
    recipients = [lab_key] if key_id(ours) == key_id(lab_key) else [lab_key, ours]
    sealed = seal(data, recipients)
    blob_id, size = _store(home).add_bytes(sealed)
    return {
        "blob": id_to_text(blob_id),
        "size": size,
        "plaintext_size": len(data),
        "suite": lab_key.suite,
        "recipients": [key_id(r).hex() for r in recipients],
    }


def seal_to_blob(home: NodeHome, path: Path, lab_key: SealKey) -> dict[str, Any]:
    """Seal a local file to the lab's key and ours; store it as a blob."""
    return seal_bytes_to_blob(home, _read_bounded(path, MAX_PLAINTEXT_BYTES), lab_key)


def open_blob_bytes(home: NodeHome, blob_id: bytes) -> bytes:
    """The plaintext of a sealed blob this node holds and is a recipient of; its bytes
    must still hash to its id (verify.blob-hash-mismatch)."""
    # Reading a held blob: the ceiling of specs/0009, not today's rule, so that a blob
    # stored before the federation lowered its limit still opens.
    store = BlobStore(home.blobs, max_blob_bytes=DEFAULT_MAX_BLOB_BYTES)
    if not store.has(blob_id):
        raise LocalMisuseError(
            "misuse.blob-missing", f"this node does not hold {id_to_text(blob_id)}"
        )
    sealed = _read_bounded(store.path_of(blob_id), store.max_blob_bytes)
    if hashlib.sha256(sealed).digest() != blob_id:  # a changed bit on disk (0007 §2.5)
        raise VerificationError(
            "verify.blob-hash-mismatch", f"the stored {id_to_text(blob_id)} was altered"
        )
    header = read_header(sealed)
    return open_sealed(sealed, seal_key(home, header.suite))


def open_blob(home: NodeHome, blob_id: bytes, out: Path) -> dict[str, Any]:
    """Open a sealed blob into `out` (written whole, then renamed into place)."""
    plaintext = open_blob_bytes(home, blob_id)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        with tmp.open("wb") as f:
            f.write(plaintext)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise LocalMisuseError("misuse.bad-file", f"cannot write {out}: {e.strerror}") from e
    return {"blob": id_to_text(blob_id), "file": str(out), "size": len(plaintext)}
