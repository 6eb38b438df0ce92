"""The blob store on disk (specs/0009-blobs.md §5).

Layout, under the store's folder (the node uses `<home>/blobs`):
    <aa>/<blob-id-text>     a final blob; `aa` = the two characters after the id's "b"
    partial/<id-text>.part  a download in progress, appended in order, resumable
    partial/<id-text>.from  the peer whose bytes that partial holds (its source)
    partial/*.tmp           files being added or copied, renamed into place when whole

Guarantees: a final blob's bytes hash (SHA-256) to its name: every blob is hashed
while it is written (a file, bytes, or pieces as they arrive: `NewBlob`) and reaches
its final name only by an atomic rename after an fsync, so readers never see a
partial or unverified blob, and adding the same bytes twice is harmless. No blob
exceeds `max_blob_bytes` (checked before and while copying, and on every append).
Paths are built only from validated 32-byte ids, never from text a peer sent. One
process at a time appends to a partial (an flock on it); other stores in other
processes may share the folder. A partial holds the bytes of one source only: opened
for another source, its bytes are dropped first (0009 §6), so a whole-file hash that
fails always names the one peer that sent every byte.
Every OSError is wrapped as LocalMisuseError("misuse.blob-io"), a full disk (ENOSPC)
as "misuse.disk-full"; while `write_refusal` is set (the node's disk is below its
free-space mark, node.store.diskspace) nothing new is written. A blob on the
federation's blocklist (`policy`, ledger.takedown) is never stored: adding, uploading
or fetching it is RuleViolationError("rule.blob-blocked") (specs/0009 §9).
Left to others: fetching (node/net/blobs.py), deleting and garbage collection.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ledger.takedown import NO_POLICY, BlobPolicy
from protocol.blob import DEFAULT_MAX_BLOB_BYTES, MAX_CHUNK_BYTES
from protocol.errors import CommonsError, LocalMisuseError, RuleViolationError, VerificationError
from protocol.ids import ID_BYTES, id_from_text, id_to_text

#: Bytes read at a time when hashing and copying.
READ_BYTES = 1024 * 1024
PARTIAL_FOLDER = "partial"
#: Longest source (a peer id's text) a partial records; a longer record matches nothing.
MAX_SOURCE_BYTES = 256
#: A shard folder whose mtime is older than this is trusted to be what was counted.
SHARD_SETTLED_NS = 2_000_000_000


@contextlib.contextmanager
def _io(what: str) -> Iterator[None]:
    """Turn an OSError into LocalMisuseError("misuse.blob-io")."""
    try:
        yield
    except OSError as e:
        code = "misuse.disk-full" if e.errno == errno.ENOSPC else "misuse.blob-io"
        raise LocalMisuseError(code, f"{what}: {e.strerror or e}") from e


def _check_id(blob_id: bytes) -> str:
    if type(blob_id) is not bytes or len(blob_id) != ID_BYTES:
        raise LocalMisuseError("misuse.bad-argument", f"a blob id is {ID_BYTES} bytes")
    return id_to_text(blob_id)


def _too_large(size: int, limit: int) -> RuleViolationError:
    return RuleViolationError("rule.blob-too-large", f"blob of {size} bytes, limit {limit}")


def check_blob_size(size: int, limit: int) -> None:
    """RuleViolationError("rule.blob-too-large") if a blob of `size` bytes passes `limit`."""
    if size > limit:
        raise _too_large(size, limit)


def _lock_if_current(f: IO[bytes], path: Path) -> bool:
    """Lock `f` exclusively if no one else holds it and it is still the file at `path`.

    A holder may rename or remove the file between our open and our lock; a lock on a
    file no longer at `path` protects nothing, so the caller opens it again.
    """
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return os.fstat(f.fileno()).st_ino == os.stat(path).st_ino
    except (BlockingIOError, FileNotFoundError):
        return False
    except OSError as e:
        f.close()
        raise LocalMisuseError("misuse.blob-io", f"cannot lock {path}: {e.strerror}") from e


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class BlobStoreStatistics:
    """A snapshot: final blobs held and their bytes (partials not counted)."""

    blobs: int
    blob_bytes: int


class BlobStore:
    """Content-addressed files under one folder."""

    def __init__(
        self,
        folder: Path,
        *,
        max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES,
        policy: BlobPolicy = NO_POLICY,
    ) -> None:
        self.folder = folder
        self.max_blob_bytes = max_blob_bytes
        self.write_refusal: LocalMisuseError | None = None
        #: What may be stored, fetched and served (the running node keeps it current).
        self.policy = policy
        with _io(f"cannot create {folder}"):
            (folder / PARTIAL_FOLDER).mkdir(mode=0o700, parents=True, exist_ok=True)
        #: shard name -> (its mtime_ns when counted, blobs, bytes): `statistics` lists
        #: again only the shards whose folder changed since (an install or a removal
        #: renames or unlinks in it, which moves its mtime).
        self._shard_counts: dict[str, tuple[int, int, int]] = {}
        self._counts_lock = threading.Lock()

    def path_of(self, blob_id: bytes) -> Path:
        """Where the final blob lives (whether or not it is held)."""
        text = _check_id(blob_id)
        return self.folder / text[1:3] / text

    def partial_path(self, blob_id: bytes) -> Path:
        return self.folder / PARTIAL_FOLDER / f"{_check_id(blob_id)}.part"

    def source_path(self, blob_id: bytes) -> Path:
        """Where the partial of `blob_id` records its source."""
        return self.folder / PARTIAL_FOLDER / f"{_check_id(blob_id)}.from"

    def partial_source(self, blob_id: bytes) -> str | None:
        """The source of a non-empty partial of `blob_id`, or None (no partial, no record).
        Advisory: read without the partial's lock."""
        try:
            if self.partial_path(blob_id).stat().st_size == 0:
                return None
        except FileNotFoundError:
            return None
        except OSError as e:
            raise LocalMisuseError("misuse.blob-io", f"cannot stat a partial: {e.strerror}") from e
        return _read_source(self.source_path(blob_id))

    def has(self, blob_id: bytes) -> bool:
        return self.path_of(blob_id).is_file()

    def statistics(self) -> BlobStoreStatistics:
        """Count the final blobs (partials not counted). A shard folder is listed again
        only if its mtime moved since it was counted, or is too recent to trust (the
        kernel stamps with a coarse clock: a change in the same tick keeps the mtime),
        so a scrape of a large, quiet store costs one stat per shard. Call it off the
        trio thread. Files vanishing meanwhile are skipped."""
        blobs = blob_bytes = 0
        seen: set[str] = set()
        with self._counts_lock, _io("cannot list the blob store"):
            with os.scandir(self.folder) as shards:
                for shard in shards:
                    if shard.name == PARTIAL_FOLDER or not shard.is_dir(follow_symlinks=False):
                        continue
                    seen.add(shard.name)
                    with contextlib.suppress(FileNotFoundError):
                        mtime_ns = shard.stat(follow_symlinks=False).st_mtime_ns
                        n, size = self._count_shard(shard.path, shard.name, mtime_ns)
                        blobs, blob_bytes = blobs + n, blob_bytes + size
            for gone in set(self._shard_counts) - seen:
                del self._shard_counts[gone]
        return BlobStoreStatistics(blobs, blob_bytes)

    def _count_shard(self, path: str, name: str, mtime_ns: int) -> tuple[int, int]:
        cached = self._shard_counts.get(name)
        if cached is not None and cached[0] == mtime_ns:
            return cached[1], cached[2]
        blobs = blob_bytes = 0
        with os.scandir(path) as items:
            for item in items:
                with contextlib.suppress(FileNotFoundError):
                    if item.is_file(follow_symlinks=False):
                        blob_bytes += item.stat(follow_symlinks=False).st_size
                        blobs += 1
        if time.time_ns() - mtime_ns > SHARD_SETTLED_NS:
            self._shard_counts[name] = (mtime_ns, blobs, blob_bytes)
        return blobs, blob_bytes

    def held(self) -> Iterator[tuple[bytes, int, float]]:
        """Every final blob: (id, size, last use as mtime). One stat per blob: call it
        off the trio thread. Files vanishing meanwhile, or not named as blobs, are
        skipped."""
        with _io("cannot list the blob store"), os.scandir(self.folder) as shards:
            for shard in shards:
                if shard.name == PARTIAL_FOLDER or not shard.is_dir(follow_symlinks=False):
                    continue
                with os.scandir(shard.path) as items:
                    for item in items:
                        try:
                            blob_id = id_from_text(item.name)
                            st = item.stat(follow_symlinks=False)
                        except (CommonsError, FileNotFoundError):
                            continue
                        if item.is_file(follow_symlinks=False):
                            yield blob_id, st.st_size, st.st_mtime

    def partial_bytes(self) -> int:
        """Bytes held by downloads in progress and files being added."""
        total = 0
        with _io("cannot list the partial folder"), os.scandir(self.folder / PARTIAL_FOLDER) as it:
            for item in it:
                with contextlib.suppress(FileNotFoundError):
                    total += item.stat(follow_symlinks=False).st_size
        return total

    def touch(self, blob_id: bytes) -> None:
        """Mark a held blob used now (the garbage collector evicts the least recently
        used first); a blob gone meanwhile is no error."""
        with _io("cannot mark a blob used"), contextlib.suppress(FileNotFoundError):
            os.utime(self.path_of(blob_id))

    def delete(self, blob_id: bytes) -> None:
        """Drop a held blob (the garbage collector; fetched again when needed)."""
        with _io("cannot delete a blob"), contextlib.suppress(FileNotFoundError):
            self.path_of(blob_id).unlink()

    def purge(self, blob_id: bytes) -> bool:
        """Drop a blob and any partial of it (a blocked blob); True if anything was held."""
        found = False
        for path in (self.path_of(blob_id), self.partial_path(blob_id), self.source_path(blob_id)):
            with _io("cannot delete a blob"), contextlib.suppress(FileNotFoundError):
                path.unlink()
                found = True
        return found

    def refuse_if_blocked(self, blob_id: bytes) -> None:
        """RuleViolationError("rule.blob-blocked") for a blob on the blocklist."""
        refused = self.policy.store_refusal(blob_id)
        if refused is not None:
            raise refused

    def size(self, blob_id: bytes) -> int:
        """The size of a held blob; LocalMisuseError("misuse.blob-missing") if not held."""
        path = self.path_of(blob_id)
        try:
            return path.stat().st_size
        except FileNotFoundError as e:
            raise _missing(blob_id) from e
        except OSError as e:
            raise LocalMisuseError("misuse.blob-io", f"cannot stat {path}: {e.strerror}") from e

    def read_chunk(self, blob_id: bytes, offset: int, length: int) -> bytes:
        """Bytes [offset, min(offset + length, size)) of a held blob.

        0 <= offset <= size and 0 <= length <= MAX_CHUNK_BYTES, else misuse.bad-range.
        """
        size = self.size(blob_id)
        if not (0 <= offset <= size and 0 <= length <= MAX_CHUNK_BYTES):
            raise LocalMisuseError(
                "misuse.bad-range", f"[{offset}, +{length}) of a {size}-byte blob"
            )
        if offset == 0:  # a peer or a reader starts on it: used now (the collector's LRU)
            self.touch(blob_id)
        with _io(f"cannot read {id_to_text(blob_id)}"), self.path_of(blob_id).open("rb") as f:
            f.seek(offset)
            return f.read(length)

    def add_bytes(self, data: bytes) -> tuple[bytes, int]:
        """Store `data`; return (blob id, size). Idempotent."""
        check_blob_size(len(data), self.max_blob_bytes)
        views = (data[i : i + READ_BYTES] for i in range(0, len(data), READ_BYTES))
        return self._add_chunks(views)

    def add_file(self, path: Path) -> tuple[bytes, int]:
        """Copy a file into the store, hashing it in READ_BYTES reads; return (id, size)."""
        with _io(f"cannot read {path}"), path.open("rb") as f:
            check_blob_size(os.fstat(f.fileno()).st_size, self.max_blob_bytes)
            return self._add_chunks(iter(lambda: f.read(READ_BYTES), b""))

    def _add_chunks(self, chunks: Iterator[bytes]) -> tuple[bytes, int]:
        with self.new_blob() as blob:
            for chunk in chunks:
                blob.write(chunk)  # refused if the source grew past the limit as we read
            return blob.finish()

    def refuse_if_full(self) -> None:
        if self.write_refusal is not None:
            raise LocalMisuseError(self.write_refusal.code, self.write_refusal.message)

    def new_blob(self) -> NewBlob:
        """A blob to write piece by piece (an upload); see NewBlob."""
        self.refuse_if_full()
        return NewBlob(self)

    def export_to(self, blob_id: bytes, dest: Path) -> int:
        """Copy a held blob to `dest`, checking its hash on the way; return its size.

        `dest` is replaced atomically, and only when the copy hashed to the id;
        otherwise VerificationError("verify.blob-hash-mismatch") (local corruption).
        """
        source = self.path_of(blob_id)
        if not source.is_file():
            raise _missing(blob_id)
        self.touch(blob_id)
        hasher = hashlib.sha256()
        size = 0
        with (
            _io(f"cannot copy to {dest}"),
            source.open("rb") as f,
            _temp_file(dest.parent) as (tmp, out),
        ):
            for chunk in iter(lambda: f.read(READ_BYTES), b""):
                hasher.update(chunk)
                out.write(chunk)
                size += len(chunk)
            _verify_digest(hasher.digest(), blob_id)
            out.flush()
            os.fchmod(out.fileno(), 0o644)  # an exported file is the user's, not the node's
            os.fsync(out.fileno())
            os.replace(tmp, dest)
        return size

    def open_partial(self, blob_id: bytes, *, source: str) -> PartialBlob:
        """The download staging file of `blob_id`, created if new, locked for this caller,
        holding bytes of `source` only (those of another source are dropped).

        LocalMisuseError("misuse.blob-busy") if another download of it is under way.
        """
        self.refuse_if_full()
        self.refuse_if_blocked(blob_id)
        return PartialBlob(self, blob_id, source)


class NewBlob:
    """A blob being added in pieces whose id is known only at the end (an upload).

    Each piece is counted, hashed and written to a temp file in the partial folder as
    it comes; one that takes the total past `max_blob_bytes` is refused
    (rule.blob-too-large) and the file removed. `finish` fsyncs the file and renames it
    to its id; `discard`, or leaving the `with` unfinished, removes it.
    """

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.size = 0
        self._hasher = hashlib.sha256()
        with _io("cannot store a blob"):
            fd, name = tempfile.mkstemp(dir=store.folder / PARTIAL_FOLDER, suffix=".tmp")
        self.path = Path(name)
        self._file: IO[bytes] | None = os.fdopen(fd, "wb")

    def _open_file(self) -> IO[bytes]:
        if self._file is None:
            raise LocalMisuseError("misuse.partial-closed", "this new blob is closed")
        return self._file

    def write(self, data: bytes) -> None:
        """Append `data`; refused, and the blob discarded, past the store's limit."""
        f = self._open_file()
        try:
            check_blob_size(self.size + len(data), self.store.max_blob_bytes)
            with _io("cannot store a blob"):
                f.write(data)
        except CommonsError:
            self.discard()
            raise
        self._hasher.update(data)
        self.size += len(data)

    def finish(self) -> tuple[bytes, int]:
        """Move the bytes written into place under their hash; return (blob id, size)."""
        f = self._open_file()
        blob_id = self._hasher.digest()
        try:
            self.store.refuse_if_blocked(blob_id)
            with _io("cannot store a blob"):
                f.flush()
                os.fsync(f.fileno())
                f.close()
                _install(self.path, self.store.path_of(blob_id))
        except CommonsError:
            self.discard()
            raise
        self._file = None  # renamed away: nothing left to remove
        return blob_id, self.size

    def discard(self) -> None:
        """Remove the temp file (nothing once finished or discarded)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            with contextlib.suppress(OSError):
                self.path.unlink()
            self._file = None

    def __enter__(self) -> NewBlob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


class PartialBlob:
    """A download in progress: `offset` bytes held, appended strictly in order, all
    sent by one `source` (a peer id; 0009 §6).

    After a restart it resumes from the bytes already on disk, if they came from the
    same source. Opened for another source (or one it has no record of), it drops its
    bytes first (`dropped_bytes`), then records the new source: the drop is fsynced
    before the record is written, so a crash never labels one peer's bytes with
    another's name. Appends are not fsynced one by one: a crash may lose or damage the
    tail, which the hash check of `finish` then catches (the download restarts);
    `finish` fsyncs before renaming.
    """

    def __init__(self, store: BlobStore, blob_id: bytes, source: str) -> None:
        if not source or not source.isascii() or len(source) > MAX_SOURCE_BYTES:
            raise LocalMisuseError(
                "misuse.bad-argument", f"a source is 1 to {MAX_SOURCE_BYTES} ASCII characters"
            )
        self.store = store
        self.blob_id = blob_id
        self.source = source
        self.path = store.partial_path(blob_id)
        self.source_path = store.source_path(blob_id)
        self._file: IO[bytes] | None = self._open_locked()
        self.dropped_bytes = 0
        try:
            with _io(f"cannot open {self.path}"):
                self.offset = os.fstat(self._file.fileno()).st_size
                if _read_source(self.source_path) != source:
                    self._restart_for(source)
        except CommonsError:
            self.close()
            raise

    def _restart_for(self, source: str) -> None:
        """Drop the bytes of another source, durably, then record `source` (OSError passes)."""
        f = self._open_file()
        if self.offset:
            os.ftruncate(f.fileno(), 0)
            os.fsync(f.fileno())
            self.dropped_bytes, self.offset = self.offset, 0
        fd = os.open(self.source_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as record:
            record.write(source.encode())
            record.flush()
            os.fsync(record.fileno())

    def _open_locked(self) -> IO[bytes]:
        for _ in range(3):
            with _io(f"cannot open {self.path}"):
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                f = os.fdopen(fd, "ab")
            if _lock_if_current(f, self.path):
                return f
            f.close()
        raise LocalMisuseError(
            "misuse.blob-busy", f"another download of {id_to_text(self.blob_id)} is under way"
        )

    @property
    def is_open(self) -> bool:
        """True until finish, discard or close; only an open partial may be appended to."""
        return self._file is not None

    def _open_file(self) -> IO[bytes]:
        if self._file is None:
            raise LocalMisuseError("misuse.partial-closed", "this partial blob is closed")
        return self._file

    def append(self, offset: int, data: bytes) -> None:
        """Append bytes [offset, offset + len(data)); `offset` must equal `self.offset`."""
        f = self._open_file()
        if offset != self.offset:
            raise LocalMisuseError("misuse.bad-range", f"append at {offset}, want {self.offset}")
        end = offset + len(data)
        if end > self.store.max_blob_bytes:
            raise _too_large(end, self.store.max_blob_bytes)
        try:
            f.write(data)
            f.flush()
        except OSError as e:
            self.close()  # the tail is unknown: reopen to resume from what is on disk
            raise LocalMisuseError("misuse.blob-io", f"cannot append: {e.strerror}") from e
        self.offset = end

    def finish(self) -> int:
        """Verify the whole file hashes to the id, then move it into place; return its size.

        On a mismatch the partial is deleted and VerificationError
        ("verify.blob-hash-mismatch") raised: its bytes came from a bad peer.
        """
        f = self._open_file()
        with _io(f"cannot finish {self.path}"):
            f.flush()
            os.fsync(f.fileno())
            hasher = hashlib.sha256()
            with self.path.open("rb") as source:
                for chunk in iter(lambda: source.read(READ_BYTES), b""):
                    hasher.update(chunk)
        try:
            _verify_digest(hasher.digest(), self.blob_id)
            self.store.refuse_if_blocked(self.blob_id)  # blocked while it was fetched
        except (VerificationError, RuleViolationError):
            self.discard()
            raise
        with _io(f"cannot store {self.path}"):
            _install(self.path, self.store.path_of(self.blob_id))
            self.source_path.unlink(missing_ok=True)
        self.close()
        return self.offset

    def discard(self) -> None:
        """Delete the staging file and its source record, and release it."""
        with _io(f"cannot delete {self.path}"):
            if self._file is not None:
                self.path.unlink(missing_ok=True)  # while still locked
                self.source_path.unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        """Release the lock and keep the bytes for a later resume."""
        if self._file is not None:
            with _io(f"cannot close {self.path}"):
                self._file.close()
            self._file = None

    def __enter__(self) -> PartialBlob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _temp_file(folder: Path) -> Iterator[tuple[Path, IO[bytes]]]:
    """A new temp file in `folder`, removed on exit unless renamed away (OSError passes)."""
    fd, name = tempfile.mkstemp(dir=folder, suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield tmp, out
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _read_source(path: Path) -> str | None:
    """The source a partial's record names, or None (no record, or not one we wrote)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SOURCE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise LocalMisuseError("misuse.blob-io", f"cannot read {path}: {e.strerror}") from e
    if not data or len(data) > MAX_SOURCE_BYTES:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def _install(source: Path, final: Path) -> None:
    """Rename a complete, fsynced, verified file to its final name (OSError passes)."""
    final.parent.mkdir(mode=0o700, exist_ok=True)
    os.replace(source, final)  # the same bytes if `final` exists already: harmless
    _fsync_folder(final.parent)


def _verify_digest(got: bytes, blob_id: bytes) -> None:
    if got != blob_id:
        raise VerificationError(
            "verify.blob-hash-mismatch",
            f"bytes hash to {id_to_text(got)}, want {id_to_text(blob_id)}",
        )


def _missing(blob_id: bytes) -> LocalMisuseError:
    return LocalMisuseError("misuse.blob-missing", f"blob {id_to_text(blob_id)} is not held")
