"""A node's home folder: identity and key files (README "Node home").

Layout:
    identity.json        public facts: identity id, public keys (no secrets)
    network.json         the network this home takes part in (default: development "dev"),
                         and for a federation the bootstrap peers it joined through
    charter.bin          the federation's charter, canonical bytes (specs/0008 §1); its
                         hash is the network id. Absent on a development network
    governance.json      the rules, members and blocklist in force, as the running node last
                         computed them (read by local commands, e.g. the blob size limit)
    ledger.sqlite3       every log this node holds (WAL mode; -wal and -shm beside it)
    ledger.sqlite3.schema-<N>.bak   the ledger as it was before the last upgrade
                         migrated it from schema N (node.store.logs)
    writer.lock          held by the one process that writes the ledger
    reserve.bin          free space kept for a full disk: given back so the node can
                         still open its databases and serve read-only (node.store.diskspace)
    api.token            bearer token of the local HTTP API, 0600
    api.json             where the running node's API listens (only while it runs)
    pins.json            blobs the operator pinned: never garbage-collected
    keys/node.key        the libp2p host key (the peer id), 0600
    blobs/               content-addressed files (design and job files); blobs/partial/
                         holds downloads in progress, resumed after a restart
    slices/              figures of parts sliced for quotes, by (mesh, settings): a cache
                         (node.ops.slicing; safe to delete)
    keys/signing.key     the seed of the signing key in force, 0600
    keys/signing.next    a rotation's next signing key while it is being committed, 0600
                         (see `settle_pending_signing_key`)
    keys/recovery.key    the recovery key seed, 0600 — move it offline after init
The home folder is 0700. Creating an identity never overwrites one: a second
identity in the same home would sign a second, conflicting log.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.takedown import BlobPolicy
from node.store.blobs import BlobStore
from protocol.blob import DEFAULT_MAX_BLOB_BYTES
from protocol.errors import CommonsError, LocalMisuseError
from protocol.identity import development_network, identity_id
from protocol.ids import id_from_text, id_to_text
from protocol.keys import SEED_BYTES, SigningKey

if TYPE_CHECKING:  # read only on a chartered home: `fabnode id` need not load the models
    from protocol.governance import Charter

_KEY_HEADER = "fabcommons ed25519 seed v1"
IDENTITY_FILE = "identity.json"
NETWORK_FILE = "network.json"
CHARTER_FILE = "charter.bin"
GOVERNANCE_FILE = "governance.json"
LOCK_FILE = "writer.lock"
API_TOKEN_FILE = "api.token"
API_INFO_FILE = "api.json"
DEFAULT_NETWORK = "dev"
SIGNING_KEY_FILE = "signing.key"
PENDING_KEY_FILE = "signing.next"
RECOVERY_KEY_FILE = "recovery.key"
#: A key file is two short lines; anything longer is not one.
MAX_KEY_FILE_BYTES = 4096


@dataclass(frozen=True)
class Identity:
    """The identity a home holds: its id and its public keys."""

    id: bytes
    signing_public: bytes
    recovery_public: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "identity": id_to_text(self.id),
            "signing_key": self.signing_public.hex(),
            "recovery_key": self.recovery_public.hex(),
        }


PINS_FILE = "pins.json"


class NodeHome:
    """Files of one node home. Only this module reads or writes key files."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def keys_dir(self) -> Path:
        return self.path / "keys"

    def exists(self) -> bool:
        return (self.path / IDENTITY_FILE).exists() or self.keys_dir.exists()

    def create_identity(self) -> Identity:
        """Create the keys and identity.json; refuse if any already exist."""
        if self.exists():
            raise LocalMisuseError(
                "misuse.identity-exists",
                f"{self.path} already holds an identity; refusing to overwrite it",
            )
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.keys_dir.mkdir(mode=0o700)
        signing = SigningKey(secrets.token_bytes(SEED_BYTES))
        recovery = SigningKey(secrets.token_bytes(SEED_BYTES))
        _write_secret(self.keys_dir / SIGNING_KEY_FILE, signing.seed)
        _write_secret(self.keys_dir / RECOVERY_KEY_FILE, recovery.seed)
        ident = Identity(
            identity_id(signing.public, recovery.public), signing.public, recovery.public
        )
        _write_new(self.path / IDENTITY_FILE, json.dumps(ident.to_json(), indent=2) + "\n", 0o644)
        return ident

    def identity(self) -> Identity:
        """Read identity.json; LocalMisuseError when there is none."""
        try:
            data = json.loads((self.path / IDENTITY_FILE).read_text())
            signing = bytes.fromhex(data["signing_key"])
            recovery = bytes.fromhex(data["recovery_key"])
        except FileNotFoundError as e:
            raise LocalMisuseError(
                "misuse.no-identity", f"no identity in {self.path}; run `fabnode init` first"
            ) from e
        except (ValueError, KeyError, TypeError) as e:
            raise LocalMisuseError("misuse.bad-home", f"{IDENTITY_FILE} is damaged: {e}") from e
        return Identity(identity_id(signing, recovery), signing, recovery)

    def signing_key(self) -> SigningKey:
        """The home's signing key, as `keys/signing.key` holds it. Whether the log has
        it in force is the ledger's to say (node.ops.context.signing_key_in_force)."""
        return SigningKey(_read_secret(self.keys_dir / SIGNING_KEY_FILE))

    def has_recovery_key(self) -> bool:
        """Is the recovery key still in the home? It should be offline (README "Keys")."""
        return (self.keys_dir / RECOVERY_KEY_FILE).exists()

    def pending_signing_key(self) -> SigningKey | None:
        """The next signing key of a rotation or revocation not settled yet, if any."""
        path = self.keys_dir / PENDING_KEY_FILE
        return SigningKey(_read_secret(path)) if path.exists() else None

    def new_pending_signing_key(self) -> SigningKey:
        """A fresh signing key, written durably (0600, fsynced, the folder too) as
        `keys/signing.next` *before* anything names its public key: a key event
        committed without its seed on disk would lock the home out of its own log."""
        key = SigningKey(secrets.token_bytes(SEED_BYTES))
        try:
            _write_secret(self.keys_dir / PENDING_KEY_FILE, key.seed)
        except FileExistsError as e:
            raise LocalMisuseError(
                "misuse.bad-home", f"{PENDING_KEY_FILE} exists: settle it first"
            ) from e
        _fsync_folder(self.keys_dir)
        return key

    def settle_pending_signing_key(self, in_force: bytes) -> bool:
        """Finish or undo a key switch a crash may have cut short; True if one was found.

        `in_force` is the public signing key the log puts in force (the ledger says,
        not this module). A pending key in force was committed by its key event: it
        replaces `signing.key` (atomic rename, folder fsynced). Otherwise its key event
        never committed: the pending key is discarded. Run by the home's one writer."""
        pending = self.pending_signing_key()
        if pending is None:
            return False
        path = self.keys_dir / PENDING_KEY_FILE
        if pending.public == in_force:
            path.replace(self.keys_dir / SIGNING_KEY_FILE)
        else:
            path.unlink()
        _fsync_folder(self.keys_dir)
        return True

    @property
    def blobs(self) -> Path:
        return self.path / "blobs"

    @property
    def database(self) -> Path:
        return self.path / "ledger.sqlite3"

    def network(self) -> tuple[str, bytes]:
        """The network this home takes part in: (name, id). Development network until
        the home joins a chartered federation."""
        try:
            data = json.loads((self.path / NETWORK_FILE).read_text())
            return str(data["name"]), id_from_text(data["network"])
        except FileNotFoundError:
            return DEFAULT_NETWORK, development_network(DEFAULT_NETWORK)
        except (ValueError, KeyError, TypeError) as e:
            raise LocalMisuseError("misuse.bad-home", f"{NETWORK_FILE} is damaged: {e}") from e

    def set_development_network(self, name: str) -> bytes:
        if self.charter() is not None:
            raise LocalMisuseError(
                "misuse.chartered-home", f"{self.path} belongs to a federation; use another home"
            )
        network = development_network(name)
        self._write_network({"name": name, "network": id_to_text(network)})
        return network

    def _write_network(self, data: dict[str, Any]) -> None:
        tmp = self.path / (NETWORK_FILE + ".tmp")
        tmp.write_text(json.dumps(data) + "\n")
        tmp.replace(self.path / NETWORK_FILE)

    def charter(self) -> Charter | None:
        """The federation charter this home holds, or None on a development network."""
        from protocol.governance import charter_network_id, decode_charter  # noqa: PLC0415 (only here: its models cost ~90 ms)

        try:
            data = (self.path / CHARTER_FILE).read_bytes()
        except FileNotFoundError:
            return None
        try:
            charter = decode_charter(data)
        except CommonsError as e:
            raise LocalMisuseError("misuse.bad-home", f"{CHARTER_FILE} is damaged: {e}") from e
        if charter_network_id(charter) != self.network()[1]:
            raise LocalMisuseError("misuse.bad-home", f"{CHARTER_FILE} is not this network's")
        return charter

    def adopt_charter(self, charter: Charter, bootstrap: list[str]) -> bytes:
        """Make this home a node of the charter's federation; return the network id.

        Idempotent for the same charter; refuses another one (a home signs in one
        network: its log and checkpoints are scoped by the network id)."""
        from protocol.governance import charter_bytes, charter_network_id  # noqa: PLC0415

        network = charter_network_id(charter)
        held = self.charter()
        if held is not None and charter_network_id(held) != network:
            raise LocalMisuseError(
                "misuse.chartered-home", f"{self.path} already belongs to another federation"
            )
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path / (CHARTER_FILE + ".tmp")
        tmp.write_bytes(charter_bytes(charter))
        tmp.replace(self.path / CHARTER_FILE)
        known = self.bootstrap() if held is not None else []
        peers = known + [b for b in bootstrap if b not in known]
        self._write_network(
            {"name": charter.name, "network": id_to_text(network), "bootstrap": peers}
        )
        return network

    def max_blob_bytes(self) -> int:
        """The blob size limit in force: the federation's rule (as the node last wrote
        it in governance.json), else the default of specs/0009."""
        try:
            data = json.loads((self.path / GOVERNANCE_FILE).read_text())
            return int(data["rules"]["max_blob_bytes"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return DEFAULT_MAX_BLOB_BYTES

    def blocked_blobs(self) -> frozenset[bytes]:
        """The federation's blocklist (specs/0008 §6), as the running node last wrote it
        in governance.json; empty without one."""
        try:
            data = json.loads((self.path / GOVERNANCE_FILE).read_text())
            return frozenset(id_from_text(b) for b in data.get("blocked", []))
        except (FileNotFoundError, ValueError, TypeError, AttributeError, CommonsError):
            return frozenset()

    def blob_store(self) -> BlobStore:
        """The home's blob store under the rules in force for local commands: the
        federation's blob size rule and its blocklist (governance.json)."""
        policy = BlobPolicy(blocked=self.blocked_blobs())
        return BlobStore(self.blobs, max_blob_bytes=self.max_blob_bytes(), policy=policy)

    def bootstrap(self) -> list[str]:
        """Peers recorded when the home joined its federation (dialled by `run`)."""
        try:
            data = json.loads((self.path / NETWORK_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return []
        peers = data.get("bootstrap", []) if isinstance(data, dict) else []
        return [str(p) for p in peers] if isinstance(peers, list) else []

    def api_token(self) -> str:
        """The bearer token of the local API; created (0600) on first use."""
        path = self.path / API_TOKEN_FILE
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            _write_new(path, secrets.token_urlsafe(32) + "\n", 0o600)
            return path.read_text().strip()

    def write_api_info(self, url: str, pid: int) -> None:
        """Tell local commands where the running node listens (removed at shutdown)."""
        tmp = self.path / (API_INFO_FILE + ".tmp")
        tmp.write_text(json.dumps({"url": url, "pid": pid}) + "\n")
        tmp.replace(self.path / API_INFO_FILE)

    def read_api_info(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path / API_INFO_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def running_node_info(self) -> dict[str, Any] | None:
        """`api.json` if the process it names is alive: a node runs on this home."""
        info = self.read_api_info()
        if info is None or not _alive(info.get("pid")):
            return None
        return info

    def pinned_blobs(self) -> set[bytes]:
        """Blobs the operator pinned (`fabnode blob pin`): never garbage-collected."""
        try:
            data = json.loads((self.path / PINS_FILE).read_text())
        except FileNotFoundError:
            return set()
        except (OSError, ValueError) as e:
            raise LocalMisuseError("misuse.bad-home", f"{PINS_FILE} is unreadable: {e}") from e
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise LocalMisuseError("misuse.bad-home", f"{PINS_FILE} is not a list of blob ids")
        return {id_from_text(x) for x in data}

    def set_pinned_blobs(self, blobs: set[bytes]) -> None:
        tmp = self.path / (PINS_FILE + ".tmp")
        tmp.write_text(json.dumps(sorted(id_to_text(b) for b in blobs), indent=1) + "\n")
        tmp.replace(self.path / PINS_FILE)

    def clear_api_info(self) -> None:
        (self.path / API_INFO_FILE).unlink(missing_ok=True)

    def node_key_seed(self) -> bytes:
        """The libp2p host key (peer id), separate from the identity keys: the identity
        may rotate its keys, the peer id of a node stays. Created on first use."""
        path = self.keys_dir / "node.key"
        if not path.exists():
            _write_secret(path, secrets.token_bytes(SEED_BYTES))
        return _read_secret(path)

    @contextlib.contextmanager
    def writer_lock(self, wait_s: float = 0.0) -> Iterator[None]:
        """Hold the home's single-writer lock, or raise misuse.home-busy: at once, or
        after `wait_s` if it is still held then (a starting node waits for a short-lived
        command to finish rather than die of it). While it is held, files are created
        private (umask 077), and the home and its databases are made private if they
        were not (specs/0012 §5, finding 12: a home made by hand kept 0755, databases
        0644)."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        old_umask = os.umask(0o077)
        try:
            try:
                _lock_within(fd, wait_s)
            except BlockingIOError as e:
                raise LocalMisuseError(
                    "misuse.home-busy",
                    f"another fabnode process is writing to {self.path}; "
                    "run this command through the running node, or stop it first",
                ) from e
            self._make_private()
            yield
        finally:
            os.umask(old_umask)
            os.close(fd)

    def _make_private(self) -> None:
        """The home 0700 and its databases 0600, when this user owns them."""
        for path, mode in [(self.path, 0o700), *((p, 0o600) for p in self.path.glob("*.sqlite3*"))]:
            with contextlib.suppress(OSError):  # not ours, or gone: leave it
                if path.stat().st_mode & 0o077:
                    os.chmod(path, mode)


def _write_secret(path: Path, seed: bytes) -> None:
    _write_new(path, f"{_KEY_HEADER}\n{seed.hex()}\n", 0o600)


def _read_secret(path: Path) -> bytes:
    try:
        text = path.read_text()
    except FileNotFoundError as e:
        raise LocalMisuseError("misuse.no-identity", f"missing key file {path.name}") from e
    seed = parse_key_text(text, length=None)  # seal keys are longer than signing seeds
    if seed is None:
        raise LocalMisuseError("misuse.bad-home", f"{path.name} is not a key file")
    return seed


def parse_key_text(text: str, length: int | None = SEED_BYTES) -> bytes | None:
    """The seed a key file's text holds (header line, hex seed line), or None; of
    `length` bytes unless None."""
    lines = text.splitlines()
    if len(text) > MAX_KEY_FILE_BYTES or len(lines) != 2 or lines[0] != _KEY_HEADER:
        return None
    try:
        seed = bytes.fromhex(lines[1])
    except ValueError:
        return None
    return seed if length is None or len(seed) == length else None


def _fsync_folder(path: Path) -> None:
    """Make a rename or a new file in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(path: Path, text: str, mode: int) -> None:
    """Write a file that must not exist yet, durably, with `mode` from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)


def _lock_within(fd: int, wait_s: float) -> None:
    """flock(LOCK_EX) on `fd`, trying every 50 ms for `wait_s`; BlockingIOError after."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
