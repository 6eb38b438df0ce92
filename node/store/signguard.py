"""Never sign twice at one seq: the signing high-water mark (specs/0003 §7).

A node that signs a second, different entry at a seq it already used has forked
its own log, and the network freezes it. Crashes cannot cause that (an entry is
published only after its commit), but restoring an old backup of the node home
can: the database goes back to seq k while peers may hold entries up to n > k.

So after every commit the node records the highest seq it has committed for each
of its logs in a small file *outside* the home — in the state folder
($FABNODE_STATE_DIR, else $XDG_STATE_HOME/fabcommons, else
~/.local/state/fabcommons) — which a restored home does not roll back. Before
signing, the node compares: a mark above the database's size means the home was
restored, and it refuses to sign, saying how to recover. A home moved to a new
machine has no mark; there the node asks its peers for its own log first (the
network sync does this before the first append).
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from protocol.errors import LocalMisuseError
from protocol.ids import id_to_text


def state_dir() -> Path:
    explicit = os.environ.get("FABNODE_STATE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "fabcommons"


class SignGuard:
    """The high-water marks of one identity's logs."""

    def __init__(self, author: bytes, folder: Path | None = None) -> None:
        self.folder = folder or state_dir()
        self.path = self.folder / f"{id_to_text(author)}.signed.json"

    def marks(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (ValueError, OSError) as e:
            raise LocalMisuseError(
                "misuse.bad-guard", f"signing mark {self.path} is unreadable: {e}"
            ) from e
        if not isinstance(data, dict) or not all(isinstance(v, int) for v in data.values()):
            raise LocalMisuseError("misuse.bad-guard", f"signing mark {self.path} is damaged")
        return data

    def check(self, network: bytes, stored_size: int) -> None:
        """Raise misuse.restored-backup if we once committed beyond `stored_size`."""
        mark = self.marks().get(id_to_text(network), 0)
        if mark > stored_size:
            raise LocalMisuseError(
                "misuse.restored-backup",
                f"this identity has signed up to seq {mark} in this network, but this node "
                f"home holds only {stored_size} entries: it looks restored from a backup, and "
                "signing now would fork the log. Recover the missing entries by syncing from a "
                "peer first (`fabnode run --bootstrap ADDR`). If they were never published "
                f"anywhere, delete {self.path} to accept their loss.",
                mark=mark,
                stored=stored_size,
            )

    def record(self, network: bytes, size: int) -> None:
        """Raise the mark for `network` to `size`, durably (write, fsync, rename)."""
        marks = self.marks()
        key = id_to_text(network)
        if marks.get(key, 0) >= size:
            return
        marks[key] = size
        tmp = self.path.with_suffix(".tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            with tmp.open("w") as f:
                json.dump(marks, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(self.path)
            dir_fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as e:  # a full disk: the entries are stored, the mark lags (safe)
            tmp.unlink(missing_ok=True)
            code = "misuse.disk-full" if e.errno == errno.ENOSPC else "misuse.storage-failed"
            raise LocalMisuseError(code, f"cannot write {self.path}: {e.strerror}") from e
