"""A node home in one file, and back (README "Backing up a node home").

`write_backup(home, dest, with_keys)` may run while the node runs: the ledger is
copied with SQLite's online backup API, which reads a consistent snapshot beside the
writer (WAL mode); final blobs never change once renamed into place. The archive is
a POSIX tar (stdlib `tarfile`: no format of our own) holding

    MANIFEST.json      format, identity, network, the size of our own log, and the
                       SHA-256 and size of every other member
    identity.json, network.json, charter.bin (a federation's)
    ledger.sqlite3     the snapshot (absent if the home has no ledger yet)
    blobs/<aa>/<id>    every final blob (partial downloads are left out)
    keys/...           only with `with_keys`: whoever holds the file can sign as us

The catalogue and governance.json are views, rebuilt from the ledger on first open;
api.token is made anew.

`restore_backup(src, home)` unpacks into a new or empty home, checking every
member's hash against the manifest before anything is kept, and marks the home
restored (`restored.json`): it will not sign until a sync session has shown that it
holds at least what a peer holds of its own log (node.ops.context.append_own,
node.net.network). Signing on a restored home is how a lab forks its own log
(specs/0003 §7, 0004): entries signed after the backup was made exist elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from node.store.home import NodeHome
from node.store.logs import SqliteLogStore, wrapped_errors
from protocol.errors import LocalMisuseError
from protocol.ids import id_to_text

FORMAT = "fabcommons-backup/1"
MANIFEST = "MANIFEST.json"
RESTORED_FILE = "restored.json"
#: Home files copied as they are (when present); the rest are views or per machine.
PLAIN_FILES = ("identity.json", "network.json", "charter.bin")
KEY_FILES = ("keys/signing.key", "keys/recovery.key", "keys/node.key")
LEDGER = "ledger.sqlite3"
READ_BYTES = 1024 * 1024
#: The manifest is read whole: a bound before parsing (a million blobs fit).
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


def write_backup(home: NodeHome, dest: Path, *, with_keys: bool) -> dict[str, Any]:
    """Write the backup of `home` to `dest` (atomically: a temp file renamed at the end);
    return its manifest."""
    identity = home.identity()
    _, network = home.network()
    members: dict[str, dict[str, Any]] = {}
    dest_tmp = dest.with_name(dest.name + ".tmp")
    with _io(f"cannot write {dest}"), tempfile.TemporaryDirectory() as scratch:
        snapshot = Path(scratch) / LEDGER
        own_size = 0  # a home that never signed nor synced has no ledger yet
        with tarfile.open(dest_tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            if home.database.exists():
                own_size = _snapshot_ledger(home.database, snapshot, identity.id, network)
                _add(tar, snapshot, LEDGER, members)
            for name in PLAIN_FILES:
                if (home.path / name).exists():
                    _add(tar, home.path / name, name, members)
            for path in sorted(home.blobs.glob("??/b*")):
                if path.is_file():
                    _add(tar, path, f"blobs/{path.parent.name}/{path.name}", members)
            if with_keys:
                for name in KEY_FILES:
                    if (home.path / name).exists():
                        _add(tar, home.path / name, name, members)
            manifest = {
                "format": FORMAT,
                "identity": id_to_text(identity.id),
                "network": network.hex(),
                "own_log_size": own_size,
                "created_ms": time.time_ns() // 1_000_000,
                "with_keys": with_keys,
                "members": members,
            }
            data = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        os.chmod(dest_tmp, 0o600)
        with open(dest_tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(dest_tmp, dest)
    return manifest


def restore_backup(src: Path, home: NodeHome) -> dict[str, Any]:
    """Unpack the backup `src` into `home` (new, or an empty folder); return its manifest.
    Every member is checked against the manifest; nothing else is written."""
    if home.path.exists() and any(home.path.iterdir()):
        raise LocalMisuseError(
            "misuse.home-exists", f"{home.path} is not empty: restore into a new folder"
        )
    with _io(f"cannot read {src}"), tarfile.open(src, "r") as tar:
        manifest = _read_manifest(tar)
        members: dict[str, dict[str, Any]] = manifest["members"]
        home.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _undo_on_error(home.path):
            seen: set[str] = set()
            for info in tar:
                if info.name == MANIFEST:
                    continue
                expected = members.get(info.name)
                if expected is None or not info.isfile() or not _safe_name(info.name):
                    raise _bad(f"unexpected member {info.name!r}")
                source = tar.extractfile(info)
                assert source is not None
                _extract(source, home.path / info.name, expected)
                seen.add(info.name)
            if seen != set(members):
                raise _bad(f"members missing: {sorted(set(members) - seen)[:5]}")
            marker = {
                "backup_own_log_size": manifest["own_log_size"],
                "backup_created_ms": manifest["created_ms"],
                "restored_ms": time.time_ns() // 1_000_000,
            }
            (home.path / RESTORED_FILE).write_text(json.dumps(marker) + "\n")
    return manifest


def restore_pending(home: NodeHome) -> dict[str, Any] | None:
    """The restore marker of a home restored from a backup and not yet synced back."""
    try:
        data = json.loads((home.path / RESTORED_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise LocalMisuseError("misuse.bad-home", f"{RESTORED_FILE} is unreadable: {e}") from e
    return data if isinstance(data, dict) else {}


def clear_restore(home: NodeHome) -> None:
    """The home holds its own log as far as a peer does: it may sign again."""
    (home.path / RESTORED_FILE).unlink(missing_ok=True)


def _snapshot_ledger(database: Path, dest: Path, author: bytes, network: bytes) -> int:
    """Copy the ledger with SQLite's online backup (a reader beside the node's writer);
    return the size of our own log in the copy."""
    with wrapped_errors():
        source = sqlite3.connect(database.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            target = sqlite3.connect(dest)
            try:
                source.backup(target, pages=1024)
            finally:
                target.close()
        finally:
            source.close()
    with SqliteLogStore.open_reader(dest) as store:
        for head in store.heads():
            if head.network == network and head.author == author:
                return head.size
    return 0


def _add(tar: tarfile.TarFile, path: Path, name: str, members: dict[str, Any]) -> None:
    digest, size = _digest(path)
    members[name] = {"sha256": digest, "size": size}
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    with path.open("rb") as f:
        tar.addfile(info, f)


def _digest(path: Path) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(READ_BYTES), b""):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        info = tar.getmember(MANIFEST)
    except KeyError as e:
        raise _bad("no MANIFEST.json: not a Fab Commons backup") from e
    if not info.isfile() or info.size > MAX_MANIFEST_BYTES:
        raise _bad("the manifest is not a file of a sane size")
    f = tar.extractfile(info)
    assert f is not None
    try:
        manifest = json.loads(f.read())
    except ValueError as e:
        raise _bad(f"the manifest is not JSON: {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _bad(f"not a {FORMAT} manifest")
    members = manifest.get("members")
    if not isinstance(members, dict) or "identity.json" not in members:
        raise _bad("the manifest lists no identity")
    for name, member in members.items():
        if not (
            isinstance(name, str)
            and _safe_name(name)
            and isinstance(member, dict)
            and isinstance(member.get("sha256"), str)
            and isinstance(member.get("size"), int)
        ):
            raise _bad(f"bad manifest entry {name!r}")
    if not isinstance(manifest.get("own_log_size"), int):
        raise _bad("the manifest has no own_log_size")
    return manifest


def _safe_name(name: str) -> bool:
    """A member name we wrote: relative, no `..`, under the names a home holds."""
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts) or name.startswith("/"):
        return False
    return name in (LEDGER, *PLAIN_FILES, *KEY_FILES) or (
        len(parts) == 3 and parts[0] == "blobs" and len(parts[1]) == 2
    )


def _extract(source: IO[bytes], dest: Path, expected: dict[str, Any]) -> None:
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    hasher, size = hashlib.sha256(), 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in iter(lambda: source.read(READ_BYTES), b""):
            size += len(chunk)
            if size > expected["size"]:
                raise _bad(f"{dest.name} is longer than its manifest says")
            hasher.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if (hasher.hexdigest(), size) != (expected["sha256"], expected["size"]):
        raise _bad(f"{dest.name} does not match its manifest (damaged backup)")


@contextlib.contextmanager
def _undo_on_error(folder: Path) -> Iterator[None]:
    """A restore that fails leaves the folder empty again (nothing half-restored)."""
    try:
        yield
    except BaseException:
        for path in sorted(folder.rglob("*"), reverse=True):
            with contextlib.suppress(OSError):
                path.rmdir() if path.is_dir() else path.unlink()
        raise


@contextlib.contextmanager
def _io(what: str) -> Iterator[None]:
    try:
        yield
    except tarfile.TarError as e:
        raise _bad(f"{what}: {e}") from e
    except OSError as e:
        raise LocalMisuseError("misuse.bad-file", f"{what}: {e.strerror or e}") from e


def _bad(why: str) -> LocalMisuseError:
    return LocalMisuseError("misuse.bad-backup", why)
