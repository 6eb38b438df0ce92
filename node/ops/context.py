"""What the node does with its ledger, shared by the CLI and the daemon.

Each operation is a plain function over a `LedgerContext`: the CLI calls it
directly when no node is running (holding the home's writer lock), the daemon
calls the same function on its storage thread (node.runtime.service). So there is one
implementation of each command, and never a second writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.audit import audit
from ledger.catalogue import DesignRow, Skipped
from ledger.log import AdmissionPolicy, Ledger
from ledger.quota import DEFAULT_MAX_LOG_ENTRIES, DEFAULT_MAX_OTHER_ENTRIES, LogQuota
from ledger.store import LogStore
from licenses.design_licence import check_design_licence
from node.i18n import N_
from node.ops.governance_view import GovernanceView, allow_list_of
from node.ops.verifier import attested_ranges, shared_check
from node.store import memory
from node.store.backup import RESTORED_FILE, restore_pending
from node.store.catalogue import CatalogueStore
from node.store.home import Identity, NodeHome
from node.store.logs import SqliteLogStore, wrapped_errors
from node.store.signguard import SignGuard
from protocol import kinds
from protocol.design import DESIGN, DesignBody
from protocol.entry import Entry, read_stored_entry
from protocol.errors import CommonsError, LocalMisuseError
from protocol.ids import id_to_text
from protocol.jsonform import to_json
from protocol.keys import SigningKey


@dataclass
class LedgerContext:
    home: NodeHome
    identity: Identity
    network_name: str
    network: bytes
    store: LogStore
    ledger: Ledger
    guard: SignGuard
    catalogue: LicensedCatalogue
    governance: GovernanceView | None = None  # a chartered federation's (specs/0008 §7)


CATALOGUE_FILE = "catalogue.sqlite3"


class LicensedCatalogue(CatalogueStore):
    """The catalogue, applying the licence rule on receipt (specs/0010 §4).

    A design whose licence fails the rule (checked against the licences of the
    parents the catalogue holds; a parent not held yet counts as `review`, i.e.
    passes) is recorded as skipped with the rule's code: its entry stays in the log,
    the view ignores it. Rebuilds go through the same `add_design`, so they agree.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        super().__init__(path, read_only=read_only)
        self._refused: set[bytes] = set()
        #: A federation's licence allow-list (specs/0008 §2); None: the default list.
        self.allow_list: frozenset[str] | None = None

    def parent_licence(self, design_id: bytes) -> str | None:
        with wrapped_errors():
            found = self._conn.execute(
                "SELECT licence FROM designs WHERE id = ?", (design_id,)
            ).fetchone()
        return None if found is None else str(found[0])

    def add_designs(self, rows: Sequence[DesignRow]) -> None:
        kept = []
        for row in rows:
            known = [(p, self.parent_licence(p)) for p in row.derived_from]
            held = [(p, lic) for p, lic in known if lic is not None]
            fields: dict[str, Any] = {"licence": row.licence, "derived_from": [p for p, _ in held]}
            body = DesignBody.model_construct(**fields)  # the rule reads these two only
            try:
                check_design_licence(body, [lic for _, lic in held], allow_list=self.allow_list)
            except CommonsError as e:
                self._refused.add(row.id)
                self.record_skip(Skipped(row.id, DESIGN, e.code, e.message))
                continue
            kept.append(row)
        if kept:
            super().add_designs(kept)

    def add_edges(self, child: bytes, parents: Sequence[bytes]) -> None:
        if child in self._refused:
            return
        super().add_edges(child, parents)


def open_catalogue(
    home: NodeHome, store: LogStore, *, read_only: bool = False
) -> LicensedCatalogue:
    """`<home>/catalogue.sqlite3`, rebuilt from the ledger when new or stale (a reader:
    misuse.stale-database instead)."""
    catalogue = LicensedCatalogue(home.path / CATALOGUE_FILE, read_only=read_only)
    try:
        if catalogue.needs_rebuild:
            catalogue.rebuild_from(store)
    except BaseException:
        catalogue.close()
        raise
    return catalogue


def make_context(
    home: NodeHome,
    store: LogStore,
    on_committed: Callable[[Sequence[Entry]], None] | None = None,
    quota: Quota | None = None,
    *,
    read_only: bool = False,
) -> LedgerContext:
    """The ledger context of `home` over `store`; `on_committed` is told of every batch
    the views index (the running node's live event stream; must not block); `quota`
    bounds what it keeps of logs it has no reason to keep (ledger.quota); `read_only`:
    over a reader store, for a command that only reads (`open_local(write=False)`)."""
    identity = home.identity()
    name, network = home.network()
    ledger = Ledger(store)
    ledger.check_signatures = shared_check()
    ledger.attested_ranges = attested_ranges()
    charter = home.charter()
    governance = None
    if charter is not None:  # a federation: its governance decides who may publish
        governance = GovernanceView(charter, network)
        governance.load(store)
        governance.refresh(ledger, governance.now_s())
    ledger.admission = _admission(ledger, identity.id, governance, quota)
    catalogue = open_catalogue(home, store, read_only=read_only)
    catalogue.on_committed = on_committed
    if governance is not None and governance.state is not None:
        catalogue.allow_list = allow_list_of(governance.state.rules)
    return LedgerContext(
        home, identity, name, network, store, ledger, SignGuard(identity.id), catalogue, governance
    )


@dataclass(frozen=True)
class Quota:
    """The local setting of ledger.quota (`fabnode run --quota-…`)."""

    max_log_entries: int = DEFAULT_MAX_LOG_ENTRIES
    max_other_entries: int = DEFAULT_MAX_OTHER_ENTRIES


def _admission(
    ledger: Ledger, me: bytes, governance: GovernanceView | None, quota: Quota | None
) -> AdmissionPolicy | None:
    """The federation's admission rule (0008 §7.1), then the node's quota."""
    policies: list[AdmissionPolicy] = []
    if governance is not None:
        policies.append(governance.admits)
    if quota is not None:

        def keeps(author: bytes) -> bool:
            return author == me or (governance is not None and author in governance.admitted)

        def sizes() -> dict[tuple[bytes, bytes], int]:
            return {(h.network, h.author): h.size for h in ledger.heads()}

        policies.append(LogQuota(sizes, keeps, quota.max_log_entries, quota.max_other_entries))
    if not policies:
        return None

    def admit(entry: Entry) -> CommonsError | None:
        for policy in policies:
            refused = policy(entry)
            if refused is not None:
                return refused
        return None

    return admit


def forget(ctx: LedgerContext, author: bytes, *, undo: bool = False) -> dict[str, Any]:
    """`fabnode ledger forget AUTHOR` (specs/0003 §5.1): drop a log this node has no
    reason to keep and refuse it from now on; `undo` lets it be fetched again. Our own
    log cannot be forgotten. The catalogue is rebuilt without the log's entries."""
    if author == ctx.identity.id:
        raise LocalMisuseError("misuse.own-log", N_("a node cannot forget its own log"))
    head = ctx.ledger.head(ctx.network, author)
    if undo:
        ctx.ledger.unforget(ctx.network, author)
    else:
        ctx.ledger.forget(ctx.network, author)
        ctx.catalogue.rebuild_from(ctx.store)
        if ctx.governance is not None:
            ctx.governance.refresh(ctx.ledger, ctx.governance.now_s())
    return {
        "author": id_to_text(author),
        "forgotten": ctx.ledger.is_forgotten(ctx.network, author),
        "entries_dropped": 0 if undo or head is None else head.size,
    }


def index_committed(ctx: LedgerContext, entries: Sequence[Entry]) -> None:
    """Bring the views (catalogue, governance) up to date with committed entries."""
    ctx.catalogue.index_committed(ctx.ledger, entries)
    if ctx.governance is None:
        return
    if any(e.kind == kinds.REVOCATION for e in entries):  # it voids entries indexed before
        ctx.governance.reload(ctx.store)
    else:
        ctx.governance.index(entries)


@contextmanager
def open_local(home: NodeHome, *, write: bool = True) -> Iterator[LedgerContext]:
    """The ledger of a home with no node running (or one starting).

    To write: take the writer lock, open the store. To read (`write=False`): no lock;
    the databases are opened read-only beside whatever writer there is (SQLite's WAL
    mode serves readers while one process writes), so a monitoring script's read never
    keeps a node from starting. A home whose databases are new or stale (to create or
    migrate) is read through the writer's path."""
    home.identity()  # a clear error before any lock or file is created
    if not write:
        opened = _open_reader(home)
        if opened is not None:
            store, reader = opened
            try:
                yield reader
            finally:
                reader.catalogue.close()
                store.close()
            return
    with home.writer_lock(), SqliteLogStore(home.database) as store:
        ctx = make_context(home, store)
        try:
            yield ctx
        finally:
            ctx.catalogue.close()


def _open_reader(home: NodeHome) -> tuple[SqliteLogStore, LedgerContext] | None:
    """A read-only context, or None when the databases need a writer first (missing,
    an older schema, a catalogue to rebuild)."""
    if not home.database.exists():
        return None
    try:
        store = SqliteLogStore.open_reader(home.database)
    except LocalMisuseError as e:
        if e.code == "misuse.stale-database":
            return None
        raise
    try:
        return store, make_context(home, store, read_only=True)
    except LocalMisuseError as e:
        store.close()
        if e.code == "misuse.stale-database":
            return None
        raise
    except BaseException:
        store.close()
        raise


def release_memory(ctx: LedgerContext) -> None:
    """After a large sync: the log store's page cache, then the C heap's free pages
    go back to the system (node.store.memory); nothing stored or answered changes."""
    if isinstance(ctx.store, SqliteLogStore):
        ctx.store.shrink_memory()
    memory.release_memory()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def append_own(ctx: LedgerContext, items: Sequence[tuple[str, dict[str, Any]]]) -> list[Entry]:
    """Sign entries into our own log with the key in force, creating the log with its
    inception first; return every entry signed, the inception included, so all of
    them are announced."""
    key = signing_key_in_force(ctx)
    todo = list(items)
    if ctx.ledger.head(ctx.network, ctx.identity.id) is None:
        inception = {
            "signing_key": ctx.identity.signing_public,
            "recovery_key": ctx.identity.recovery_public,
        }
        todo.insert(0, (kinds.INCEPTION, inception))
    return append_signed(ctx, key, todo, key)


def append_signed(
    ctx: LedgerContext,
    key: SigningKey,
    items: Sequence[tuple[str, dict[str, Any]]],
    checkpoint_key: SigningKey,
) -> list[Entry]:
    """Sign `items` with `key` at the head of our log and commit them; sign a fresh
    checkpoint with `checkpoint_key` (the key in force after them: not `key` after a
    key event). Refuses if the signing guard or the restore marker finds the home
    restored from a backup; raises the guard's mark once durable."""
    head = ctx.ledger.head(ctx.network, ctx.identity.id)
    ctx.guard.check(ctx.network, 0 if head is None else head.size)
    refuse_if_restored(ctx.home, 0 if head is None else head.size)
    made = ctx.ledger.append(key, ctx.network, ctx.identity.id, items, now_ms())
    ctx.ledger.sign_checkpoint(checkpoint_key, ctx.network, ctx.identity.id)
    ctx.guard.record(ctx.network, made[-1].seq)
    index_committed(ctx, made)
    return made  # the inception too, when this created the log: peers need it as well


def refuse_if_restored(home: NodeHome, own_size: int) -> None:
    """A home restored from a backup signs nothing until a sync session has shown it
    holds its own log as far as a peer does (node.store.backup, node.net.network)."""
    pending = restore_pending(home)
    if pending is None:
        return
    raise LocalMisuseError(
        "misuse.restored-backup",
        f"this home was restored from a backup (our log had {pending.get('backup_own_log_size')}"
        f" entries then, {own_size} here now): it signs again once a sync session with a "
        "peer that holds our log has brought it up to date (run the node with a --bootstrap "
        "peer; `fabnode status` shows `restore`). If this log was never published anywhere, "
        f"delete {home.path / RESTORED_FILE} to accept the loss.",
        stored=own_size,
    )


def key_in_force(ctx: LedgerContext) -> bytes:
    """The public signing key our log puts in force (before the log: the inception's)."""
    head = ctx.ledger.head(ctx.network, ctx.identity.id)
    if head is None or head.keys is None:
        return ctx.identity.signing_public
    return head.keys.signing_key


def signing_key_in_force(ctx: LedgerContext) -> SigningKey:
    """The home's signing key, once the ledger has decided a key switch a crash cut
    short (NodeHome.settle_pending_signing_key); misuse.home-key-not-in-force if our
    log has put another key in force (a revocation or rotation made elsewhere)."""
    in_force = key_in_force(ctx)
    ctx.home.settle_pending_signing_key(in_force)
    key = ctx.home.signing_key()
    if key.public != in_force:
        raise LocalMisuseError(
            "misuse.home-key-not-in-force",
            f"this home's signing key is not the one our log has in force ({in_force.hex()}): "
            'a key event was signed elsewhere; see README "Our signing key was stolen"',
        )
    return key


def note(ctx: LedgerContext, text: str) -> dict[str, Any]:
    entry = append_own(ctx, [(kinds.NOTE, {"text": text})])[-1]
    return {"entry_id": id_to_text(entry.id), "seq": entry.seq, "author": id_to_text(entry.author)}


def list_entries(ctx: LedgerContext, author: bytes | None, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for head in ctx.ledger.heads():
        if author is not None and head.author != author:
            continue
        for raw in ctx.store.read_entries(head.network, head.author, 1, limit + 1):
            entry = read_stored_entry(raw)
            rows.append(entry_row(entry, head.is_revoked(entry.seq)))
    return rows


def entry_json(entry: Entry) -> dict[str, Any]:
    """The full JSON view of an entry (`fabnode entry decode`); `entry_row` is its
    short form for listings."""
    status = kinds.check_body(entry.kind, entry.body)
    return {
        "id": id_to_text(entry.id),
        "network": id_to_text(entry.network),
        "author": id_to_text(entry.author),
        "signer": entry.signer.hex(),
        "seq": entry.seq,
        "prev": None if entry.prev is None else id_to_text(entry.prev),
        "timestamp_ms": entry.timestamp_ms,
        "kind": entry.kind,
        "body": to_json(entry.body),
        "body_status": {"valid": status.valid, "code": status.code, "reason": status.reason},
    }


def entry_row(entry: Entry, revoked: bool = False) -> dict[str, Any]:
    full = entry_json(entry)
    row = {k: full[k] for k in ("id", "author", "seq", "timestamp_ms", "kind", "body")}
    row["body_status"] = full["body_status"]["code"] or "valid"
    row["revoked"] = revoked
    return row


def verify(ctx: LedgerContext, progress: Callable[[int, int], None] | None) -> dict[str, Any]:
    report = audit(ctx.store, progress, ctx.ledger.check_signatures)
    return {
        "ok": report.ok,
        "authors": report.authors,
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "checkpoints_ahead": report.checkpoints_ahead,
        "fork_proofs": report.fork_proofs,
        "errors": report.errors,
    }


def prove(ctx: LedgerContext, entry_id: bytes) -> dict[str, Any]:
    return ctx.ledger.prove(entry_id)


def log_heads(ctx: LedgerContext) -> list[dict[str, Any]]:
    return [
        {
            "network": id_to_text(h.network),
            "author": id_to_text(h.author),
            "size": h.size,
            "head": None if h.head_id is None else id_to_text(h.head_id),
            "frozen": ctx.ledger.is_frozen(h.network, h.author),
        }
        for h in ctx.ledger.heads()
    ]


def fork_proofs(ctx: LedgerContext) -> list[dict[str, Any]]:
    """The fork proofs this node holds: who forked, where, whether the network lifted
    the freeze (specs/0004 §5), and the proof to pass on."""
    return [
        {
            "id": id_to_text(p.id),
            "network": id_to_text(p.network),
            "author": id_to_text(p.author),
            "position": ctx.ledger.fork_position(p),
            "lifted": ctx.ledger.is_lifted(p.id),
            "proof_hex": p.raw.hex(),
        }
        for p in ctx.store.fork_proofs()
    ]
