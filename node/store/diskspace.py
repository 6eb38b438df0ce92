"""Free space on the home's disk, and the reserve that lets a node start on a full one.

(specs/0012 §5 finding 6; README "When the disk fills up".)

SQLite needs room to open a database in WAL mode (its `-shm` index of 32 KiB and the
`-wal` file): on a disk with no free block a node cannot even read its own ledger, and
stopped there, it could not start again. So the home keeps a **reserve**, a file of
`reserve_bytes` written while there is room (CockroachDB's emergency ballast; ours is
given back by the node itself, not by the operator):

    free < min_free_bytes                        -> full: the node is read-only (it signs
                                                    nothing, stores nothing from peers,
                                                    serves what it holds, and says so)
    full and free >= min_free_bytes + 2*reserve  -> writable again
    writable, no reserve, and that much free     -> the reserve is made (which leaves
                                                    free >= min_free + reserve: no flapping)

The reserve is given back only by `start()`, when the node starts on a full disk, just
before it opens its databases: given back while running, whatever fills the disk would
take it too, and the next start would find nothing. `check()` runs periodically in the
node (node.daemon). Only the reserve file is written here; the decision is made from
`os.statvfs`, whatever filled the disk (our blobs, logs, or anything else).
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.errors import LocalMisuseError

MIB = 1024 * 1024
#: Below this much free space the node stops writing (a Raspberry Pi's SD card has
#: gigabytes; a node that keeps 64 MiB free can still open, read and serve).
DEFAULT_MIN_FREE_BYTES = 64 * MIB
RESERVE_NAME = "reserve.bin"
_WRITE_BYTES = MIB


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system of `folder`."""
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


@dataclass
class DiskSpace:
    """The home's free space and its reserve; `full` is the node's read-only mode."""

    folder: Path
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES
    full: bool = False
    last_free_bytes: int = 0

    def __post_init__(self) -> None:
        if self.min_free_bytes < 4 * MIB:
            raise LocalMisuseError("misuse.bad-argument", "keep at least 4 MiB free")

    @property
    def reserve_bytes(self) -> int:
        return self.min_free_bytes // 16  # 4 MiB by default: room to open and serve

    @property
    def reserve_path(self) -> Path:
        return self.folder / RESERVE_NAME

    def has_reserve(self) -> bool:
        try:
            return self.reserve_path.stat().st_size >= self.reserve_bytes
        except OSError:
            return False

    def start(self) -> None:
        """Measure before the databases are opened; on a full disk give the reserve back,
        so SQLite has room to open them."""
        self.check()
        if self.full:
            with contextlib.suppress(FileNotFoundError):
                self.reserve_path.unlink()
            self.last_free_bytes = free_bytes(self.folder)

    def check(self) -> bool:
        """Measure, and move between writable and full; True when the mode changed."""
        was = self.full
        free = free_bytes(self.folder)
        if free < self.min_free_bytes:
            self.full = True
        elif free >= self.min_free_bytes + 2 * self.reserve_bytes:
            self.full = False
        if not self.has_reserve() and free >= self.min_free_bytes + 2 * self.reserve_bytes:
            self._make_reserve()
        self.last_free_bytes = free_bytes(self.folder)
        return self.full != was

    def refusal(self) -> LocalMisuseError | None:
        """The error a write gets while the disk is full, else None."""
        if not self.full:
            return None
        return LocalMisuseError(
            "misuse.disk-full",
            f"the disk is full ({self.last_free_bytes // MIB} MiB free, the node keeps "
            f"{self.min_free_bytes // MIB} MiB): read-only until space is freed",
        )

    def status(self) -> dict[str, Any]:
        return {
            "read_only": self.full,
            "free_bytes": self.last_free_bytes,
            "min_free_bytes": self.min_free_bytes,
            "reserve_bytes": self.reserve_bytes if self.has_reserve() else 0,
        }

    def _make_reserve(self) -> None:
        """Write the reserve in full (allocated blocks, not a sparse file), or nothing."""
        tmp = self.reserve_path.with_suffix(".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                try:
                    os.posix_fallocate(fd, 0, self.reserve_bytes)
                except OSError as e:  # a file system without fallocate: write zeros
                    if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                        raise
                    zeros = bytes(_WRITE_BYTES)
                    for _ in range(0, self.reserve_bytes, _WRITE_BYTES):
                        os.write(fd, zeros)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.reserve_path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
