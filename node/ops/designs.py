"""Designs on the ledger: publish, list, show, search, lineage, OKH import, fetch.

Plain functions over a `LedgerContext`, like node.ops.context: the CLI calls them
directly when no node runs, the daemon on its storage thread (node.runtime.service). Work
that touches only files (reading manifests, hashing files into the blob store,
measuring meshes) is split out (`prepare`, `prepare_import`, `export_files`) so the
daemon runs it off the storage thread; signing (`commit`, `commit_import`) runs there.

Publishing (specs/0010): the manifest (OKH-LOSH TOML or OKH v1 YAML) gives the body's
fields; every file it references by a relative path that exists next to it, and for
a directory every other file in it (hidden ones skipped, up to MAX_FILES and
MAX_DIRECTORY_BYTES), goes into the blob store and into the body by SHA-256, size,
media type, and geometry for meshes. The licence rule (licenses.design_licence) is
applied before anything is signed; the parents named by `derived_from` must be
designs this node's catalogue holds. Importing OKH manifests publishes each one
without local files: its references stay links.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from ledger.catalogue import Filters, LineageRow, withdrawal_json
from ledger.readiness import Readiness, readiness_bodies
from licenses.design_licence import LicenceCheck, check_design_licence
from licenses.okh import MAX_MANIFEST_BYTES, export_losh_toml, import_manifest
from licenses.okh_draft import DesignDraft, design_body
from node.i18n import N_
from node.ops import readiness as readiness_ops
from node.ops.context import LedgerContext, append_own
from node.ops.files import read_bounded
from node.ops.geometry import is_mesh_media_type, media_type_for, read_mesh
from node.store.blobs import BlobStore
from node.store.home import NodeHome
from node.store.readiness import ReadinessStore
from protocol import canonical, kinds
from protocol.blob import DEFAULT_MAX_BLOB_BYTES
from protocol.design import DESIGN, MAX_FILES, READINESS, DesignBody, FileEntry, design_body_map
from protocol.entry import Entry, read_stored_entry
from protocol.errors import CommonsError, DecodeError, LocalMisuseError
from protocol.ids import id_to_text

#: Most bytes a published directory may put into the blob store.
MAX_DIRECTORY_BYTES: Final = 4 * 1024 * 1024 * 1024
#: Most manifests one import takes.
MAX_IMPORT_FILES: Final = 10_000
#: The most designs a listing or search returns.
MAX_LIMIT: Final = 1000

#: Why `fetch` of a design wrote nothing: it names no files (an OKH import keeps its
#: references as links; `design show` lists them).
NO_FILES: Final = N_("this design names no files")

_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
_OCTETS = "application/octet-stream"


def _is_manifest_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(".toml") or (
        lower.startswith("okh") and lower.endswith((".yml", ".yaml"))
    )


# -- reading manifests ------------------------------------------------------------------


def usable_path(path: Path) -> Path:
    """`path`, if the file system can name it: misuse.bad-file for a NUL character or a
    lone surrogate (both arrive through the JSON API; neither names any file)."""
    text = str(path)
    try:
        if "\x00" in text:
            raise ValueError("a NUL character")
        os.fsencode(text)
    except (ValueError, UnicodeEncodeError) as e:
        raise LocalMisuseError("misuse.bad-file", f"path {text!r} names no file") from e
    return path


def find_manifest(path: Path) -> Path:
    """The manifest of a design directory (`okh.toml` first), or `path` if a file."""
    if usable_path(path).is_file():
        return path
    if not path.is_dir():
        raise LocalMisuseError("misuse.bad-file", f"{path} is neither a file nor a directory")
    if (path / "okh.toml").is_file():
        return path / "okh.toml"
    found = sorted(p for p in path.iterdir() if p.is_file() and _is_manifest_name(p.name))
    if not found:
        raise LocalMisuseError(
            "misuse.no-manifest", f"{path} holds no OKH manifest (okh.toml, *.toml, okh*.yml)"
        )
    return found[0]


def read_manifest(path: Path, licence_override: str | None = None) -> DesignDraft:
    """A manifest file as a draft; DecodeError for bad manifests, misuse for bad files."""
    data = read_bounded(path, MAX_MANIFEST_BYTES)
    form: Literal["losh", "v1"] = "losh" if path.suffix.lower() == ".toml" else "v1"
    return import_manifest(data, form, source=path.name, licence_override=licence_override)


# -- publishing -------------------------------------------------------------------------


@dataclass
class Prepared:
    """A design ready to sign: its draft, its files (already in the blob store)."""

    draft: DesignDraft
    files: list[FileEntry]
    derived_from: list[bytes]
    notes: list[str] = field(default_factory=list)
    #: The print-readiness of its meshes, by hash, to publish with it (specs/0010 §3.5).
    readiness: dict[bytes, Readiness] = field(default_factory=dict)


def media_type_of(name: str) -> str:
    mesh = media_type_for(name)
    if mesh is not None:
        return mesh
    guessed, _ = mimetypes.guess_type(name, strict=False)
    guessed = (guessed or _OCTETS).lower()
    return guessed if _MEDIA_TYPE.fullmatch(guessed) else _OCTETS


def _inside(base: Path, target: str) -> Path | None:
    """The file `target` names relative to `base`, if it exists and stays inside."""
    try:
        candidate = (base / target).resolve()
    except (OSError, RuntimeError):
        return None
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


def _directory_files(base: Path, manifest: Path) -> Iterable[Path]:
    for p in sorted(base.rglob("*")):
        rel = p.relative_to(base)
        if any(part.startswith(".") for part in rel.parts) or p == manifest:
            continue
        if p.is_file() and not p.is_symlink():
            yield p


def prepare(
    blob_folder: Path,
    path: Path,
    licence_override: str | None = None,
    derived_from: Sequence[bytes] = (),
) -> Prepared:
    """Read the manifest at/in `path`, put its local files into the blob store."""
    manifest = find_manifest(path)
    draft = read_manifest(manifest, licence_override)
    base = manifest.parent.resolve()
    chosen: dict[str, tuple[Path, str]] = {}
    notes = list(draft.notes)
    for ref in draft.paths():
        found = _inside(base, ref.target)
        if found is None:
            notes.append(f"{ref.rel} {ref.target!r}: no such file next to the manifest")
            continue
        chosen.setdefault(found.relative_to(base).as_posix(), (found, ref.rel))
    if path.is_dir():
        for p in _directory_files(base, manifest.resolve()):
            chosen.setdefault(p.relative_to(base).as_posix(), (p, "source"))
    if len(chosen) > MAX_FILES:
        raise LocalMisuseError(
            "misuse.too-many-files", f"{len(chosen)} files, a design holds at most {MAX_FILES}"
        )
    total = sum(p.stat().st_size for p, _ in chosen.values())
    if total > MAX_DIRECTORY_BYTES:
        raise LocalMisuseError(
            "misuse.too-large", f"{total} bytes of files, at most {MAX_DIRECTORY_BYTES}"
        )
    # The federation's blob size rule (specs/0008 §2) when the home follows one.
    home = NodeHome(blob_folder.parent)
    store = home.blob_store()  # its size rule and blocklist
    readiness = ReadinessStore(home.readiness)
    measured: dict[bytes, Readiness] = {}
    files = [
        file_entry(store, rel, p, role, notes, readiness, measured)
        for rel, (p, role) in sorted(chosen.items())
    ]
    return Prepared(draft, files, list(derived_from), notes, measured)


def file_entry(
    store: BlobStore,
    rel: str,
    path: Path,
    role: str,
    notes: list[str],
    readiness: ReadinessStore | None = None,
    found: dict[bytes, Readiness] | None = None,
) -> FileEntry:
    """Store one file as a blob; its entry in the body (geometry for meshes). A mesh's
    print-readiness (specs/0010 §3.3) goes into `readiness` and `found`, by the blob's
    hash."""
    blob_id, size = store.add_file(path)
    media_type = media_type_of(path.name)
    geometry = None
    if is_mesh_media_type(media_type):
        try:
            geometry, triangles = read_mesh(path, media_type)
        except CommonsError as e:
            notes.append(f"{rel}: no geometry ({e.code}: {e.message})")
        else:
            if readiness is not None:
                measured = readiness_ops.keep_readiness(readiness, blob_id, triangles, rel, notes)
                if measured is not None and found is not None:
                    found[blob_id] = measured
    try:
        return FileEntry.model_validate(
            {
                "path": rel,
                "role": role,
                "sha256": blob_id,
                "size_bytes": size,
                "media_type": media_type,
                "geometry": geometry,
            }
        )
    except ValueError as e:
        raise DecodeError("decode.bad-file-entry", f"{rel}: {e}", field="files") from e


def licence_check(ctx: LedgerContext, body: DesignBody) -> LicenceCheck:
    """The licence rule on publish: parents must be designs this node holds."""
    parents = []
    for parent in body.derived_from:
        licence = ctx.catalogue.parent_licence(parent)
        if licence is None:
            raise LocalMisuseError(
                "misuse.unknown-design",
                f"parent {id_to_text(parent)} is not a design this node holds",
                field="derived_from",
            )
        parents.append(licence)
    return check_design_licence(body, parents, allow_list=ctx.catalogue.allow_list)


def commit(ctx: LedgerContext, prepared: Prepared) -> tuple[dict[str, Any], list[Entry]]:
    """Build the body, apply the licence rule, sign it (indexed by append_own)."""
    body = design_body(prepared.draft, files=prepared.files, derived_from=prepared.derived_from)
    check = licence_check(ctx, body)  # raises the typed error before anything is signed
    made = append_own(ctx, [(DESIGN, design_body_map(body))])
    entry = made[-1]
    meshes = {f.sha256 for f in body.files if f.geometry is not None}
    found = {h: r for h, r in prepared.readiness.items() if h in meshes}
    # Its meshes' findings, for nodes that do not hold them (specs/0010 §3.5).
    bodies = readiness_bodies(entry.id, found)
    readiness_ids = []
    if bodies:
        signed = append_own(ctx, [(READINESS, b) for b in bodies])
        made += signed
        readiness_ids = [id_to_text(e.id) for e in signed]
    result = {
        "design_id": id_to_text(entry.id),
        "seq": entry.seq,
        "files": [file_json(f) for f in body.files],
        "licence": body.licence,
        "licence_as_stated": body.licence_as_stated,
        "licence_check": check_json(check),
        "readiness_entries": readiness_ids,
        "notes": prepared.notes,
    }
    return result, made


def publish(
    ctx: LedgerContext,
    path: Path,
    licence_override: str | None = None,
    derived_from: Sequence[bytes] = (),
) -> dict[str, Any]:
    prepared = prepare(ctx.home.blobs, path, licence_override, derived_from)
    return commit(ctx, prepared)[0]


def check_json(check: LicenceCheck) -> dict[str, Any]:
    return {"verdict": check.verdict, "reason": check.reason, "attribution": check.attribution}


def file_json(f: FileEntry) -> dict[str, Any]:
    return {
        "path": f.path,
        "role": f.role,
        "sha256": f.sha256.hex(),
        "blob": id_to_text(f.sha256),
        "size_bytes": f.size_bytes,
        "media_type": f.media_type,
        "geometry": None if f.geometry is None else f.geometry.model_dump(),
    }


# -- importing OKH manifests -------------------------------------------------------------


@dataclass
class ImportItem:
    file: str
    body: DesignBody | None = None
    error: dict[str, Any] | None = None


def manifest_files(paths: Sequence[Path]) -> list[Path]:
    """The manifests `paths` name: files as given, directories searched recursively."""
    found: list[Path] = []
    for path in paths:
        if usable_path(path).is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and _is_manifest_name(p.name))
        else:
            found.append(path)
    if len(found) > MAX_IMPORT_FILES:
        raise LocalMisuseError(
            "misuse.too-many-files", f"{len(found)} manifests, at most {MAX_IMPORT_FILES}"
        )
    return found


def _error_json(e: CommonsError) -> dict[str, Any]:
    return {"code": e.code, "field": e.details.get("field"), "message": e.message}


def prepare_import(paths: Sequence[Path]) -> list[ImportItem]:
    """Each manifest as a body without files (its references stay links), or its error.
    The licence rule waits for commit_import, which knows the network's allow-list."""
    items = []
    for path in manifest_files(paths):
        try:
            body = design_body(read_manifest(path))
        except CommonsError as e:
            items.append(ImportItem(str(path), error=_error_json(e)))
            continue
        items.append(ImportItem(str(path), body=body))
    return items


def commit_import(
    ctx: LedgerContext, items: list[ImportItem]
) -> tuple[dict[str, Any], list[Entry]]:
    """Sign every good manifest's design in one commit; per-file results and counts.

    The licence rule is applied again with the network's allow-list (as publish does).
    A manifest that gives the body of one of our current designs again is that design
    (`unchanged`, nothing signed); one that changed a design of ours of the same name
    and repository is a new version of it (`supersedes`, specs/0010 §1)."""
    results: list[dict[str, Any]] = []
    to_sign: list[tuple[int, DesignBody]] = []
    in_batch: dict[bytes, int] = {}  # canonical body -> its index in to_sign
    for item in items:
        if item.body is None:
            results.append({"file": item.file, "error": item.error})
            continue
        try:
            check_design_licence(item.body, [], allow_list=ctx.catalogue.allow_list)
        except CommonsError as e:
            results.append({"file": item.file, "error": _error_json(e)})
            continue
        same, previous = _earlier_version(ctx, item.body)
        if same is not None:
            results.append({"file": item.file, "design_id": id_to_text(same), "unchanged": True})
            continue
        body = item.body if previous is None else _superseding(item.body, previous)
        key = canonical.encode(design_body_map(body))
        if key not in in_batch:
            in_batch[key] = len(to_sign)
            to_sign.append((len(results), body))
        results.append({"file": item.file, "sign": in_batch[key], "supersedes": previous})
    made = append_own(ctx, [(DESIGN, design_body_map(b)) for _, b in to_sign]) if to_sign else []
    ids = [e.id for e in made[len(made) - len(to_sign) :]]
    for result in results:
        if "sign" in result:
            previous = result.pop("supersedes")
            result["design_id"] = id_to_text(ids[result.pop("sign")])
            if previous is not None:
                result["supersedes"] = id_to_text(previous)
    failed = sum(1 for r in results if "error" in r)
    unchanged = sum(1 for r in results if r.get("unchanged"))
    out = {
        "results": results,
        "imported": len(results) - failed - unchanged,
        "unchanged": unchanged,
        "failed": failed,
    }
    return out, made


def _earlier_version(ctx: LedgerContext, body: DesignBody) -> tuple[bytes | None, bytes | None]:
    """(our current design with this very body, else None; else the current design of
    ours this body is a new version of: same name and same `repo` links, or None)."""
    repo = sorted(link.url for link in body.links if link.rel == "repo")
    unversioned = design_body_map(body) | {"supersedes": None}
    candidate = None
    for design_id in ctx.catalogue.current_named(ctx.identity.id, body.name):
        try:
            held = design_entry(ctx, design_id)[1]
        except LocalMisuseError:
            continue
        if design_body_map(held) | {"supersedes": None} == unversioned:
            return design_id, None
        if candidate is None and sorted(k.url for k in held.links if k.rel == "repo") == repo:
            candidate = design_id
    return None, candidate


def _superseding(body: DesignBody, previous: bytes) -> DesignBody:
    return DesignBody.model_validate(design_body_map(body) | {"supersedes": previous})


def import_okh(ctx: LedgerContext, paths: Sequence[Path]) -> dict[str, Any]:
    return commit_import(ctx, prepare_import(paths))[0]


def export_okh(ctx: LedgerContext, design_id: bytes) -> dict[str, Any]:
    """A design as an OKH-LOSH TOML manifest (specs/0010 §5): importing it gives the
    same body fields back, files as their paths, links as links."""
    entry, body = design_entry(ctx, design_id)
    return {
        "design_id": id_to_text(entry.id),
        "name": body.name,
        "manifest": export_losh_toml(body),
    }


# -- reading the catalogue ---------------------------------------------------------------


def _row_text(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["id"] = id_to_text(row["id"])
    out["author"] = id_to_text(row["author"])
    out["supersedes"] = None if row["supersedes"] is None else id_to_text(row["supersedes"])
    out["version"] = row["version"]
    out["withdrawn"] = withdrawn_text(row.get("withdrawn"))
    return out


def withdrawn_text(withdrawn: dict[str, Any] | None) -> dict[str, Any] | None:
    """A withdrawal as shown (specs/0010 §7): entry id as text, when and why."""
    if withdrawn is None:
        return None
    return {**withdrawn, "entry_id": id_to_text(withdrawn["entry_id"])}


def search(
    ctx: LedgerContext, query: str, filters: Filters, limit: int = 20
) -> list[dict[str, Any]]:
    rows = ctx.catalogue.search(query, filters, max(1, min(limit, MAX_LIMIT)))
    return [_row_text(r) for r in rows]


def list_designs(ctx: LedgerContext, limit: int = 20) -> list[dict[str, Any]]:
    return search(ctx, "", Filters(), limit)


def design_entry(ctx: LedgerContext, design_id: bytes) -> tuple[Entry, DesignBody]:
    """A stored design entry and its validated body (misuse.unknown-design otherwise).
    Shown, fetched or exported on its own: its signature is checked first if it came in
    an attested range and is still unchecked (specs/0003 §4.2)."""
    where = ctx.store.locate(design_id)
    raw = None if where is None else ctx.ledger.entry_at(*where)
    if raw is None or where is None:
        raise LocalMisuseError("misuse.unknown-design", f"no design {id_to_text(design_id)} here")
    ctx.ledger.verify_held(*where)
    entry = read_stored_entry(raw)
    status = kinds.check_body(entry.kind, entry.body)
    if entry.kind != DESIGN or not isinstance(status.model, DesignBody):
        raise LocalMisuseError(
            "misuse.unknown-design", f"{id_to_text(design_id)} is not a valid design entry"
        )
    return entry, status.model


def body_json(body: DesignBody) -> dict[str, Any]:
    """The body as JSON: entry ids as text, file hashes as hex (and as blob ids)."""
    out = design_body_map(body)
    out["supersedes"] = None if body.supersedes is None else id_to_text(body.supersedes)
    out["derived_from"] = [id_to_text(p) for p in body.derived_from]
    out["files"] = [file_json(f) for f in body.files]
    return out


def _lineage_json(row: LineageRow) -> dict[str, Any]:
    return {
        "id": id_to_text(row.id),
        "depth": row.depth,
        "known": row.known,
        "author": None if row.author is None else id_to_text(row.author),
        "name": row.name,
        "version": row.version or None,
        "licence": row.licence,
        "licensors": list(row.licensors),
        "withdrawn": row.withdrawn,
    }


def attribution(rows: Sequence[LineageRow]) -> list[str]:
    """What a derivative owes its known ancestors: who made them, under what licence."""
    return [
        f"{r.name} by {', '.join(r.licensors) or 'unnamed licensors'} ({r.licence})"
        for r in rows
        if r.known
    ]


def show(ctx: LedgerContext, design_id: bytes) -> dict[str, Any]:
    entry, body = design_entry(ctx, design_id)
    skipped = [s for s in ctx.catalogue.skipped() if s.entry_id == design_id]
    head = ctx.ledger.head(entry.network, entry.author)
    listed: dict[str, Any] = {"listed": True}
    if skipped:
        listed = {"listed": False, "code": skipped[0].code, "reason": skipped[0].reason}
    if head is not None and head.is_revoked(entry.seq):  # void (specs/0002 §4)
        reason = "void: its author revoked the key that signed it (key.revoke)"
        listed = {"listed": False, "code": "revoked", "reason": reason}
    withdrawal = ctx.catalogue.withdrawal_of(design_id)
    return {
        "design_id": id_to_text(entry.id),
        "author": id_to_text(entry.author),
        "seq": entry.seq,
        "timestamp_ms": entry.timestamp_ms,
        "body": body_json(body),
        "attribution": attribution(ctx.catalogue.ancestors(design_id)),
        "catalogue": listed,
        "withdrawn": withdrawn_text(withdrawal_json(withdrawal)),
        "readiness": readiness_ops.readiness_json(
            body, readiness_ops.design_readiness(ctx, design_id, body)
        ),
    }


def lineage(ctx: LedgerContext, design_id: bytes) -> dict[str, Any]:
    entry, body = design_entry(ctx, design_id)
    ancestors = ctx.catalogue.ancestors(design_id)
    return {
        "design_id": id_to_text(entry.id),
        "name": body.name,
        "licence": body.licence,
        "licensors": list(body.licensors),
        "ancestors": [_lineage_json(r) for r in ancestors],
        "descendants": [_lineage_json(r) for r in ctx.catalogue.descendants(design_id)],
        "attribution": attribution(ancestors),
    }


# -- fetching a design's files -----------------------------------------------------------


def design_files(ctx: LedgerContext, design_id: bytes) -> list[tuple[str, bytes]]:
    """(path, blob id) of each file of a design."""
    return [(f.path, f.sha256) for f in design_entry(ctx, design_id)[1].files]


def export_files(
    blob_folder: Path, design_id: bytes, files: Sequence[tuple[str, bytes]], out_dir: Path
) -> dict[str, Any]:
    """Copy each file's blob to `out_dir/path`, verifying its hash; all held, or nothing."""
    store = BlobStore(blob_folder, max_blob_bytes=DEFAULT_MAX_BLOB_BYTES)
    missing = [path for path, blob_id in files if not store.has(blob_id)]
    if missing:
        raise LocalMisuseError(
            "misuse.blob-missing",
            f"this node does not hold {len(missing)} file(s) of the design "
            "(a running node fetches them from peers)",
            missing=missing,
        )
    written = []
    for path, blob_id in files:
        dest = usable_path(out_dir) / path
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LocalMisuseError("misuse.bad-file", f"cannot create {dest.parent}") from e
        size = store.export_to(blob_id, dest)
        written.append({"path": path, "blob": id_to_text(blob_id), "size": size})
    out: dict[str, Any] = {"design_id": id_to_text(design_id), "out_dir": str(out_dir)}
    out["files"] = written
    out["note"] = None if files else NO_FILES
    return out


def fetch(ctx: LedgerContext, design_id: bytes, out_dir: Path) -> dict[str, Any]:
    """Locally: write the design's files this node holds (all of them, or refuse), and
    measure the print-readiness of its meshes not measured yet."""
    out = export_files(ctx.home.blobs, design_id, design_files(ctx, design_id), out_dir)
    readiness_ops.mesh_readiness(ctx.home, design_entry(ctx, design_id)[1].files, measure=True)
    return out
