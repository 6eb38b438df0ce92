"""A job's private files (specs/0007-jobs.md §2.4, specs/0011-capabilities.md §6): the
customer's check before it names blobs in `job.files`, sealing plaintext to the awarded
lab and the customer, and reading a job's files as this node may.

`check_sealed(ctx, view, blobs)` raises `job.files-not-sealed` unless each blob is held
here and reads as a sealed file with both the awarded lab's advertised key (its newest
advert) and our own key of that suite among its recipients: a sealed file has up to
eight recipient stanzas (protocol.sealed), so one blob serves both parties.
`seal_for_job` seals bytes that way. `job_blob` returns a blob named by the job (a
file or a dispute's evidence): a sealed file opened with our key, any other as stored.

Only this node's own blobs are checked: the derivation (protocol.jobstate) reads no
blob, so a `job.files` signed by a modified node is kept by every node, and the lab
finds out on opening (misuse.not-a-recipient).
"""

from __future__ import annotations

from typing import Any, Final

from node.i18n import N_
from node.ops.capabilities import lab_seal_key
from node.ops.context import LedgerContext
from node.ops.sealing import open_blob_bytes, seal_bytes_to_blob, seal_key
from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol.blob import DEFAULT_MAX_BLOB_BYTES
from protocol.capability import SealKey
from protocol.errors import DecodeError, JobError, LocalMisuseError
from protocol.ids import id_to_text
from protocol.jobstate import JobView
from protocol.sealed import MAGIC, MAX_HEADER_BYTES, TAG_BYTES, key_id, read_header

#: Enough of a sealed file to read its header (magic, length, header, one tag).
HEAD_BYTES: Final = len(MAGIC) + 4 + MAX_HEADER_BYTES + TAG_BYTES


def _held(home: NodeHome) -> BlobStore:
    # Reading held blobs: the ceiling of specs/0009, as node.ops.sealing opens them.
    return BlobStore(home.blobs, max_blob_bytes=DEFAULT_MAX_BLOB_BYTES)


def job_lab_key(ctx: LedgerContext, view: JobView) -> SealKey:
    """The awarded lab's sealed-file key (job.out-of-turn before an award)."""
    if view.lab is None:
        raise JobError("job.out-of-turn", N_("files are sealed to the awarded lab: no award yet"))
    return lab_seal_key(ctx, view.lab)


def check_sealed(ctx: LedgerContext, view: JobView, blobs: list[bytes]) -> None:
    """Raise job.files-not-sealed unless every blob is sealed to the lab and to us."""
    lab_key = job_lab_key(ctx, view)
    want = {
        key_id(lab_key): "the awarded lab",
        key_id(seal_key(ctx.home, lab_key.suite).public()): "the customer",
    }
    store = _held(ctx.home)
    for blob in blobs:
        name = id_to_text(blob)
        if not store.has(blob):
            raise LocalMisuseError("misuse.blob-missing", f"this node does not hold {name}")
        with store.path_of(blob).open("rb") as f:
            head = f.read(HEAD_BYTES)
        try:
            header = read_header(head)
        except DecodeError as e:
            raise JobError("job.files-not-sealed", f"{name} is not a sealed file") from e
        held = {kid for kid, _ in header.recipients}
        missing = [who for kid, who in want.items() if kid not in held]
        if missing:
            raise JobError(
                "job.files-not-sealed", f"{name} is not sealed to {' and '.join(missing)}"
            )


def seal_for_job(home: NodeHome, data: bytes, lab_key: SealKey) -> dict[str, Any]:
    """Seal `data` to the lab's key and ours; store it as a blob (node.ops.sealing)."""
    return seal_bytes_to_blob(home, data, lab_key)


def job_blobs(view: JobView) -> set[bytes]:
    """The blobs a job names: its files, its disputes' evidence, its messages' attachments."""
    named = {b for _, files in view.files for b in files.blobs}
    named |= {b for s in view.steps if s.kind == "job.dispute" for b in s.body.evidence}
    return named | {b for m in view.messages for b in m.body.attachments}


def check_named(view: JobView, blob: bytes) -> bool:
    """Raise misuse.not-a-job-file unless the job names `blob`; True if it is a file
    or a message's attachment (sealed, to be opened), False if it is evidence."""
    if blob not in job_blobs(view):
        raise LocalMisuseError(
            "misuse.not-a-job-file", f"job {id_to_text(view.id)} names no blob {id_to_text(blob)}"
        )
    attached = any(blob in m.body.attachments for m in view.messages)
    return attached or any(blob in files.blobs for _, files in view.files)


def job_blob(home: NodeHome, blob: bytes, sealed: bool) -> bytes:
    """A held blob of a job: opened with our key when sealed, else as stored."""
    if sealed:
        return open_blob_bytes(home, blob)
    store = _held(home)
    if not store.has(blob):
        raise LocalMisuseError("misuse.blob-missing", f"this node does not hold {id_to_text(blob)}")
    return store.path_of(blob).read_bytes()
